/**
 * JSON-lines attestation files (`*.intoto.jsonl` from slsa-github-generator ≥ 2.1,
 * `sha256:<hex>.jsonl` from `gh attestation download`): one Sigstore bundle per line, each
 * about the files its in-toto statement names. Lines that cannot be read are reported.
 */
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { Artifact } from '../artifacts/artifact';
import { ParsedCompanions } from '../artifacts/parsedCompanions';
import { firstSyntaxError } from '../untrustedText';
import { verifyBundleObject } from './bundleVerifier';
import { EvidenceBuilder, MAX_EVIDENCE_PER_COMPANION, tooMuchEvidence } from './evidenceBuilder';
import type { Evidence } from './result';
import { parseStrictJson, StrictJsonError } from './strictJson';
import type { NamedPublicKey } from './trustInputs';
import type { LoadedTrustedRoot } from '../trust/trustedRoot';

const MAX_ATTESTATION_FILE_BYTES = 32 * 1024 * 1024;

interface Line {
  readonly line: number;
  readonly json?: unknown;
  readonly error?: string;
  /** Subject names of the line's in-toto statement. */
  readonly names: readonly string[];
}

/** Damaged lines reported one by one; the rest are counted in one more piece of evidence. */
const DAMAGED_LINES_SHOWN = 8;

/** An attestation file as read: its lines, and which lines name each file (resolved once, not per file). */
interface AttestationFile {
  readonly lines: readonly Line[];
  readonly damaged: readonly Line[];
  readonly byTarget: ReadonlyMap<string, readonly Line[]>;
}

function parseAttestationFile(text: string, path: string): AttestationFile {
  const lines = parseAttestationLines(text);
  const byTarget = new Map<string, Line[]>();
  for (const line of lines) {
    const targets = new Set(line.names.map((n) => resolveSubject(path, n)).filter((t): t is string => t !== undefined));
    for (const target of targets) {
      const list = byTarget.get(target);
      if (list) list.push(line);
      else byTarget.set(target, [line]);
    }
  }
  return { lines, damaged: lines.filter((l) => l.error), byTarget };
}

function parseAttestationLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (let i = 1; start <= text.length; i++) {
    const end = text.indexOf('\n', start);
    const raw = text.slice(start, end === -1 ? text.length : end);
    const content = raw.trim();
    start = end === -1 ? text.length + 1 : end + 1;
    if (!content) continue;
    try {
      // Each line is a Sigstore bundle, read elsewhere as protobuf JSON.
      const json: unknown = parseStrictJson(content, { keys: 'protojson' });
      lines.push({ line: i, json, names: subjectNames(json) });
    } catch (e) {
      // JSON.parse's message quotes the bytes it read: say where, not what.
      if (e instanceof StrictJsonError) {
        lines.push({ line: i, error: `line ${i}: ${e.message}`, names: [] });
      } else {
        const offset = firstSyntaxError(content);
        const where = offset >= content.length ? 'it ends early' : `column ${raw.indexOf(content) + offset + 1}`;
        lines.push({ line: i, error: `line ${i} is not valid JSON (${where})`, names: [] });
      }
    }
  }
  return lines;
}

// The cache asks for the targets, then each named file is verified: one parse serves them all.
const attestationFiles = new ParsedCompanions(parseAttestationFile, MAX_ATTESTATION_FILE_BYTES);

export async function readAttestationLines(path: string): Promise<readonly Line[]> {
  return (await attestationFiles.read(path)).lines;
}

/** The files (absolute) an attestation file is about: its subjects' names, next to it. */
export async function attestationTargets(path: string): Promise<string[]> {
  return [...(await attestationFiles.read(path)).byTarget.keys()];
}

/** Verifies every line that names `artifactPath`; unreadable lines are reported too. */
export async function verifyAttestations(
  path: string,
  artifactPath: string,
  artifact: Artifact,
  options: { trustedRoot: LoadedTrustedRoot; keys: readonly NamedPublicKey[] },
): Promise<Evidence[]> {
  let file: AttestationFile;
  try {
    file = await attestationFiles.read(path);
  } catch (e) {
    return [new EvidenceBuilder('intoto-attestation', path).stop('read', 'failed', (e as Error).message, 'Check the attestation file.')];
  }
  const naming = file.byTarget.get(artifactPath) ?? [];
  // Checked up to the bound, or not at all: a failure among the rest must not go unseen.
  if (naming.length > MAX_EVIDENCE_PER_COMPANION) return [tooMuchEvidence(path, 'intoto-attestation', naming.length)];
  const evidence: Evidence[] = [];
  for (const line of file.damaged.slice(0, DAMAGED_LINES_SHOWN)) {
    evidence.push(new EvidenceBuilder('intoto-attestation', path, line.line).stop('parse', 'failed', line.error!, 'Download the attestations again; a damaged line proves nothing.'));
  }
  if (file.damaged.length > DAMAGED_LINES_SHOWN) {
    evidence.push(
      new EvidenceBuilder('intoto-attestation', path).stop(
        'parse',
        'failed',
        `${file.damaged.length - DAMAGED_LINES_SHOWN} more lines of the attestation file are not valid JSON.`,
        'Download the attestations again; a damaged line proves nothing.',
      ),
    );
  }
  for (const line of naming) evidence.push(await verifyBundleObject(path, line.json, artifact, { ...options, kind: 'intoto-attestation', line: line.line }));
  // In the file's order, as a person reads it.
  evidence.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  if (evidence.length === 0) {
    evidence.push(
      new EvidenceBuilder('intoto-attestation', path).stop('artifact-binding', 'failed', 'No line of the attestation file names this file.', 'Use the attestations made for this file.'),
    );
  }
  return evidence;
}

/** The statement's subject names; throws StrictJsonError for a statement other verifiers read differently. */
function subjectNames(json: unknown): string[] {
  const envelope = (json as { dsseEnvelope?: { payload?: unknown; payloadType?: unknown } } | null)?.dsseEnvelope;
  if (typeof envelope?.payload !== 'string') return [];
  let statement: { subject?: unknown };
  try {
    statement = parseStrictJson(Buffer.from(envelope.payload, 'base64').toString('utf8'), { keys: 'go-struct', structDepth: 1 }) as { subject?: unknown };
  } catch (e) {
    if (e instanceof StrictJsonError) throw new StrictJsonError(`its in-toto statement is ambiguous: ${e.message}`);
    return [];
  }
  try {
    if (!Array.isArray(statement.subject)) return [];
    return statement.subject.map((s: { name?: unknown }) => s?.name).filter((n): n is string => typeof n === 'string' && n.length > 0);
  } catch {
    return [];
  }
}

/** A subject name as a path next to the attestation file; names leaving that folder are ignored. */
function resolveSubject(attestationPath: string, name: string): string | undefined {
  if (isAbsolute(name) || name.includes('\0')) return undefined;
  const rel = normalize(name);
  if (rel === '..' || rel.startsWith(`..${sep}`)) return undefined;
  return join(dirname(attestationPath), rel);
}
