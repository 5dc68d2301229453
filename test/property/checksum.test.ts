// Checksum companions (`F.sha256`) and lists (`SHA256SUMS`, `checksums.txt`), mutated:
// evidence every time, no hang, and `integrity` only when the file really holds the
// artifact's digest. A list never vouches for a file outside its folder.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import fc from 'fast-check';
import { checksumEntriesFor, ChecksumFormatError, verifyChecksum, verifyChecksumFile } from '../../src/core/verify/checksum';
import type { Evidence } from '../../src/core/verify/result';
import {
  artifactMutation,
  assertEvidenceShape,
  bounded,
  byteOps,
  changeHexDigit,
  checkKind,
  memoryArtifact,
  mutateArtifact,
  mutateBytes,
  outcomeOf,
  sometimes,
  type Keep,
  type ValueOf,
} from './support';

const ARTIFACT = Buffer.from('tool-1.2.3-linux-amd64.tar.gz, pretend contents for the property tests\n');
const NAME = 'f.bin';
const ALGORITHMS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'] as const;

const hex = (algorithm: string, data: Buffer = ARTIFACT) => createHash(algorithm).update(data).digest('hex');
const other = (name: string, algorithm = 'sha256') => `${hex(algorithm, Buffer.from(name))}  ${name}`;

interface Base {
  readonly name: string;
  /** The companion's file name, next to the artifact. */
  readonly file: string;
  readonly text: string;
}

const SINGLE: readonly Base[] = [
  { name: 'GNU text mode', file: `${NAME}.sha256`, text: `${hex('sha256')}  ${NAME}\n` },
  { name: 'bare digest', file: `${NAME}.sha256`, text: `${hex('sha256')}\n` },
  { name: 'binary mode, upper case, CRLF', file: `${NAME}.sha256`, text: `${hex('sha256').toUpperCase()} *${NAME}\r\n` },
  { name: 'BSD', file: `${NAME}.sha512`, text: `SHA512 (${NAME}) = ${hex('sha512')}\n` },
  { name: 'sha256sum suffix', file: `${NAME}.sha256sum`, text: `${hex('sha256')}  ./${NAME}\n` },
  { name: 'MD5 (weak)', file: `${NAME}.md5`, text: `${hex('md5')}  ${NAME}\n` },
];

const LIST: readonly Base[] = [
  {
    name: 'SHA256SUMS',
    file: 'SHA256SUMS',
    text: ['# release 1.2.3', other('a.tar.gz'), `${hex('sha256')}  ${NAME}`, other('b.zip'), '', other('sub/c.txt'), ''].join('\n'),
  },
  {
    name: 'checksums.txt, mixed lengths, ./ and CRLF',
    file: 'checksums.txt',
    text: [other('a.tar.gz', 'sha512'), `${hex('sha512')} *./${NAME}`, other('b.zip'), ''].join('\r\n'),
  },
  {
    name: 'BSD list',
    file: 'CHECKSUMS',
    text: [`SHA256 (a.tar.gz) = ${hex('sha256', Buffer.from('a'))}`, `SHA2-384 (${NAME}) = ${hex('sha384')}`, `MD5 (b.zip) = ${hex('md5', Buffer.from('b'))}`, ''].join('\n'),
  },
  {
    name: 'clearsigned SHA512SUMS',
    file: 'SHA512SUMS',
    text: [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA512',
      '',
      other('a.tar.gz', 'sha512'),
      `${hex('sha512')}  ${NAME}`,
      '- # a dash-escaped comment',
      '-----BEGIN PGP SIGNATURE-----',
      '',
      'iQEzBAEBCgAdFiEE',
      '=abcd',
      '-----END PGP SIGNATURE-----',
      '',
    ].join('\n'),
  },
  {
    name: 'escaped GNU names',
    file: 'SHA1SUMS',
    text: [`\\${hex('sha1', Buffer.from('x'))}  we\\\\ird\\nname`, `${hex('sha1')}  ${NAME}`, ''].join('\n'),
  },
];

// Names that must not resolve to a file outside the list's folder, and spellings of ours.
const NAMES = [NAME, `./${NAME}`, `../${NAME}`, `/etc/${NAME}`, `sub/../${NAME}`, `sub/../../${NAME}`, `..\\${NAME}`, `C:\\${NAME}`, `dir\\..\\${NAME}`, `*${NAME}`, ` ${NAME}`, `${NAME}/`, '.', '..', '', NAME.toUpperCase(), `\\${NAME}`, `${NAME}\\n`];

