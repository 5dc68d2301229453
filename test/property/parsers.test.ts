// Parsers over workspace text, fed ~200 KB of the shapes that make backtracking parsers
// quadratic (runs of blanks, `=`, `\`, quotes, `${`, `#`, BEGIN lines, YAML aliases): each must
// still give the right answer. The mocha timeout below is the only time bound: a quadratic
// parser needs tens of seconds per input at this size, a linear one milliseconds.
// And companion JSON: a valid bundle with any one key written twice is refused.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import fc from 'fast-check';
import { digestArtifact, fileArtifact } from '../../src/core/artifacts/artifact';
import { classify } from '../../src/core/artifacts/companions';
import { findImageUses } from '../../src/core/images/imageUses';
import { parseImageReference } from '../../src/core/oci/reference';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../src/core/trust/trustedRoot';
import { verifyBundleBytes } from '../../src/core/verify/bundleVerifier';
import { parseChecksumFile } from '../../src/core/verify/checksum';
import { pemBlocks, verifyLegacyBundle } from '../../src/core/verify/legacyBundle';
import { armoredKeyBlocks } from '../../src/core/verify/openpgpSignature';
import { signFile, sha256Hex, startSigstoreInstance, type SigstoreInstance } from '../support/sigstore-instance';
import { BASE_SEED, checkKind } from './support';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Inputs per adversarial shape: enough to meet every shape and length class, few at 200 KB each. */
const ADVERSARIAL_RUNS = 12;

/** What backtracking parsers trip over, repeated. */
const UNITS = [' ', '\t', '=', '\\', '"', "'", '${', '#', '`', ' \\', '= ', '${A:-', ': ', '- ', '<<', '*', '&a '] as const;

/** 150–210 KB of one unit. */
const run = fc.record({ unit: fc.constantFrom(...UNITS), length: fc.integer({ min: 150_000, max: 210_000 }) }).map(({ unit, length }) => unit.repeat(Math.ceil(length / unit.length)));

const HEX = 'ab'.repeat(32);

function assertAdversarial<T>(arbitrary: fc.Arbitrary<T>, check: (input: T) => void): void {
  fc.assert(fc.property(arbitrary, check), { seed: BASE_SEED, numRuns: ADVERSARIAL_RUNS });
}

const references = (path: string, text: string) => findImageUses(path, text).map((u) => `${u.line}:${u.column}:${u.reference}`);

/** `line:column:reference` of the first `reference` written after `after` in `text`. */
function written(text: string, reference: string, after = ''): string {
  const offset = text.indexOf(reference, text.indexOf(after) + after.length);
  const before = text.slice(0, offset).split('\n');
  return `${before.length - 1}:${before[before.length - 1]!.length}:${reference}`;
}

