// Signing inside a real VS Code extension host, against the sandbox the runner started
// (scripts/run-vscode-tests.mjs: local OpenID provider, Fulcio with the real token checks,
// Rekor, TSA). The test plays the person: it answers the dialogs through
// SigstoreApi.useSigningPrompts and approves the device code over HTTP, as in a browser.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { SignArtifactOutcome } from '../../src/commands/signArtifactCommand';
import type { DeviceCode } from '../../src/core/oidc/deviceFlow';
import { BADGES } from '../../src/decorations/verificationDecorations';
import { approveDeviceCode } from '../support/device-flow-person';
import { api, until, uriOf, workspaceRoot } from './extensionHost';

interface SandboxDescription {
  issuer: string;
  email: string;
  trustedRootPath: string;
}

function sandbox(): SandboxDescription {
  const raw = process.env.SIGSTORE_SANDBOX;
  assert.ok(raw, 'the runner describes its sandbox in SIGSTORE_SANDBOX');
  return JSON.parse(raw) as SandboxDescription;
}

function keyPassword(): string {
  const pw = process.env.SIGSTORE_TEST_KEY_PASSWORD;
  assert.ok(pw, 'the runner chooses the key password (its secrets check looks for it afterwards)');
  return pw;
}

async function write(relative: string, text: string): Promise<vscode.Uri> {
  const uri = uriOf(relative);
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
  return uri;
}

/** Leftovers of an interrupted atomic write (".name.<random>.tmp"). */
function tempFiles(relativeDir: string): string[] {
  return readdirSync(join(workspaceRoot(), relativeDir)).filter((f) => f.endsWith('.tmp'));
}

async function writePolicy(policy: unknown): Promise<void> {
  await vscode.workspace.fs.writeFile(uriOf('.sigstore/policy.json'), new TextEncoder().encode(JSON.stringify(policy, null, 2)));
}

async function sign(...uris: vscode.Uri[]): Promise<SignArtifactOutcome | undefined> {
  return vscode.commands.executeCommand<SignArtifactOutcome | undefined>('sigstore.signArtifact', uris[0], uris);
}

