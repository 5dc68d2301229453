/**
 * One result type for every kind of evidence: the badge, the report and (later) the tree
 * all render this, so they can never disagree.
 */

/** Stable ids, used in badges, tooltips, reports and command-line output. */
export type VerificationState = 'verified' | 'untrusted' | 'integrity' | 'failed' | 'unverifiable';

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
}

export interface VerificationResult {
  readonly artifact: string;
  readonly state: VerificationState;
  readonly summary: string;
  readonly evidence: readonly Evidence[];
  readonly checkedAt: Date;
}

/** Strongest first: a file shows the strongest state that one piece of evidence proves. */
const STRENGTH: readonly VerificationState[] = ['verified', 'untrusted', 'integrity', 'unverifiable', 'failed'];

export function strongest(states: readonly VerificationState[]): VerificationState | undefined {
  return [...states].sort((a, b) => STRENGTH.indexOf(a) - STRENGTH.indexOf(b))[0];
}

/** Combines the evidence for one artifact into its result. */
export function resultOf(artifact: string, evidence: readonly Evidence[], checkedAt = new Date()): VerificationResult {
  const state = strongest(evidence.map((e) => e.state)) ?? 'unverifiable';
  const best = evidence.find((e) => e.state === state);
  return { artifact, state, summary: best?.summary ?? 'No evidence found', evidence, checkedAt };
}

export function signerLabel(signer: SignerInfo | undefined): string {
  if (!signer) return 'unknown signer';
  if (signer.kind === 'key') return signer.description ?? (signer.source ? `the key in ${signer.source}` : `public key ${signer.hint || '(no hint)'}`);
  if (signer.kind === 'openpgp') return `OpenPGP key ${signer.fingerprint}${signer.userIds[0] ? ` (${signer.userIds[0]})` : ''}`;
  return signer.issuer ? `${signer.identity} (${signer.issuer})` : signer.identity;
}
