import { p256 } from '@noble/curves/nist';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { fileArtifact } from '../artifacts/artifact';
import { SigstoreError } from '../errors';

/** Signing with a key failed for a reason the user can act on. */
export class KeySigningError extends SigstoreError {}

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface KeySignature {
  /** ASN.1 DER ECDSA signature: what `cosign sign-blob --b64=false` writes. */
  readonly signature: Buffer;
  /** The same, base64: the content of cosign's `F.sig`. */
  readonly sigBase64: string;
  /** A v0.3 Sigstore bundle (JSON object) holding the signature, with no log entry or timestamp. */
  readonly bundle: object;
}

/**
 * Signs a file with an ECDSA P-256 private key, as `cosign sign-blob --key` does: ECDSA over
 * SHA-256 of the bytes. The file is hashed as a stream and the digest signed directly (noble,
 * since Node's crypto always hashes the message itself), so any size works in constant memory.
 */
export async function signFileWithKey(path: string, key: KeyObject, signal?: AbortSignal): Promise<KeySignature> {
  checkSigningKey(key);
  const digest = await fileArtifact(path, signal).digest('sha256');
  if (!digest) throw new KeySigningError('READ_FAILED', `${path} could not be hashed.`, 'Check the file.');
  signal?.throwIfAborted();
  return signDigestWithKey(digest, key);
}

/** Signs bytes held in memory (a payload, a DSSE pre-authentication encoding) as signFileWithKey signs a file. */
export function signBytesWithKey(data: Uint8Array, key: KeyObject): KeySignature {
  checkSigningKey(key);
  return signDigestWithKey(createHash('sha256').update(data).digest(), key);
}

function checkSigningKey(key: KeyObject): void {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new KeySigningError(
      'UNSUPPORTED_KEY',
      `Only ECDSA P-256 private keys can sign here (this is a ${key.type} ${key.asymmetricKeyType ?? ''} key).`,
      'Use a key made by "cosign generate-key-pair".',
    );
  }
}

function signDigestWithKey(digest: Buffer, key: KeyObject): KeySignature {

  const jwk = key.export({ format: 'jwk' });
  const secret = Buffer.from(jwk.d!, 'base64url');
  let signature: Buffer;
  try {
    // prehash: false because `digest` already is SHA-256(file); lowS is accepted by every verifier.
    signature = Buffer.from(p256.sign(digest, secret, { prehash: false, lowS: true }).toDERRawBytes());
  } finally {
    secret.fill(0);
  }
  // Check before anyone relies on it: a faulty signature must never be written next to a file.
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  if (!p256.verify(signature, digest, point, { prehash: false, format: 'der' })) {
    throw new KeySigningError('SIGNING_FAILED', 'The signature just made does not verify.', 'Try again; if it persists, report a bug.');
  }
  const sigBase64 = signature.toString('base64');
  return {
    signature,
    sigBase64,
    bundle: {
      mediaType: BUNDLE_V03_MEDIA_TYPE,
      verificationMaterial: {
        // Empty on purpose: cosign rejects a key hint it does not expect, and accepts an empty one.
        publicKey: { hint: '' },
        tlogEntries: [],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') }, signature: sigBase64 },
    },
  };
}

/** The SPKI PEM of a private key's public half: what belongs in `cosign.pub`. */
export function publicKeyPemOf(key: KeyObject): string {
  return createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
}
