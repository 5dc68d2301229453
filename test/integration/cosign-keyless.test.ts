// What we sign against the sandbox, checked by the real cosign 2.5.0 (Debian trixie's build,
// unpacked into .tools/ by scripts/install-tools.sh) with the sandbox's trusted root:
// keyless bundles (device-flow sign-in, Fulcio certificate, Rekor entry, TSA timestamp) and
// key bundles logged in Rekor (--tlog-upload). Offline, all on 127.0.0.1.
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { obtainIdentityToken } from '../../src/core/oidc/identityToken';
import { generateCosignKeyPair, readCosignPrivateKey } from '../../src/core/sign/cosignKey';
import { signFileAndWrite } from '../../src/core/sign/fileSigning';
import { createKeylessSession, type KeylessSession } from '../../src/core/sign/keylessSigner';
import { publicKeyPemOf } from '../../src/core/sign/keySigner';
import { logKeySignature } from '../../src/core/sign/rekorUpload';
import { COSIGN_VERSION, TOOLS, cosignIn, requireCosign } from '../support/cosign';
import { approveDeviceCode } from '../support/device-flow-person';
import { startSandbox, type Sandbox } from '../support/sandbox';

describe(`cosign ${COSIGN_VERSION} verify-blob and what we sign against the sandbox`, function () {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let sandbox: Sandbox;
  let session: KeylessSession;
  const { run: cosign, ok: cosignOK } = cosignIn(() => dir, () => env);
  const path = (name: string) => join(dir, name);
  const flip = async (from: string, to: string) => {
    const bytes = await readFile(path(from));
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
    await writeFile(path(to), bytes);
  };

  before(async () => {
    await requireCosign();
    const versions = await readFile(join(TOOLS, '.versions'), 'utf8').catch(() => '');
    assert.match(versions, new RegExp(`^cosign ${COSIGN_VERSION.replace(/\./g, '\\.')}-`, 'm'), `.tools/ does not hold cosign ${COSIGN_VERSION}: run scripts/install-tools.sh`);
    dir = await mkdtemp(join(tmpdir(), 'sigstore-cosign-keyless-'));
    await mkdir(path('home'));
    env = { PATH: process.env.PATH, HOME: path('home'), NO_PROXY: '127.0.0.1' };
    sandbox = await startSandbox(path('sandbox'));
    await writeFile(path('empty-root.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }));

    // One sign-in, as a person at a terminal: the device flow, approved in a "browser".
    let approval: Promise<void> | undefined;
    const token = await obtainIdentityToken({
      issuer: sandbox.issuer,
      clientId: sandbox.clientId,
      flow: 'device',
      env: {},
      onDeviceCode: (code) => {
        approval = approveDeviceCode(code.verificationUriComplete ?? code.verificationUri);
      },
      openBrowser: () => assert.fail('the device flow opens no browser'),
    });
    await approval;
    assert.equal(token.identity, sandbox.email);
    session = createKeylessSession(token.token, { fulcioURL: sandbox.fulcioURL, rekorURL: sandbox.rekorURL, tsaURL: sandbox.tsaURL });
  });
  after(async () => {
    await sandbox?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const keyless = (file: string, extra: string[] = [], bundle = `${file}.sigstore.json`, root = sandbox.trustedRootPath) => [
    'verify-blob', '--bundle', bundle, '--trusted-root', root, '--certificate-identity', sandbox.email, '--certificate-oidc-issuer', sandbox.issuer, ...extra, file,
  ];

  it('(0) cosign 2.5.0 reads the sandbox trusted_root.json as written', async () => {
    // It has no "operator" fields: protobuf-specs added them after the version cosign 2.5.0
    // was built with, and its strict JSON parser refuses a whole root with an unknown field.
    await writeFile(path('R'), 'root check\n');
    await signFileAndWrite(path('R'), { kind: 'keyless', session }, { overwrite: false });
    const verified = await cosignOK(keyless('R'));
    assert.match(verified.stderr, /Verified OK/);
    const root = await readFile(sandbox.trustedRootPath, 'utf8');
    await writeFile(path('root-with-operator.json'), root.replace('"certChain"', '"operator": "x", "certChain"'));
    const refused = await cosign(keyless('R', [], 'R.sigstore.json', path('root-with-operator.json')));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unknown field "operator"/);
  });

  it('(a) a keyless bundle (Fulcio certificate + Rekor entry + TSA timestamp): cosign verifies it for our identity and issuer', async () => {
    await writeFile(path('F'), `signed keylessly after a device-flow sign-in\n${'k'.repeat(300)}\n`);
    const signed = await signFileAndWrite(path('F'), { kind: 'keyless', session }, { overwrite: false });
    assert.equal(signed.identity, sandbox.email);
    const verified = await cosignOK(keyless('F'));
    assert.match(verified.stderr, /Verified OK/);
    // The RFC 3161 timestamp on its own (log ignored): cosign checks it against the TSA in the root.
    const timestamped = await cosignOK(keyless('F', ['--use-signed-timestamps', '--insecure-ignore-tlog=true']));
    assert.match(timestamped.stderr, /Verified OK/);
  });

  it('(b) cosign rejects it for a flipped file, another identity or issuer, and a root without our CA', async () => {
    await flip('F', 'F.flipped');
    const flipped = await cosign(keyless('F.flipped', [], 'F.sigstore.json'));
    assert.notEqual(flipped.code, 0);
    assert.match(flipped.stderr, /invalid signature/);

    const otherIdentity = await cosign(['verify-blob', '--bundle', 'F.sigstore.json', '--trusted-root', sandbox.trustedRootPath, '--certificate-identity', 'someone-else@example.test', '--certificate-oidc-issuer', sandbox.issuer, 'F']);
    assert.notEqual(otherIdentity.code, 0);
    assert.match(otherIdentity.stderr, /expected SAN value "someone-else@example\.test", got "signer@example\.test"/);
    const otherIssuer = await cosign(['verify-blob', '--bundle', 'F.sigstore.json', '--trusted-root', sandbox.trustedRootPath, '--certificate-identity', sandbox.email, '--certificate-oidc-issuer', 'https://accounts.example.test', 'F']);
    assert.notEqual(otherIssuer.code, 0);
    assert.match(otherIssuer.stderr, /expected issuer value "https:\/\/accounts\.example\.test"/);

    // The sandbox root without its CA: the log entry checks out, the certificate does not chain.
    const root = JSON.parse(await readFile(sandbox.trustedRootPath, 'utf8')) as Record<string, unknown>;
    await writeFile(path('no-ca-root.json'), JSON.stringify({ ...root, certificateAuthorities: [] }));
    const noCA = await cosign(keyless('F', [], 'F.sigstore.json', 'no-ca-root.json'));
    assert.notEqual(noCA.code, 0);
    assert.match(noCA.stderr, /leaf certificate verification failed/);
  });

  describe('a key bundle logged in Rekor (--tlog-upload)', () => {
    before(async () => {
      const password = 'interop password';
      const pair = await generateCosignKeyPair(password);
      await writeFile(path('cosign.pub'), pair.publicKeyPem);
      const key = await readCosignPrivateKey(pair.privateKeyPem, password);
      await writeFile(path('K'), `signed with a key and logged\n${'q'.repeat(300)}\n`);
      const signed = await signFileAndWrite(
        path('K'),
        { kind: 'key', key, publicKeyPem: publicKeyPemOf(key), logSignature: (s, signal) => logKeySignature(s, sandbox.rekorURL, signal) },
        { overwrite: false },
      );
      assert.match(signed.logIndex ?? '', /^\d+$/);
    });
    const keyed = (file: string, root = sandbox.trustedRootPath, bundle = 'K.sigstore.json') => ['verify-blob', '--key', 'cosign.pub', '--bundle', bundle, '--new-bundle-format', '--trusted-root', root, file];

    it('(c) cosign verify-blob --key --new-bundle-format accepts it, checking the log entry (no --insecure-ignore-tlog)', async () => {
      const verified = await cosignOK(keyed('K'));
      assert.match(verified.stderr, /Verified OK/);
      assert.doesNotMatch(verified.stderr, /Skipping tlog verification/);
    });

    it('(d) cosign rejects it for a flipped file, a changed log entry, or a root without the sandbox Rekor', async () => {
      await flip('K', 'K.flipped');
      const flipped = await cosign(keyed('K.flipped'));
      assert.notEqual(flipped.code, 0);
      assert.match(flipped.stderr, /invalid signature/);

      const bundle = JSON.parse(await readFile(path('K.sigstore.json'), 'utf8')) as { verificationMaterial: { tlogEntries: Array<{ integratedTime: string }> } };
      bundle.verificationMaterial.tlogEntries[0]!.integratedTime = String(Number(bundle.verificationMaterial.tlogEntries[0]!.integratedTime) + 1);
      await writeFile(path('K.changed-entry.json'), JSON.stringify(bundle));
      const changed = await cosign(keyed('K', sandbox.trustedRootPath, 'K.changed-entry.json'));
      assert.notEqual(changed.code, 0);
      assert.match(changed.stderr, /not enough verified log entries from transparency log: 0 < 1/);

      const noLog = await cosign(keyed('K', 'empty-root.json'));
      assert.notEqual(noLog.code, 0);
      assert.match(noLog.stderr, /not enough verified log entries from transparency log: 0 < 1/);
    });

    it('(e) the F.sig written beside it verifies with cosign.pub too', async () => {
      const verified = await cosignOK(['verify-blob', '--key', 'cosign.pub', '--signature', 'K.sig', '--insecure-ignore-tlog=true', 'K']);
      assert.match(verified.stderr, /Verified OK/);
    });
  });
});