type LineOpKind = 'digit' | 'duplicate' | 'delete' | 'swap' | 'rename' | 'shadow' | 'indent' | 'comment' | 'case';

interface LineOp {
  readonly op: LineOpKind;
  readonly at: number;
  readonly choice: number;
}

const lineOp: fc.Arbitrary<LineOp> = fc.record({
  op: fc.constantFrom<LineOpKind>('digit', 'duplicate', 'delete', 'swap', 'rename', 'shadow', 'indent', 'comment', 'case'),
  at: fc.nat(),
  choice: fc.nat(),
});

const HEX_RUN = /[0-9a-fA-F]{32,}/;

/** Applies one line-level edit to checksum text. */
function applyLineOp(text: string, o: LineOp): string {
  const lines = text.split('\n');
  const i = o.at % lines.length;
  const line = lines[i]!;
  switch (o.op) {
    case 'digit': {
      const m = HEX_RUN.exec(line);
      if (m) lines[i] = line.slice(0, m.index) + changeHexDigit(m[0], o.choice) + line.slice(m.index + m[0].length);
      break;
    }
    case 'duplicate':
      lines.splice(i, 0, line);
      break;
    case 'delete':
      lines.splice(i, 1);
      break;
    case 'swap': {
      const j = o.choice % lines.length;
      [lines[i], lines[j]] = [lines[j]!, line];
      break;
    }
    case 'rename': {
      const name = NAMES[o.choice % NAMES.length]!;
      const bsd = /^(\S+ ?\().*(\) ?= ?\S+)$/.exec(line);
      lines[i] = bsd ? `${bsd[1]}${name}${bsd[2]}` : line.replace(/^(\\?[0-9a-fA-F]+[ \t][ *]?).*$/, `$1${name}`);
      break;
    }
    case 'shadow': {
      // Another digest for our file, before or after its line: the first entry decides.
      const wrong = `${hex('sha256', Buffer.from(String(o.choice)))}  ${NAMES[o.choice % 4]}`;
      lines.splice(o.choice % 2 === 0 ? i : i + 1, 0, wrong);
      break;
    }
    case 'indent':
      lines[i] = [' ', '\t', '  ', '\uFEFF'][o.choice % 4] + line;
      break;
    case 'comment':
      lines[i] = ['#', '# ', '- ', '//'][o.choice % 4] + line;
      break;
    case 'case':
      lines[i] = o.choice % 2 === 0 ? line.toUpperCase() : line.toLowerCase();
      break;
  }
  return lines.join('\n');
}

const input = fc.record({
  base: fc.nat(),
  // Half the runs change a digit of the artifact's own digest.
  digit: sometimes(fc.nat(), 50),
  lines: fc.array(lineOp, { maxLength: 3 }),
  raw: sometimes(byteOps(3), 30),
  artifact: artifactMutation,
});

/** Whether the text holds one of the artifact's digests, as a checksum would (any case). */
function holdsDigestOf(text: string, content: Buffer): boolean {
  const lower = text.toLowerCase();
  return ALGORITHMS.some((a) => lower.includes(hex(a, content)));
}

