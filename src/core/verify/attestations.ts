/**
 * JSON-lines attestation files (`*.intoto.jsonl` from slsa-github-generator ≥ 2.1,
 * `sha256:<hex>.jsonl` from `gh attestation download`): one Sigstore bundle per line, each
 * about the files its in-toto statement names. Lines that cannot be read are reported.
 */
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { Artifact } from '../artifacts/artifact';
import { readLimited } from '../artifacts/artifact';
import { verifyBundleObject } from './bundleVerifier';
import { EvidenceBuilder } from './evidenceBuilder';
import type { Evidence } from './result';
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

export async function readAttestationLines(path: string): Promise<Line[]> {
  const text = (await readLimited(path, MAX_ATTESTATION_FILE_BYTES)).toString('utf8');
  const lines: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    const content = raw.trim();
    if (!content) return;
    try {
      const json: unknown = JSON.parse(content);
      lines.push({ line: i + 1, json, names: subjectNames(json) });
    } catch (e) {
      lines.push({ line: i + 1, error: `line ${i + 1} is not valid JSON: ${(e as Error).message}`, names: [] });
    }
  });
  return lines;
}

/** The files (absolute) an attestation file is about: its subjects' names, next to it. */
export async function attestationTargets(path: string): Promise<string[]> {
  const targets = new Set<string>();
  for (const line of await readAttestationLines(path)) {
    for (const name of line.names) {
      const target = resolveSubject(path, name);
      if (target) targets.add(target);
    }
  }
  return [...targets];
}

/** Verifies every line that names `artifactPath`; unreadable lines are reported too. */
export async function verifyAttestations(
  path: string,
  artifactPath: string,
  artifact: Artifact,
  options: { trustedRoot: LoadedTrustedRoot; keys: readonly NamedPublicKey[] },
): Promise<Evidence[]> {
  let lines: Line[];
  try {
    lines = await readAttestationLines(path);
  } catch (e) {
    return [new EvidenceBuilder('intoto-attestation', path).stop('read', 'failed', (e as Error).message, 'Check the attestation file.')];
  }
  const evidence: Evidence[] = [];
  for (const line of lines) {
    if (line.error) {
      evidence.push(new EvidenceBuilder('intoto-attestation', path, line.line).stop('parse', 'failed', line.error, 'Download the attestations again; a damaged line proves nothing.'));
      continue;
    }
    if (!line.names.some((n) => resolveSubject(path, n) === artifactPath)) continue;
    evidence.push(await verifyBundleObject(path, line.json, artifact, { ...options, kind: 'intoto-attestation', line: line.line }));
  }
  if (evidence.length === 0) {
    evidence.push(
      new EvidenceBuilder('intoto-attestation', path).stop('artifact-binding', 'failed', 'No line of the attestation file names this file.', 'Use the attestations made for this file.'),
    );
  }
  return evidence;
}

function subjectNames(json: unknown): string[] {
  const envelope = (json as { dsseEnvelope?: { payload?: unknown; payloadType?: unknown } } | null)?.dsseEnvelope;
  if (typeof envelope?.payload !== 'string') return [];
  try {
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { subject?: unknown };
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
