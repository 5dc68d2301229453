import { basename, dirname, join, posix } from 'node:path';
import type { Artifact } from '../artifacts/artifact';
import { readLimited } from '../artifacts/artifact';
import { ArtifactReadError, SigstoreError } from '../errors';
import { EvidenceBuilder } from './evidenceBuilder';
import type { Evidence } from './result';

export type ChecksumAlgorithm = 'sha256' | 'sha512' | 'sha1' | 'md5' | 'sha384';

export interface ChecksumEntry {
  /** The file name the line gives (as written, unescaped); absent for a bare digest. */
  readonly name?: string;
  readonly algorithm: ChecksumAlgorithm;
  /** Lower-case hex. */
  readonly hex: string;
  /** 1-based line in the checksum file. */
  readonly line: number;
  /**
   * Later lines of a list naming the same file with another digest (same digest: dropped).
   * `sha256sum -c` checks every line, so each of these must match too.
   */
  readonly repeats?: readonly ChecksumEntry[];
}

/** A checksum file we refuse to read, and the line that made us refuse (0: the file as a whole). */
export class ChecksumFormatError extends SigstoreError {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super('CHECKSUM_FORMAT', message, 'The checksum file is damaged or is not a checksum file. Download it again from where you got the file.');
  }
}

/** Checksum files are short text; anything bigger is not one (the same cap as other companions). */
export const MAX_CHECKSUM_FILE_BYTES = 10 * 1024 * 1024;

