import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestArtifact, fileArtifact } from '../../../src/core/artifacts/artifact';
import { SigstoreError } from '../../../src/core/errors';
import {
  ChecksumFormatError,
  checksumAlgorithmOf,
  checksumEntriesFor,
  parseChecksumFile,
  verifyChecksum,
  verifyChecksumFile,
  type ChecksumEntry,
} from '../../../src/core/verify/checksum';

const data = Buffer.from('release 1.0\n');
const hex = (alg: string, content: Buffer = data) => createHash(alg).update(content).digest('hex');
const SHA256 = hex('sha256');
const SHA512 = hex('sha512');

/** Asserts that parsing throws a ChecksumFormatError for `line` whose message matches `pattern`. */
function assertRejects(text: string, line: number, pattern: RegExp, hint?: Parameters<typeof parseChecksumFile>[1]): void {
  assert.throws(
    () => parseChecksumFile(text, hint),
    (e: unknown) => {
      assert.ok(e instanceof ChecksumFormatError, `expected a ChecksumFormatError, got ${String(e)}`);
      assert.ok(e instanceof SigstoreError);
      assert.equal(e.code, 'CHECKSUM_FORMAT');
      assert.equal(e.line, line);
      assert.match(e.message, pattern);
      assert.ok(e.remedy);
      return true;
    },
  );
}

