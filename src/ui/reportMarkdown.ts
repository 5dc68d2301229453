import { basename } from 'node:path';
import type { Check, Evidence, SignerInfo, VerificationResult, VerificationState } from '../core/verify/result';

/** Human words for each state; the stable id is shown beside them. */
export const STATE_LABELS: Record<VerificationState, string> = {
  verified: 'Verified',
  untrusted: 'Valid, signer not trusted',
  integrity: 'Integrity only',
  failed: 'Failed',
  unverifiable: 'Cannot be checked',
  unsigned: 'Signature missing',
};

/** What each kind of companion is called in the report. */
export const KIND_LABELS: Record<Evidence['kind'], string> = {
  'sigstore-bundle': 'Sigstore bundle',
  'cosign-signature': 'cosign signature',
  'cosign-legacy-bundle': 'cosign bundle (legacy format)',
  'intoto-attestation': 'in-toto attestation',
  checksum: 'Checksum',
  'openpgp-signature': 'OpenPGP signature',
};

const OUTCOME_ICONS: Record<Check['outcome'], string> = { passed: '✓', failed: '✗', 'not-checked': '–' };

/** Renders a verification result as a Markdown report (everything from the evidence is escaped). */
export function renderReport(result: VerificationResult): string {
  const lines: string[] = [];
  lines.push(`# Sigstore verification: ${text(basename(result.artifact))}`, '');
  lines.push(`**Result: ${STATE_LABELS[result.state]}** (\`${result.state}\`): ${text(result.summary)}`, '');
  lines.push(`- File: ${code(result.artifact)}`);
  lines.push(`- Checked: ${result.checkedAt.toISOString()}`);
  lines.push(`- Evidence found: ${result.evidence.length}`, '');
  const notes: Partial<Record<VerificationResult['state'], string>> = {
    verified: '> "Verified": the signature is valid against the trusted root, and the trust policy names its signer for this file.',
    untrusted: '> The signature is valid, but no trust-policy rule names its signer for this file: check the identity below before you trust it.',
    unsigned: '> The trust policy expects a signature for this file, and none was found next to it (no bundle, signature, attestation or checksum). A signature that was deleted looks exactly like this.',
    integrity: '> A checksum only shows the file is the one the checksum was made for. Whoever could change the file could change the checksum too.',
  };
  const note = notes[result.state];
  if (note) lines.push(note, '');
  result.evidence.forEach((evidence, i) => lines.push(...renderEvidence(evidence, i + 1, result.evidence.length)));
  return lines.join('\n');
}

