/** bin/sigstore verify as a script sees it: exit status, text and JSON output, on the fixture workspace. */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFixtureWorkspace, type FixtureManifest } from '../../support/fixtures';

const CLI = resolve(__dirname, '../../../bin/sigstore');

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('bin/sigstore verify', function () {
  this.timeout(30_000);
  let dir: string;
  let manifest: FixtureManifest;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-cli-'));
    manifest = await writeFixtureWorkspace(join(dir, 'ws'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const verify = (...args: string[]) => run(['verify', '--offline', '--trusted-root', 'trusted_root.json', ...args], manifest.dir);

  it('walks a folder and reports every file in the five states, as JSON', async () => {
    const { code, stdout } = await verify('--json', '.');
    assert.equal(code, 1, 'some files failed');
    const results = new Map((JSON.parse(stdout) as { results: Array<{ path: string; state: string; evidence: Array<{ kind: string; reason: string }> }> }).results.map((r) => [r.path, r]));
    for (const f of manifest.files) {
      assert.equal(results.get(f.path)?.state, f.expected, `${f.path}: ${f.reason}`);
      assert.ok(results.get(f.path)!.evidence.every((e) => e.kind && e.reason), f.path);
    }
    for (const p of manifest.unsigned) assert.equal(results.get(p), undefined, p);
    for (const p of manifest.required) assert.equal(results.get(p)?.state, 'unsigned', `${p}: a rule covers it and nothing signs it`);
  });

  it('fails a file a rule covers once its bundle is deleted, with or without --strict', async () => {
    const { code, stdout } = await verify('required.txt');
    assert.equal(code, 1);
    assert.match(stdout, /^unsigned +required\.txt: No signature found, but rule 1 \(this project\) of the trust policy expects one/m);
    assert.equal((await verify('--strict', 'required.txt')).code, 1);
  });

  it('reports a named file with no evidence and no rule, and --strict fails on it', async () => {
    const plain = await verify('vendor/plain.txt');
    assert.equal(plain.code, 0, 'nothing is wrong with an unsigned file nobody requires signed');
    assert.match(plain.stdout, /^no evidence +vendor\/plain\.txt: no signature/m);
    assert.match(plain.stdout, /1 named file\(s\) without evidence/);
    assert.deepEqual(JSON.parse((await verify('--json', 'vendor/plain.txt')).stdout).withoutEvidence, ['vendor/plain.txt']);
    assert.equal((await verify('--strict', 'vendor/plain.txt')).code, 1);
  });

  it('exits 0 when nothing failed, and with --strict only when everything is verified', async () => {
    assert.equal((await verify('hello.txt', 'nested')).code, 0);
    assert.equal((await verify('--strict', 'hello.txt', 'nested')).code, 0);
    const untrusted = await verify('vendor');
    assert.equal(untrusted.code, 0, 'untrusted is not a failure');
    assert.match(untrusted.stdout, /^untrusted +vendor\/lib\.txt: Valid signature by alice@example\.test/m);
    assert.equal((await verify('--strict', 'vendor')).code, 1, '--strict wants verified');
    assert.equal((await verify('tampered.txt')).code, 1);
  });

  it('applies --policy, and warns that a broken policy verifies nothing', async () => {
    const other = join(dir, 'other-policy.json');
    await writeFile(other, JSON.stringify({ version: 1, rules: [{ match: ['**'], identities: [{ subject: 'nobody@example.test', issuer: 'https://issuer.example.test' }] }] }));
    const strictOther = await verify('--json', '--policy', other, 'hello.txt');
    assert.equal(JSON.parse(strictOther.stdout).results[0].state, 'failed');
    await mkdir(join(dir, 'broken'), { recursive: true });
    await writeFile(join(dir, 'broken', 'policy.json'), '{"version": 1, "rules": [');
    const broken = await verify('--json', '--policy', join(dir, 'broken', 'policy.json'), 'hello.txt');
    assert.equal(JSON.parse(broken.stdout).results[0].state, 'unverifiable');
    assert.match(broken.stderr, /has errors; nothing counts as verified/);
  });

  it('a checksum or a junk .sig added next to a tampered file does not pass it', async () => {
    const tampered = join(manifest.dir, 'tampered.txt');
    const added = [`${tampered}.sha256`, `${tampered}.sig`];
    try {
      const { createHash } = await import('node:crypto');
      const { readFile } = await import('node:fs/promises');
      await writeFile(added[0]!, `${createHash('sha256').update(await readFile(tampered)).digest('hex')}  tampered.txt\n`);
      await writeFile(added[1]!, 'junk');
      const r = await verify('--json', 'tampered.txt');
      assert.equal(r.code, 1);
      const [result] = JSON.parse(r.stdout).results;
      assert.equal(result.state, 'failed');
      assert.deepEqual(result.evidence.map((e: { kind: string; state: string }) => `${e.kind} ${e.state}`).sort(), ['checksum integrity', 'cosign-signature failed', 'sigstore-bundle failed']);
    } finally {
      await Promise.all(added.map((p) => rm(p, { force: true })));
    }
  });

  it('escapes control characters in file names, so a name cannot forge a line', async () => {
    const name = 'evil\rverified     hello.txt';
    const path = join(manifest.dir, 'vendor', name);
    try {
      await writeFile(path, 'x');
      await writeFile(`${path}.sha256`, '0'.repeat(64));
      const r = await verify(join('vendor', name));
      assert.equal(r.code, 1);
      assert.ok(!r.stdout.includes('\r'), 'no raw carriage return reaches the terminal');
      assert.match(r.stdout, /^failed +vendor\/evil\\rverified {5}hello\.txt: /m);
    } finally {
      await Promise.all([rm(path, { force: true }), rm(`${path}.sha256`, { force: true })]);
    }
  });

  it('exits 2 with usage for bad arguments', async () => {
    for (const args of [['verify'], ['verify', '--bogus', '.'], ['verify', 'does-not-exist'], ['frobnicate']]) {
      const r = await run(args, manifest.dir);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /usage: sigstore verify/);
    }
  });
});