describe('Signing', function () {
  this.timeout(60_000);
  const policyUri = () => uriOf('.sigstore/policy.json');
  let originalPolicy: Uint8Array;
  let restorePrompts: vscode.Disposable | undefined;

  before(async () => {
    originalPolicy = await vscode.workspace.fs.readFile(policyUri());
    const policy = JSON.parse(new TextDecoder().decode(originalPolicy));
    // The fixture rule covers top-level files only, so these folders need rules of their own.
    policy.rules.push({ name: 'signed in the editor', match: ['signing/**'], identities: [{ subject: sandbox().email, issuer: sandbox().issuer }] });
    await writePolicy(policy);
    await vscode.workspace.fs.createDirectory(uriOf('signing'));
    await vscode.workspace.fs.createDirectory(uriOf('signing-key'));
  });

  afterEach(() => {
    restorePrompts?.dispose();
    restorePrompts = undefined;
  });

  after(async () => {
    await vscode.workspace.fs.writeFile(policyUri(), originalPolicy);
    for (const dir of ['signing', 'signing-key']) await vscode.workspace.fs.delete(uriOf(dir), { recursive: true, useTrash: false });
  });

  it('Sign Artifact, keyless: one device-flow sign-in for two files; the bundles verify and the badges turn verified', async () => {
    const sigstore = await api();
    const a = await write('signing/a.txt', 'first file to sign\n');
    const b = await write('signing/b.txt', 'second file to sign\n');
    const codes: DeviceCode[] = [];
    const approvals: Promise<void>[] = [];
    restorePrompts = sigstore.useSigningPrompts({
      chooseMethod: async () => 'keyless',
      presentDeviceCode: async (code) => {
        codes.push(code);
        // The person opens the page and confirms the code while the extension polls.
        approvals.push(approveDeviceCode(code.verificationUriComplete ?? code.verificationUri));
        return true;
      },
    });

    const started = Date.now();
    const outcome = await sign(a, b);
    await Promise.all(approvals);
    assert.ok(outcome, 'the command reports what it did');
    assert.equal(codes.length, 1, 'one sign-in for both files');
    assert.deepEqual(outcome.failed, []);
    assert.deepEqual(outcome.signed.map((s) => s.path).sort(), [a.fsPath, b.fsPath].sort());
    for (const s of outcome.signed) {
      assert.equal(s.identity, sandbox().email);
      assert.equal(s.issuer, sandbox().issuer);
      assert.match(s.logIndex ?? '', /^\d+$/, 'a Rekor entry was made');
      assert.equal(s.result?.state, 'verified', s.result?.summary);
      const bundle = JSON.parse(readFileSync(`${s.path}.sigstore.json`, 'utf8'));
      assert.match(bundle.mediaType, /^application\/vnd\.dev\.sigstore\.bundle/);
    }
    console.log(`    keyless signing of 2 files, sign-in included: ${Date.now() - started} ms`);
    // The badge follows without any further action.
    await until('a.txt badged verified', async () => (await sigstore.provideFileDecoration(a))?.badge === BADGES.verified.badge);
    assert.equal(sigstore.resultFor(b)?.state, 'verified');
    assert.deepEqual(tempFiles('signing'), []);
  });

  it('never replaces a bundle without asking: Skip keeps it byte for byte, Replace writes a new one', async () => {
    const sigstore = await api();
    const a = uriOf('signing/a.txt');
    const before = readFileSync(`${a.fsPath}.sigstore.json`);
    let asked: readonly string[] = [];
    let answer: 'overwrite' | 'skip' | undefined = 'skip';
    let signIns = 0;
    restorePrompts = sigstore.useSigningPrompts({
      chooseMethod: async () => 'keyless',
      confirmOverwrite: async (existing) => {
        asked = existing;
        return answer;
      },
      presentDeviceCode: async (code) => {
        signIns++;
        await approveDeviceCode(code.verificationUriComplete ?? code.verificationUri);
        return true;
      },
    });
    const c = await write('signing/c.txt', 'a third file\n');

    const skipped = await sign(a, c);
    assert.deepEqual(asked, [`${a.fsPath}.sigstore.json`]);
    assert.deepEqual(skipped?.skipped, [a.fsPath]);
    assert.deepEqual(skipped?.signed.map((s) => s.path), [c.fsPath]);
    assert.ok(readFileSync(`${a.fsPath}.sigstore.json`).equals(before), 'the skipped bundle is untouched');

    answer = undefined;
    assert.equal(await sign(a), undefined, 'closing the question signs nothing');
    assert.ok(readFileSync(`${a.fsPath}.sigstore.json`).equals(before));

    answer = 'overwrite';
    const replaced = await sign(a);
    assert.equal(replaced?.signed[0]?.result?.state, 'verified');
    assert.ok(!readFileSync(`${a.fsPath}.sigstore.json`).equals(before), 'a new bundle replaced the old one');
    assert.equal(signIns, 2, 'no sign-in when nothing was to be signed');
  });

  it('cancelling at the device code signs nothing and leaves nothing behind', async () => {
    const sigstore = await api();
    const d = await write('signing/d.txt', 'never signed\n');
    let shown = 0;
    restorePrompts = sigstore.useSigningPrompts({
      chooseMethod: async () => 'keyless',
      presentDeviceCode: async () => {
        shown++;
        return false;
      },
    });
    assert.equal(await sign(d), undefined);
    assert.equal(shown, 1, 'the code was shown before the cancel');
    assert.ok(!existsSync(`${d.fsPath}.sigstore.json`));
    assert.deepEqual(tempFiles('signing'), []);
    // Nothing was signed: the policy's rule for signing/ still misses its signature.
    assert.deepEqual(
      [sigstore.resultFor(d)?.state, sigstore.resultFor(d)?.evidence.length],
      ['unsigned', 0],
      'no evidence was written',
    );
  });

  it('Generate Key Pair writes a cosign key pair; Sign Artifact with it writes F.sig and a bundle that verify against the policy key', async () => {
    const sigstore = await api();
    const password = keyPassword();
    const asked: Array<string | undefined> = [];
    let remembered = 0;
    restorePrompts = sigstore.useSigningPrompts({
      newKeyPassword: async () => password,
      rememberPassword: async () => {
        remembered++;
        return false;
      },
      chooseMethod: async () => 'key',
      // A typo first: the key must not open, and the person is asked again.
      keyPassword: async (_path, problem) => {
        asked.push(problem);
        return asked.length === 1 ? `${password}-typo` : password;
      },
    });

    const pair = await vscode.commands.executeCommand<{ privateKey: string; publicKey: string } | undefined>('sigstore.generateKeyPair', uriOf('signing-key'));
    assert.deepEqual(pair, { privateKey: join(workspaceRoot(), 'signing-key', 'cosign.key'), publicKey: join(workspaceRoot(), 'signing-key', 'cosign.pub') });
    const privatePem = readFileSync(pair.privateKey, 'utf8');
    assert.match(privatePem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    assert.ok(!privatePem.includes(password));
    assert.equal(statSync(pair.privateKey).mode & 0o777, 0o600, 'only the owner can read the private key');
    assert.match(readFileSync(pair.publicKey, 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);

    // The person lists the new public key in the policy, as the message after generating suggests.
    const policy = JSON.parse(readFileSync(policyUri().fsPath, 'utf8'));
    policy.rules.push({ name: 'signed with the generated key', match: ['signing-key/**'], keys: ['../signing-key/cosign.pub'] });
    await writePolicy(policy);

    const e = await write('signing-key/e.txt', 'signed with a key\n');
    const outcome = await sign(e);
    assert.deepEqual(asked, [undefined, 'Wrong password; try again.']);
    assert.equal(remembered, 2, 'keeping the password was offered (after generating and after unlocking) and declined');
    assert.equal(outcome?.method, 'key');
    assert.deepEqual(outcome?.signed[0]?.written, [`${e.fsPath}.sigstore.json`, `${e.fsPath}.sig`]);
    assert.match(readFileSync(`${e.fsPath}.sig`, 'utf8'), /^[A-Za-z0-9+/]+=*$/, 'cosign writes base64 DER');
    assert.equal(outcome?.signed[0]?.result?.state, 'verified', outcome?.signed[0]?.result?.summary);
    await until('e.txt badged verified', async () => (await sigstore.provideFileDecoration(e))?.badge === BADGES.verified.badge);
  });

  it('replaces an existing key pair only once the person confirms; the policy then trusts the new key alone', async () => {
    const sigstore = await api();
    const before = readFileSync(join(workspaceRoot(), 'signing-key', 'cosign.key'));
    let warned: readonly string[] = [];
    let confirm = false;
    restorePrompts = sigstore.useSigningPrompts({
      confirmReplaceKey: async (existing) => {
        warned = existing;
        return confirm;
      },
      newKeyPassword: async () => {
        assert.ok(confirm, 'no password is asked once the person declined');
        return keyPassword();
      },
      rememberPassword: async () => false,
    });
    assert.equal(await vscode.commands.executeCommand('sigstore.generateKeyPair', uriOf('signing-key')), undefined);
    assert.equal(warned.length, 2);
    assert.ok(readFileSync(join(workspaceRoot(), 'signing-key', 'cosign.key')).equals(before));

    confirm = true;
    assert.ok(await vscode.commands.executeCommand('sigstore.generateKeyPair', uriOf('signing-key')));
    assert.ok(!readFileSync(join(workspaceRoot(), 'signing-key', 'cosign.key')).equals(before));
    // The policy names cosign.pub, which changed under it: e.txt's old signature no longer counts.
    await until('e.txt no longer verified', () => sigstore.resultFor(uriOf('signing-key/e.txt'))?.state === 'failed');
  });
});
