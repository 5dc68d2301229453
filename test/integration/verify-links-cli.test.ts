/**
 * `bin/sigstore verify DIR` over hostile folders (the bundle built by scripts/build.mjs, run
 * with node): links that leave the folders given are not followed and nothing they lead to
 * reaches the output; damaged companions are reported without their content; links back up
 * the tree (`ln -s . a`) end the walk instead of multiplying it; deep trees are bounded.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MARKER } from '../support/planted-marker';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/cli/sigstore.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface VerifyDoc {
  results: { path: string; state: string; summary: string; evidence: { companion: string; state: string; reason: string }[] }[];
}

function run(args: string[], cwd: string): Promise<Run> {
  return new Promise((done) => {
    // The bound only keeps a regression (the exponential walk) from hanging the suite.
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

describe('bin/sigstore verify over links, loops and damaged companions', function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    const b = await new Promise<Run>((done) =>
      execFile(process.execPath, ['scripts/build.mjs'], { cwd: ROOT }, (error, stdout, stderr) => done({ code: error ? 1 : 0, stdout, stderr })),
    );
    assert.equal(b.code, 0, `scripts/build.mjs failed:\n${b.stderr}`);
    dir = await mkdtemp(join(tmpdir(), 'sigstore-links-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const verify = (cwd: string, ...args: string[]) => run(['verify', '--offline', ...args], cwd);
  const parsed = (r: Run): VerifyDoc => {
    try {
      return JSON.parse(r.stdout) as VerifyDoc;
    } catch {
      return assert.fail(`no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  };

  it('does not follow links out of the folder, and prints nothing of what they lead to', async () => {
    const ws = join(dir, 'ws');
    const outside = join(dir, 'outside');
    await mkdir(ws);
    await mkdir(outside);
    // Someone's secrets next to the checkout, reached through links the repository holds.
    await writeFile(join(outside, 'token'), `${MARKER}\n`);
    await writeFile(join(outside, 'api-key.txt'), `${MARKER}-0123456789\n`);
    await writeFile(join(outside, 'app.txt'), 'outside\n');
    await writeFile(join(outside, 'app.txt.sha256'), `${sha256('outside\n')}  app.txt\n`);
    await writeFile(join(ws, 'app.txt'), 'inside\n');
    await symlink(join(outside, 'token'), join(ws, 'app.txt.sigstore.json'));
    await symlink(join(outside, 'api-key.txt'), join(ws, 'app.txt.sha256'));
    await symlink(outside, join(ws, 'linked'));

    for (const args of [['--json', '.'], ['.']]) {
      const r = await verify(ws, ...args);
      assert.ok(!r.stdout.includes(MARKER) && !r.stderr.includes(MARKER), `${args.join(' ')} printed the linked file's content:\n${r.stdout}\n${r.stderr}`);
      if (args[0] === '--json') {
        const results = parsed(r).results;
        // The linked folder is not walked; the linked companions are refused, not read.
        assert.deepEqual(results.map((x) => x.path), ['app.txt']);
        assert.equal(results[0]!.state, 'unverifiable');
        assert.ok(results[0]!.evidence.every((e) => /leads through a symbolic link to .*, outside the workspace, so it was not read/.test(e.reason)), JSON.stringify(results[0]));
        assert.match(r.stderr, /warning: .*linked is a link to a folder outside the folders given; it was not followed/);
      }
    }
    // Named as a PATH, the folder is the user's own choice.
    const named = parsed(await verify(ws, '--json', 'linked'));
    assert.deepEqual(named.results.map((x) => [x.path, x.state]), [['linked/app.txt', 'integrity']]);
  });

  it('reports damaged companions without their content, on stdout and stderr', async () => {
    const ws = join(dir, 'damaged');
    await mkdir(ws);
    for (const name of ['a.txt', 'b.txt', 'c.txt', 'd.txt']) await writeFile(join(ws, name), `${name}\n`);
    await writeFile(join(ws, 'a.txt.sigstore.json'), `{"mediaType": ${MARKER}}`);
    await writeFile(join(ws, 'b.txt.sha256'), `${MARKER}  b.txt\n`);
    await writeFile(join(ws, 'c.txt.bundle'), `{"base64Signature": "${MARKER}!"}`);
    await writeFile(join(ws, 'release.intoto.jsonl'), `{"dsseEnvelope": ${MARKER}}\n`);
    // Read for its targets first: what that throws goes to stderr.
    await writeFile(join(ws, 'SHA256SUMS'), `${sha256('d.txt\n')}  d.txt\nnot a line ${MARKER}\n`);
    for (const args of [['--json', '.'], ['.']]) {
      const r = await verify(ws, ...args);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.ok(!r.stdout.includes(MARKER), `stdout quotes a companion:\n${r.stdout}`);
      assert.ok(!r.stderr.includes(MARKER), `stderr quotes a companion:\n${r.stderr}`);
    }
    const results = new Map(parsed(await verify(ws, '--json', '.')).results.map((x) => [x.path, x]));
    assert.match(results.get('a.txt')!.summary, /The companion is not valid JSON \(line 1, column 15\)/);
    assert.match(results.get('b.txt')!.summary, /Line 1 does not start with a hex digest/);
  });

  it('ends a walk over links back up the tree, listing each real file once', async () => {
    const ws = join(dir, 'loops');
    await mkdir(join(ws, 'sub'), { recursive: true });
    await writeFile(join(ws, 'one.txt'), 'one\n');
    await writeFile(join(ws, 'one.txt.sha256'), `${sha256('one\n')}  one.txt\n`);
    await writeFile(join(ws, 'sub', 'two.txt'), 'two\n');
    await writeFile(join(ws, 'sub', 'two.txt.sha256'), `${sha256('two\n')}  two.txt\n`);
    await symlink('.', join(ws, 'a'));
    await symlink('.', join(ws, 'b'));
    const r = await verify(ws, '--json', '.');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      parsed(r).results.map((x) => [x.path, x.state]),
      [
        ['one.txt', 'integrity'],
        ['sub/two.txt', 'integrity'],
      ],
    );
    assert.equal(r.stderr, '');
  });

  it('walks no deeper than 64 folders, and says so', async () => {
    const ws = join(dir, 'deep');
    let bottom = ws;
    for (let i = 0; i < 70; i++) bottom = join(bottom, 'd');
    await mkdir(bottom, { recursive: true });
    await writeFile(join(bottom, 'x.txt'), 'x\n');
    await writeFile(join(bottom, 'x.txt.sha256'), `${sha256('x\n')}  x.txt\n`);
    await writeFile(join(ws, 'top.txt'), 'top\n');
    await writeFile(join(ws, 'top.txt.sha256'), `${sha256('top\n')}  top.txt\n`);
    const r = await verify(ws, '--json', '.');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parsed(r).results.map((x) => x.path), ['top.txt']);
    assert.match(r.stderr, /^warning: .*\/d is more than 64 folders deep; it was not walked\.$/m);
  });
});
