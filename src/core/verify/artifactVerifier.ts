import { lstat, realpath } from 'node:fs/promises';
import { fileArtifact } from '../artifacts/artifact';
import type { Companion } from '../artifacts/companions';
import { applyPolicy, decide, type PolicyState } from '../policy/evaluate';
import { verifyCompanion } from './companionVerifier';
import { EvidenceBuilder } from './evidenceBuilder';
import { resultOf, type Evidence, type VerificationResult } from './result';
import type { TrustedRootChoice, TrustInputs } from './trustInputs';

export interface ArtifactVerificationOptions {
  readonly policy: PolicyState;
  /** The trusted root when the matching rule names none (settings, or public-good). */
  readonly trustedRoot: TrustedRootChoice;
  readonly network: TrustInputs['network'];
  /** Folders links may point into; a link leading elsewhere is not followed. */
  readonly allowedRoots?: readonly string[];
  readonly signal?: AbortSignal;
}

/** Verifies an artifact against each of its companions under the trust policy; one result for the file. */
export async function verifyArtifact(path: string, companions: readonly Companion[], options: ArtifactVerificationOptions): Promise<VerificationResult> {
  const escaped = await escapingLink(path, options.allowedRoots);
  const decision = decide(options.policy, path, options);
  const artifact = fileArtifact(path, options.signal);
  const evidence: Evidence[] = [];
  for (const companion of companions) {
    const outside = escaped ?? (await escapingLink(companion.path, options.allowedRoots));
    if (outside) {
      if (companion.kind !== 'certificate') {
        evidence.push(
          new EvidenceBuilder('sigstore-bundle', companion.path).stop('read', 'unverifiable', outside, 'Links that leave the workspace are not followed. Copy the file into the workspace to check it.'),
        );
      }
      continue;
    }
    evidence.push(...(await verifyCompanion(companion, path, artifact, decision.inputs, options.signal)));
  }
  return resultOf(
    path,
    evidence.map((e) => applyPolicy(e, options.policy, decision.rule)),
  );
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
    // Missing files are reported by the verifiers themselves.
    return undefined;
  }
}