function renderEvidence(e: Evidence, n: number, total: number): string[] {
  const lines: string[] = [];
  lines.push(`## ${total > 1 ? `${n}. ` : ''}${KIND_LABELS[e.kind]} ${code(basename(e.companion))}${e.line ? `, line ${e.line}` : ''}`, '');
  lines.push(`**${STATE_LABELS[e.state]}** (\`${e.state}\`): ${text(e.summary)}`, '');
  if (e.rule) lines.push(`Trust policy: ${text(e.rule)}`, '');
  if (e.failure) {
    lines.push('### What failed', '');
    lines.push(`- Check: **${text(e.checks.find((c) => c.id === e.failure!.check)?.title ?? e.failure.check)}** (\`${e.failure.check}\`)`);
    lines.push(`- Reason: ${text(e.failure.message)}`);
    lines.push(`- What you can do: ${text(e.failure.remedy)}`, '');
  }
  lines.push('### Checks', '', '| | Check | Detail |', '|---|---|---|');
  for (const c of e.checks) {
    lines.push(`| ${OUTCOME_ICONS[c.outcome]} | ${text(c.title)} | ${c.detail ? cell(c.detail) : ''} |`);
  }
  lines.push('');
  if (e.signer) lines.push(...renderSigner(e.signer, e.state !== 'verified'));
  if (e.bundle) {
    lines.push('### Bundle', '');
    lines.push(`- Media type: ${code(e.bundle.mediaType)}`);
    lines.push(`- Content: ${e.bundle.content === 'dsse' ? 'DSSE envelope' : 'message signature'}`);
    if (e.bundle.messageDigest) lines.push(`- Signed digest: ${code(`${e.bundle.messageDigest.algorithm}:${e.bundle.messageDigest.hex}`)}`);
    if (e.bundle.payloadType) lines.push(`- Payload type: ${code(e.bundle.payloadType)}`);
    if (e.bundle.predicateType) lines.push(`- Predicate type: ${code(e.bundle.predicateType)}`);
    for (const s of e.bundle.subjects ?? []) lines.push(`- Subject: ${code(s.name || '(unnamed)')} sha256 ${code(s.sha256 ?? '(none)')}`);
    lines.push('');
  }
  if (e.tlogEntries.length) {
    lines.push('### Transparency log entries', '');
    for (const t of e.tlogEntries) {
      lines.push(`- Log index ${code(t.logIndex)} (${text(t.kind)})`);
      lines.push(`  - Log ID: ${code(t.logId)}`);
      lines.push(`  - Integrated time: ${t.integratedTime ? t.integratedTime.toISOString() : 'none (Rekor v2: the timestamp comes from a timestamp authority)'}`);
      lines.push(`  - Inclusion promise (signed entry timestamp): ${t.inclusionPromise ? 'present' : 'absent'}`);
      if (t.inclusionProof) {
        lines.push(`  - Inclusion proof: index ${code(t.inclusionProof.logIndex)} in a tree of ${code(t.inclusionProof.treeSize)}, root hash ${code(t.inclusionProof.rootHash)}`);
        if (t.inclusionProof.checkpoint) lines.push('  - Checkpoint:', '', indentBlock(t.inclusionProof.checkpoint, '    '), '');
      } else {
        lines.push('  - Inclusion proof: absent');
      }
    }
    lines.push('');
  }
  if (e.timestamps.length) {
    lines.push('### Timestamps', '');
    for (const t of e.timestamps) {
      const source = t.source === 'timestamp-authority' ? 'RFC 3161 timestamp authority' : 'transparency log';
      lines.push(`- ${t.time.toISOString()} from ${source}${t.authority ? ` (${text(t.authority)})` : ''}`);
    }
    lines.push('');
  }
  if (e.trustedRoot) {
    lines.push('### Trusted root', '', `- ${e.trustedRoot.source.startsWith('/') ? code(e.trustedRoot.source) : text(e.trustedRoot.source)}`);
    for (const ignored of e.trustedRoot.ignored) lines.push(`- Ignored: ${text(ignored)}`);
    lines.push('');
  }
  if (e.notes.length) {
    lines.push('### Notes', '', ...e.notes.map((n) => `- ${text(n)}`), '');
  }
  return lines;
}

function renderSigner(s: SignerInfo, claimedOnly: boolean): string[] {
  const lines = [`### Signer${claimedOnly ? ' (as claimed by the evidence, not verified)' : ''}`, ''];
  if (s.kind === 'key') {
    lines.push(`- Public key${s.hint ? ` with hint ${code(s.hint)}` : ''}${s.source ? ` from ${code(s.source)}` : ''}${s.description ? `: ${text(s.description)}` : ''}`, '');
    return lines;
  }
  if (s.kind === 'openpgp') {
    lines.push(`- OpenPGP key ${code(s.fingerprint)}${s.source ? ` from ${code(s.source)}` : ''}`);
    for (const uid of s.userIds) lines.push(`- User ID: ${text(uid)}`);
    lines.push('');
    return lines;
  }
  lines.push(`- Identity: ${code(s.identity)}`);
  lines.push(`- Issuer: ${s.issuer ? code(s.issuer) : 'not present'}`);
  lines.push(`- Certificate valid from ${s.notBefore.toISOString()} to ${s.notAfter.toISOString()}`);
  lines.push(`- Certificate issued by ${text(s.certificateIssuer)}, serial ${code(s.serialNumber)}`);
  const extensions = s.extensions.filter((x) => !x.name.startsWith('Issuer'));
  if (extensions.length) {
    lines.push('', '| Certificate extension | Value |', '|---|---|');
    for (const x of extensions) lines.push(`| ${text(x.name)} (${x.oid}) | ${cell(x.value)} |`);
  }
  lines.push('');
  return lines;
}

/** Escapes Markdown and HTML in text from untrusted evidence. */
export function text(value: string): string {
  return value.replace(/[\\`*_{}[\]()#+\-.!|<>&~]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** An inline code span that no backtick in the value can break out of. */
export function code(value: string): string {
  const clean = value.replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

function cell(value: string): string {
  return text(value);
}

function indentBlock(value: string, indent: string): string {
  const fence = '~~~~';
  return [`${indent}${fence}`, ...value.replace(/~~~~/g, '~ ~ ').split('\n').map((l) => `${indent}${l}`), `${indent}${fence}`].join('\n');
}
