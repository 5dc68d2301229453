import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestArtifact, fileArtifact } from '../../../src/core/artifacts/artifact';
import { parseTrustedRoot, publicGoodTrustedRoot, type LoadedTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { verifyArtifact } from '../../../src/core/verify/artifactVerifier';
import { MAX_COMPANION_BYTES, verifyBundleBytes, verifyBundleFile } from '../../../src/core/verify/bundleVerifier';
import {
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  inTotoStatement,
  sha256Hex,
  signFile,
  signStatement,
  startSigstoreInstance,
  type SigstoreInstance,
} from '../../support/sigstore-instance';

const NO_POLICY = { policy: { kind: 'none' as const }, network: { allowed: false, rekorURL: 'http://127.0.0.1:9' } };

describe('bundle verification (core)', function () {
  this.timeout(20_000);
  let inst: SigstoreInstance;
  let other: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  const data = Buffer.from('release notes, version 1.0\n');

  before(async () => {
    [inst, other] = await Promise.all([startSigstoreInstance(), startSigstoreInstance()]);
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test root');
    dir = await mkdtemp(join(tmpdir(), 'sigstore-verify-'));
  });
  after(async () => {
    await Promise.all([inst.close(), other.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, content: Buffer | string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  }

  const verifyJSON = (bundle: unknown, artifact = data, opts: { trustedRoot?: LoadedTrustedRoot } = {}) =>
    verifyBundleBytes('x.sigstore.json', Buffer.from(JSON.stringify(bundle)), digestArtifact(sha256Hex(artifact)), {
      trustedRoot: opts.trustedRoot ?? root,
    });

  it('verifies a message-signature bundle and names the signer and issuer', async () => {
    const bundle = await signFile(inst, data, 'message');
    const artifact = await write('a.txt', data);
    const e = await verifyBundleFile(await write('a.txt.sigstore.json', JSON.stringify(bundle)), fileArtifact(artifact), { trustedRoot: root });
    assert.equal(e.state, 'verified', e.summary);
    assert.equal(e.signer?.kind, 'certificate');
    assert.equal(e.signer?.kind === 'certificate' && e.signer.identity, DEFAULT_IDENTITY);
    assert.equal(e.signer?.kind === 'certificate' && e.signer.issuer, DEFAULT_ISSUER);
    assert.match(e.summary, new RegExp(DEFAULT_IDENTITY));
    assert.equal(e.tlogEntries.length, 1);
    assert.ok(e.tlogEntries[0]!.integratedTime instanceof Date);
    assert.ok(e.checks.every((c) => c.outcome === 'passed'));
    assert.deepEqual(
      e.checks.map((c) => c.id),
      ['read', 'parse', 'media-type', 'schema', 'artifact-binding', 'timestamps', 'certificate', 'transparency-log', 'signature'],
    );
  });

  it('reads the Fulcio extensions a CI identity carries (repository, ref, commit, workflow)', async () => {
    const bundle = await signFile(inst, data, 'message', {
      claims: { repository: 'octo/app', ref: 'refs/heads/main', sha: 'a'.repeat(40), workflow: 'release', event_name: 'push' },
    });
    const e = await verifyJSON(bundle);
    assert.equal(e.state, 'verified', e.summary);
    assert.equal(e.signer?.kind, 'certificate');
    const extensions = e.signer?.kind === 'certificate' ? Object.fromEntries(e.signer.extensions.map((x) => [x.name, x.value])) : {};
    assert.equal(extensions['GitHub Workflow Repository'], 'octo/app');
    assert.equal(extensions['GitHub Workflow Ref'], 'refs/heads/main');
    assert.equal(extensions['GitHub Workflow SHA'], 'a'.repeat(40));
    assert.equal(extensions['GitHub Workflow Name'], 'release');
    assert.equal(extensions['GitHub Workflow Trigger'], 'push');
    // The v2 extensions are DER strings; decoding them must give the same text.
    assert.equal(extensions['Source Repository Ref'], 'refs/heads/main');
    assert.equal(extensions['Source Repository Digest'], 'a'.repeat(40));
  });

  it('verifies a DSSE bundle only when a statement subject has the file digest', async () => {
    const good = await signFile(inst, data, 'dsse', { subjectName: 'a.txt' });
    assert.equal((await verifyJSON(good)).state, 'verified');
    const wrong = await signStatement(inst, inTotoStatement([{ name: 'a.txt', sha256: sha256Hex(Buffer.from('other')) }]));
    const e = await verifyJSON(wrong);
    assert.equal(e.state, 'failed');
    assert.equal(e.failure?.check, 'artifact-binding');
    assert.match(e.failure!.message, new RegExp(sha256Hex(data)));
  });

  it('binds a statement by digest, and notes a subject name that is not the file\'s', async () => {
    // A file called a.txt: the same digest, with a name.
    const named = { ...digestArtifact(sha256Hex(data)), name: '/w/a.txt' };
    const verifyNamed = async (bundle: unknown) => verifyBundleBytes('a.txt.sigstore.json', Buffer.from(JSON.stringify(bundle)), named, { trustedRoot: root });
    const same = await verifyNamed(await signFile(inst, data, 'dsse', { subjectName: 'dist/a.txt' }));
    assert.ok(!same.notes.some((n) => n.includes('only a label')), 'a path ending in the file name is its name');
    const other = await verifyNamed(await signFile(inst, data, 'dsse', { subjectName: 'G\u001b[2K.bin' }));
    assert.equal(other.state, 'verified', 'the digest binds, as in cosign');
    assert.ok(
      other.notes.includes('The statement names this digest "G [2K.bin", not "a.txt": the digest binds it to this file; the name is only a label.'),
      other.notes.join('\n'),
    );
  });

  it('reports a tampered file as failed at the artifact binding, with a remedy', async () => {
    const bundle = await signFile(inst, data, 'message');
    const e = await verifyJSON(bundle, Buffer.from('release notes, version 1.0 (changed)\n'));
    assert.equal(e.state, 'failed');
    assert.equal(e.failure?.check, 'artifact-binding');
    assert.match(e.failure!.remedy, /original file/);
    // The claimed signer is still shown, so the user knows whose signature broke.
    assert.equal(e.signer?.kind === 'certificate' && e.signer.identity, DEFAULT_IDENTITY);
  });

  it('rejects a signature that does not match even when the digest field was rewritten', async () => {
    const bundle = (await signFile(inst, data, 'message')) as { messageSignature: { messageDigest: { digest: string } } };
    const forged = Buffer.from('forged content\n');
    bundle.messageSignature.messageDigest.digest = Buffer.from(sha256Hex(forged), 'hex').toString('base64');
    const e = await verifyJSON(bundle, forged);
    assert.equal(e.state, 'failed');
    assert.ok(['transparency-log', 'signature'].includes(e.failure!.check), e.failure!.check);
  });

  it('rejects a bundle from a Sigstore instance the trusted root does not know', async () => {
    const bundle = await signFile(other, data, 'message');
    const e = await verifyJSON(bundle);
    assert.equal(e.state, 'failed');
    assert.equal(e.failure?.check, 'certificate');
    assert.match(e.failure!.remedy, /sigstore\.trustedRoot/);
    // Against the public-good root it fails too: a private instance is never trusted by default.
    assert.equal((await verifyJSON(bundle, data, { trustedRoot: publicGoodTrustedRoot() })).state, 'failed');
  });

  it('checks identities exactly, never as a substring or pattern', async () => {
    const bundle = await signFile(inst, data, 'message');
    const bytes = Buffer.from(JSON.stringify(bundle));
    const check = (subject: string, issuer = DEFAULT_ISSUER) =>
      verifyBundleBytes('x', bytes, digestArtifact(sha256Hex(data)), { trustedRoot: root, expect: { identity: { subject, issuer } } });
    assert.equal((await check(DEFAULT_IDENTITY)).state, 'verified');
    for (const near of ['alice@example', 'lice@example.test', 'alice@example.test.evil', '.*', 'alice@example.tes.']) {
      const e = await check(near);
      assert.equal(e.state, 'failed', near);
      assert.equal(e.failure?.check, 'identity');
    }
    assert.equal((await check(DEFAULT_IDENTITY, 'https://issuer.example')).state, 'failed');
  });

  describe('bad input never throws and says why', () => {
    const cases: Array<[string, Buffer | string, 'failed' | 'unverifiable', string]> = [
      ['empty', '', 'failed', 'parse'],
      ['truncated', '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verif', 'failed', 'parse'],
      ['not JSON (binary)', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]), 'failed', 'parse'],
      ['a JSON array', '[1,2,3]', 'failed', 'parse'],
      ['JSON without mediaType', '{"hello": "world"}', 'failed', 'media-type'],
      ['unknown media type', '{"mediaType": "application/vnd.dev.sigstore.bundle.v9.9+json"}', 'unverifiable', 'media-type'],
      ['known media type, no content', '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}', 'failed', 'schema'],
    ];
    for (const [name, content, state, check] of cases) {
      it(`${name} → ${state} at ${check}`, async () => {
        const e = await verifyBundleBytes('c.sigstore.json', Buffer.from(content), digestArtifact(sha256Hex(data)), { trustedRoot: root });
        assert.equal(e.state, state);
        assert.equal(e.failure?.check, check);
        assert.ok(e.failure!.message.length > 10 && e.failure!.remedy.length > 10);
      });
    }

    it('a companion over 10 MiB is refused without being parsed', async () => {
      const path = await write('huge.sigstore.json', Buffer.alloc(MAX_COMPANION_BYTES + 1, 0x20));
      const e = await verifyBundleFile(path, digestArtifact(sha256Hex(data)), { trustedRoot: root });
      assert.equal(e.state, 'failed');
      assert.equal(e.failure?.check, 'read');
      assert.match(e.failure!.message, /10\.0 MiB/);
    });

    it('a folder where the companion should be is failed, a missing one cannot be checked', async () => {
      await mkdir(join(dir, 'folder.sigstore.json'), { recursive: true });
      assert.equal((await verifyBundleFile(join(dir, 'folder.sigstore.json'), digestArtifact(sha256Hex(data)), { trustedRoot: root })).state, 'failed');
      const missing = await verifyBundleFile(join(dir, 'missing.sigstore.json'), digestArtifact(sha256Hex(data)), { trustedRoot: root });
      assert.equal(missing.state, 'unverifiable');
      assert.equal(missing.failure?.check, 'read');
    });

    it('a certificate field holding garbage is failed, not a crash', async () => {
      const bundle = (await signFile(inst, data, 'message')) as { verificationMaterial: { x509CertificateChain?: { certificates: { rawBytes: string }[] } } };
      bundle.verificationMaterial.x509CertificateChain!.certificates[0]!.rawBytes = Buffer.from('not a certificate').toString('base64');
      const e = await verifyJSON(bundle);
      assert.equal(e.state, 'failed');
    });
  });

  it('a key-signed bundle: cannot be checked without a key, verified with a policy key even unlogged', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signature = sign('sha256', data, privateKey);
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: Buffer.from(sha256Hex(data), 'hex').toString('base64') }, signature: signature.toString('base64') },
    };
    const e = await verifyJSON(bundle);
    assert.equal(e.state, 'unverifiable');
    assert.equal(e.failure?.check, 'signing-key');
    // With the key it verifies, and the report says that nothing was logged.
    const withKey = await verifyBundleBytes('x', Buffer.from(JSON.stringify(bundle)), digestArtifact(sha256Hex(data)), {
      trustedRoot: root,
      keys: [{ source: 'keys/other.pub', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey }, { source: 'keys/release.pub', key: publicKey }],
    });
    assert.equal(withKey.state, 'verified', withKey.summary);
    assert.equal(withKey.signer?.kind === 'key' && withKey.signer.source, 'keys/release.pub');
    assert.ok(withKey.notes.some((n) => /No transparency-log entry/.test(n)));
    // Only with the wrong keys it fails, naming them.
    const wrong = await verifyBundleBytes('x', Buffer.from(JSON.stringify(bundle)), digestArtifact(sha256Hex(data)), {
      trustedRoot: root,
      keys: [{ source: 'keys/other.pub', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey }],
    });
    assert.equal(wrong.state, 'failed');
    assert.match(wrong.summary, /keys\/other\.pub/);
    // A changed file never verifies, key or not.
    const tampered = await verifyBundleBytes('x', Buffer.from(JSON.stringify(bundle)), digestArtifact(sha256Hex(Buffer.from('x'))), { trustedRoot: root, expect: { publicKey } });
    assert.equal(tampered.state, 'failed');
  });

  it('a link leading outside the workspace is not followed', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'sigstore-outside-'));
    const workspace = join(dir, 'ws');
    await mkdir(workspace, { recursive: true });
    try {
      const bundle = await signFile(inst, data, 'message');
      await writeFile(join(outside, 'secret.txt'), data);
      await symlink(join(outside, 'secret.txt'), join(workspace, 'link.txt'));
      await writeFile(join(workspace, 'link.txt.sigstore.json'), JSON.stringify(bundle));
      const result = await verifyArtifact(join(workspace, 'link.txt'), [{ path: join(workspace, 'link.txt.sigstore.json'), kind: 'sigstore-bundle' }], {
        ...NO_POLICY,
        trustedRoot: root,
        allowedRoots: [workspace],
      });
      assert.equal(result.state, 'unverifiable');
      assert.match(result.evidence[0]!.failure!.message, /outside the workspace/);
      // The same link inside the workspace is followed.
      await writeFile(join(workspace, 'real.txt'), data);
      await symlink(join(workspace, 'real.txt'), join(workspace, 'inside.txt'));
      await writeFile(join(workspace, 'inside.txt.sigstore.json'), JSON.stringify(bundle));
      const inside = await verifyArtifact(join(workspace, 'inside.txt'), [{ path: join(workspace, 'inside.txt.sigstore.json'), kind: 'sigstore-bundle' }], {
        ...NO_POLICY,
        trustedRoot: root,
        allowedRoots: [workspace],
      });
      // Followed and valid; with no trust policy, "untrusted" is the best a signature can be.
      assert.equal(inside.state, 'untrusted');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('an unusable trusted root makes results "cannot be checked", never verified', async () => {
    const bundle = await signFile(inst, data, 'message');
    const artifact = await write('r.txt', data);
    const companion = await write('r.txt.sigstore.json', JSON.stringify(bundle));
    const result = await verifyArtifact(artifact, [{ path: companion, kind: 'sigstore-bundle' }], {
      ...NO_POLICY,
      trustedRoot: { error: 'The trusted root /nope is not valid JSON', remedy: 'Fix the setting.' },
    });
    assert.equal(result.state, 'unverifiable');
    assert.match(result.summary, /not valid JSON/);
  });

  it('verifies a large file from a streamed digest', async () => {
    const big = Buffer.alloc(48 * 1024 * 1024, 7);
    const bundle = await signFile(inst, big, 'message');
    const artifact = await write('big.bin', big);
    const e = await verifyBundleFile(await write('big.bin.sigstore.json', JSON.stringify(bundle)), fileArtifact(artifact), { trustedRoot: root });
    assert.equal(e.state, 'verified', e.summary);
  });
});