describe('parsers of workspace text stay linear on adversarial input', function () {
  // A quadratic parser takes seconds to minutes per 200 KB input; all of these together take a few seconds.
  this.timeout(60_000);

  it('Dockerfile: a parser directive with a long value, and long lines anywhere', () => {
    assertAdversarial(run, (filler) => {
      // Not a known directive: the escape stays `\`, the FROM is found.
      assert.deepEqual(references('Dockerfile', `# a= x${filler}y\nFROM alpine:3.19\n`), ['1:5:alpine:3.19']);
      // The escape directive with blanks around its value still sets the escape: the continued FROM names stage `base`.
      assert.deepEqual(
        references('Dockerfile', `# escape=\`${' '.repeat(filler.length)}\nFROM alpine:3.19 \`\n AS base\nFROM base\n`),
        ['1:5:alpine:3.19'],
      );
      // The run inside instructions (a comment, RUN text, an ARG value) changes nothing about the FROMs.
      assert.deepEqual(references('Dockerfile', `FROM alpine:3.19\n# ${filler}\nRUN echo ${filler} x\nARG X=${filler} x\nFROM busybox\n`), ['0:5:alpine:3.19', '4:5:busybox']);
    });
  });

  it('Dockerfile substitution: ${ nested without bound is unresolved, the other FROMs are kept', () => {
    assertAdversarial(fc.integer({ min: 30_000, max: 42_000 }), (depth) => {
      const text = `FROM alpine:3.19\nFROM ${'${A:-'.repeat(depth)}x${'}'.repeat(depth)}\nFROM busybox:1\n`;
      assert.deepEqual(references('Dockerfile', text), ['0:5:alpine:3.19', '2:5:busybox:1']);
    });
  });

  it('Compose: many aliases of one service, merge keys naming one another, long scalars and comments', () => {
    assertAdversarial(fc.tuple(run, fc.integer({ min: 12_000, max: 16_000 })), ([filler, count]) => {
      const aliases = `x: &a {image: alpine:3.19}\nservices:\n${Array.from({ length: count }, (_, i) => `  s${i}: *a\n`).join('')}`;
      assert.deepEqual(references('compose.yml', aliases), [written(aliases, 'alpine:3.19')]);
      // A billion laughs through merge keys, none with an image: nothing is reported, the real service is.
      let laughs = 'x0: &a0 {name: none}\n';
      for (let i = 1; i <= 16; i++) laughs += `x${i}: &a${i} {<<: [${Array(3).fill(`*a${i - 1}`).join(', ')}]}\n`;
      const merged = `${laughs}services:\n  web: *a16\n  db:\n    image: postgres:16\n`;
      assert.deepEqual(references('compose.yml', merged), [written(merged, 'postgres:16')]);
      const comment = `# ${filler}\nservices:\n  web:\n    image: alpine:3.19\n`;
      assert.deepEqual(references('compose.yml', comment), ['3:11:alpine:3.19']);
    });
  });

  it('Kubernetes: a pod spec listing one aliased container many times', () => {
    assertAdversarial(fc.integer({ min: 25_000, max: 35_000 }), (count) => {
      const text = `kind: Pod\nspec:\n  containers:\n    - &c {name: a, image: alpine:3.19}\n${'    - *c\n'.repeat(count)}`;
      assert.deepEqual(references('pod.yaml', text), [written(text, 'alpine:3.19')]);
    });
  });

  it('file names: Compose and companion classification of long names', () => {
    assertAdversarial(fc.integer({ min: 20, max: 30 }), (k) => {
      const compose = 'services:\n  a:\n    image: alpine\n';
      assert.equal(findImageUses(`${'compose-'.repeat(k)}x.yml`, compose).length, 1);
      assert.deepEqual(findImageUses(`${'composer-'.repeat(k)}x.yml`, compose), [], 'composer is not compose');
      assert.equal(classify(`${'checksums'.repeat(k)}.txt`), undefined);
      assert.equal(classify(`a${'.intoto'.repeat(k)}.jsonl`)?.companion.kind, 'attestations');
    });
  });

  it('checksum lists: long runs of blanks inside and after a line', () => {
    assertAdversarial(fc.integer({ min: 150_000, max: 210_000 }), (length) => {
      const blanks = ' \t'.repeat(length / 2);
      const [inner] = parseChecksumFile(`${HEX}  a${blanks}b\n`);
      assert.equal(inner?.name, `a${blanks}b`);
      const [trailing] = parseChecksumFile(`${HEX}  a${blanks}\n`);
      assert.equal(trailing?.name, 'a');
      assert.throws(() => parseChecksumFile(`SHA256 (${')='.repeat(length / 2)} x\n`));
    });
  });

  it('PEM and OpenPGP armor: text of BEGIN lines with no END, then one real block', () => {
    const der = Buffer.from('3003020101', 'hex');
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const key = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxsBN\n-----END PGP PUBLIC KEY BLOCK-----';
    assertAdversarial(fc.integer({ min: 8_000, max: 12_000 }), (count) => {
      const blocks = pemBlocks(`${'-----BEGIN A-----\n'.repeat(count)}${'-----BEGIN CERTIFICATE-----'.repeat(count)}\n${pem}`);
      // The first CERTIFICATE BEGIN runs to the one END: what lies between is not base64, so no block.
      assert.deepEqual(blocks, []);
      assert.deepEqual(pemBlocks(`${'-----BEGIN A-----\n'.repeat(count)}${pem}${pem}`), [{ label: 'CERTIFICATE', der }, { label: 'CERTIFICATE', der }]);
      assert.deepEqual(armoredKeyBlocks('-----BEGIN PGP PUBLIC KEY BLOCK-----'.repeat(count)), []);
      assert.deepEqual(armoredKeyBlocks(`junk\n${key}\n${'-----BEGIN PGP PUBLIC KEY BLOCK-----\n'.repeat(count)}`), [key]);
    });
  });

  it('image references: long runs of separators are refused', () => {
    assertAdversarial(fc.integer({ min: 150_000, max: 210_000 }), (length) => {
      assert.throws(() => parseImageReference(`${'a-'.repeat(length / 2)}!`), /not an image reference/);
      assert.throws(() => parseImageReference(`${'a.'.repeat(length / 2)}-/x`), /not an image reference/);
    });
  });
});

