import { createHash, type Hash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { ArtifactReadError } from '../errors';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512' | 'sha1' | 'md5';

/**
 * The thing a signature is checked against: a file we can hash (streaming, so size does
 * not matter) or only a digest, as the conformance protocol allows.
 */
export interface Artifact {
  readonly name: string;
  /** The digest with this algorithm, or undefined when it cannot be known (digest-only input). */
  digest(algorithm: DigestAlgorithm): Promise<Buffer | undefined>;
  /** The whole content when it is at most `limit` bytes (else undefined); reads at most once. */
  bytes(limit: number): Promise<Buffer | undefined>;
}

/**
 * Files up to this size are read whole once: hashing and a native signature check over the
 * bytes beat streaming. Larger ones are streamed and never held in memory.
 */
export const SMALL_FILE_BYTES = 8 * 1024 * 1024;

/** An artifact on the local file system; each digest is computed once, on demand. */
export function fileArtifact(path: string, signal?: AbortSignal): Artifact {
  const digests = new Map<DigestAlgorithm, Promise<Buffer>>();
  let small: Promise<Buffer | undefined> | undefined;
  const smallContent = () =>
    (small ??= stat(path).then(
      (info) => (info.size <= SMALL_FILE_BYTES ? readLimited(path, SMALL_FILE_BYTES) : undefined),
      (e: unknown) => Promise.reject(readError(path, e)),
    ));
  return {
    name: path,
    digest(algorithm) {
      let d = digests.get(algorithm);
      if (!d) {
        d = smallContent().then((content) => (content ? createHash(algorithm).update(content).digest() : hashFile(path, algorithm, signal)));
        digests.set(algorithm, d);
      }
      return d;
    },
    async bytes(limit) {
      const content = await smallContent();
      if (content) return content.length <= limit ? content : undefined;
      const info = await stat(path);
      return info.size <= limit ? readLimited(path, limit) : undefined;
    },
  };
}

/** An artifact known only by its SHA-256 digest. */
export function digestArtifact(sha256Hex: string): Artifact {
  const sha256 = Buffer.from(sha256Hex, 'hex');
  return {
    name: `sha256:${sha256Hex}`,
    digest: async (algorithm) => (algorithm === 'sha256' ? sha256 : undefined),
    bytes: async () => undefined,
  };
}

/**
 * A cheap identity of files' current contents: device, inode, size and change times.
 * Any write changes it; reading does not.
 */
export async function fileFingerprint(paths: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    paths.map(async (p) => {
      try {
        const s = await stat(p, { bigint: true });
        return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      } catch {
        return 'missing';
      }
    }),
  );
  return parts.join('|');
}

/** Whether a regular file exists at `path` (following links). */
export async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function hashFile(path: string, algorithm: DigestAlgorithm, signal?: AbortSignal): Promise<Buffer> {
  const hash: Hash = createHash(algorithm);
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal })) {
      hash.update(chunk as Buffer);
    }
  } catch (e) {
    throw readError(path, e);
  }
  return hash.digest();
}

/** Reads a file, refusing anything larger than `limit` without reading past it. */
export async function readLimited(path: string, limit: number): Promise<Buffer> {
  let handle;
  try {
    // Non-blocking: opening a FIFO would otherwise wait forever; it is refused just below.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new ArtifactReadError('NOT_A_FILE', `${path} is not a regular file.`, 'Companions must be regular files.');
    }
    if (info.size > limit) {
      throw new ArtifactReadError(
        'TOO_LARGE',
        `${path} is ${formatBytes(info.size)}, more than the ${formatBytes(limit)} a companion may have.`,
        'This is not a signature file; remove or rename it.',
      );
    }
    // Read up to limit+1 so a file that grew since stat() is still caught.
    const buffer = Buffer.allocUnsafe(Math.min(info.size, limit) + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) {
        throw new ArtifactReadError('TOO_LARGE', `${path} is larger than ${formatBytes(limit)}.`, 'This is not a signature file; remove or rename it.');
      }
      if (total === buffer.length) break;
    }
    return buffer.subarray(0, total);
  } catch (e) {
    throw readError(path, e);
  } finally {
    await handle?.close();
  }
}

function readError(path: string, e: unknown): Error {
  if (e instanceof ArtifactReadError || (e as Error)?.name === 'AbortError') return e as Error;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new ArtifactReadError('NOT_FOUND', `${path} does not exist.`, 'It may have been moved or deleted.');
  if (code === 'EACCES' || code === 'EPERM') return new ArtifactReadError('NO_ACCESS', `${path} cannot be read (permission denied).`, 'Check the file permissions.');
  if (code === 'EISDIR') return new ArtifactReadError('NOT_A_FILE', `${path} is a folder.`, 'Companions must be regular files.');
  return new ArtifactReadError('READ_FAILED', `${path} could not be read: ${(e as Error)?.message ?? String(e)}`, 'Check the file.');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}
