import { crypto as sigstoreCrypto } from '@sigstore/core';
import type { KeyObject } from 'node:crypto';
import { verify as nodeVerify } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';

type NobleCurve = typeof p256 | typeof p384 | typeof p521;
const CURVES: Record<string, NobleCurve> = { prime256v1: p256, secp384r1: p384, secp521r1: p521 };

/**
 * The `SignatureContent` of a message-signature bundle, checked against the artifact's
 * digest rather than its bytes. ECDSA is verified over the pre-computed digest (Node's
 * crypto always hashes, so we use @noble/curves): a file of any size is hashed once, as a
 * stream, and a bare digest is enough. Other key types need the bytes, and when the
 * bytes are at hand (small files) Node's native check is used for every key type.
 */
export class DigestMessageSignature {
  constructor(
    readonly signature: Buffer,
    /** The digest of the artifact we hold, with the algorithm the bundle declares. */
    private readonly artifactDigest: Buffer,
    private readonly hashAlgorithm: string,
    private readonly artifactBytes?: Buffer,
  ) {}

  compareSignature(signature: Buffer): boolean {
    return sigstoreCrypto.bufferEqual(signature, this.signature);
  }

  /** Used for the log entry's body: it must record the digest of *this* artifact. */
  compareDigest(digest: Buffer): boolean {
    return sigstoreCrypto.bufferEqual(digest, this.artifactDigest);
  }

  verifySignature(key: KeyObject): boolean {
    const curve = key.asymmetricKeyType === 'ec' ? CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
    // Native verification over the bytes when we have them (small files): much faster than pure JS.
    if (curve && !this.artifactBytes) {
      try {
        const jwk = key.export({ format: 'jwk' });
        const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
        // OpenSSL-made signatures may carry a high S; that is valid ECDSA.
        return curve.verify(this.signature, this.artifactDigest, point, { lowS: false, prehash: false, format: 'der' });
      } catch {
        return false;
      }
    }
    if (!this.artifactBytes) return false;
    const algorithm = key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : this.hashAlgorithm;
    try {
      return nodeVerify(algorithm, this.artifactBytes, key, this.signature);
    } catch {
      return false;
    }
  }
}

/** Whether a key can be verified from a digest alone. */
export function verifiesFromDigest(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve !== undefined && key.asymmetricKeyDetails.namedCurve in CURVES;
}
