// Shared machinery of the property tests: the seed, run counts, time bounds, in-memory
// artifacts, and the mutations (bytes, JSON trees, base64 fields) the properties feed to
// the verifiers. Every mutation is a small record of numbers applied by a deterministic
// function, so fast-check can shrink a failure to a short list of edits.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import type { Artifact, DigestAlgorithm } from '../../src/core/artifacts/artifact';
import type { Evidence, VerificationState } from '../../src/core/verify/result';

// ---- configuration ----------------------------------------------------------------------

/** Fixed by default so a failure reproduces; FC_SEED overrides it (the failure message prints it). */
export const BASE_SEED = parseSeed(process.env.FC_SEED);
/** The brief asks for 10,000 mutated inputs per kind; FC_RUNS lowers it for quick local runs only. */
export const RUNS_PER_KIND = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : 10_000;
/** One verifier call slower than this counts as a hang. */
export const CALL_LIMIT_MS = 5_000;

function parseSeed(text: string | undefined): number {
  if (text === undefined || text === '') return 20_251_122;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`FC_SEED must be an integer, not ${JSON.stringify(text)}`);
  return n | 0;
}

/** Each kind gets its own stream, derived from the one seed, so kinds do not share inputs. */
function seedOf(kind: string): number {
  return (BASE_SEED ^ createHash('sha256').update(kind).digest().readInt32BE(0)) | 0;
}

// ---- running a property and reporting ---------------------------------------------------

interface KindStats {
  kind: string;
  runs: number;
  ms: number;
  states: Map<string, number>;
  /** Runs where the oracle said the input must not verify. */
  guarded: number;
  failed: boolean;
}

const stats: KindStats[] = [];

/**
 * Runs one property over exactly RUNS_PER_KIND generated inputs. `body` returns a label
 * for the run (the resulting state, for the summary) and whether the security oracle
 * guarded it. On failure the error names the seed to reproduce with.
 */
export async function checkKind<T>(
  kind: string,
  arbitrary: fc.Arbitrary<T>,
  body: (input: T, keep: Keep) => Promise<{ state: string; guarded: boolean }>,
): Promise<void> {
  const entry: KindStats = { kind, runs: 0, ms: 0, states: new Map(), guarded: 0, failed: false };
  stats.push(entry);
  const seed = seedOf(kind);
  // Shrinking re-runs inputs after a failure: only the first numRuns outcomes are counted.
  const outcomes: { state: string; guarded: boolean }[] = [];
  // The inputs of the last failing run: after shrinking, the smallest counterexample.
  let failing = new Map<string, Buffer | string>();
  const start = performance.now();
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (input) => {
      const kept = new Map<string, Buffer | string>();
      try {
        outcomes.push(await body(input, (name, data) => kept.set(name, data)));
      } catch (e) {
        failing = kept;
        throw e;
      }
    }),
    { seed, numRuns: RUNS_PER_KIND },
  );
  entry.ms = performance.now() - start;
  entry.runs = details.numRuns;
  for (const o of outcomes.slice(0, details.numRuns)) {
    entry.states.set(o.state, (entry.states.get(o.state) ?? 0) + 1);
    if (o.guarded) entry.guarded++;
  }
  if (details.failed) {
    entry.failed = true;
    const replay = `Reproduce with FC_SEED=${BASE_SEED} (property seed ${seed}, path "${details.counterexamplePath}").`;
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const saved = saveCounterexample(kind, failing);
    console.error(`\n[property ${kind}] FAILED. ${replay}${saved}`);
    // Paths relative to the repository, as mocha prints stacks: then it prints the report once.
    const report = `${fc.defaultReportMessage(details) ?? 'property failed'}\nError: ${error}\n${replay}${saved}`.split(`${process.cwd()}${sep}`).join('');
    // The report holds everything (the verifier's own stack included); a second stack only repeats it.
    throw Object.assign(new Error(report), { stack: report });
  }
}

/** The type of the values an arbitrary generates. */
export type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

