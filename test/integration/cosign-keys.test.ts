// Our cosign key pairs, key signatures and key-signed bundles against the real cosign 2.5.0
// (Debian trixie's build, unpacked into .tools/ by scripts/install-tools.sh): each side must
// read what the other writes. Offline, in a temp dir.
import { strict as assert } from 'node:assert';
import { createPublicKey, verify } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COSIGN_VERSION, TOOLS, cosignIn, requireCosign } from '../support/cosign';
import { generateCosignKeyPair, readCosignPrivateKey } from '../../src/core/sign/cosignKey';
import { signFileWithKey } from '../../src/core/sign/keySigner';
import { writeCompanion } from '../../src/core/sign/companionWriter';



describe(`cosign ${COSIGN_VERSION} and our key pairs, .sig files and key bundles`, function () {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const content = Buffer.from(`artifact signed with a cosign key\n${'y'.repeat(500)}\n`);
  const cosignPassword = 'cosign-made-password';
  const ourPassword = 'our-made-password ✓';

  const { run: cosign, ok: cosignOK } = cosignIn(() => dir, () => env);
  const path = (name: string) => join(dir, name);

  before(async function () {
    await requireCosign();
    const versions = await readFile(join(TOOLS, '.versions'), 'utf8').catch(() => '');
    assert.match(versions, new RegExp(`^cosign ${COSIGN_VERSION.replace(/\./g, '\\.')}-`, 'm'), `.tools/ does not hold cosign ${COSIGN_VERSION}: run scripts/install-tools.sh`);
    dir = await mkdtemp(join(tmpdir(), 'sigstore-cosign-keys-'));
    await mkdir(path('home'));
    env = { PATH: process.env.PATH, HOME: path('home'), NO_PROXY: '127.0.0.1' };
    await writeFile(path('F'), content);
    const flipped = Buffer.from(content);
    flipped[content.length >> 1] = flipped[content.length >> 1]! ^ 0x01;
    await writeFile(path('F.flipped'), flipped);
    // An empty trusted root: a key-signed, unlogged bundle needs none, and without --trusted-root
    // cosign 2.5 tries a TUF refresh ("tuf refresh failed: Get https://tuf-repo-cdn.sigstore.dev/…"), which fails offline.
    await writeFile(path('empty-root.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('(a) a key pair made by cosign generate-key-pair: we read cosign.key, and our signatures verify with cosign.pub (us and cosign)', async () => {
    await cosignOK(['generate-key-pair'], { COSIGN_PASSWORD: cosignPassword });
    const pem = await readFile(path('cosign.key'), 'utf8');
    assert.match(pem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const key = await readCosignPrivateKey(pem, cosignPassword);
    const pub = await readFile(path('cosign.pub'), 'utf8');
    assert.equal(createPublicKey(key).export({ format: 'pem', type: 'spki' }), pub);
    await assert.rejects(readCosignPrivateKey(pem, ourPassword), (e: unknown) => (e as { code?: string }).code === 'WRONG_PASSWORD');

    const s = await signFileWithKey(path('F'), key);
    assert.ok(verify('sha256', content, createPublicKey(pub), s.signature));
    await writeCompanion(path('F.a.sig'), s.sigBase64, { overwrite: false });
    await cosignOK(['verify-blob', '--key', 'cosign.pub', '--signature', 'F.a.sig', '--insecure-ignore-tlog=true', 'F']);
  });

  describe('a key pair made by generateCosignKeyPair', () => {
    before(async () => {
      const ours = await generateCosignKeyPair(ourPassword);
      await writeCompanion(path('our.key'), ours.privateKeyPem, { overwrite: false });
      await writeCompanion(path('our.pub'), ours.publicKeyPem, { overwrite: false });
    });

    it('(b) cosign reads our.key: sign-blob with COSIGN_PASSWORD works, public-key prints our public key, a wrong password is refused', async () => {
      await cosignOK(['sign-blob', '--key', 'our.key', '--tlog-upload=false', '--output-signature', 'F.cosign.sig', 'F'], { COSIGN_PASSWORD: ourPassword });
      const sig = Buffer.from((await readFile(path('F.cosign.sig'), 'utf8')).trim(), 'base64');
      assert.ok(verify('sha256', content, createPublicKey(await readFile(path('our.pub'))), sig), 'cosign signed with our key');

      const printed = await cosignOK(['public-key', '--key', 'our.key'], { COSIGN_PASSWORD: ourPassword });
      assert.equal(printed.stdout, await readFile(path('our.pub'), 'utf8'));

      const wrong = await cosign(['public-key', '--key', 'our.key'], { COSIGN_PASSWORD: 'not it' });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /decrypt/i);
    });

    it('(c) cosign verify-blob accepts our .sig and our v0.3 bundle (--new-bundle-format, empty key hint)', async () => {
      const key = await readCosignPrivateKey(await readFile(path('our.key'), 'utf8'), ourPassword);
      const s = await signFileWithKey(path('F'), key);
      await writeCompanion(path('F.sig'), s.sigBase64, { overwrite: false });
      await writeCompanion(path('F.sigstore.json'), JSON.stringify(s.bundle), { overwrite: false });
      const run = await cosignOK(['verify-blob', '--key', 'our.pub', '--signature', 'F.sig', '--insecure-ignore-tlog=true', 'F']);
      assert.match(run.stderr, /Verified OK/);
      const bundleRun = await cosignOK([
        'verify-blob', '--key', 'our.pub', '--bundle', 'F.sigstore.json', '--new-bundle-format', '--trusted-root', 'empty-root.json', '--insecure-ignore-tlog=true', 'F',
      ]);
      assert.match(bundleRun.stderr, /Verified OK/);
      // Raw DER works too (what --b64=false reads).
      await writeCompanion(path('F.der.sig'), s.signature, { overwrite: false });
      await cosignOK(['verify-blob', '--key', 'our.pub', '--signature', 'F.der.sig', '--insecure-ignore-tlog=true', 'F']);
    });

    it('(d) one flipped byte in the file: cosign rejects our .sig and our bundle', async () => {
      const sigRun = await cosign(['verify-blob', '--key', 'our.pub', '--signature', 'F.sig', '--insecure-ignore-tlog=true', 'F.flipped']);
      assert.notEqual(sigRun.code, 0);
      assert.match(sigRun.stderr, /invalid signature/);
      const bundleRun = await cosign([
        'verify-blob', '--key', 'our.pub', '--bundle', 'F.sigstore.json', '--new-bundle-format', '--trusted-root', 'empty-root.json', '--insecure-ignore-tlog=true', 'F.flipped',
      ]);
      assert.notEqual(bundleRun.code, 0);
      assert.match(bundleRun.stderr, /invalid signature/);
      // And with another key, the same files are rejected.
      const otherKey = await cosign(['verify-blob', '--key', 'cosign.pub', '--signature', 'F.sig', '--insecure-ignore-tlog=true', 'F']);
      assert.notEqual(otherKey.code, 0);
    });
  });
});
