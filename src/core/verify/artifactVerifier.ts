import { fileArtifact } from '../artifacts/artifact';
import type { Companion } from '../artifacts/companions';
import { outsideRoots } from '../artifacts/workspaceBoundary';
import { applyPolicy, decide, ruleExpectingSignature, unsignedResult, type PolicyState } from '../policy/evaluate';
import { internalErrorName } from '../errors';
import { verifyCompanion } from './companionVerifier';
import { EvidenceBuilder, MAX_EVIDENCE_PER_COMPANION, tooMuchEvidence } from './evidenceBuilder';
import { resultOf, type Evidence, type EvidenceKind, type VerificationResult } from './result';
import type { TrustedRootChoice, TrustInputs } from './trustInputs';

export interface ArtifactVerificationOptions {
  readonly policy: PolicyState;
  /** The trusted root when the matching rule names none (settings, or public-good). */
  readonly trustedRoot: TrustedRootChoice;
  readonly network: TrustInputs['network'];
  /**
   * The folders files may really be in (workspaceBoundary.ts): the artifact and companions
   * whose real paths leave them are not read. None: no boundary.
   */
  readonly allowedRoots?: readonly string[];
  readonly signal?: AbortSignal;
}

/** Verifies an artifact against each of its companions under the trust policy; one result for the file. */
export async function verifyArtifact(path: string, companions: readonly Companion[], options: ArtifactVerificationOptions): Promise<VerificationResult> {
  const roots = options.allowedRoots;
  const escaped = await outsideRoots(path, roots);
  const decision = decide(options.policy, path, options);
  const artifact = fileArtifact(path, options.signal);
  const evidence: Evidence[] = [];
  for (const companion of companions) {
    // Unverifiable, so it can neither stand in for a failure nor lift anything (resultOf).
    const outside = escaped ?? (await outsideRoots(companion.path, roots));
    if (outside) {
      // A certificate is read with its .sig, which reports it.
      if (companion.kind !== 'certificate') evidence.push(new EvidenceBuilder(EVIDENCE_KINDS[companion.kind], companion.path).stop('read', 'unverifiable', outside.message, outside.remedy));
      continue;
    }
    let found: Evidence[];
    try {
      found = await verifyCompanion(companion, path, artifact, decision.inputs, options.signal, roots);
    } catch (e) {
      if (options.signal?.aborted) throw e;
      found = [internalErrorEvidence(companion, e)];
    }
    // One companion may name a file many times (JSON lines): more than a person could review is refused, not cut short.
    if (found.length > MAX_EVIDENCE_PER_COMPANION) found = [tooMuchEvidence(companion.path, found[0]?.kind ?? 'intoto-attestation', found.length)];
    for (const e of found) evidence.push(e);
  }
  // Nothing at all (a checksum list or attestation file that no longer names the file) is not "no opinion" when a rule expects a signature.
  const expecting = evidence.length === 0 ? ruleExpectingSignature(options.policy, path) : undefined;
  if (expecting) return unsignedResult(path, expecting);
  return resultOf(
    path,
    evidence.map((e) => applyPolicy(e, options.policy, decision.rule)),
  );
}

/** What a companion's evidence is called before it is read. */
const EVIDENCE_KINDS: Record<Companion['kind'], EvidenceKind> = {
  certificate: 'cosign-signature',
  'sigstore-bundle': 'sigstore-bundle',
  bundle: 'sigstore-bundle',
  signature: 'cosign-signature',
  openpgp: 'openpgp-signature',
  checksum: 'checksum',
  'checksum-list': 'checksum',
  attestations: 'intoto-attestation',
};

/** The verifier broke on a companion: the file still gets a result, naming the error (never quoting what it read). */
export function internalErrorEvidence(companion: Companion, error: unknown): Evidence {
  const named = internalErrorName(error);
  return {
    ...new EvidenceBuilder(EVIDENCE_KINDS[companion.kind], companion.path).stop(
      'read',
      'unverifiable',
      `The verifier could not check this companion: ${named}.`,
      'This is a bug or a resource limit in the Sigstore extension, not a verdict on the file. Report it with the log (Output › Sigstore).',
    ),
    internalError: named,
  };
}