/** Records an input of the current run under a file name, saved if the run fails. */
export type Keep = (name: string, data: Buffer | string) => void;

/**
 * The signed material is made afresh in each `before` (new keys, randomised ECDSA), so a
 * seed replays the same edits on other bytes: the failing input itself is saved too.
 */
function saveCounterexample(kind: string, files: ReadonlyMap<string, Buffer | string>): string {
  if (files.size === 0) return '';
  const dir = join(__dirname, '..', '..', 'test-results', 'property', kind.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, ''));
  try {
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of files) writeFileSync(join(dir, name), data);
    return ` The failing input is in ${dir}.`;
  } catch (e) {
    return ` (Could not save the failing input: ${(e as Error).message}.)`;
  }
}

/** Prints one line per kind: runs, time, and what the mutated inputs came to. */
export function printSummary(): void {
  if (stats.length === 0) return;
  const lines = stats.map((s) => {
    const states = [...s.states].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    return `  ${s.kind.padEnd(22)} ${String(s.runs).padStart(6)} runs ${(s.ms / 1000).toFixed(1).padStart(6)} s${s.failed ? '  FAILED' : ''}  guarded ${s.guarded}; ${states}`;
  });
  const total = stats.reduce((n, s) => n + s.ms, 0) / 1000;
  console.log(`\nProperty runs (seed ${BASE_SEED}, ${RUNS_PER_KIND} per kind, ${total.toFixed(1)} s in properties):\n${lines.join('\n')}`);
  stats.length = 0;
}

// A root-level hook: this module is loaded once per mocha process, so the table prints once
// at the very end (per worker file in parallel mode).
after(printSummary);

/**
 * Calls a verifier with a time bound. An exception is a failure of the property (verifiers
 * return evidence for bad input), and so is a call slower than CALL_LIMIT_MS. A synchronous
 * infinite loop cannot be interrupted from inside the process; it still shows up as the
 * suite never finishing.
 */
