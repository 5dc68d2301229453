/**
 * The one rule for reading files a workspace names: a file counts by its real path (every
 * symbolic link along the way resolved, a linked folder included), and one whose real path
 * leaves the allowed roots is not read. The editor's roots are its workspace folders; the
 * command line's are the folders it was given (a file's own folder). Files the user's own
 * settings or arguments name (a trusted root, a key) are read wherever they are: they are
 * not reached through the workspace.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Why a file is not read, and what the user can do. */
export interface BoundaryRefusal {
  readonly message: string;
  readonly remedy: string;
}

export const LEFT_WORKSPACE_REMEDY =
  'Links that leave the workspace are not followed: a file elsewhere is not the workspace\'s to vouch for. Copy the file into the workspace to check it (on the command line, naming its folder as a PATH works too).';

/** Whether `path` is `root` or inside it (both absolute, already resolved). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** The roots as real paths (a root that is itself a link was named by the user: its target counts). */
export async function realRoots(roots: readonly string[]): Promise<string[]> {
  return Promise.all(roots.map((r) => realpath(r).catch(() => resolve(r))));
}

/**
 * A refusal when `path` really lies outside every root; undefined when it is inside, when no
 * roots are given (no boundary: tests, the conformance CLI), or when it does not exist (the
 * verifiers report missing files themselves).
 */
export async function outsideRoots(path: string, roots: readonly string[] | undefined): Promise<BoundaryRefusal | undefined> {
  if (!roots?.length) return undefined;
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return undefined;
  }
  const resolved = await realRoots(roots);
  if (resolved.some((root) => isWithin(root, real))) return undefined;
  const how = real === resolve(path) ? `${path} is` : `${path} leads through a symbolic link to ${real},`;
  return { message: `${how} outside the workspace, so it was not read.`, remedy: LEFT_WORKSPACE_REMEDY };
}
