/**
 * `bin/sigstore sign` as a person or a script runs it, against the sandbox (a real OpenID
 * provider and a local Sigstore instance whose Fulcio checks tokens): the device flow in
 * the terminal, a given token, a cosign key with and without a Rekor entry, and the ways it
 * must refuse. What it signs must then pass `bin/sigstore verify` with the sandbox's root.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateCosignKeyPair } from '../../src/core/sign/cosignKey';
import { approveDeviceCode, signInWithBrowser, type LoopbackVisit } from '../support/device-flow-person';
import { startSandbox, type Sandbox } from '../support/sandbox';
import { listenOnLoopback, stopServer } from '../support/loopback-server';

const CLI = resolve(__dirname, '../../bin/sigstore');
const BUILT = resolve(__dirname, '../../dist/cli/sigstore.js');
const PASSWORD = 'correct horse battery staple';
const DEVICE_PROMPT = /To sign in, open (\S+) and confirm the code (\S+)/;

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the whole stderr so far, each time more arrives (the person reading the terminal). */
  onStderr?: (stderr: string, child: ChildProcess) => void;
  command?: string;
  commandArgs?: string[];
}

function start(args: string[], opts: RunOptions): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(opts.command ?? process.execPath, opts.commandArgs ?? [CLI, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr, child);
  });
  const done = new Promise<CliRun>((resolveRun) => child.on('close', (code, signal) => resolveRun({ code, signal, stdout, stderr })));
  return { child, done };
}

/** A Rekor stand-in that never answers; `onRequest` fires when a request arrives. */
async function startHangingServer(onRequest: () => void): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req) => {
    requests++;
    req.resume();
    onRequest();
  });
  return { url: `http://${await listenOnLoopback(server)}`, requests: () => requests, close: () => stopServer(server) };
}

