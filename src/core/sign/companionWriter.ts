import { randomBytes } from 'node:crypto';
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SigstoreError } from '../errors';

/** A companion (signature, bundle, key) could not be written. */
export class CompanionWriteError extends SigstoreError {}

/**
 * Writes a companion file atomically: a temp file in the same folder (so the rename stays on
 * one file system) is filled, flushed and then moved into place. Readers see the old file or
 * the new one, never a half-written one; on failure the temp file is removed and the old
 * file is left as it was. Without `overwrite` an existing file is never replaced, even if it
 * appears while we write. `mode` is the new file's permissions (0600 for private keys).
 */
export async function writeCompanion(path: string, bytes: Buffer | string, { overwrite, mode = 0o644 }: { overwrite: boolean; mode?: number }): Promise<void> {
  if (!overwrite && (await exists(path))) throw existsError(path);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let placed = false;
  try {
    // A private key gets 0600 from the start, never a moment of wider access.
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(bytes);
      // Flush before the rename, or a crash could leave the new name pointing at empty content.
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (overwrite) {
      await rename(temp, path);
      placed = true;
    } else {
      await placeWithoutReplacing(temp, path);
    }
  } catch (e) {
    if (!placed) await unlink(temp).catch(() => undefined);
    if (e instanceof CompanionWriteError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new CompanionWriteError(
      err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS' ? 'NO_ACCESS' : 'WRITE_FAILED',
      `${path} could not be written: ${err.message ?? String(e)}`,
      'Check that the folder exists and is writable.',
    );
  }
}

/**
 * rename() would silently replace a file created since our check; link() fails with EEXIST
 * instead, so "never replace" holds without a race. File systems without hard links fall
 * back to check-then-rename.
 */
async function placeWithoutReplacing(temp: string, path: string): Promise<void> {
  try {
    await link(temp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw existsError(path);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
    if (await exists(path)) throw existsError(path);
    await rename(temp, path);
    return;
  }
  await unlink(temp).catch(() => undefined);
}

/** Throws EXISTS when `path` exists: checked before signing, so nothing is logged for a file that will not be written. */
export async function assertCompanionAbsent(path: string): Promise<void> {
  if (await exists(path)) throw existsError(path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const existsError = (path: string) =>
  new CompanionWriteError('EXISTS', `${path} already exists; it was not replaced.`, 'Choose to overwrite it, or move it away first.');
