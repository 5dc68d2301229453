import { crypto as sigstoreCrypto, dsse } from '@sigstore/core';
import type { Envelope } from '@sigstore/protobuf-specs';
import type { KeyObject } from 'node:crypto';

/**
 * The `SignatureContent` of a DSSE bundle. Rekor v2 may log an envelope as a
 * `hashedrekord` entry over the envelope's pre-authentication encoding
 * (rekor-v2 spec §6.1.4); then the logged digest is sha256(PAE), not sha256(payload).
 * @sigstore/verify 3.x knows only the latter, so it rejects such valid bundles.
 */
export class DsseEnvelopeSignature {
  private readonly pae: Buffer;

  constructor(
    private readonly envelope: Envelope,
    /** True when the log entries are `hashedrekord` entries over the PAE. */
    private readonly loggedAsHashedRekord: boolean,
  ) {
    this.pae = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
  }

  get signature(): Buffer {
    return Buffer.from(this.envelope.signatures[0]?.sig ?? []);
  }

  compareSignature(signature: Buffer): boolean {
    return sigstoreCrypto.bufferEqual(signature, this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    const logged = this.loggedAsHashedRekord ? this.pae : Buffer.from(this.envelope.payload);
    return sigstoreCrypto.bufferEqual(digest, sigstoreCrypto.digest('sha256', logged));
  }

  verifySignature(key: KeyObject): boolean {
    return sigstoreCrypto.verify(this.pae, key, this.signature);
  }
}
