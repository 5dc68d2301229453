/**
 * One result type for every kind of evidence: the badge, the report and (later) the tree
 * all render this, so they can never disagree.
 */

/**
 * Stable ids, used in badges, tooltips, reports and command-line output. `unsigned` is a file
 * that a trust-policy rule expects a signature for and that has no evidence at all.
 */
export type VerificationState = 'verified' | 'untrusted' | 'integrity' | 'failed' | 'unverifiable' | 'unsigned';

/** The checks evidence goes through; each kind uses the ones that apply, in order. */
export type CheckId =
  | 'read'
  | 'parse'
  | 'media-type'
  | 'schema'
  | 'conversion'
  | 'artifact-binding'
  | 'checksum'
  | 'rekor-lookup'
  | 'timestamps'
  | 'certificate'
  | 'signing-key'
  | 'transparency-log'
  | 'signature'
  | 'openpgp'
  | 'identity'
  | 'policy';

/** What a companion is. */
export type EvidenceKind =
  | 'sigstore-bundle'
  | 'cosign-signature'
  | 'cosign-legacy-bundle'
  | 'intoto-attestation'
  | 'checksum'
  | 'openpgp-signature';

export interface Check {
  readonly id: CheckId;
  readonly title: string;
  readonly outcome: 'passed' | 'failed' | 'not-checked';
  readonly detail?: string;
}

export interface CertificateExtension {
  readonly oid: string;
  readonly name: string;
  readonly value: string;
}

/** Who signed: a Fulcio certificate identity or a public key. */
export type SignerInfo =
  | {
      readonly kind: 'certificate';
      readonly identity: string;
      readonly issuer?: string;
      readonly extensions: readonly CertificateExtension[];
      readonly notBefore: Date;
      readonly notAfter: Date;
      readonly certificateIssuer: string;
      readonly serialNumber: string;
    }
  | {
      readonly kind: 'key';
      readonly hint: string;
      /** Where the key that verified came from (a policy's key file), when known. */
      readonly source?: string;
      readonly description?: string;
    }
  | {
      readonly kind: 'openpgp';
      /** Fingerprint of the (sub)key that made the signature, upper-case hex. */
      readonly fingerprint: string;
      readonly userIds: readonly string[];
      /** Where the key came from (an armored key file or KEYS file). */
      readonly source?: string;
    };

export interface TlogEntryInfo {
  readonly logId: string;
  readonly logIndex: string;
  readonly kind: string;
  readonly integratedTime?: Date;
  readonly inclusionPromise: boolean;
  readonly inclusionProof?: {
    readonly logIndex: string;
    readonly treeSize: string;
    readonly rootHash: string;
    readonly checkpoint?: string;
  };
}

export interface TimestampInfo {
  readonly source: 'transparency-log' | 'timestamp-authority';
  readonly time: Date;
  readonly authority?: string;
}

export interface BundleDetails {
  readonly mediaType: string;
  readonly content: 'message-signature' | 'dsse';
  readonly payloadType?: string;
  readonly predicateType?: string;
  readonly subjects?: readonly { name: string; sha256?: string }[];
  readonly messageDigest?: { algorithm: string; hex: string };
}

/** What went wrong, which check caught it, and what the user can do. */
export interface Failure {
  readonly check: CheckId;
  readonly message: string;
  readonly remedy: string;
}

/** One piece of evidence (one companion, or one line of one) and what it proves about the artifact. */
export interface Evidence {
  readonly kind: EvidenceKind;
  readonly companion: string;
  /** For companions holding several pieces (JSON lines), the 1-based line. */
  readonly line?: number;
  readonly state: VerificationState;
  /** One sentence, without the state: "Signed by …" or what went wrong. */
  readonly summary: string;
  readonly checks: readonly Check[];
  readonly failure?: Failure;
  readonly bundle?: BundleDetails;
  /** The signer; when verification failed this is only what the evidence claims. */
  readonly signer?: SignerInfo;
  readonly tlogEntries: readonly TlogEntryInfo[];
  readonly timestamps: readonly TimestampInfo[];
  readonly trustedRoot?: { readonly source: string; readonly ignored: readonly string[] };
  /** The trust-policy rule that decided the state, when one matched. */
  readonly rule?: string;
  readonly notes: readonly string[];
  /** Set when the verifier itself broke on this companion (a bug or a resource limit, not bad input). */
  readonly internalError?: string;
}

export interface VerificationResult {
  readonly artifact: string;
  readonly state: VerificationState;
  readonly summary: string;
  readonly evidence: readonly Evidence[];
  readonly checkedAt: Date;
  /** Set when some evidence, or the whole result, could not be produced because the verifier broke. */
  readonly internalError?: string;
}

/** Strongest first, among evidence that did not fail. */
const STRENGTH: readonly VerificationState[] = ['verified', 'untrusted', 'integrity', 'unverifiable', 'unsigned', 'failed'];

export function strongest(states: readonly VerificationState[]): VerificationState | undefined {
  let best: VerificationState | undefined;
  for (const s of states) if (best === undefined || STRENGTH.indexOf(s) < STRENGTH.indexOf(best)) best = s;
  return best;
}

/**
 * A failure that says nothing against the file's bytes: a cryptographically valid signature
 * by a signer the policy does not name (the policy check is the only one that failed).
 */
function isSignerOnlyFailure(e: Evidence): boolean {
  return e.state === 'failed' && e.failure?.check === 'policy';
}

/**
 * The state of a file from all its evidence. Anyone who can write next to a file can add a
 * checksum, a junk signature or one that needs the network, so weaker evidence never outranks
 * a failure: any failed evidence makes the file failed, except a valid signature by a signer
 * the policy does not name when a signature the policy does name also verifies.
 */
export function combinedState(evidence: readonly Evidence[]): VerificationState | undefined {
  const failed = evidence.filter((e) => e.state === 'failed');
  const trusted = evidence.some((e) => e.state === 'verified');
  if (failed.length > 0 && !(trusted && failed.every(isSignerOnlyFailure))) return 'failed';
  return strongest(evidence.filter((e) => e.state !== 'failed').map((e) => e.state));
}

/** Combines the evidence for one artifact into its result. */
export function resultOf(artifact: string, evidence: readonly Evidence[], checkedAt = new Date()): VerificationResult {
  const state = combinedState(evidence) ?? 'unverifiable';
  const best = (state === 'failed' ? evidence.find((e) => e.state === 'failed' && !isSignerOnlyFailure(e)) : undefined) ?? evidence.find((e) => e.state === state);
  const failures = evidence.filter((e) => e.state === 'failed').length;
  const others = state === 'failed' && evidence.length > failures ? ` (${failures} of ${evidence.length} pieces of evidence failed; the others cannot outweigh a failure)` : '';
  const internalError = evidence.find((e) => e.internalError)?.internalError;
  return { artifact, state, summary: `${best?.summary ?? 'No evidence found'}${others}`, evidence, checkedAt, ...(internalError ? { internalError } : {}) };
}

export function signerLabel(signer: SignerInfo | undefined): string {
  if (!signer) return 'unknown signer';
  if (signer.kind === 'key') return signer.description ?? (signer.source ? `the key in ${signer.source}` : `public key ${signer.hint || '(no hint)'}`);
  if (signer.kind === 'openpgp') return `OpenPGP key ${signer.fingerprint}${signer.userIds[0] ? ` (${signer.userIds[0]})` : ''}`;
  return signer.issuer ? `${signer.identity} (${signer.issuer})` : signer.identity;
}