const HEX_LENGTHS: Readonly<Record<ChecksumAlgorithm, number>> = { md5: 32, sha1: 40, sha256: 64, sha384: 96, sha512: 128 };
const BY_LENGTH: ReadonlyMap<number, ChecksumAlgorithm> = new Map(Object.entries(HEX_LENGTHS).map(([a, n]) => [n, a as ChecksumAlgorithm]));
const WEAK: ReadonlySet<ChecksumAlgorithm> = new Set(['md5', 'sha1']);
const LABELS: Readonly<Record<ChecksumAlgorithm, string>> = { md5: 'MD5', sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

/**
 * The algorithm a checksum file's name announces (`F.sha256`, `SHA512SUMS`, `F.sha256sum`,
 * `sha1sums.txt`), or undefined (`checksums.txt`). The last mention wins, so
 * `md5-tool.tar.gz.sha256` is SHA-256.
 */
export function checksumAlgorithmOf(fileName: string): ChecksumAlgorithm | undefined {
  const matches = [...basename(fileName).toLowerCase().matchAll(/(?:^|[^a-z0-9])(sha-?(?:2-)?(?:256|384|512)|sha-?1|md5)(?:sums?)?(?=$|[^a-z0-9])/g)];
  const last = matches.at(-1)?.[1];
  return last ? algorithmNamed(last) : undefined;
}

function algorithmNamed(name: string): ChecksumAlgorithm | undefined {
  const n = name.toLowerCase().replace(/-/g, '').replace(/^sha2(?=256|384|512)/, 'sha');
  return n in HEX_LENGTHS ? (n as ChecksumAlgorithm) : undefined;
}

// BSD / `shasum --tag` / OpenSSL: `SHA256 (name) = hex`, `SHA2-256(name)= hex`. The name is
// greedy so names holding parentheses still parse.
const BSD_LINE = /^([A-Za-z][A-Za-z0-9-]*) ?\((.*)\) ?= ?(\S+)$/;

/**
 * Parses a checksum companion: a single-file one (`F.sha256`: a digest, optionally followed
 * by a name) or a list (`SHA256SUMS`, `checksums.txt`: GNU `hex  name` / `hex *name` lines, or
 * BSD `SHA256 (name) = hex` lines). Blank lines, `#` comments, CRLF and a clearsigned
 * OpenPGP wrapper are tolerated. Returns the entries in file order (none for a file with only
 * comments); throws a ChecksumFormatError naming the line for anything else.
 */
export function parseChecksumFile(text: string, algorithmHint?: ChecksumAlgorithm): ChecksumEntry[] {
  if (Buffer.byteLength(text, 'utf8') > MAX_CHECKSUM_FILE_BYTES) {
    throw new ChecksumFormatError(0, `The checksum file is larger than ${MAX_CHECKSUM_FILE_BYTES / (1024 * 1024)} MiB, so it is not a checksum file.`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  const entries: ChecksumEntry[] = [];
  let clearsigned: 'no' | 'header' | 'body' | 'signature' = 'no';
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (isBinary(raw)) {
      throw new ChecksumFormatError(lineNo, `Line ${lineNo} holds binary data: this is not a checksum file.`);
    }
    // Fedora's CHECKSUM files and some SUMS files are clearsigned: read the signed text only
    // (the signature itself is not checked here).
    if (clearsigned === 'no' && entries.length === 0 && raw.trim() === '-----BEGIN PGP SIGNED MESSAGE-----') {
      clearsigned = 'header';
      return;
    }
    if (clearsigned === 'header') {
      if (raw.trim() === '') clearsigned = 'body';
      return;
    }
    if (clearsigned === 'body' && raw.trim() === '-----BEGIN PGP SIGNATURE-----') {
      clearsigned = 'signature';
      return;
    }
    if (clearsigned === 'signature') return;
    let line = clearsigned === 'body' && raw.startsWith('- ') ? raw.slice(2) : raw;
    // Trailing blanks trimmed by hand: /[ \t]+$/ backtracks quadratically over inner runs of blanks.
    let end = line.length;
    while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
    line = line.slice(0, end);
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    entries.push(parseLine(line.trimStart(), lineNo, algorithmHint));
  });
  return entries;
}

function parseLine(line: string, lineNo: number, hint: ChecksumAlgorithm | undefined): ChecksumEntry {
  const bsd = BSD_LINE.exec(line);
  if (bsd && !isHex(bsd[1]!)) {
    const named = algorithmNamed(bsd[1]!);
    if (!named) throw new ChecksumFormatError(lineNo, `Line ${lineNo} names an algorithm this extension does not support (only SHA-256, SHA-384, SHA-512, SHA-1 and MD5).`);
    return entry(bsd[3]!, named, bsd[2]!, lineNo);
  }
  // GNU coreutils: a leading backslash means the name has \\ and \n escapes.
  const escaped = line.startsWith('\\');
  const gnu = /^(\S+)(?:[ \t]([\s\S]*))?$/.exec(escaped ? line.slice(1) : line);
  if (!gnu) throw new ChecksumFormatError(lineNo, `Line ${lineNo} is not "digest  name".`);
  let name = gnu[2];
  // `hex  name` (text mode) and `hex *name` (binary mode) put a mode character after the
  // separating space; plain `hex name` has none.
  if (name !== undefined && (name.startsWith(' ') || name.startsWith('*'))) name = name.slice(1);
  if (name !== undefined && escaped) name = name.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return entry(gnu[1]!, hint, name || undefined, lineNo);
}

function entry(digest: string, algorithm: ChecksumAlgorithm | undefined, name: string | undefined, lineNo: number): ChecksumEntry {
  if (!isHex(digest)) {
    // Where, never what: the line may be from a file that is not a checksum file at all.
    const at = digest.search(/[^0-9a-fA-F]/);
    const where = at < 0 ? '' : ` (character ${at + 1} is not a hex digit)`;
    throw new ChecksumFormatError(lineNo, `Line ${lineNo} does not start with a hex digest${where}.`);
  }
  const alg = algorithm ?? BY_LENGTH.get(digest.length);
  if (!alg) {
    throw new ChecksumFormatError(lineNo, `Line ${lineNo} has a ${digest.length}-digit digest, which is no known checksum length (32, 40, 64, 96 or 128).`);
  }
  if (digest.length !== HEX_LENGTHS[alg]) {
    throw new ChecksumFormatError(lineNo, `Line ${lineNo} has a ${digest.length}-digit digest, but a ${LABELS[alg]} digest has ${HEX_LENGTHS[alg]}.`);
  }
  return { name, algorithm: alg, hex: digest.toLowerCase(), line: lineNo };
}

/** NUL and other control characters never occur in checksum text; U+FFFD is what decoding binary as UTF-8 leaves. */
function isBinary(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0c) || c === 0x7f || c === 0xfffd) return true;
  }
  return false;
}

