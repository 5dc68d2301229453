import { CHECK_TITLES } from '../verify/evidenceBuilder';
import type { Evidence, SignerInfo, VerificationResult } from '../verify/result';
import { signerLabel } from '../verify/result';
import type { TrustedRootChoice, TrustInputs } from '../verify/trustInputs';
import type { ImageReference } from '../oci/reference';
import { ruleFor, ruleForImage, type PolicyLoad, type PolicyRule } from './policy';

/** The policy as it stands for a workspace or a CLI run. */
export type PolicyState =
  | { readonly kind: 'none' }
  /** The policy exists but is ignored (a workspace not trusted by the user). */
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'loaded'; readonly load: PolicyLoad };

export interface PolicyDecision {
  readonly rule?: PolicyRule;
  readonly inputs: TrustInputs;
}

/** What a verifier may trust for `artifact`: the matching rule's keys and root, else the defaults. */
export function decide(policy: PolicyState, artifact: string, defaults: { trustedRoot: TrustedRootChoice; network: TrustInputs['network'] }): PolicyDecision {
  return decisionFor(policy.kind === 'loaded' && policy.load.ok ? ruleFor(policy.load.policy, artifact) : undefined, defaults);
}

/**
 * What a verifier may trust for an image's signatures and attestations: the first rule whose
 * `images` globs cover the reference (its repository; tag and digest do not matter), else the defaults.
 */
export function decideImage(
  policy: PolicyState,
  reference: string | ImageReference,
  defaults: { trustedRoot: TrustedRootChoice; network: TrustInputs['network'] },
): PolicyDecision {
  return decisionFor(policy.kind === 'loaded' && policy.load.ok ? ruleForImage(policy.load.policy, reference) : undefined, defaults);
}

/**
 * The rule that expects `artifact` to be signed: the first rule covering it, when the policy
 * is loaded without errors and the rule trusts someone. A broken or ignored policy expects nothing
 * (its files show that the policy is unusable instead).
 */
export function ruleExpectingSignature(policy: PolicyState, artifact: string): PolicyRule | undefined {
  if (policy.kind !== 'loaded' || !policy.load.ok) return undefined;
  const rule = ruleFor(policy.load.policy, artifact);
  return rule && (rule.identities.length || rule.keys.length || rule.openpgpKeys.length) ? rule : undefined;
}

/** The result of a file a rule covers and nothing signs: deleting a bundle must not look like "no opinion". */
export function unsignedResult(artifact: string, rule: PolicyRule, checkedAt = new Date()): VerificationResult {
  return {
    artifact,
    state: 'unsigned',
    summary: `No signature found, but ${rule.label} of the trust policy expects one for this file.`,
    evidence: [],
    checkedAt,
  };
}

/** The matching rule's keys and root, else the defaults: the same for files and images. */
function decisionFor(rule: PolicyRule | undefined, defaults: { trustedRoot: TrustedRootChoice; network: TrustInputs['network'] }): PolicyDecision {
  return {
    rule,
    inputs: {
      trustedRoot: rule?.trustedRoot ?? defaults.trustedRoot,
      publicKeys: rule?.keys ?? [],
      openpgpKeys: rule?.openpgpKeys ?? [],
      network: defaults.network,
    },
  };
}

/** What the evidence is about: its wording in summaries and remedies. */
export type PolicySubject = 'file' | 'image';

const WORDS: Record<PolicySubject, { these: string; covers: string; field: string; signedBy: string }> = {
  file: { these: 'these files', covers: 'covers this file', field: 'match', signedBy: 'The file was signed' },
  image: { these: 'these images', covers: 'covers this image', field: 'images', signedBy: 'The image was signed' },
};

/**
 * Turns cryptographically valid evidence into `verified` (the rule names the signer),
 * `untrusted` (no rule covers it) or `failed` (the rule names someone else). Other states
 * pass through; a broken policy makes valid evidence `unverifiable`, never `verified`.
 * `subject` only changes the wording (files are covered by `match`, images by `images`).
 */
