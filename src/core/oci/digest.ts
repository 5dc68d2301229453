/** Content digests (`sha256:<hex>`, `sha512:<hex>`): the only identity a registry object has. */
import { createHash, type Hash } from 'node:crypto';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/** Hashes bytes as they stream in, with the algorithm of the digest they must match. */
export function digestHasher(expected: string): { update(chunk: Uint8Array): void; digest(): string } {
  const algorithm = expected.startsWith('sha512:') ? 'sha512' : 'sha256';
  const hash: Hash = createHash(algorithm);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => `${algorithm}:${hash.digest('hex')}`,
  };
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The `sha256-<hex>` tag prefix cosign and the referrers fallback use for a digest. */
export function digestTag(digest: string): string {
  return digest.replace(':', '-');
}

/** A digest cut short for messages: `sha256:0123456789ab…`. */
export function shortDigest(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}