describe('checksum files', () => {
  describe('parseChecksumFile', () => {
    it('reads a bare digest (single-file companion) and tells the algorithm from its length', () => {
      assert.deepEqual(parseChecksumFile(`${SHA256}\n`), [{ name: undefined, algorithm: 'sha256', hex: SHA256, line: 1 }]);
      const lengths = { md5: 32, sha1: 40, sha256: 64, sha384: 96, sha512: 128 } as const;
      for (const [alg, n] of Object.entries(lengths)) {
        const [e] = parseChecksumFile(hex(alg));
        assert.equal(e!.algorithm, alg);
        assert.equal(e!.hex.length, n);
      }
    });

    it('reads a digest followed by a name, upper-case hex included', () => {
      assert.deepEqual(parseChecksumFile(`${SHA256.toUpperCase()}  app.tar.gz`), [{ name: 'app.tar.gz', algorithm: 'sha256', hex: SHA256, line: 1 }]);
      assert.equal(parseChecksumFile(`${SHA256} app.tar.gz`)[0]!.name, 'app.tar.gz');
      assert.equal(parseChecksumFile(`${SHA256}\tapp.tar.gz`)[0]!.name, 'app.tar.gz');
    });

    it('reads GNU lists in text and binary mode, with CRLF, blank lines, comments and trailing spaces', () => {
      const text = [`# made by sha256sum`, '', `${SHA256}  a.txt`, `${hex('sha256', Buffer.from('b'))} *b.bin  `, '   ', `  # indented comment`, `${SHA256}  name with  spaces.txt`, ''].join('\r\n');
      const entries = parseChecksumFile(text);
      assert.deepEqual(
        entries.map((e) => [e.name, e.line]),
        [
          ['a.txt', 3],
          ['b.bin', 4],
          ['name with  spaces.txt', 7],
        ],
      );
      assert.ok(entries.every((e) => e.algorithm === 'sha256'));
    });

    it('reads BSD-style lines (shasum --tag, OpenSSL 1 and 3)', () => {
      const text = [
        `SHA256 (a.txt) = ${SHA256}`,
        `SHA512 (notes (final).txt) = ${SHA512}`,
        `MD5 (c) = ${hex('md5')}`,
        `SHA1(d)= ${hex('sha1')}`,
        `SHA2-256(e)= ${SHA256}`,
        `SHA384 (f) = ${hex('sha384')}`,
      ].join('\n');
      assert.deepEqual(
        parseChecksumFile(text).map((e) => [e.name, e.algorithm, e.line]),
        [
          ['a.txt', 'sha256', 1],
          ['notes (final).txt', 'sha512', 2],
          ['c', 'md5', 3],
          ['d', 'sha1', 4],
          ['e', 'sha256', 5],
          ['f', 'sha384', 6],
        ],
      );
    });

    it('unescapes GNU names that start the line with a backslash', () => {
      const [e] = parseChecksumFile(`\\${SHA256}  dir\\\\odd\\nname`);
      assert.equal(e!.name, 'dir\\odd\nname');
    });

    it('uses the algorithm the file name announces, and rejects digests of another length', () => {
      assert.equal(parseChecksumFile(hex('sha1'), 'sha1')[0]!.algorithm, 'sha1');
      assertRejects(`${SHA256}  a\n${SHA512}  b`, 2, /128-digit digest, but a SHA-256 digest has 64/, 'sha256');
      // The algorithm a BSD line names wins over the hint, and is checked too.
      assert.equal(parseChecksumFile(`SHA512 (a) = ${SHA512}`, 'sha256')[0]!.algorithm, 'sha512');
      assertRejects(`SHA512 (a) = ${SHA256}`, 1, /64-digit digest, but a SHA-512 digest has 128/);
    });

    it('reads the signed text of a clearsigned list', () => {
      const text = [
        '-----BEGIN PGP SIGNED MESSAGE-----',
        'Hash: SHA256',
        '',
        '# Fedora-Cloud.qcow2: 123 bytes',
        `SHA256 (Fedora-Cloud.qcow2) = ${SHA256}`,
        `- ${SHA256}  dash-escaped.txt`,
        '-----BEGIN PGP SIGNATURE-----',
        '',
        'iQIzBAEBCAAdFiEE not base64 digits !!',
        '-----END PGP SIGNATURE-----',
      ].join('\n');
      assert.deepEqual(
        parseChecksumFile(text).map((e) => [e.name, e.line]),
        [
          ['Fedora-Cloud.qcow2', 5],
          ['dash-escaped.txt', 6],
        ],
      );
    });

    it('returns no entries for a file of comments', () => {
      assert.deepEqual(parseChecksumFile('# nothing yet\n\n'), []);
      assert.deepEqual(parseChecksumFile(''), []);
    });

    it('rejects bad lines with their line number', () => {
      // Where the line goes wrong, never its text.
      assertRejects(`${SHA256}  a\n\nnot-a-digest  b\n`, 3, /^Line 3 does not start with a hex digest \(character 1 is not a hex digit\)\.$/);
      assertRejects(`${SHA256.slice(0, 10)}z${SHA256.slice(11)}  a`, 1, /character 11 is not a hex digit/);
      assertRejects(`${SHA256.slice(0, 50)}  a`, 1, /50-digit digest, which is no known checksum length/);
      assertRejects(`# c\n${SHA256}x  a`, 2, /hex digest/);
      assertRejects(`SHA3-256 (a) = ${SHA256}`, 1, /names an algorithm this extension does not support/);
      assertRejects(`Hello, world`, 1, /hex digest/);
    });

    it('rejects binary content and files over 10 MiB', () => {
      assertRejects(`${SHA256}  a\nPK\u0003\u0004\u0000\u0000`, 2, /binary data/);
      assertRejects(`${SHA256}  a\u0000`, 1, /binary data/);
      assertRejects(`\uFFFD\uFFFD`, 1, /binary data/);
      assertRejects(`${SHA256}  a\n`.repeat(Math.ceil((10 * 1024 * 1024) / 68) + 1), 0, /larger than 10 MiB/);
    });
  });

  it('tells the algorithm from the companion name', () => {
    const cases: Record<string, string | undefined> = {
      'app.tar.gz.sha256': 'sha256',
      'app.tar.gz.sha256sum': 'sha256',
      'app.jar.sha1': 'sha1',
      'app.jar.md5': 'md5',
      'app.sha384': 'sha384',
      'app.sha512': 'sha512',
      SHA256SUMS: 'sha256',
      SHA512SUMS: 'sha512',
      'sha1sums.txt': 'sha1',
      '/releases/v1/MD5SUMS': 'md5',
      'md5-tool.tar.gz.sha256': 'sha256',
      'checksums.txt': undefined,
      'sha256.txt': 'sha256',
      'notsha256x.txt': undefined,
    };
    for (const [name, alg] of Object.entries(cases)) assert.equal(checksumAlgorithmOf(name), alg, name);
  });

  describe('checksumEntriesFor', () => {
    it('resolves names against the list folder and ignores names that leave it', () => {
      const text = [
        `${SHA256}  ./a.txt`,
        `${SHA256}  sub/b.txt`,
        `${SHA256} *sub/../c.txt`,
        `${SHA256}  ../escape.txt`,
        `${SHA256}  sub/../../escape2.txt`,
        `${SHA256}  /etc/passwd`,
        `${SHA256}  ..\\windows-escape.txt`,
        `${SHA256}  C:\\Windows\\win.ini`,
        `${SHA256}  .`,
        `${SHA256}  SHA256SUMS`,
        SHA256,
      ].join('\n');
      const map = checksumEntriesFor('/rel/SHA256SUMS', text);
      assert.deepEqual([...map.keys()], ['/rel/a.txt', '/rel/sub/b.txt', '/rel/c.txt']);
      assert.equal(map.get('/rel/sub/b.txt')!.line, 2);
    });

    it('keeps the first entry for a file listed twice, and the lines that disagree with it', () => {
      const map = checksumEntriesFor('/rel/checksums.txt', `${SHA256}  a\n${'0'.repeat(64)}  ./a\n${SHA256} *a\n`);
      assert.equal(map.size, 1);
      assert.equal(map.get('/rel/a')!.hex, SHA256);
      // The same digest again is no disagreement; another one is.
      assert.deepEqual(map.get('/rel/a')!.repeats?.map((r) => r.line), [2]);
    });

    it('applies the algorithm the list name announces', () => {
      assert.throws(() => checksumEntriesFor('/rel/SHA512SUMS', `${SHA256}  a`), ChecksumFormatError);
      assert.equal(checksumEntriesFor('/rel/SHA512SUMS', `${SHA512}  a`).get('/rel/a')!.algorithm, 'sha512');
    });
  });

  describe('verifyChecksum', () => {
    let dir: string;
    let file: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sigstore-checksum-'));
      file = join(dir, 'app.tar.gz');
      await writeFile(file, data);
    });
    after(() => rm(dir, { recursive: true, force: true }));

    const entryOf = (algorithm: ChecksumEntry['algorithm'], digest = hex(algorithm), name: string | undefined = 'app.tar.gz'): ChecksumEntry => ({
      algorithm,
      hex: digest,
      name,
      line: 1,
    });

    it('a matching SHA-256 is integrity only, and says so', async () => {
      const e = await verifyChecksum(`${file}.sha256`, entryOf('sha256'), fileArtifact(file));
      assert.equal(e.state, 'integrity', e.summary);
      assert.equal(e.kind, 'checksum');
      assert.match(e.summary, /matches the SHA-256 checksum/);
      assert.match(e.summary, /says nothing about who made the file/);
      assert.deepEqual(
        e.checks.map((c) => [c.id, c.outcome]),
        [
          ['read', 'passed'],
          ['parse', 'passed'],
          ['artifact-binding', 'passed'],
          ['checksum', 'passed'],
        ],
      );
      assert.equal(e.failure, undefined);
      assert.deepEqual(e.notes, []);
    });

    it('a matching SHA-512 and SHA-384 are integrity too', async () => {
      for (const alg of ['sha512', 'sha384'] as const) {
        const e = await verifyChecksum(`${file}.${alg}`, entryOf(alg), fileArtifact(file));
        assert.equal(e.state, 'integrity', e.summary);
      }
    });

    it('MD5 and SHA-1 still give integrity, with a note that they are weak', async () => {
      for (const alg of ['md5', 'sha1'] as const) {
        const e = await verifyChecksum(`${file}.${alg}`, entryOf(alg), fileArtifact(file));
        assert.equal(e.state, 'integrity', e.summary);
        assert.ok(
          e.notes.some((n) => /weak/.test(n) && /collisions are practical/.test(n)),
          e.notes.join('\n'),
        );
      }
    });

    it('a mismatch fails and shows both digests', async () => {
      const wrong = 'ab'.repeat(32);
      const e = await verifyChecksum(`${file}.sha256`, entryOf('sha256', wrong), fileArtifact(file));
      assert.equal(e.state, 'failed');
      assert.equal(e.failure?.check, 'checksum');
      assert.ok(e.summary.includes(SHA256) && e.summary.includes(wrong), e.summary);
      assert.ok(e.failure?.remedy);
    });

    it('an unreadable artifact is unverifiable, as the read error says', async () => {
      const missing = join(dir, 'gone.tar.gz');
      const e = await verifyChecksum(`${missing}.sha256`, entryOf('sha256'), fileArtifact(missing));
      assert.equal(e.state, 'unverifiable');
      assert.match(e.summary, /does not exist/);
      assert.match(e.failure!.remedy, /moved or deleted/);
    });

    it('only a SHA-256 digest known: other algorithms are unverifiable', async () => {
      assert.equal((await verifyChecksum('x.sha256', entryOf('sha256'), digestArtifact(SHA256))).state, 'integrity');
      assert.equal((await verifyChecksum('x.sha512', entryOf('sha512'), digestArtifact(SHA256))).state, 'unverifiable');
    });

    it('notes a line that names another file, and lets the digest decide', async () => {
      const e = await verifyChecksum(`${file}.sha256`, entryOf('sha256', SHA256, 'build/other.tgz'), fileArtifact(file));
      assert.equal(e.state, 'integrity');
      assert.ok(!e.checks.some((c) => c.id === 'artifact-binding'));
      // Said without quoting the line: the name is the file's content.
      assert.ok(e.notes.some((n) => /Line 1 .*names another file than "app\.tar\.gz"/.test(n)), e.notes.join('\n'));
      assert.ok(!e.notes.some((n) => n.includes('build/other.tgz')));
    });

    it('streams artifacts larger than the in-memory limit', async function () {
      this.timeout(20_000);
      const big = join(dir, 'big.bin');
      const content = Buffer.alloc(9 * 1024 * 1024, 7);
      await writeFile(big, content);
      const e = await verifyChecksum(`${big}.sha512`, { algorithm: 'sha512', hex: hex('sha512', content), line: 1 }, fileArtifact(big));
      assert.equal(e.state, 'integrity', e.summary);
    });
  });

  describe('verifyChecksumFile', () => {
    let dir: string;
    let file: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sigstore-checksum-file-'));
      await mkdir(join(dir, 'sub'));
      file = join(dir, 'sub', 'app.tar.gz');
      await writeFile(file, data);
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('checks a single-file companion whatever name its line gives', async () => {
      await writeFile(`${file}.sha256`, `${SHA256}  target/app.tar.gz\r\n`);
      const e = await verifyChecksumFile(`${file}.sha256`, file, fileArtifact(file));
      assert.equal(e.state, 'integrity', e.summary);
    });

    it('finds the artifact in a list, relative to the list', async () => {
      await writeFile(join(dir, 'SHA256SUMS'), `${'0'.repeat(64)}  other\n${SHA256} *sub/app.tar.gz\n`);
      const e = await verifyChecksumFile(join(dir, 'SHA256SUMS'), file, fileArtifact(file));
      assert.equal(e.state, 'integrity', e.summary);
      assert.equal(e.line, 2);
    });

    it('a list without the artifact is unverifiable; a bad list fails at the parse with its line', async () => {
      await writeFile(join(dir, 'checksums.txt'), `${SHA256}  other\n`);
      const none = await verifyChecksumFile(join(dir, 'checksums.txt'), file, fileArtifact(file));
      assert.equal(none.state, 'unverifiable');
      assert.match(none.summary, /lists no checksum for app\.tar\.gz/);

      await writeFile(join(dir, 'SHA1SUMS'), `${hex('sha1')}  sub/app.tar.gz\n${SHA256}  other\n`);
      const bad = await verifyChecksumFile(join(dir, 'SHA1SUMS'), file, fileArtifact(file));
      assert.equal(bad.state, 'failed');
      assert.equal(bad.failure?.check, 'parse');
      assert.equal(bad.line, 2);
      assert.match(bad.summary, /Line 2/);
    });

    it('a list naming the file twice with different digests fails, as sha256sum -c does', async () => {
      // Whichever line comes first: the first line used to win.
      for (const lines of [[SHA256, '0'.repeat(64)], ['0'.repeat(64), SHA256]]) {
        await writeFile(join(dir, 'SHA256SUMS'), `${lines[0]}  sub/app.tar.gz\n${'1'.repeat(64)}  other\n${lines[1]} *./sub/app.tar.gz\n`);
        const e = await verifyChecksumFile(join(dir, 'SHA256SUMS'), file, fileArtifact(file));
        assert.equal(e.state, 'failed', e.summary);
        assert.equal(e.failure?.check, 'checksum');
        assert.match(e.summary, /two different SHA-256 digests for app\.tar\.gz \(lines 1 and 3\)/);
        assert.match(e.failure!.remedy, /contradicts itself/);
      }
      // Listed twice with the same digest is fine.
      await writeFile(join(dir, 'SHA256SUMS'), `${SHA256}  sub/app.tar.gz\n${SHA256}  ./sub/app.tar.gz\n`);
      assert.equal((await verifyChecksumFile(join(dir, 'SHA256SUMS'), file, fileArtifact(file))).state, 'integrity');
      // Another algorithm on the second line must match as well.
      await writeFile(join(dir, 'checksums.txt'), `${SHA256}  sub/app.tar.gz\n${'0'.repeat(128)}  sub/app.tar.gz\n`);
      const mixed = await verifyChecksumFile(join(dir, 'checksums.txt'), file, fileArtifact(file));
      assert.equal(mixed.state, 'failed', mixed.summary);
      assert.match(mixed.summary, /SHA-512 .*line 2/);
      await writeFile(join(dir, 'checksums.txt'), `${SHA256}  sub/app.tar.gz\n${SHA512}  sub/app.tar.gz\n`);
      assert.equal((await verifyChecksumFile(join(dir, 'checksums.txt'), file, fileArtifact(file))).state, 'integrity');
    });

    it('a missing companion is unverifiable; a binary one fails', async () => {
      const missing = await verifyChecksumFile(join(dir, 'nope.sha256'), file, fileArtifact(file));
      assert.equal(missing.state, 'unverifiable');
      assert.equal(missing.failure?.check, 'read');
      await writeFile(`${file}.md5`, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe]));
      const binary = await verifyChecksumFile(`${file}.md5`, file, fileArtifact(file));
      assert.equal(binary.state, 'failed');
      assert.match(binary.summary, /binary/);
    });
  });
});
