/**
 * The files `sigstore verify PATH...` looks at, as the Explorer would list them: folders
 * walked (skipping .git and node_modules), each real folder once (a link back up the tree,
 * `ln -s . a`, would otherwise be walked again and again), never through a link leaving the
 * PATHs given (workspaceBoundary.ts), and within a depth and an entry count.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isWithin, realRoots } from '../core/artifacts/workspaceBoundary';

const SKIPPED_FOLDERS = new Set(['.git', 'node_modules']);

export interface WalkLimits {
  /** Folders below a PATH that are entered. */
  readonly maxDepth: number;
  /** Folder entries looked at in all; the walk stops (and says so) when it reaches it. */
  readonly maxEntries: number;
}

export const WALK_LIMITS: WalkLimits = { maxDepth: 64, maxEntries: 1_000_000 };

export interface WorkspaceWalk {
  readonly files: string[];
  /**
   * The folders files may really be in: each folder PATH, a file PATH's folder. Links
   * leading elsewhere are not followed, and companions there are not read.
   */
  readonly roots: string[];
  /** What was left out and why (to print as warnings): nothing is skipped silently. */
  readonly notes: string[];
}

/** A PATH argument that does not exist. */
export class MissingPathError extends Error {}

/** Every file under `paths` (absolute), in walk order. */
export async function walkWorkspace(paths: readonly string[], limits: WalkLimits = WALK_LIMITS): Promise<WorkspaceWalk> {
  const files: string[] = [];
  const notes: string[] = [];
  const roots: string[] = [];
  const folders: { path: string; depth: number }[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new MissingPathError(`${path} does not exist`);
    if (info.isFile()) {
      files.push(path);
      roots.push(dirname(path));
    } else if (info.isDirectory()) {
      roots.push(path);
      folders.push({ path, depth: 0 });
    }
  }
  const real = await realRoots(roots);
  const visited = new Set<string>();
  let entries = 0;
  // Breadth first, from an explicit queue: no recursion, whatever the tree.
  for (let next = 0; next < folders.length; next++) {
    const folder = folders[next]!;
    const info = await stat(folder.path, { bigint: true }).catch(() => undefined);
    if (!info) continue;
    const identity = `${info.dev}:${info.ino}`;
    if (visited.has(identity)) continue; // a loop, or a second way into a folder already walked
    visited.add(identity);
    const listing = await readdir(folder.path, { withFileTypes: true }).catch(() => undefined);
    if (!listing) {
      notes.push(`${folder.path} could not be read; its files were not checked.`);
      continue;
    }
    for (const entry of listing) {
      if (++entries > limits.maxEntries) {
        notes.push(`Stopped after ${limits.maxEntries} entries: files past that were not checked. Verify fewer or smaller folders at a time.`);
        return { files, roots, notes };
      }
      const path = join(folder.path, entry.name);
      if (entry.isFile()) {
        files.push(path);
        continue;
      }
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
      if (SKIPPED_FOLDERS.has(entry.name)) continue;
      const target = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : undefined;
      if (entry.isSymbolicLink() && !target?.isDirectory()) {
        // A link to a file is listed like a file: verifying it refuses a target outside the roots.
        if (target?.isFile()) files.push(path);
        continue;
      }
      if (entry.isSymbolicLink()) {
        const resolved = await realpath(path).catch(() => undefined);
        if (!resolved || !real.some((root) => isWithin(root, resolved))) {
          notes.push(`${path} is a link to a folder outside the folders given; it was not followed.`);
          continue;
        }
      }
      if (folder.depth + 1 > limits.maxDepth) {
        notes.push(`${path} is more than ${limits.maxDepth} folders deep; it was not walked.`);
        continue;
      }
      folders.push({ path, depth: folder.depth + 1 });
    }
  }
  return { files, roots, notes };
}
