/**
 * The parsers that read workspace text and companions, each on 160 KB of its worst known shape
 * (long runs of blanks, `${` nesting, YAML aliases and merge keys, BEGIN lines without END, JSON
 * nesting) against a benign input of the same size, in the same run: a linear parser stays
 * near 1×, a quadratic one grows with the size (the Dockerfile directive took 13.7 s at this
 * size before). Best of five rounds, alternating benign and adversarial.
 *   npm run bench   (or: node --expose-gc --import tsx bench/parsers.bench.ts)
 */
import { performance } from 'node:perf_hooks';
import { findImageUses } from '../src/core/images/imageUses';
import { parseChecksumFile } from '../src/core/verify/checksum';
import { pemBlocks } from '../src/core/verify/legacyBundle';
import { armoredKeyBlocks } from '../src/core/verify/openpgpSignature';
import { parseStrictJson } from '../src/core/verify/strictJson';

const SIZE = 160 * 1024;
const ROUNDS = 5;
/** Above this, a parser is not linear on that shape. */
const TARGET_RATIO = 3;

/** `unit` repeated to about SIZE characters. */
const fill = (unit: string, size = SIZE) => unit.repeat(Math.max(1, Math.floor(size / unit.length)));
/** `head` and `tail` with `unit` repeated between them, to SIZE characters in all. */
const around = (head: string, unit: string, tail: string) => head + fill(unit, SIZE - head.length - tail.length) + tail;

interface Case {
  readonly parser: string;
  readonly shape: string;
  readonly benign: string;
  readonly adversarial: string;
  readonly run: (text: string) => unknown;
}

const dockerfile = (text: string) => findImageUses('Dockerfile', text);
const compose = (text: string) => findImageUses('compose.yml', text);
const kubernetes = (text: string) => findImageUses('pod.yaml', text);
const benignDockerfile = fill('FROM alpine:3.19 AS build\nRUN apk add --no-cache git make\nCOPY --from=build /out /app\n');
const benignCompose = `services:\n${Array.from({ length: SIZE / 30 }, (_, i) => `  s${i}:\n    image: alpine:3.19\n`).join('')}`.slice(0, SIZE);
const benignPod = `kind: Pod\nspec:\n  containers:\n${fill('    - {name: a, image: alpine:3.19}\n', SIZE - 30)}`;
const HEX = 'ab'.repeat(32);
const benignSums = fill(`${HEX}  dist/tool-linux-amd64.tar.gz\n`);
const CERT_BASE64 = Buffer.alloc(600, 7).toString('base64').replace(/.{64}/g, '$&\n');
const benignPem = fill(`-----BEGIN CERTIFICATE-----\n${CERT_BASE64}\n-----END CERTIFICATE-----\n`);
const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxsBNBGV0ZXN0AQgA\n-----END PGP PUBLIC KEY BLOCK-----\n';
const benignJson = JSON.stringify({ items: Array.from({ length: SIZE / 60 }, (_, i) => ({ name: `item-${i}`, digest: { sha256: 'ab'.repeat(8) } })) });

let laughs = 'x0: &a0 {name: none}\n';
for (let i = 1; i <= 24; i++) laughs += `x${i}: &a${i} {<<: [${Array(8).fill(`*a${i - 1}`).join(', ')}]}\n`;