describe('bin/sigstore sign', function () {
  let root: string;
  let sandbox: Sandbox;
  let caseNo = 0;
  const minted: string[] = [];

  before(async () => {
    assert.ok(existsSync(BUILT), `${BUILT} is missing: run "node scripts/build.mjs" first`);
    root = await mkdtemp(join(tmpdir(), 'sigstore-sign-cli-'));
    sandbox = await startSandbox(join(root, 'sandbox'));
  });
  after(async () => {
    await sandbox?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** A fresh working folder with the named files. */
  async function workdir(files: Record<string, string> = { 'a.txt': 'first artifact\n', 'b.txt': 'second artifact\n' }): Promise<string> {
    const dir = join(root, `case-${++caseNo}`);
    await mkdir(join(dir, 'home'), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }

  /** Only what the test gives: no ambient token, password or service URL leaks in from the runner. */
  function envFor(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, HOME: join(dir, 'home'), NO_PROXY: '127.0.0.1', ...extra };
  }

  const sandboxEnv = (dir: string, extra: NodeJS.ProcessEnv = {}) =>
    envFor(dir, {
      SIGSTORE_FULCIO_URL: sandbox.fulcioURL,
      SIGSTORE_REKOR_URL: sandbox.rekorURL,
      SIGSTORE_OIDC_ISSUER: sandbox.issuer,
      SIGSTORE_OIDC_CLIENT_ID: sandbox.clientId,
      ...extra,
    });

  /** Runs the CLI to its end; no identity token or password ever appears in what it prints. */
  async function run(args: string[], opts: RunOptions): Promise<CliRun> {
    const result = await start(args, opts).done;
    assertNoSecrets(result);
    return result;
  }

  function assertNoSecrets(result: CliRun): void {
    const output = `${result.stdout}\n${result.stderr}`;
    for (const token of [...sandbox.tokensSeen, ...minted]) {
      for (const part of token.split('.').filter((p) => p.length > 16)) assert.ok(!output.includes(part), 'a token (or part of one) was printed');
    }
    assert.ok(!output.includes(PASSWORD), 'the key password was printed');
  }

  /** The person: reads the URL off the terminal and approves it in a browser. */
  function devicePerson(): { onStderr: RunOptions['onStderr']; approved: () => Promise<void> } {
    let approval: Promise<void> | undefined;
    return {
      onStderr: (stderr) => {
        const m = DEVICE_PROMPT.exec(stderr);
        if (m && !approval) approval = approveDeviceCode(m[1]!);
      },
      approved: async () => {
        assert.ok(approval, 'the CLI showed a sign-in URL');
        await approval;
      },
    };
  }

  async function mint(claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const token = await sandbox.oidc.mintIdToken({
      iss: sandbox.issuer,
      sub: sandbox.email,
      email: sandbox.email,
      email_verified: true,
      aud: 'sigstore',
      iat: now,
      exp: now + 600,
      ...claims,
    });
    minted.push(token);
    return token;
  }

  async function verify(dir: string, args: string[]): Promise<CliRun> {
    return run(['verify', '--offline', '--trusted-root', sandbox.trustedRootPath, ...args], { cwd: dir, env: envFor(dir) });
  }

  /** The state of one kind of evidence for one file, from verify --json. */
  async function evidenceState(dir: string, file: string, kind: string, policy: string): Promise<{ state?: string; check?: string }> {
    const checked = await verify(dir, ['--json', '--policy', policy, file]);
    const results = (JSON.parse(checked.stdout) as { results: Array<{ evidence: Array<{ kind: string; state: string; check?: string }> }> }).results;
    const evidence = results[0]?.evidence.find((e) => e.kind === kind);
    return { state: evidence?.state, check: evidence?.check };
  }

  async function writePolicy(dir: string, rule: Record<string, unknown>): Promise<string> {
    const path = join(dir, 'policy.json');
    await writeFile(path, JSON.stringify({ version: 1, rules: [{ match: ['**'], ...rule }] }));
    return path;
  }

  interface BundleJSON {
    verificationMaterial: {
      certificate?: { rawBytes: string };
      x509CertificateChain?: { certificates: Array<{ rawBytes: string }> };
      tlogEntries: Array<{ logIndex: string; integratedTime: string; kindVersion: { kind: string } }>;
      timestampVerificationData?: { rfc3161Timestamps?: unknown[] };
    };
  }
  const readBundle = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as BundleJSON;
  const certOf = (b: BundleJSON) => b.verificationMaterial.certificate?.rawBytes ?? b.verificationMaterial.x509CertificateChain?.certificates[0]?.rawBytes;

  it('keyless, device flow in the terminal: one sign-in signs two files; verify names the signer', async () => {
    const dir = await workdir();
    const person = devicePerson();
    const fulcioCallsBefore = sandbox.tokensSeen.length;
    const signed = await run(['sign', 'a.txt', 'b.txt'], { cwd: dir, env: sandboxEnv(dir), onStderr: person.onStderr });
    await person.approved();
    assert.equal(signed.code, 0, signed.stderr);

    // One prompt, one "waiting", one sign-in, one certificate for both files.
    assert.equal(signed.stderr.match(/To sign in, open /g)?.length, 1, signed.stderr);
    assert.match(signed.stderr, new RegExp(`To sign in, open ${sandbox.issuer}/\\S+ and confirm the code [A-Z]{4}-[A-Z]{4}\\n`));
    assert.match(signed.stderr, /Waiting for the sign-in to be confirmed/);
    assert.equal(sandbox.tokensSeen.length - fulcioCallsBefore, 1, 'Fulcio was asked once');
    const lines = signed.stdout.trim().split('\n');
    assert.equal(lines.length, 2, signed.stdout);
    assert.match(lines[0]!, /^signed a\.txt -> a\.txt\.sigstore\.json \(log index \d+, identity signer@example\.test\)$/);
    assert.match(lines[1]!, /^signed b\.txt -> b\.txt\.sigstore\.json \(log index \d+, identity signer@example\.test\)$/);
    const [a, b] = await Promise.all([readBundle(join(dir, 'a.txt.sigstore.json')), readBundle(join(dir, 'b.txt.sigstore.json'))]);
    assert.ok(certOf(a) && certOf(a) === certOf(b), 'both files carry the same certificate');
    assert.notEqual(a.verificationMaterial.tlogEntries[0]?.logIndex, b.verificationMaterial.tlogEntries[0]?.logIndex, 'one Rekor entry per file');
    assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'a.txt.sigstore.json', 'b.txt', 'b.txt.sigstore.json', 'home']);

    const checked = await verify(dir, ['--json', 'a.txt', 'b.txt']);
    const results = (JSON.parse(checked.stdout) as { results: Array<{ path: string; state: string; signer?: { identity?: string; issuer?: string } }> }).results;
    assert.deepEqual(
      results.map((r) => [r.path, r.state, r.signer?.identity, r.signer?.issuer]),
      [
        ['a.txt', 'untrusted', sandbox.email, sandbox.issuer],
        ['b.txt', 'untrusted', sandbox.email, sandbox.issuer],
      ],
    );
    // With a policy naming that signer, both are verified.
    const policy = await writePolicy(dir, { identities: [{ subject: sandbox.email, issuer: sandbox.issuer }] });
    const strict = await verify(dir, ['--strict', '--policy', policy, 'a.txt', 'b.txt']);
    assert.equal(strict.code, 0, strict.stdout + strict.stderr);
    assert.match(strict.stdout, /^verified +a\.txt: .*signer@example\.test/m);

    // The file changed after signing: verify fails.
    await writeFile(join(dir, 'b.txt'), 'second artifact, changed\n');
    assert.equal((await verify(dir, ['b.txt'])).code, 1);
  });

  it('keyless, --browser: the person opens the printed URL, the loopback redirect brings the sign-in back', async () => {
    const dir = await workdir({ 'a.txt': 'signed after a browser sign-in\n' });
    let visit: Promise<LoopbackVisit> | undefined;
    const signed = await run(['sign', '--browser', 'a.txt'], {
      cwd: dir,
      env: sandboxEnv(dir),
      onStderr: (stderr) => {
        const m = /To sign in, open (\S+)\n/.exec(stderr);
        if (m && !visit) visit = signInWithBrowser(m[1]!);
      },
    });
    assert.ok(visit, 'the CLI printed the authorization URL');
    assert.equal((await visit).status, 200, 'the tab says signed in');
    assert.equal(signed.code, 0, signed.stderr);
    assert.doesNotMatch(signed.stderr, /confirm the code/, 'no device code');
    assert.match(signed.stdout, /^signed a\.txt -> a\.txt\.sigstore\.json \(log index \d+, identity signer@example\.test\)\n$/);
  });

  it('--identity-token: no sign-in; flags win over the environment; --bundle OUT; --tsa-url adds a timestamp', async () => {
    const dir = await workdir({ 'c.txt': 'signed with a given token\n' });
    await mkdir(join(dir, 'out'));
    const token = await mint();
    // The environment names services that do not exist: the flags must win.
    const env = sandboxEnv(dir, { SIGSTORE_FULCIO_URL: 'http://127.0.0.1:9', SIGSTORE_REKOR_URL: 'http://127.0.0.1:9', SIGSTORE_OIDC_ISSUER: 'http://127.0.0.1:9' });
    const signed = await run(
      ['sign', '--identity-token', token, '--fulcio-url', sandbox.fulcioURL, '--rekor-url', sandbox.rekorURL, '--tsa-url', sandbox.tsaURL, '--bundle', 'out/c.bundle.json', 'c.txt'],
      { cwd: dir, env },
    );
    assert.equal(signed.code, 0, signed.stderr);
    assert.doesNotMatch(signed.stderr, /To sign in/);
    assert.match(signed.stdout, /^signed c\.txt -> out\/c\.bundle\.json \(log index \d+, identity signer@example\.test\)\n$/);
    assert.equal(existsSync(join(dir, 'c.txt.sigstore.json')), false);
    const bundle = await readBundle(join(dir, 'out/c.bundle.json'));
    assert.equal(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps?.length, 1);
    // verify finds F.sigstore.json by name: put it there, and it is the signer's.
    await writeFile(join(dir, 'c.txt.sigstore.json'), await readFile(join(dir, 'out/c.bundle.json')));
    const checked = await verify(dir, ['--json', 'c.txt']);
    const [result] = (JSON.parse(checked.stdout) as { results: Array<{ state: string; signer?: { identity?: string } }> }).results;
    assert.equal(result?.state, 'untrusted');
    assert.equal(result?.signer?.identity, sandbox.email);
  });

  it('goes through the proxy named by HTTP_PROXY, as cosign does', async () => {
    const dir = await workdir({ 'p.txt': 'signed through a proxy\n' });
    // A forward proxy: undici tunnels every request with CONNECT, plain HTTP included.
    const tunnels: string[] = [];
    const proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host!, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const env = sandboxEnv(dir, { HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, NO_PROXY: '' });
      const signed = await run(['sign', '--identity-token', await mint(), 'p.txt'], { cwd: dir, env });
      assert.equal(signed.code, 0, signed.stderr);
      assert.ok(tunnels.includes(new URL(sandbox.fulcioURL).host), `Fulcio and Rekor were reached through the proxy (tunnels: ${tunnels.join(', ')})`);
      assert.ok(existsSync(join(dir, 'p.txt.sigstore.json')));
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  describe('with a cosign key (COSIGN_PASSWORD)', () => {
    let keyDir: string;
    before(async () => {
      keyDir = join(root, 'keys');
      await mkdir(keyDir, { recursive: true });
      const pair = await generateCosignKeyPair(PASSWORD);
      await writeFile(join(keyDir, 'cosign.key'), pair.privateKeyPem);
      await writeFile(join(keyDir, 'cosign.pub'), pair.publicKeyPem);
    });
    const keyPolicy = (dir: string) => writePolicy(dir, { keys: [join(keyDir, 'cosign.pub')] });

    it('without --tlog-upload: writes F.sig and F.sigstore.json, asks no Rekor; verify with the key says verified', async () => {
      const dir = await workdir();
      const rekor = await startHangingServer(() => undefined);
      try {
        const signed = await run(['sign', '--key', join(keyDir, 'cosign.key'), 'a.txt', 'b.txt'], {
          cwd: dir,
          env: envFor(dir, { COSIGN_PASSWORD: PASSWORD, SIGSTORE_REKOR_URL: rekor.url }),
        });
        assert.equal(signed.code, 0, signed.stderr);
        assert.equal(signed.stdout, 'signed a.txt -> a.txt.sigstore.json, a.txt.sig\nsigned b.txt -> b.txt.sigstore.json, b.txt.sig\n');
        assert.equal(rekor.requests(), 0, 'nothing is logged by default');
      } finally {
        await rekor.close();
      }
      assert.deepEqual((await readBundle(join(dir, 'a.txt.sigstore.json'))).verificationMaterial.tlogEntries, []);
      const policy = await keyPolicy(dir);
      const checked = await verify(dir, ['--strict', '--policy', policy, 'a.txt', 'b.txt']);
      assert.equal(checked.code, 0, checked.stdout);
      assert.match(checked.stdout, /^verified +a\.txt/m);
      // Each companion on its own: the bundle and the cosign .sig.
      assert.deepEqual(await evidenceState(dir, 'a.txt', 'sigstore-bundle', policy), { state: 'verified', check: undefined });
      assert.deepEqual(await evidenceState(dir, 'a.txt', 'cosign-signature', policy), { state: 'verified', check: undefined });
    });

    it('with --tlog-upload: the bundle carries the Rekor entry, which verify checks against the sandbox root', async () => {
      const dir = await workdir({ 'a.txt': 'logged key signature\n' });
      const signed = await run(['sign', '--key', join(keyDir, 'cosign.key'), '--tlog-upload', '--rekor-url', sandbox.rekorURL, 'a.txt'], { cwd: dir, env: envFor(dir, { COSIGN_PASSWORD: PASSWORD }) });
      assert.equal(signed.code, 0, signed.stderr);
      const m = /^signed a\.txt -> a\.txt\.sigstore\.json, a\.txt\.sig \(log index (\d+)\)\n$/.exec(signed.stdout);
      assert.ok(m, signed.stdout);
      const bundle = await readBundle(join(dir, 'a.txt.sigstore.json'));
      const [entry] = bundle.verificationMaterial.tlogEntries;
      assert.equal(entry?.logIndex, m[1]);
      assert.equal(entry?.kindVersion.kind, 'hashedrekord');
      const policy = await keyPolicy(dir);
      // The bundle itself (not just the .sig next to it) verifies, log entry included.
      assert.deepEqual(await evidenceState(dir, 'a.txt', 'sigstore-bundle', policy), { state: 'verified', check: undefined });

      // The entry is really checked: a changed integrated time breaks its signed promise.
      entry!.integratedTime = String(Number(entry!.integratedTime) + 1);
      await writeFile(join(dir, 'a.txt.sigstore.json'), JSON.stringify(bundle));
      assert.deepEqual(await evidenceState(dir, 'a.txt', 'sigstore-bundle', policy), { state: 'failed', check: 'transparency-log' });
    });

    it('asks for the password on a terminal without echoing it; without one and no terminal, exit 2', async () => {
      const dir = await workdir({ 'a.txt': 'password typed at the terminal\n' });
      // `script` gives the CLI a pseudo-terminal; the password is typed once the prompt shows.
      let typed = false;
      const tty = start([], {
        cwd: dir,
        env: envFor(dir),
        command: 'script',
        commandArgs: ['-qec', `"${process.execPath}" "${CLI}" sign --key "${join(keyDir, 'cosign.key')}" a.txt`, '/dev/null'],
      });
      let screen = '';
      tty.child.stdout!.on('data', (d: Buffer) => {
        screen += d.toString();
        if (!typed && screen.includes('Enter password for private key')) {
          typed = true;
          tty.child.stdin!.write(`${PASSWORD}\r`);
        }
      });
      const result = await tty.done;
      assertNoSecrets(result);
      assert.equal(result.code, 0, result.stdout);
      assert.ok(typed, 'the CLI asked for the password');
      assert.match(result.stdout, /signed a\.txt -> a\.txt\.sigstore\.json, a\.txt\.sig/);

      const noTerminal = await run(['sign', '--overwrite', '--key', join(keyDir, 'cosign.key'), 'a.txt'], { cwd: dir, env: envFor(dir) });
      assert.equal(noTerminal.code, 2);
      assert.match(noTerminal.stderr, /no password was given: set COSIGN_PASSWORD/);
      const wrong = await run(['sign', '--overwrite', '--key', join(keyDir, 'cosign.key'), 'a.txt'], { cwd: dir, env: envFor(dir, { COSIGN_PASSWORD: 'not the password' }) });
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /password is wrong/);
    });

    it('Ctrl-C while Rekor has not answered: exits 130, writes nothing', async () => {
      const dir = await workdir({ 'a.txt': 'interrupted\n' });
      let child: ChildProcess | undefined;
      // The moment the upload reaches Rekor, the person presses Ctrl-C.
      const rekor = await startHangingServer(() => child?.kill('SIGINT'));
      try {
        const running = start(['sign', '--key', join(keyDir, 'cosign.key'), '--tlog-upload', '--rekor-url', rekor.url, 'a.txt'], { cwd: dir, env: envFor(dir, { COSIGN_PASSWORD: PASSWORD }) });
        child = running.child;
        const started = Date.now();
        const result = await running.done;
        assertNoSecrets(result);
        assert.equal(result.code, 130, result.stderr);
        // It stops at once rather than waiting for the Rekor request's own 30 s timeout.
        assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms to stop`);
        assert.equal(rekor.requests(), 1);
        assert.match(result.stderr, /Cancelled/);
        assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'home'], 'no companion, no temp file');
      } finally {
        await rekor.close();
      }
    });
  });

  it('Ctrl-C while waiting for the sign-in: exits 130, writes nothing', async () => {
    const dir = await workdir();
    const result = await run(['sign', 'a.txt'], {
      cwd: dir,
      env: sandboxEnv(dir),
      onStderr: (stderr, child) => {
        if (/Waiting for the sign-in/.test(stderr)) child.kill('SIGINT');
      },
    });
    assert.equal(result.code, 130, result.stderr);
    assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'b.txt', 'home']);
  });

  it('never replaces an existing companion without --overwrite (exit 2, nothing signed or logged); replaces it with', async () => {
    const dir = await workdir();
    await writeFile(join(dir, 'b.txt.sigstore.json'), 'an older bundle\n');
    const fulcioCallsBefore = sandbox.tokensSeen.length;
    const token = await mint();
    const refused = await run(['sign', '--identity-token', token, 'a.txt', 'b.txt'], { cwd: dir, env: sandboxEnv(dir) });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /b\.txt\.sigstore\.json already exists; nothing was signed \(pass --overwrite to replace it\)/);
    assert.equal(refused.stdout, '');
    assert.equal(sandbox.tokensSeen.length, fulcioCallsBefore, 'Fulcio was not asked');
    assert.equal(await readFile(join(dir, 'b.txt.sigstore.json'), 'utf8'), 'an older bundle\n');
    assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'b.txt', 'b.txt.sigstore.json', 'home']);

    const replaced = await run(['sign', '--overwrite', '--identity-token', token, 'a.txt', 'b.txt'], { cwd: dir, env: sandboxEnv(dir) });
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal((await readBundle(join(dir, 'b.txt.sigstore.json'))).verificationMaterial.tlogEntries.length, 1);
  });

  it('usage errors exit 2 with the usage: --bundle with two files, no FILE, unknown option, --key with keyless flags, a missing file', async () => {
    const dir = await workdir();
    const cases: Array<[string[], RegExp]> = [
      [['sign', '--bundle', 'out.json', 'a.txt', 'b.txt'], /--bundle names one bundle, so it needs exactly one FILE \(2 given\)/],
      [['sign'], /no FILE given/],
      [['sign', '--frobnicate', 'a.txt'], /unknown option --frobnicate/],
      [['sign', '--key', 'cosign.key', '--identity-token', 'x', 'a.txt'], /--identity-token is for keyless signing and cannot be combined with --key/],
      [['sign', '--tlog-upload', 'a.txt'], /--tlog-upload is for --key signing/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args, { cwd: dir, env: sandboxEnv(dir) });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: sigstore sign/);
    }
    const missing = await run(['sign', '--identity-token', await mint(), 'a.txt', 'nope.txt'], { cwd: dir, env: sandboxEnv(dir) });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.txt does not exist/);
    const noFolder = await run(['sign', '--identity-token', await mint(), '--bundle', 'nowhere/a.json', 'a.txt'], { cwd: dir, env: sandboxEnv(dir) });
    assert.equal(noFolder.code, 2);
    assert.match(noFolder.stderr, /the folder of --bundle nowhere\/a\.json does not exist/);
    assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'b.txt', 'home'], 'nothing signed');
  });

  it('a token for another audience: exit 1, Fulcio says why, no file written', async () => {
    const dir = await workdir();
    const token = await mint({ aud: 'other' });
    const r = await run(['sign', '--identity-token', token, 'a.txt', 'b.txt'], { cwd: dir, env: sandboxEnv(dir) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`error: a\\.txt was not signed: Fulcio \\(${sandbox.fulcioURL}\\) issued no certificate: \\(401\\) .*aud`));
    assert.match(r.stderr, /audience "sigstore"/, 'the remedy names the audience');
    assert.match(r.stderr, /not signed either, for the same reason: b\.txt/);
    assert.equal(r.stdout, '');
    assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'b.txt', 'home']);
  });

  // @sigstore/sign's FulcioSigner refuses a token whose e-mail is not verified before it
  // reaches Fulcio (the same refusal Fulcio would give, "email_verified claim was false").
  it('an unverified e-mail (device flow): exit 1, the e-mail is said to be unverified, no file written', async () => {
    const dir = await workdir();
    const unverified = await startSandbox(join(root, 'sandbox-unverified'), { emailVerified: false });
    try {
      const person = devicePerson();
      const env = envFor(dir, { SIGSTORE_FULCIO_URL: unverified.fulcioURL, SIGSTORE_REKOR_URL: unverified.rekorURL, SIGSTORE_OIDC_ISSUER: unverified.issuer });
      const r = await start(['sign', 'a.txt'], { cwd: dir, env, onStderr: person.onStderr }).done;
      await person.approved();
      for (const token of unverified.tokensSeen) minted.push(token);
      assertNoSecrets(r);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /error: a\.txt was not signed: The identity token cannot be used: JWT email not verified by issuer/);
      assert.match(r.stderr, /Verify your e-mail address with the identity provider/, 'the remedy is about the e-mail, not signing in again');
      assert.deepEqual(unverified.tokensSeen, [], 'refused before Fulcio was asked');
      assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'b.txt', 'home']);
    } finally {
      await unverified.close();
    }
  });
});
