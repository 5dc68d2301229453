import { randomBytes } from 'node:crypto';
import { copyFile, link, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SigstoreError } from '../errors';

/** A companion (signature, bundle, key) could not be written. */
export class CompanionWriteError extends SigstoreError {}

/** One file to write: its path, content and permissions (0600 for private keys). */
export interface CompanionFile {
  readonly path: string;
  readonly bytes: Buffer | string;
  readonly mode?: number;
}

/**
 * Writes a companion file atomically: a temp file in the same folder (so the rename stays on
 * one file system) is filled, flushed and then moved into place. Readers see the old file or
 * the new one, never a half-written one; on failure the temp file is removed and the old
 * file is left as it was. Without `overwrite` an existing file is never replaced, even if it
 * appears while we write. `mode` is the new file's permissions (0600 for private keys).
 */
export async function writeCompanion(path: string, bytes: Buffer | string, { overwrite, mode }: { overwrite: boolean; mode?: number }): Promise<void> {
  await writeCompanions([{ path, bytes, mode }], { overwrite });
}

/**
 * Writes files that belong together (F.sig and its bundle, cosign.key and cosign.pub) as one
 * unit: every temp file is complete before the first is placed, and if placing one fails the
 * ones already placed are taken back, restoring what was there before. Nothing is ever left
 * half-new.
 */
export async function writeCompanions(files: readonly CompanionFile[], { overwrite }: { overwrite: boolean }): Promise<void> {
  if (!overwrite) for (const f of files) await assertCompanionAbsent(f.path);
  const temps: string[] = [];
  const undo: Array<() => Promise<void>> = [];
  const backups: string[] = [];
  try {
    for (const f of files) {
      const temp = tempNameFor(f.path, 'tmp');
      // A private key gets its mode from the start, never a moment of wider access.
      const handle = await open(temp, 'wx', f.mode ?? 0o644);
      temps.push(temp);
      try {
        await handle.writeFile(f.bytes);
        // Flush before the rename, or a crash could leave the new name pointing at empty content.
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const [i, f] of files.entries()) {
      const temp = temps[i]!;
      if (!overwrite) {
        await placeWithoutReplacing(temp, f.path);
        undo.push(() => unlink(f.path));
        continue;
      }
      // Keep the old file under another name until every new one is in place.
      const backup = tempNameFor(f.path, 'old');
      const hadOld = await keepOld(f.path, backup);
      if (hadOld) backups.push(backup);
      await rename(temp, f.path);
      undo.push(hadOld ? () => rename(backup, f.path) : () => unlink(f.path));
    }
  } catch (e) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    await Promise.all([...temps, ...backups].map((t) => unlink(t).catch(() => undefined)));
    if (e instanceof CompanionWriteError) throw e;
    const err = e as NodeJS.ErrnoException;
    const failed = files.find((f) => err.path === f.path || (err as { dest?: string }).dest === f.path)?.path ?? files.map((f) => f.path).join(' and ');
    throw new CompanionWriteError(
      err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS' ? 'NO_ACCESS' : 'WRITE_FAILED',
      `${failed} could not be written: ${err.message ?? String(e)}`,
      'Check that the folder exists and is writable.',
    );
  }
  await Promise.all([...temps, ...backups].map((t) => unlink(t).catch(() => undefined)));
}

/** A second name for the file at `path` (a hard link, else a copy); false when there is none. */
async function keepOld(path: string, backup: string): Promise<boolean> {
  try {
    await link(path, backup);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    const info = await lstat(path);
    if (info.isDirectory()) throw Object.assign(new Error(`${path} is a folder`), { code: 'EISDIR', path });
    // File systems without hard links.
    await copyFile(path, backup);
    return true;
  }
}

function tempNameFor(path: string, kind: 'tmp' | 'old'): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.${kind}`);
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