const CASES: readonly Case[] = [
  { parser: 'Dockerfile', shape: 'directive "# a= x<blanks>y"', benign: benignDockerfile, adversarial: around('# a= x', ' ', 'y\nFROM alpine\n'), run: dockerfile },
  { parser: 'Dockerfile', shape: 'RUN of "\\ " (continuations)', benign: benignDockerfile, adversarial: around('FROM alpine\nRUN ', '\\ ', '\n'), run: dockerfile },
  { parser: 'Dockerfile', shape: 'FROM of "${A:-" nested', benign: benignDockerfile, adversarial: around('FROM alpine\nFROM ', '${A:-', '\n'), run: dockerfile },
  { parser: 'Dockerfile', shape: 'RUN of "<<A " (heredocs)', benign: benignDockerfile, adversarial: around('FROM alpine\nRUN ', '<<A ', '\n'), run: dockerfile },
  { parser: 'Dockerfile', shape: 'quotes and "=" runs', benign: benignDockerfile, adversarial: around('FROM alpine\nARG A=', '"=\'', '\n'), run: dockerfile },
  {
    parser: 'Compose',
    shape: 'services all aliases of one',
    benign: benignCompose,
    adversarial: `x: &a {image: alpine:3.19}\nservices:\n${Array.from({ length: SIZE / 12 }, (_, i) => `  s${i}: *a\n`).join('')}`.slice(0, SIZE),
    run: compose,
  },
  { parser: 'Compose', shape: 'merge keys 8 wide, 24 deep', benign: benignCompose, adversarial: around(`${laughs}services:\n  web: *a24\n  db:\n    image: postgres:16\n`, '#', '\n'), run: compose },
  { parser: 'Compose', shape: 'image of 160 KB of quotes', benign: benignCompose, adversarial: around('services:\n  s:\n    image: ', '"', '\n'), run: compose },
  { parser: 'Kubernetes', shape: 'containers all aliases of one', benign: benignPod, adversarial: around('kind: Pod\nspec:\n  containers:\n    - &c {name: a, image: alpine:3.19}\n', '    - *c\n', ''), run: kubernetes },
  { parser: 'checksum list', shape: 'blanks inside and after a name', benign: benignSums, adversarial: around(`${HEX}  a`, ' \t', 'b\n') + around(`${HEX}  a`, ' ', '\n'), run: (t) => parseChecksumFile(t) },
  { parser: 'PEM', shape: 'BEGIN lines without END', benign: benignPem, adversarial: fill('-----BEGIN A-----\n'), run: pemBlocks },
  { parser: 'OpenPGP armor', shape: 'BEGIN lines without END', benign: fill(KEY), adversarial: fill('-----BEGIN PGP PUBLIC KEY BLOCK-----\n'), run: armoredKeyBlocks },
  {
    parser: 'companion JSON',
    shape: 'nested 64 deep, many small objects',
    benign: benignJson,
    adversarial: `[${Array.from({ length: SIZE / 140 }, () => `${'['.repeat(63)}${']'.repeat(63)}`).join(',')}]`,
    run: (t) => parseStrictJson(t),
  },
];

function time(run: (text: string) => unknown, text: string): number {
  (globalThis as { gc?: () => void }).gc?.();
  const start = performance.now();
  run(text);
  return performance.now() - start;
}

function main(): void {
  console.log(`parsers on ${SIZE / 1024} KB: adversarial against benign input of the same size (best of ${ROUNDS}, alternating; target ≤ ${TARGET_RATIO}×)`);
  let worst = 0;
  for (const c of CASES) {
    let benign = Infinity;
    let adversarial = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      benign = Math.min(benign, time(c.run, c.benign));
      adversarial = Math.min(adversarial, time(c.run, c.adversarial));
    }
    const ratio = adversarial / Math.max(benign, 0.01);
    worst = Math.max(worst, ratio);
    console.log(
      `  ${c.parser.padEnd(15)} ${c.shape.padEnd(36)} benign ${benign.toFixed(1).padStart(7)} ms  adversarial ${adversarial.toFixed(1).padStart(7)} ms  = ${ratio.toFixed(2).padStart(5)}×`,
    );
  }
  // The strict scan's cost on a bundle-sized benign text, against JSON.parse alone.
  let plain = Infinity;
  let strict = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    plain = Math.min(plain, time((t) => JSON.parse(t), benignJson));
    strict = Math.min(strict, time((t) => parseStrictJson(t), benignJson));
  }
  console.log(`  baseline: JSON.parse of the benign JSON ${plain.toFixed(1)} ms = 1.00; duplicate-key and depth scan + JSON.parse ${strict.toFixed(1)} ms = ${(strict / plain).toFixed(2)}×`);
  console.log(`  worst ratio ${worst.toFixed(2)}× (target ≤ ${TARGET_RATIO}×)`);
}

main();