export async function bounded<T>(what: string, call: () => Promise<T>): Promise<T> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${CALL_LIMIT_MS} ms`)), CALL_LIMIT_MS);
  });
  try {
    const result = await Promise.race([
      call().catch((e: unknown) => {
        throw new Error(`${what} threw instead of returning: ${(e as Error)?.stack ?? String(e)}`);
      }),
      limit,
    ]);
    const ms = performance.now() - start;
    if (ms > CALL_LIMIT_MS) throw new Error(`${what} took ${Math.round(ms)} ms (limit ${CALL_LIMIT_MS} ms)`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

const STATES: readonly VerificationState[] = ['verified', 'untrusted', 'integrity', 'failed', 'unverifiable'];

/** Evidence is well-formed: a known state, and a failure with a message whenever it is not proven. */
export function assertEvidenceShape(e: Evidence, allowed: readonly VerificationState[]): void {
  assert.ok(e && typeof e === 'object', 'the verifier returned no evidence');
  assert.ok(STATES.includes(e.state) && allowed.includes(e.state), `unexpected state ${String(e.state)}`);
  if (e.state === 'failed' || e.state === 'unverifiable') {
    assert.ok(e.failure && typeof e.failure.message === 'string' && e.failure.message.length > 0, `state ${e.state} without a failure message`);
  }
  assert.equal(typeof e.summary, 'string');
}

/** The summary's label of a run: the state, and the check that decided a failure. */
export function outcomeOf(e: Evidence): string {
  return e.failure ? `${e.state}@${e.failure.check}` : e.state;
}

// ---- artifacts --------------------------------------------------------------------------

/** An `Artifact` over a buffer: no disk, so 10,000 runs stay fast. */
export function memoryArtifact(name: string, content: Buffer): Artifact {
  const digests = new Map<DigestAlgorithm, Buffer>();
  return {
    name,
    digest: async (algorithm) => {
      let d = digests.get(algorithm);
      if (!d) digests.set(algorithm, (d = createHash(algorithm).update(content).digest()));
      return d;
    },
    bytes: async (limit) => (content.length <= limit ? content : undefined),
  };
}

// ---- byte mutations ---------------------------------------------------------------------

export type ByteOpKind = 'flip' | 'set' | 'insert' | 'token' | 'delete' | 'truncate' | 'duplicate';

export interface ByteOp {
  readonly op: ByteOpKind;
  readonly at: number;
  readonly value: number;
  readonly len: number;
}

// Text that makes parsers take other branches: structure characters, escapes, BOM, armor lines.
const TOKENS = [
  ' ', '\n', '\r\n', '\t', '"', ',', ':', '{', '}', '[', ']', '0', '-', '9', 'A', 'f', '=', '/', '+', '\\', '*', '#', '.',
  '\u0000', '\u00ff', '\uFEFF', '\u2028', 'null', 'true', '1e999', '-1', '""', '{}', '[]', '\\u0000', '\\"', '..', '../',
  '-----BEGIN PGP SIGNATURE-----\n', '-----END PGP SIGNATURE-----\n', '-----BEGIN CERTIFICATE-----\n', '=', '==',
];

export const byteOp: fc.Arbitrary<ByteOp> = fc.record({
  op: fc.constantFrom<ByteOpKind>('flip', 'flip', 'set', 'insert', 'token', 'delete', 'truncate', 'duplicate'),
  at: fc.nat(),
  value: fc.nat({ max: 255 }),
  len: fc.integer({ min: 1, max: 16 }),
});

export const byteOps = (max = 3): fc.Arbitrary<ByteOp[]> => fc.array(byteOp, { minLength: 1, maxLength: max });

export function applyByteOp(input: Buffer, o: ByteOp): Buffer {
  const n = input.length;
  const pos = n === 0 ? 0 : o.at % n;
  switch (o.op) {
    case 'flip': {
      if (n === 0) return Buffer.from([o.value]);
      const out = Buffer.from(input);
      out[pos] = out[pos]! ^ (1 << (o.value % 8));
      return out;
    }
    case 'set': {
      if (n === 0) return Buffer.from([o.value]);
      const out = Buffer.from(input);
      out[pos] = o.value;
      return out;
    }
    case 'insert': {
      const at = o.at % (n + 1);
      const inserted = Buffer.alloc(o.len, o.value);
      return Buffer.concat([input.subarray(0, at), inserted, input.subarray(at)]);
    }
    case 'token': {
      const at = o.at % (n + 1);
      return Buffer.concat([input.subarray(0, at), Buffer.from(TOKENS[o.value % TOKENS.length]!), input.subarray(at)]);
    }
    case 'delete':
      return Buffer.concat([input.subarray(0, pos), input.subarray(pos + o.len)]);
    case 'truncate':
      return input.subarray(0, n === 0 ? 0 : o.at % n);
    case 'duplicate':
      return Buffer.concat([input.subarray(0, pos + o.len), input.subarray(pos, pos + o.len), input.subarray(pos + o.len)]);
  }
}

/** Applies the edits; with `mustChange`, guarantees the result differs from the input. */
export function mutateBytes(input: Buffer, ops: readonly ByteOp[], mustChange = false): Buffer {
  let out = input;
  for (const o of ops) out = applyByteOp(out, o);
  if (mustChange && out.equals(input)) out = applyByteOp(input, { op: 'flip', at: ops[0]?.at ?? 0, value: ops[0]?.value ?? 0, len: 1 });
  return out;
}

/** "byte 588 of 660: 00 -> 01" for a same-length change, else the lengths and first difference. */
export function describeChange(before: Buffer, after: Buffer): string {
  const diffs: string[] = [];
  const n = Math.min(before.length, after.length);
  for (let i = 0; i < n && diffs.length < 4; i++) {
    if (before[i] !== after[i]) diffs.push(`byte ${i}: ${hex2(before[i]!)} -> ${hex2(after[i]!)}`);
  }
  const lengths = before.length === after.length ? `${before.length} bytes` : `${before.length} -> ${after.length} bytes`;
  return `${lengths}${diffs.length ? `; ${diffs.join(', ')}` : ''}`;
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

// ---- DER-aware mutations ------------------------------------------------------------------

/**
 * The bytes of a DER structure where a parser's strictness shows: every tag, length and
 * first content byte (a BIT STRING's unused-bits count), found by walking the TLVs.
 * Random positions rarely land on these few bytes; these edits aim at them.
 */
export function derPositions(der: Buffer): number[] {
  const out: number[] = [];
  const walk = (start: number, end: number, depth: number) => {
    let i = start;
    while (i + 2 <= end && depth < 12) {
      const tag = der[i]!;
      out.push(i);
      let len = der[i + 1]!;
      let header = 2;
      out.push(i + 1);
      if (len & 0x80) {
        const n = len & 0x7f;
        if (n === 0 || n > 3 || i + 2 + n > end) return;
        len = 0;
        for (let k = 0; k < n; k++) len = len * 256 + der[i + 2 + k]!;
        header += n;
      }
      const contentStart = i + header;
      const contentEnd = contentStart + len;
      if (contentEnd > end) return;
      if (len > 0) out.push(contentStart);
      if (tag & 0x20) walk(contentStart, contentEnd, depth + 1);
      // Extensions wrap DER in OCTET STRINGs.
      else if (tag === 0x04 && der[contentStart] === 0x30) walk(contentStart, contentEnd, depth + 1);
      i = contentEnd;
    }
  };
  walk(0, der.length, 0);
  return [...new Set(out)];
}

export interface DerOp {
  readonly at: number;
  readonly value: number;
}

export const derOp: fc.Arbitrary<DerOp> = fc.record({ at: fc.nat(), value: fc.nat() });

// Small numbers (lengths, unused-bit counts), tag bits, extremes, and a neighbour of the old value.
const DER_VALUES = [0, 1, 2, 4, 7, 8, 0x7f, 0x80, 0x81, 0x82, 0xff, 0x20, -1, +1, 0x30, 0x31, 0x02, 0x03, 0x04, 0x05, 0xa0];

/** Sets one structural byte (see derPositions) to another value; always a change. */
export function mutateDer(der: Buffer, ops: readonly DerOp[]): Buffer {
  const positions = derPositions(der);
  const out = Buffer.from(der);
  for (const o of ops) {
    const at = positions[o.at % positions.length] ?? 0;
    const pick = DER_VALUES[o.value % DER_VALUES.length]!;
    const value = pick === -1 || pick === +1 ? (out[at]! + pick) & 0xff : pick;
    out[at] = value === out[at] ? value ^ 0x01 : value;
  }
  return out.equals(der) ? mutateBytes(der, [{ op: 'flip', at: 0, value: 0, len: 1 }], true) : out;
}

export type CertificateMutation = { readonly kind: 'bytes'; readonly ops: readonly ByteOp[] } | { readonly kind: 'der'; readonly ops: readonly DerOp[] };

/** A certificate edit: anywhere (random bytes) or on a structural byte (DER-aware). */
export const certificateMutation: fc.Arbitrary<CertificateMutation> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), ops: byteOps(2) }),
  fc.record({ kind: fc.constant('der' as const), ops: fc.array(derOp, { minLength: 1, maxLength: 2 }) }),
);

/** Always a change. */
export function mutateCertificate(der: Buffer, m: CertificateMutation): Buffer {
  return m.kind === 'der' ? mutateDer(der, m.ops) : mutateBytes(der, m.ops, true);
}

// ---- JSON trees ---------------------------------------------------------------------------

/**
 * JSON as a tree that can hold what JSON.parse cannot give back: duplicate keys (the last
 * wins when parsed) and numbers as written ("1e999", "-0").
 */
export type J =
  | { t: 'obj'; e: [string, J][] }
  | { t: 'arr'; a: J[] }
  | { t: 'str'; v: string }
  | { t: 'num'; raw: string }
  | { t: 'lit'; raw: 'true' | 'false' | 'null' };

export function toTree(value: unknown): J {
  if (value === null || value === undefined) return { t: 'lit', raw: 'null' };
  if (typeof value === 'boolean') return { t: 'lit', raw: value ? 'true' : 'false' };
  if (typeof value === 'number') return { t: 'num', raw: JSON.stringify(value) };
  if (typeof value === 'string') return { t: 'str', v: value };
  if (Array.isArray(value)) return { t: 'arr', a: value.map(toTree) };
  return { t: 'obj', e: Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toTree(v)]) };
}

function clone(j: J): J {
  return structuredClone(j);
}

/** 0: compact; 1: indented; 2: CRLF and tabs; 3: spaces everywhere JSON allows them. */
export function serialize(j: J, style = 0, depth = 0): string {
  const nl = style === 1 ? `\n${'  '.repeat(depth + 1)}` : style === 2 ? `\r\n${'\t'.repeat(depth + 1)}` : style === 3 ? ' ' : '';
  const end = style === 1 ? `\n${'  '.repeat(depth)}` : style === 2 ? `\r\n${'\t'.repeat(depth)}` : style === 3 ? ' ' : '';
  const colon = style === 0 ? ':' : style === 3 ? ' : ' : ': ';
  switch (j.t) {
    case 'obj':
      if (j.e.length === 0) return '{}';
      return `{${j.e.map(([k, v]) => `${nl}${JSON.stringify(k)}${colon}${serialize(v, style, depth + 1)}`).join(',')}${end}}`;
    case 'arr':
      if (j.a.length === 0) return '[]';
      return `[${j.a.map((v) => `${nl}${serialize(v, style, depth + 1)}`).join(',')}${end}]`;
    case 'str':
      return JSON.stringify(j.v);
    case 'num':
    case 'lit':
      return j.raw;
  }
}

interface Slot {
  node: J;
  /** Replaces the node in its parent (undefined for the root). */
  set?: (n: J) => void;
  remove?: () => void;
  duplicate?: (copy: J, before: boolean) => void;
}

function slots(root: J): Slot[] {
  const out: Slot[] = [{ node: root }];
  const walk = (j: J) => {
    if (j.t === 'obj') {
      j.e.forEach((entry) => {
        out.push({
          node: entry[1],
          set: (n) => (entry[1] = n),
          remove: () => j.e.splice(j.e.indexOf(entry), 1),
          duplicate: (copy, before) => j.e.splice(j.e.indexOf(entry) + (before ? 0 : 1), 0, [entry[0], copy]),
        });
        walk(entry[1]);
      });
    } else if (j.t === 'arr') {
      j.a.forEach((child, i) => {
        out.push({
          node: child,
          set: (n) => (j.a[i] = n),
          remove: () => j.a.splice(j.a.indexOf(child), 1),
          duplicate: (copy, before) => j.a.splice(j.a.indexOf(child) + (before ? 0 : 1), 0, copy),
        });
        walk(child);
      });
    }
  };
  walk(root);
  return out;
}

/** The node at a path of keys / indexes (the last duplicate key, as JSON.parse reads it). */
export function nodeAt(root: J, path: readonly (string | number)[]): Slot | undefined {
  let slot: Slot = { node: root };
  for (const step of path) {
    const j = slot.node;
    if (typeof step === 'number') {
      if (j.t !== 'arr' || step >= j.a.length) return undefined;
      slot = { node: j.a[step]!, set: (n) => (j.a[step] = n) };
    } else {
      if (j.t !== 'obj') return undefined;
      const entry = j.e.filter(([k]) => k === step).at(-1);
      if (!entry) return undefined;
      slot = { node: entry[1], set: (n) => (entry[1] = n) };
    }
  }
  return slot;
}

export type JsonOpKind = 'string' | 'base64' | 'number' | 'empty' | 'remove' | 'duplicate' | 'retype' | 'swap';

export interface JsonOp {
  readonly op: JsonOpKind;
  readonly at: number;
  readonly choice: number;
  readonly bytes: readonly ByteOp[];
}

export const jsonOp: fc.Arbitrary<JsonOp> = fc.record({
  op: fc.constantFrom<JsonOpKind>('string', 'base64', 'base64', 'number', 'empty', 'remove', 'duplicate', 'retype', 'swap'),
  at: fc.nat(),
  choice: fc.nat(),
  bytes: byteOps(2),
});

const NUMBERS = ['0', '-1', '1', '1e999', '9007199254740993', '99999999999999999999999', '-0', '0.5', '1e3', '"0"', '"-1"', '"18446744073709551616"', '""'];
const RETYPES = ['null', 'true', 'false', '0', '""', '[]', '{}', '"AAAA"', '"not base64!"', '-5', '[null]', '{"":""}'];
const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

function literal(text: string): J {
  return toTree(JSON.parse(text));
}

/** Applies one JSON edit in place (on a node chosen by `at`); returns the (possibly new) root. */
export function applyJsonOp(root: J, o: JsonOp): J {
  const all = slots(root);
  const slot = all[o.at % all.length]!;
  const node = slot.node;
  const replace = (n: J): J => {
    if (!slot.set) return n;
    slot.set(n);
    return root;
  };
  switch (o.op) {
    case 'string':
      if (node.t !== 'str') return replace(literal(RETYPES[o.choice % RETYPES.length]!));
      return replace({ t: 'str', v: mutateBytes(Buffer.from(node.v, 'utf8'), o.bytes, true).toString('utf8') });
    case 'base64': {
      if (node.t !== 'str' || !BASE64.test(node.v)) return applyJsonOp(root, { ...o, op: 'string' });
      const bytes = mutateBytes(Buffer.from(node.v, 'base64'), o.bytes, true);
      return replace({ t: 'str', v: encodeBase64(bytes, o.choice) });
    }
    case 'number': {
      if (node.t === 'num' || (node.t === 'str' && /^-?\d+$/.test(node.v))) {
        const original = node.t === 'num' ? node.raw : node.v;
        const near = /^-?\d+$/.test(original) ? [String(BigInt(original) + 1n), String(BigInt(original) - 1n)] : [];
        const options = [...NUMBERS, ...near];
        const pick = options[o.choice % options.length]!;
        // Keep the JSON type half of the time: a changed value is a different test than a changed type.
        if (o.choice % 2 === 0 && node.t === 'str') return replace({ t: 'str', v: pick.replace(/"/g, '') });
        return replace(pick.startsWith('"') ? literal(pick) : { t: 'num', raw: pick });
      }
      return replace({ t: 'num', raw: NUMBERS[o.choice % NUMBERS.length]!.replace(/"/g, '') || '0' });
    }
    case 'empty':
      return replace(node.t === 'arr' ? { t: 'arr', a: [] } : node.t === 'obj' ? { t: 'obj', e: [] } : { t: 'str', v: '' });
    case 'remove':
      if (!slot.remove) return { t: 'obj', e: [] };
      slot.remove();
      return root;
    case 'duplicate': {
      if (!slot.duplicate) return root;
      // The copy is either the same value or junk, placed before or after: JSON.parse keeps the last.
      const copy = o.choice % 2 === 0 ? clone(node) : literal(RETYPES[(o.choice >> 1) % RETYPES.length]!);
      slot.duplicate(copy, o.choice % 4 < 2);
      return root;
    }
    case 'retype':
      return replace(literal(RETYPES[o.choice % RETYPES.length]!));
    case 'swap':
      return replace(clone(all[o.choice % all.length]!.node));
  }
}

/** Standard base64, or the spellings decoders differ on: URL-safe, unpadded, wrapped. */
export function encodeBase64(bytes: Buffer, choice = 0): string {
  const std = bytes.toString('base64');
  switch (choice % 8) {
    case 5:
      return bytes.toString('base64url');
    case 6:
      return std.replace(/=+$/, '');
    case 7:
      return std.replace(/.{1,16}/g, '$&\n');
    default:
      return std;
  }
}

/** The value JSON.parse gives at `path`, or undefined. */
export function valueAt(json: unknown, path: readonly (string | number)[]): unknown {
  let v: unknown = json;
  for (const step of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[step];
  }
  return v;
}

/**
 * Whether a base64 field still holds `original` as a lenient decoder (Node's, which
 * protobuf-specs uses) reads it. 'absent' when the field is not there at all: a missing
 * field is not a changed one, and the verifier decides what its absence means.
 */
export function base64Field(value: unknown, original: Buffer): 'same' | 'changed' | 'absent' {
  if (value === undefined || value === null) return 'absent';
  if (typeof value !== 'string') return 'changed';
  return Buffer.from(value, 'base64').equals(original) ? 'same' : 'changed';
}

/** A JSON run: optional edits of the critical field, other JSON edits, formatting, raw byte edits. */
export interface JsonMutation {
  readonly critical?: { readonly target: number; readonly bytes: readonly ByteOp[]; readonly encoding: number };
  readonly edits: readonly JsonOp[];
  readonly style: number;
  readonly raw?: readonly ByteOp[];
}

/** Present in about `percent`% of runs. */
export function sometimes<T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - percent }, { arbitrary, weight: percent });
}

// Half the runs edit a critical field; raw byte edits are rarer, since most of them only
// break the JSON and stop the verifier at its first step.
export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.record({
  critical: sometimes(fc.record({ target: fc.nat(), bytes: byteOps(3), encoding: fc.nat() }), 50),
  edits: fc.array(jsonOp, { maxLength: 3 }),
  style: fc.nat({ max: 3 }),
  raw: sometimes(byteOps(3), 30),
});

/** A base64 field a critical edit targets: decoded, changed (always), encoded again. */
export interface CriticalField {
  readonly path: readonly (string | number)[];
  /** 'base64' (bytes inside base64) or 'hex' (a hex string: the edit changes one digit). */
  readonly encoding: 'base64' | 'hex';
}

/** Applies a JsonMutation to a parsed valid input; returns the bytes to feed the verifier. */
export function mutateJson(valid: unknown, m: JsonMutation, fields: readonly CriticalField[]): Buffer {
  let tree = toTree(valid);
  if (m.critical && fields.length > 0) {
    const field = fields[m.critical.target % fields.length]!;
    const slot = nodeAt(tree, field.path);
    if (slot?.set && slot.node.t === 'str') {
      if (field.encoding === 'hex') {
        slot.set({ t: 'str', v: changeHexDigit(slot.node.v, m.critical.target) });
      } else {
        const bytes = mutateBytes(Buffer.from(slot.node.v, 'base64'), m.critical.bytes, true);
        slot.set({ t: 'str', v: encodeBase64(bytes, m.critical.encoding) });
      }
    }
  }
  for (const edit of m.edits) tree = applyJsonOp(tree, edit);
  const text = Buffer.from(serialize(tree, m.style), 'utf8');
  return m.raw ? mutateBytes(text, m.raw) : text;
}

/** Another hex digit at one position (case kept): a different digest, not another spelling. */
export function changeHexDigit(hex: string, at: number): string {
  const i = at % hex.length;
  const c = hex[i]!;
  const value = (parseInt(c, 16) + 1 + ((at >> 8) % 15)) % 16;
  const next = c === c.toUpperCase() && /[A-F]/.test(c) ? value.toString(16).toUpperCase() : value.toString(16);
  return hex.slice(0, i) + next + hex.slice(i + 1);
}

export function parseJson(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** An artifact edit: none (the original bytes) or edits that always change them. */
export const artifactMutation: fc.Arbitrary<readonly ByteOp[] | undefined> = sometimes(byteOps(3), 25);

export function mutateArtifact(original: Buffer, ops: readonly ByteOp[] | undefined): Buffer {
  return ops ? mutateBytes(original, ops, true) : original;
}