function isHex(s: string): boolean {
  return /^[0-9a-fA-F]+$/.test(s);
}

/**
 * The entries of a checksum list by the artifact each names, resolved against the list's
 * folder (`./a`, `dir/b` included). Names that are absolute or lead out of the folder are
 * ignored: a list must not vouch for files elsewhere. A file listed again with another digest
 * keeps the first entry, carrying the others as `repeats` (they must all match).
 * Throws ChecksumFormatError like parseChecksumFile.
 */
export function checksumEntriesFor(listPath: string, text: string): Map<string, ChecksumEntry> {
  return byArtifactPath(listPath, parseChecksumFile(text, checksumAlgorithmOf(listPath)));
}

function byArtifactPath(listPath: string, entries: readonly ChecksumEntry[]): Map<string, ChecksumEntry> {
  const folder = dirname(listPath);
  const result = new Map<string, ChecksumEntry>();
  for (const e of entries) {
    const relative = e.name === undefined ? undefined : containedName(e.name);
    if (relative === undefined) continue;
    const path = join(folder, relative);
    if (path === join(listPath)) continue;
    const first = result.get(path);
    if (!first) {
      result.set(path, e);
    } else if (![first, ...(first.repeats ?? [])].some((k) => k.algorithm === e.algorithm && k.hex === e.hex)) {
      result.set(path, { ...first, repeats: [...(first.repeats ?? []), e] });
    }
  }
  return result;
}

/** The name as a '/'-separated path inside the folder, or undefined when it is not one. */
function containedName(name: string): string | undefined {
  // Lists made on Windows use backslashes (and drive letters): treat them as separators so
  // `..\x` cannot slip past the check.
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) return undefined;
  const normal = posix.normalize(slashed);
  if (normal === '..' || normal.startsWith('../') || normal === '.' || normal.endsWith('/')) return undefined;
  return normal;
}

/**
 * Compares the artifact with one checksum entry. A match only proves integrity (the file is
 * the one the checksum was made for); it says nothing about who made it, since whoever can
 * replace the file can usually replace its checksum too.
 */