// ---- a key twice in a bundle --------------------------------------------------------------

/** JSON text of `value` with the `target`-th object key (in document order) written twice: `dup` first, then the original. */
function withKeyTwice(value: unknown, target: number, dup: (original: unknown) => unknown): string {
  let seen = 0;
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
    if (v && typeof v === 'object') {
      const parts: string[] = [];
      for (const [k, child] of Object.entries(v)) {
        if (seen++ === target) parts.push(`${JSON.stringify(k)}:${JSON.stringify(dup(child))}`);
        parts.push(`${JSON.stringify(k)}:${write(child)}`);
      }
      return `{${parts.join(',')}}`;
    }
    return JSON.stringify(v);
  };
  return write(value);
}

function keyCount(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + keyCount(v), 0);
  if (value && typeof value === 'object') return Object.values(value).reduce((n: number, v) => n + 1 + keyCount(v), 0);
  return 0;
}

const duplicate = fc.record({ at: fc.nat(), same: fc.boolean() });

describe('bundles with one key twice are refused', function () {
  this.timeout(600_000);
  let inst: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  const data = Buffer.from('a file with one signature\n');
  let bundles: SerializedBundle[];

  before(async () => {
    inst = await startSigstoreInstance();
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test root');
    bundles = await Promise.all([signFile(inst, data, 'message'), signFile(inst, data, 'dsse')]);
    dir = await mkdtemp(join(tmpdir(), 'sigstore-dup-'));
  });
  after(async () => {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('Sigstore bundles (message signature and DSSE): any key, same or other value, fails "parse"', async () => {
    for (const bundle of bundles) {
      const e = await verifyBundleBytes('a.sigstore.json', Buffer.from(JSON.stringify(bundle)), digestArtifact(sha256Hex(data)), { trustedRoot: root });
      assert.equal(e.state, 'verified', e.summary);
    }
    await checkKind('bundle key twice', fc.tuple(fc.nat(bundles.length - 1), duplicate), async ([which, { at, same }], keep) => {
      const bundle = bundles[which]!;
      const text = withKeyTwice(bundle, at % keyCount(bundle), (v) => (same ? v : typeof v === 'string' ? `${v}x` : null));
      keep('bundle.json', text);
      const e = await verifyBundleBytes('a.sigstore.json', Buffer.from(text), digestArtifact(sha256Hex(data)), { trustedRoot: root });
      assert.equal(e.state, 'failed', e.summary);
      assert.equal(e.failure?.check, 'parse', e.failure?.message);
      return { state: e.state, guarded: true };
    });
  });

  it('cosign legacy bundles: any key, same or other value, fails "parse"', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const legacy = { base64Signature: sign('sha256', data, ec.privateKey).toString('base64'), cert: '', rekorBundle: { SignedEntryTimestamp: 'AA==', Payload: { body: 'e30=', integratedTime: 1, logIndex: 2, logID: HEX } } };
    const base = join(dir, 'a.bin');
    await writeFile(base, data);
    const trust = { trustedRoot: root, publicKeys: [{ source: 'cosign.pub', key: ec.publicKey }], openpgpKeys: [], network: { allowed: false, rekorURL: 'http://127.0.0.1:9' } };
    let i = 0;
    await checkKind('legacy bundle key twice', duplicate, async ({ at, same }, keep) => {
      const text = withKeyTwice(legacy, at % keyCount(legacy), (v) => (same ? v : typeof v === 'string' ? `${v}x` : 0));
      keep('legacy.bundle', text);
      const path = join(dir, `l${++i % 8}.bundle`);
      await writeFile(path, text);
      const e = await verifyLegacyBundle(path, fileArtifact(base), trust);
      assert.equal(e.state, 'failed', e.summary);
      assert.equal(e.failure?.check, 'parse', e.failure?.message);
      return { state: e.state, guarded: true };
    });
  });
});
