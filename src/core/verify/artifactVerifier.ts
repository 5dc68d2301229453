import { lstat, realpath } from 'node:fs/promises';
import { fileArtifact } from '../artifacts/artifact';
import type { Companion } from '../artifacts/companions';
import type { LoadedTrustedRoot } from '../trust/trustedRoot';
import { verifyBundleFile, type BundleExpectation } from './bundleVerifier';
import { resultOf, type Evidence, type VerificationResult } from './result';

export interface ArtifactVerificationOptions {
  /** The trusted root, or why none could be loaded (then nothing can be checked). */
  readonly trustedRoot: LoadedTrustedRoot | { readonly error: string; readonly remedy: string };
  readonly expect?: BundleExpectation;
  /** Folders links may point into; a link leading elsewhere is not followed. */
  readonly allowedRoots?: readonly string[];
  readonly signal?: AbortSignal;
}

/** Verifies an artifact against each of its companions; one result for the file. */
export async function verifyArtifact(path: string, companions: readonly Companion[], options: ArtifactVerificationOptions): Promise<VerificationResult> {
  const escaped = await escapingLink(path, options.allowedRoots);
  const evidence: Evidence[] = [];
  const artifact = fileArtifact(path, options.signal);
  for (const companion of companions) {
    const outside = escaped ?? (await escapingLink(companion.path, options.allowedRoots));
    if (outside) {
      evidence.push(notChecked(companion, 'read', outside, 'Links that leave the workspace are not followed. Copy the file into the workspace to check it.'));
    } else if ('error' in options.trustedRoot) {
      evidence.push(notChecked(companion, 'timestamps', options.trustedRoot.error, options.trustedRoot.remedy));
    } else {
      evidence.push(await verifyBundleFile(companion.path, artifact, { trustedRoot: options.trustedRoot, expect: options.expect }));
    }
  }
  return resultOf(path, evidence);
}

/** A message when `path` is a symbolic link resolving outside every allowed root. */
async function escapingLink(path: string, roots: readonly string[] | undefined): Promise<string | undefined> {
  if (!roots?.length) return undefined;
  try {
    if (!(await lstat(path)).isSymbolicLink()) return undefined;
    const target = await realpath(path);
    const resolvedRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
    if (resolvedRoots.some((root) => target === root || target.startsWith(root.endsWith('/') ? root : `${root}/`))) return undefined;
    return `${path} is a link to ${target}, outside the workspace.`;
  } catch {
    // Missing files are reported by the verifier itself.
    return undefined;
  }
}

function notChecked(companion: Companion, check: 'read' | 'timestamps', message: string, remedy: string): Evidence {
  return {
    kind: 'sigstore-bundle',
    companion: companion.path,
    state: 'unverifiable',
    summary: message,
    checks: [{ id: check, title: check === 'read' ? 'Companion file readable' : 'Trusted root available', outcome: 'failed', detail: message }],
    failure: { check, message, remedy },
    tlogEntries: [],
    timestamps: [],
    notes: [],
  };
}