export async function verifyChecksum(companionPath: string, entry: ChecksumEntry, artifact: Artifact): Promise<Evidence> {
  const run = new EvidenceBuilder('checksum', companionPath, entry.line);
  const label = LABELS[entry.algorithm];
  run.pass('read');
  run.pass('parse', `${label} on line ${entry.line}`);
  if (entry.name !== undefined) {
    const named = basename(entry.name.replace(/\\/g, '/'));
    if (named === basename(artifact.name)) {
      run.pass('artifact-binding', `line ${entry.line} names ${named}`);
    } else {
      // Not a failure by itself (files get renamed after the checksum is made); the digest decides.
      run.notes.push(`Line ${entry.line} of the checksum file names another file than ${JSON.stringify(basename(artifact.name))}.`);
    }
  }
  if (WEAK.has(entry.algorithm)) {
    run.notes.push(`${label} is weak: collisions are practical, so a file made to collide with the original would match too. Prefer a SHA-256 or SHA-512 checksum.`);
  }

  const list = basename(companionPath);
  const listed = [entry, ...(entry.repeats ?? [])];
  const contradiction = listed.find((a, i) => listed.some((b, j) => j > i && b.algorithm === a.algorithm));
  const other = contradiction && listed.find((b) => b !== contradiction && b.algorithm === contradiction.algorithm);
  if (contradiction && other) {
    // `sha256sum -c` fails such a list whatever the file holds: one of the two lines is wrong.
    return run.stop(
      'checksum',
      'failed',
      `${list} gives two different ${LABELS[contradiction.algorithm]} digests for ${basename(artifact.name)} (lines ${contradiction.line} and ${other.line}), so it cannot vouch for the file.`,
      'The checksum list contradicts itself: it was damaged or tampered with. Download it again from where you got the file, or ask its publisher to fix it.',
    );
  }
  let actual = '';
  for (const e of listed) {
    const eLabel = LABELS[e.algorithm];
    let digest: Buffer | undefined;
    try {
      digest = await artifact.digest(e.algorithm);
    } catch (err) {
      if (!(err instanceof ArtifactReadError)) throw err; // cancellation and bugs are the caller's
      // The file could not be read: nothing proves or disproves the checksum.
      return run.stop('checksum', 'unverifiable', err.message, err.remedy ?? 'Check that the file exists and is readable.');
    }
    if (!digest) {
      return run.stop('checksum', 'unverifiable', `Only the file's SHA-256 digest is known, and the checksum is ${eLabel}.`, 'Verify the file itself rather than its digest.');
    }
    const hexDigest = digest.toString('hex');
    if (hexDigest !== e.hex) {
      return run.stop(
        'checksum',
        'failed',
        `The file's ${eLabel} is ${hexDigest}, but ${list} (line ${e.line}) lists ${e.hex}.`,
        'The file changed, was damaged in transfer, or is not the one the checksum was published for. Download it again from its source.',
      );
    }
    if (e === entry) actual = hexDigest;
  }
  run.pass('checksum', `${label} ${actual}`);
  return run.finish(
    'integrity',
    `The file matches the ${label} checksum in ${basename(companionPath)}; a checksum says nothing about who made the file.`,
  );
}

/**
 * Reads a checksum companion and checks the artifact against its entry: the only entry of a
 * single-file companion (`F.sha256`), or the entry naming the artifact in a list. Read and
 * format problems become evidence, never exceptions.
 */
export async function verifyChecksumFile(companionPath: string, artifactPath: string, artifact: Artifact): Promise<Evidence> {
  let text: string;
  try {
    text = (await readLimited(companionPath, MAX_CHECKSUM_FILE_BYTES)).toString('utf8');
  } catch (e) {
    if (!(e instanceof ArtifactReadError)) throw e;
    const state = e.code === 'NOT_FOUND' ? 'unverifiable' : 'failed';
    return new EvidenceBuilder('checksum', companionPath).stop('read', state, e.message, e.remedy ?? 'Check that the checksum file is readable.');
  }
  let entries: ChecksumEntry[];
  try {
    entries = parseChecksumFile(text, checksumAlgorithmOf(companionPath));
  } catch (e) {
    if (!(e instanceof ChecksumFormatError)) throw e;
    const run = new EvidenceBuilder('checksum', companionPath, e.line || undefined);
    run.pass('read');
    return run.stop('parse', 'failed', e.message, e.remedy!);
  }
  // `F.sha256` next to `F` holds F's checksum whatever name its line gives; a list is looked up by name.
  const single = entries.length === 1 && basename(companionPath).startsWith(`${basename(artifactPath)}.`);
  const entry = single ? entries[0] : byArtifactPath(companionPath, entries).get(join(artifactPath));
  if (!entry) {
    const run = new EvidenceBuilder('checksum', companionPath);
    run.pass('read');
    const name = basename(companionPath);
    return run.stop(
      'parse',
      'unverifiable',
      entries.length === 0 ? `${name} holds no checksum.` : `${name} lists no checksum for ${basename(artifactPath)}.`,
      'Check that this checksum file belongs to this file.',
    );
  }
  return verifyChecksum(companionPath, entry, artifact);
}