export function applyPolicy(evidence: Evidence, policy: PolicyState, rule: PolicyRule | undefined, subject: PolicySubject = 'file'): Evidence {
  const words = WORDS[subject];
  if (evidence.state !== 'verified') return rule ? { ...evidence, rule: rule.label } : evidence;
  const who = signerLabel(evidence.signer);
  if (policy.kind === 'loaded' && !policy.load.ok) {
    const first = policy.load.diagnostics.find((d) => d.severity === 'error')?.message ?? 'it cannot be used';
    return decided(evidence, 'unverifiable', false, `Valid signature by ${who}, but the trust policy ${policy.load.path} has errors: ${first}`, {
      remedy: `Fix the trust policy (see the Problems panel): until then nothing counts as verified.`,
    });
  }
  if (policy.kind !== 'loaded') {
    const why = policy.kind === 'ignored' ? policy.reason : 'there is no trust policy';
    return decided(evidence, 'untrusted', false, `Valid signature by ${who}, but ${why}, so nothing says this signer is trusted.`, {
      remedy: policy.kind === 'ignored' ? 'Trust the workspace to apply its trust policy.' : `Create .sigstore/policy.json with a rule naming the signers you trust for ${words.these}.`,
    });
  }
  if (!rule) {
    return decided(evidence, 'untrusted', false, `Valid signature by ${who}, but no rule of the trust policy ${words.covers}.`, {
      remedy: `Add a rule to ${policy.load.ok ? policy.load.policy.path : 'the trust policy'} whose "${words.field}" ${words.covers} and names the signer, if you trust it.`,
    });
  }
  const named = namedBy(rule, evidence.signer);
  if (named) return decided({ ...evidence, rule: rule.label }, 'verified', true, `Signed by ${who}, trusted by ${rule.label}`, { detail: named });
  const trusted = [...rule.identities.map((i) => i.description), ...rule.keys.map((k) => `key ${k.source}`), ...rule.openpgpKeys.map((k) => `OpenPGP keys in ${k.source}`)];
  return decided({ ...evidence, rule: rule.label }, 'failed', false, `Signed by ${who}, but ${rule.label} trusts only: ${trusted.join('; ') || 'nobody'}.`, {
    remedy: `${words.signedBy} by someone the policy does not name for it. Do not trust it unless the policy should name this signer.`,
  });
}

/** How the rule names this signer, or undefined if it does not. */
function namedBy(rule: PolicyRule, signer: SignerInfo | undefined): string | undefined {
  if (!signer) return undefined;
  if (signer.kind === 'certificate') {
    const identity = rule.identities.find(
      (i) =>
        i.subject.test(signer.identity) &&
        i.issuer.test(signer.issuer) &&
        [...i.extensions].every(([oid, want]) => signer.extensions.some((x) => x.oid === oid && x.value === want.value)),
    );
    return identity ? `identity ${identity.description}` : undefined;
  }
  // Keys only ever come from the rule itself, so a key that verified is one it names.
  if (signer.kind === 'key') return signer.source && rule.keys.some((k) => k.source === signer.source) ? `key ${signer.source}` : undefined;
  return signer.source && rule.openpgpKeys.some((k) => k.source === signer.source) ? `OpenPGP keys in ${signer.source}` : undefined;
}

function decided(
  evidence: Evidence,
  state: Evidence['state'],
  passed: boolean,
  summary: string,
  extra: { remedy?: string; detail?: string },
): Evidence {
  const check = { id: 'policy' as const, title: CHECK_TITLES.policy, outcome: passed ? ('passed' as const) : ('failed' as const), detail: extra.detail ?? summary };
  return {
    ...evidence,
    state,
    summary,
    checks: [...evidence.checks, check],
    failure: passed ? undefined : { check: 'policy', message: summary, remedy: extra.remedy ?? '' },
  };
}