describe('property: checksum files and lists under mutation', function () {
  this.timeout(600_000);
  let dir: string;
  let artifactPath: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-property-checksum-'));
    artifactPath = join(dir, NAME);
    for (const b of [...SINGLE, ...LIST]) {
      await writeFile(join(dir, b.file), b.text);
      const e = await verifyChecksumFile(join(dir, b.file), artifactPath, memoryArtifact(artifactPath, ARTIFACT));
      assert.equal(e.state, 'integrity', `${b.name}: ${e.summary}`);
    }
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The mutated companion text (as bytes: raw edits may leave invalid UTF-8). */
  function mutated(base: Base, i: ValueOfInput): Buffer {
    let text = base.text;
    if (i.digit !== undefined) {
      const own = text.split('\n').findIndex((l) => ALGORITHMS.some((a) => l.toLowerCase().includes(hex(a))));
      text = applyLineOp(text, { op: 'digit', at: own, choice: i.digit });
    }
    for (const o of i.lines) text = applyLineOp(text, o);
    const bytes = Buffer.from(text, 'utf8');
    return i.raw ? mutateBytes(bytes, i.raw) : bytes;
  }

  function assertIntegrityOnlyWithDigest(e: Evidence, text: Buffer, content: Buffer, base: Base): boolean {
    const holds = holdsDigestOf(text.toString('utf8'), content);
    if (!holds) assert.notEqual(e.state, 'integrity', `${base.name}: integrity although the file holds no digest of the artifact: ${e.summary}\ntext: ${JSON.stringify(text.toString('utf8'))}`);
    return !holds;
  }

  async function run(bases: readonly Base[], i: ValueOfInput, keep: Keep, list: boolean) {
    const base = bases[i.base % bases.length]!;
    const text = mutated(base, i);
    const content = mutateArtifact(ARTIFACT, i.artifact);
    const companion = join(dir, base.file);
    keep(base.file, text);
    keep(NAME, content);
    await writeFile(companion, text);
    const artifact = memoryArtifact(artifactPath, content);
    const e = await bounded('verifyChecksumFile', () => verifyChecksumFile(companion, artifactPath, artifact));
    assertEvidenceShape(e, ['integrity', 'failed', 'unverifiable']);
    let guarded = assertIntegrityOnlyWithDigest(e, text, content, base);
    if (!list) return { state: outcomeOf(e), guarded };

    // The path the explorer takes for lists: entries by artifact, then one entry checked.
    let entries;
    try {
      entries = checksumEntriesFor(companion, text.toString('utf8'));
    } catch (err) {
      assert.ok(err instanceof ChecksumFormatError, `checksumEntriesFor threw ${String(err)}`);
      return { state: outcomeOf(e), guarded };
    }
    for (const path of entries.keys()) {
      const rel = relative(dirname(companion), path);
      assert.ok(rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep), `the list vouches for ${path}, outside its folder`);
    }
    const entry = entries.get(artifactPath);
    if (entry) {
      const listed = await bounded('verifyChecksum', () => verifyChecksum(companion, entry, artifact));
      assertEvidenceShape(listed, ['integrity', 'failed', 'unverifiable']);
      guarded = assertIntegrityOnlyWithDigest(listed, text, content, base) || guarded;
    }
    return { state: outcomeOf(e), guarded };
  }

  it('single-file checksums: no exception, no hang, integrity only with the artifact\'s digest', async () => {
    await checkKind('checksum file', input, (i, keep) => run(SINGLE, i, keep, false));
  });

  it('checksum lists: no exception, no hang, integrity only with the artifact\'s digest, never outside the folder', async () => {
    await checkKind('checksum list', input, (i, keep) => run(LIST, i, keep, true));
  });

  // `sha256sum -c` checks every line: a list that names the artifact again, in any spelling,
  // with a digest that is not the artifact's fails, wherever that line sits; the same
  // digest again changes nothing.
  const SPELLINGS = [NAME, `./${NAME}`, `sub/../${NAME}`, `*${NAME}`, `.//${NAME}`];
  const repeat = fc.record({
    base: fc.nat(),
    spelling: fc.nat(),
    algorithm: fc.constantFrom(...ALGORITHMS),
    digit: sometimes(fc.nat(), 70),
    at: fc.nat(),
  });

  it('checksum lists naming the artifact twice: failed unless both digests are the artifact\'s', async () => {
    await checkKind('checksum list repeat', repeat, async (r, keep) => {
      const base = LIST.filter((b) => !b.text.startsWith('-----BEGIN'))[r.base % (LIST.length - 1)]!;
      const own = hex(r.algorithm);
      const digest = r.digit === undefined ? own : changeHexDigit(own, r.digit);
      const spelling = SPELLINGS[r.spelling % SPELLINGS.length]!;
      const lines = base.text.split(/\r?\n/);
      const line = spelling.startsWith('*') ? `${digest} ${spelling}` : `${digest}  ${spelling}`;
      lines.splice(r.at % lines.length, 0, line);
      const text = lines.join('\n');
      // A name announcing no algorithm: a SHA1SUMS would reject the other lengths outright.
      const file = 'repeat-checksums.txt';
      keep(file, text);
      const companion = join(dir, file);
      await writeFile(companion, text);
      const e = await bounded('verifyChecksumFile', () => verifyChecksumFile(companion, artifactPath, memoryArtifact(artifactPath, ARTIFACT)));
      assertEvidenceShape(e, ['integrity', 'failed', 'unverifiable']);
      const wrong = digest !== own;
      if (wrong) assert.equal(e.state, 'failed', `a repeated line with another digest: ${e.summary}\ntext: ${JSON.stringify(text)}`);
      else assert.equal(e.state, 'integrity', `the same digest again: ${e.summary}\ntext: ${JSON.stringify(text)}`);
      return { state: outcomeOf(e), guarded: wrong };
    });
  });
});

type ValueOfInput = ValueOf<typeof input>;
