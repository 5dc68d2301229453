import type {
  BundleDetails,
  Check,
  CheckId,
  Evidence,
  EvidenceKind,
  Failure,
  SignerInfo,
  TimestampInfo,
  TlogEntryInfo,
  VerificationState,
} from './result';
import { signerLabel } from './result';

export const CHECK_TITLES: Record<CheckId, string> = {
  read: 'Companion file readable',
  parse: 'Companion parsed',
  'media-type': 'Bundle media type supported',
  schema: 'Structure valid',
  conversion: 'Converted to a Sigstore bundle',
  'artifact-binding': 'Evidence refers to this file',
  checksum: 'Checksum matches the file',
  'rekor-lookup': 'Entry found in the transparency log',
  timestamps: 'Trusted signing time (log entry or timestamp authority)',
  certificate: 'Certificate chains to a trusted Fulcio CA and has an SCT',
  'signing-key': 'Signing key accepted',
  'transparency-log': 'Transparency log entry (inclusion and content)',
  signature: 'Signature matches the file',
  openpgp: 'OpenPGP signature valid with a trusted key',
  identity: 'Signer identity matches what was expected',
  policy: 'Trust policy names the signer',
};

/**
 * Collects the checks of one piece of evidence, in order, and turns them into an
 * `Evidence`: every verifier reports through this, so all kinds read alike.
 */
export class EvidenceBuilder {
  private readonly checks: Check[] = [];
  /** The last check that passed (a failure after it is attributed to the next stage). */
  current?: CheckId;
  details?: BundleDetails;
  signer?: SignerInfo;
  tlogEntries: TlogEntryInfo[] = [];
  timestamps: TimestampInfo[] = [];
  trustedRoot?: { source: string; ignored: readonly string[] };
  readonly notes: string[] = [];

  constructor(
    readonly kind: EvidenceKind,
    readonly companion: string,
    readonly line?: number,
  ) {}

  pass(id: CheckId, detail?: string, title = titleOf(id, this.signer)): void {
    this.checks.push({ id, title, outcome: 'passed', detail });
    this.current = id;
  }

  /** Records a failed check and ends the evidence in `state` with the reason and what to do. */
  stop(id: CheckId, state: Exclude<VerificationState, 'verified' | 'integrity'>, message: string, remedy: string): Evidence {
    this.checks.push({ id, title: titleOf(id, this.signer), outcome: 'failed', detail: message });
    const failure: Failure = { check: id, message, remedy };
    return this.build(state, message, failure);
  }

  /** Ends the evidence as proven: `verified` (cryptographically; the policy decides later) or `integrity`. */
  finish(state: 'verified' | 'integrity' = 'verified', summary = `Signed by ${signerLabel(this.signer)}`): Evidence {
    return this.build(state, summary);
  }

  private build(state: VerificationState, summary: string, failure?: Failure): Evidence {
    const notes = [...this.notes];
    if (this.signer?.kind === 'key') notes.push('Signed with a public key: no certificate identity; trust rests on the key alone.');
    if (this.trustedRoot?.ignored.length) notes.push(...this.trustedRoot.ignored.map((i) => `Ignored in the trusted root: ${i}`));
    return {
      kind: this.kind,
      companion: this.companion,
      line: this.line,
      state,
      summary,
      checks: [...this.checks],
      failure,
      bundle: this.details,
      signer: this.signer,
      tlogEntries: this.tlogEntries,
      timestamps: this.timestamps,
      trustedRoot: this.trustedRoot,
      notes,
    };
  }
}

export function titleOf(id: CheckId, signer?: SignerInfo): string {
  if (id === 'signing-key' && signer?.kind === 'key') return 'Public key accepted';
  return CHECK_TITLES[id];
}

/** How many pieces of evidence one companion may contribute to one file. */
export const MAX_EVIDENCE_PER_COMPANION = 256;

/** A companion naming a file more often than is checked: refused, not cut short (a failure could hide in the rest). */
export function tooMuchEvidence(companion: string, kind: EvidenceKind, count: number): Evidence {
  return new EvidenceBuilder(kind, companion).stop(
    'parse',
    'failed',
    `This companion holds ${count} pieces of evidence about this file, more than the ${MAX_EVIDENCE_PER_COMPANION} that are checked; the file cannot be judged from it.`,
    'Keep only the attestations or signatures made for this release of the file.',
  );
}
