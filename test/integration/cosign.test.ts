// Interoperability with the real cosign 2.5.0 (Debian trixie's build, unpacked into .tools/
// by scripts/install-tools.sh): what cosign writes must verify here, flipped bytes must not,
// and cosign must agree with us on the same files. Everything runs offline in a temp dir;
// the logged and keyless cases use the local Sigstore instance (test/support).
import { strict as assert } from 'node:assert';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFulcioV1Adapter } from '../support/fulcio-v1-adapter';
import { COSIGN_VERSION, TOOLS, cosignIn, requireCosign } from '../support/cosign';
import { fileArtifact } from '../../src/core/artifacts/artifact';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../src/core/trust/trustedRoot';
import { verifyBundleFile } from '../../src/core/verify/bundleVerifier';
import { verifyCosignSignature } from '../../src/core/verify/cosignSignature';
import { isLegacyCosignBundle, verifyLegacyBundle } from '../../src/core/verify/legacyBundle';
import type { Evidence } from '../../src/core/verify/result';
import type { TrustInputs } from '../../src/core/verify/trustInputs';
import { startRekorStub, type RekorStub } from '../support/rekor-stub';
import { DEFAULT_IDENTITY, DEFAULT_ISSUER, startSigstoreInstance, type SigstoreInstance } from '../support/sigstore-instance';



describe(`cosign ${COSIGN_VERSION} interoperability (real cosign from .tools/)`, function () {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let trust: TrustInputs;
  const content = Buffer.from(`release artifact for cosign interop\n${'x'.repeat(300)}\n`);


  const { run: cosign, ok: cosignOK } = cosignIn(() => dir, () => env);

  const path = (name: string) => join(dir, name);

  /** A copy of the artifact with one byte in the middle flipped. */
  async function flippedArtifact(): Promise<string> {
    const changed = Buffer.from(content);
    changed[content.length >> 1] = changed[content.length >> 1]! ^ 0x01;
    await writeFile(path('F.flipped'), changed);
    return path('F.flipped');
  }

  const flipBase64 = (b64: string, at: number) => {
    const bytes = Buffer.from(b64, 'base64');
    bytes[at] = bytes[at]! ^ 0x01;
    return bytes.toString('base64');
  };

  const assertVerified = (e: Evidence, what: string) => assert.equal(e.state, 'verified', `${what}: ${e.summary} ${JSON.stringify(e.failure ?? {})}`);
  const assertNotVerified = (e: Evidence, what: string) => assert.notEqual(e.state, 'verified', `${what} verified`);

  before(async function () {
    await requireCosign();
    // Debian's build reports "GitVersion: devel", so the installer records the package version.
    const versions = await readFile(join(TOOLS, '.versions'), 'utf8').catch(() => '');
    assert.match(versions, new RegExp(`^cosign ${COSIGN_VERSION.replace(/\./g, '\\.')}-`, 'm'), `.tools/ does not hold cosign ${COSIGN_VERSION}: run scripts/install-tools.sh`);

    dir = await mkdtemp(join(tmpdir(), 'sigstore-cosign-interop-'));
    await mkdir(path('home'));
    // Nothing from the real home or a proxy: cosign's caches go to the temp dir.
    env = { PATH: process.env.PATH, HOME: path('home'), COSIGN_PASSWORD: 'interop-test-password', NO_PROXY: '127.0.0.1' };
    await cosignOK(['generate-key-pair']);
    await writeFile(path('F'), content);
    const key = createPublicKey(await readFile(path('cosign.pub')));
    trust = {
      trustedRoot: { error: 'unused', remedy: 'unused' },
      publicKeys: [{ source: 'cosign.pub', key }],
      openpgpKeys: [],
      network: { allowed: false, rekorURL: 'http://127.0.0.1:9' },
    };
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('signed with cosign.key, nothing logged (--tlog-upload=false)', () => {
    it('F.sig (base64 DER): verifies with cosign.pub; a flipped artifact or signature fails; cosign agrees', async () => {
      await cosignOK(['sign-blob', '--key', 'cosign.key', '--tlog-upload=false', '--output-signature', 'F.sig', 'F']);
      const sig = (await readFile(path('F.sig'), 'utf8')).trim();
      assert.match(sig, /^MEU|^MEQ|^MEY/, 'cosign writes base64 of a DER SEQUENCE');

      const e = await verifyCosignSignature(path('F.sig'), undefined, fileArtifact(path('F')), trust);
      assertVerified(e, 'F.sig');
      assert.equal(e.signer?.kind === 'key' && e.signer.source, 'cosign.pub');

      const flipped = await flippedArtifact();
      const changedFile = await verifyCosignSignature(path('F.sig'), undefined, fileArtifact(flipped), trust);
      assert.equal(changedFile.state, 'failed', changedFile.summary);
      for (const at of [8, 40]) {
        await writeFile(path('F.sig.flipped'), flipBase64(sig, at));
        const changedSig = await verifyCosignSignature(path('F.sig.flipped'), undefined, fileArtifact(path('F')), trust);
        assert.equal(changedSig.state, 'failed', `signature byte ${at}: ${changedSig.summary}`);
      }

      // The peer agrees on both.
      await cosignOK(['verify-blob', '--key', 'cosign.pub', '--signature', 'F.sig', '--insecure-ignore-tlog=true', 'F']);
      const peer = await cosign(['verify-blob', '--key', 'cosign.pub', '--signature', 'F.sig', '--insecure-ignore-tlog=true', flipped]);
      assert.notEqual(peer.code, 0, 'cosign verified the flipped artifact');
    });

    it('F.sig with --b64=false (raw DER) verifies; a flipped byte fails', async () => {
      await cosignOK(['sign-blob', '--key', 'cosign.key', '--tlog-upload=false', '--b64=false', '--output-signature', 'F.rawsig', 'F']);
      const raw = await readFile(path('F.rawsig'));
      assert.equal(raw[0], 0x30, 'raw DER');
      assertVerified(await verifyCosignSignature(path('F.rawsig'), undefined, fileArtifact(path('F')), trust), 'raw F.sig');
      raw[10] = raw[10]! ^ 0x01;
      await writeFile(path('F.rawsig.flipped'), raw);
      assert.equal((await verifyCosignSignature(path('F.rawsig.flipped'), undefined, fileArtifact(path('F')), trust)).state, 'failed');
    });

    it('a signature made with Node crypto over the file is accepted by cosign verify-blob', async () => {
      // The other direction of the interoperability bar: our bytes, cosign's check.
      const ours = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      await writeFile(path('ours.pub'), ours.publicKey.export({ type: 'spki', format: 'pem' }));
      await writeFile(path('F.ours.sig'), sign('sha256', content, ours.privateKey).toString('base64'));
      await cosignOK(['verify-blob', '--key', 'ours.pub', '--signature', 'F.ours.sig', '--insecure-ignore-tlog=true', 'F']);
    });

    it('--new-bundle-format --bundle F.sigstore.json (v0.3, key hint, no log entry): verifies with cosign.pub; flips fail', async () => {
      await cosignOK(['sign-blob', '--key', 'cosign.key', '--tlog-upload=false', '--new-bundle-format', '--bundle', 'F.sigstore.json', 'F']);
      const bundle = JSON.parse(await readFile(path('F.sigstore.json'), 'utf8')) as {
        mediaType: string;
        verificationMaterial: { publicKey?: { hint: string }; tlogEntries?: unknown[] };
        messageSignature: { signature: string; messageDigest: { digest: string } };
      };
      assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
      assert.ok(bundle.verificationMaterial.publicKey?.hint, 'cosign writes a key hint');
      assert.equal((bundle.verificationMaterial.tlogEntries ?? []).length, 0, 'nothing logged');

      const root = emptyRoot();
      const verify = (companion: string, artifact = path('F')) => verifyBundleFile(companion, fileArtifact(artifact), { trustedRoot: root, keys: trust.publicKeys });
      const e = await verify(path('F.sigstore.json'));
      assertVerified(e, 'F.sigstore.json');
      assert.equal(e.signer?.kind === 'key' && e.signer.source, 'cosign.pub');

      assert.equal((await verify(path('F.sigstore.json'), await flippedArtifact())).state, 'failed');
      await writeFile(path('sig-flipped.json'), JSON.stringify({ ...bundle, messageSignature: { ...bundle.messageSignature, signature: flipBase64(bundle.messageSignature.signature, 12) } }));
      assert.equal((await verify(path('sig-flipped.json'))).state, 'failed');
      await sweepBytes(path('F.sigstore.json'), (p) => verify(p));
    });

    it('--bundle F.bundle (legacy format): cosign 2.5 writes only {"base64Signature"}; verifies with cosign.pub; flips fail; cosign agrees', async () => {
      await cosignOK(['sign-blob', '--key', 'cosign.key', '--tlog-upload=false', '--bundle', 'F.bundle', 'F']);
      const legacy = JSON.parse(await readFile(path('F.bundle'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(legacy), ['base64Signature'], 'no cert and no rekorBundle without a log upload');
      assert.ok(isLegacyCosignBundle(legacy));

      const e = await verifyLegacyBundle(path('F.bundle'), fileArtifact(path('F')), trust);
      assertVerified(e, 'F.bundle');
      assert.equal(e.kind, 'cosign-legacy-bundle');
      const flipped = await flippedArtifact();
      assert.equal((await verifyLegacyBundle(path('F.bundle'), fileArtifact(flipped), trust)).state, 'failed');
      await writeFile(path('legacy-flipped.bundle'), JSON.stringify({ base64Signature: flipBase64(legacy.base64Signature as string, 9) }));
      assert.equal((await verifyLegacyBundle(path('legacy-flipped.bundle'), fileArtifact(path('F')), trust)).state, 'failed');
      await sweepBytes(path('F.bundle'), (p) => verifyLegacyBundle(p, fileArtifact(path('F')), trust));

      await cosignOK(['verify-blob', '--key', 'cosign.pub', '--bundle', 'F.bundle', '--insecure-ignore-tlog=true', 'F']);
      assert.notEqual((await cosign(['verify-blob', '--key', 'cosign.pub', '--bundle', 'F.bundle', '--insecure-ignore-tlog=true', flipped])).code, 0);
    });
  });

  describe('logged in the local Sigstore instance (cosign talking to its Rekor and, keyless, its Fulcio)', () => {
    let inst: SigstoreInstance;
    let fulcioV1: { url: string; close(): Promise<void> };
    let root: LoadedTrustedRoot;
    let online: TrustInputs;
    let peerEnv: NodeJS.ProcessEnv;
    const stubs: RekorStub[] = [];

    before(async () => {
      inst = await startSigstoreInstance();
      fulcioV1 = await startFulcioV1Adapter(inst.fulcioURL);
      root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'local instance');
      online = { ...trust, trustedRoot: root };
      // cosign 2.5 reads custom trust material from these (TUF is unreachable offline).
      const spki = (b64: string) => createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' });
      const tr = inst.trustedRoot as unknown as {
        tlogs: { publicKey: { rawBytes: string } }[];
        ctlogs: { publicKey: { rawBytes: string } }[];
        certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
      };
      await writeFile(path('rekor.pub'), spki(tr.tlogs[0]!.publicKey.rawBytes));
      await writeFile(path('ctlog.pub'), spki(tr.ctlogs[0]!.publicKey.rawBytes));
      await writeFile(path('fulcio.pem'), pem(tr.certificateAuthorities[0]!.certChain.certificates[0]!.rawBytes));
      peerEnv = { SIGSTORE_REKOR_PUBLIC_KEY: path('rekor.pub'), SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: path('ctlog.pub'), SIGSTORE_ROOT_FILE: path('fulcio.pem') };
    });
    after(async () => {
      await Promise.all([...stubs.splice(0).map((s) => s.close()), fulcioV1?.close(), inst?.close()]);
    });

    it('--key with a log upload, legacy --bundle: {"base64Signature", "rekorBundle"} verifies; flips fail; cosign agrees', async () => {
      await cosignOK(['sign-blob', '-y', '--key', 'cosign.key', '--rekor-url', inst.rekorURL, '--bundle', 'F.logged.bundle', 'F']);
      const legacy = JSON.parse(await readFile(path('F.logged.bundle'), 'utf8')) as { base64Signature: string; cert?: string; rekorBundle: { SignedEntryTimestamp: string; Payload: Record<string, unknown> } };
      assert.deepEqual(Object.keys(legacy).sort(), ['base64Signature', 'rekorBundle']);
      assert.deepEqual(Object.keys(legacy.rekorBundle.Payload).sort(), ['body', 'integratedTime', 'logID', 'logIndex']);

      const e = await verifyLegacyBundle(path('F.logged.bundle'), fileArtifact(path('F')), online);
      assertVerified(e, 'logged F.bundle');
      assert.equal(e.tlogEntries.length, 1);
      assert.equal(e.signer?.kind === 'key' && e.signer.source, 'cosign.pub');

      const flipped = await flippedArtifact();
      assert.equal((await verifyLegacyBundle(path('F.logged.bundle'), fileArtifact(flipped), online)).state, 'failed');
      await writeFile(path('set-flipped.bundle'), JSON.stringify({ ...legacy, rekorBundle: { ...legacy.rekorBundle, SignedEntryTimestamp: flipBase64(legacy.rekorBundle.SignedEntryTimestamp, 12) } }));
      assert.equal((await verifyLegacyBundle(path('set-flipped.bundle'), fileArtifact(path('F')), online)).state, 'failed');
      await sweepBytes(path('F.logged.bundle'), (p) => verifyLegacyBundle(p, fileArtifact(path('F')), online));

      await cosignOK(['verify-blob', '--key', 'cosign.pub', '--bundle', 'F.logged.bundle', '--offline', 'F'], peerEnv);
      assert.notEqual((await cosign(['verify-blob', '--key', 'cosign.pub', '--bundle', 'F.logged.bundle', '--offline', flipped], peerEnv)).code, 0);
    });

    it('--key with a log upload, --new-bundle-format: v0.3 with inclusion proof and promise verifies; flips fail', async () => {
      await cosignOK(['sign-blob', '-y', '--key', 'cosign.key', '--rekor-url', inst.rekorURL, '--new-bundle-format', '--bundle', 'F.logged.sigstore.json', 'F']);
      const verify = (companion: string, artifact = path('F')) => verifyBundleFile(companion, fileArtifact(artifact), { trustedRoot: root, keys: trust.publicKeys });
      const e = await verify(path('F.logged.sigstore.json'));
      assertVerified(e, 'logged F.sigstore.json');
      assert.equal(e.tlogEntries.length, 1);
      assert.ok(e.tlogEntries[0]!.inclusionProof && e.tlogEntries[0]!.inclusionPromise);
      assert.equal((await verify(path('F.logged.sigstore.json'), await flippedArtifact())).state, 'failed');
      await sweepBytes(path('F.logged.sigstore.json'), (p) => verify(p));
    });

    describe('keyless (certificate from the instance\'s Fulcio)', () => {
      before(async () => {
        await cosignOK(
          [
            'sign-blob', '-y',
            '--fulcio-url', fulcioV1.url,
            '--rekor-url', inst.rekorURL,
            '--identity-token', identityToken(DEFAULT_IDENTITY, DEFAULT_ISSUER),
            '--output-signature', 'F.k.sig',
            '--output-certificate', 'F.k.pem',
            '--bundle', 'F.k.bundle',
            'F',
          ],
          { SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: path('ctlog.pub') },
        );
      });

      it('writes F.pem as base64 of the PEM text, and a legacy bundle with cert and rekorBundle', async () => {
        const certFile = (await readFile(path('F.k.pem'), 'utf8')).trim();
        assert.doesNotMatch(certFile, /BEGIN/);
        assert.match(Buffer.from(certFile, 'base64').toString('utf8'), /^-----BEGIN CERTIFICATE-----/);
        const legacy = JSON.parse(await readFile(path('F.k.bundle'), 'utf8')) as Record<string, unknown>;
        assert.deepEqual(Object.keys(legacy).sort(), ['base64Signature', 'cert', 'rekorBundle']);
        assert.equal(legacy.cert, certFile);
      });

      it('the legacy bundle verifies and names the identity; flips fail; cosign agrees', async () => {
        const e = await verifyLegacyBundle(path('F.k.bundle'), fileArtifact(path('F')), online);
        assertVerified(e, 'keyless F.bundle');
        assert.equal(e.signer?.kind === 'certificate' && e.signer.identity, DEFAULT_IDENTITY);
        assert.equal(e.signer?.kind === 'certificate' && e.signer.issuer, DEFAULT_ISSUER);
        const flipped = await flippedArtifact();
        assert.equal((await verifyLegacyBundle(path('F.k.bundle'), fileArtifact(flipped), online)).state, 'failed');
        await sweepBytes(path('F.k.bundle'), (p) => verifyLegacyBundle(p, fileArtifact(path('F')), online));

        const identity = ['--certificate-identity', DEFAULT_IDENTITY, '--certificate-oidc-issuer', DEFAULT_ISSUER];
        await cosignOK(['verify-blob', '--bundle', 'F.k.bundle', ...identity, '--offline', 'F'], peerEnv);
        assert.notEqual((await cosign(['verify-blob', '--bundle', 'F.k.bundle', ...identity, '--offline', flipped], peerEnv)).code, 0);
      });

      it('F.sig + F.pem: unverifiable offline; verified through Rekor (the entry cosign logged); flips never verify', async () => {
        const offline = await verifyCosignSignature(path('F.k.sig'), path('F.k.pem'), fileArtifact(path('F')), online);
        assert.equal(offline.state, 'unverifiable', offline.summary);
        assert.equal(offline.signer?.kind === 'certificate' && offline.signer.identity, DEFAULT_IDENTITY);

        // The instance's Rekor has no search API: serve the entry cosign got back from it.
        const legacy = JSON.parse(await readFile(path('F.k.bundle'), 'utf8')) as {
          rekorBundle: { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };
        };
        const p = legacy.rekorBundle.Payload;
        const stub = await startRekorStub([{ ...p, verification: { signedEntryTimestamp: legacy.rekorBundle.SignedEntryTimestamp } }]);
        stubs.push(stub);
        const withLog: TrustInputs = { ...online, network: { allowed: true, rekorURL: stub.url } };
        const e = await verifyCosignSignature(path('F.k.sig'), path('F.k.pem'), fileArtifact(path('F')), withLog);
        assertVerified(e, 'keyless F.sig');
        assert.equal(e.signer?.kind === 'certificate' && e.signer.identity, DEFAULT_IDENTITY);
        assert.ok(e.checks.some((c) => c.id === 'rekor-lookup' && c.outcome === 'passed'));

        const flipped = await flippedArtifact();
        assert.equal((await verifyCosignSignature(path('F.k.sig'), path('F.k.pem'), fileArtifact(flipped), withLog)).state, 'failed');
        await writeFile(path('F.k.sig.flipped'), flipBase64((await readFile(path('F.k.sig'), 'utf8')).trim(), 20));
        assertNotVerified(await verifyCosignSignature(path('F.k.sig.flipped'), path('F.k.pem'), fileArtifact(path('F')), withLog), 'flipped keyless signature');
      });
    });
  });

  /** A trusted root with nothing in it: key-only bundles need none. */
  function emptyRoot(): LoadedTrustedRoot {
    return parseTrustedRoot(Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' })), 'empty');
  }

  /**
   * Flips one byte at a time across the file (every 7th position). A variant may still
   * verify only when it claims nothing the original did not: the same signer and digest,
   * and log entries and timestamps the original had. That allows flips that change nothing
   * signed (whitespace in the PEM of "cert", text after its END line, the unsigned key
   * hint; cosign 2.5 accepts those too) and flips that drop optional evidence (a renamed
   * "rekorBundle" or "tlogEntries" key leaves a key-signed, unlogged signature, which is
   * what the policy key verifies anyway, with a note that it is weaker).
   */
  async function sweepBytes(file: string, verify: (path: string) => Promise<Evidence>): Promise<void> {
    const original = await readFile(file);
    const reference = await verify(file);
    assertVerified(reference, file);
    const variant = `${file}.sweep`;
    let failed = 0;
    let tried = 0;
    for (let at = 0; at < original.length; at += 7) {
      const changed = Buffer.from(original);
      changed[at] = changed[at]! ^ 0x01;
      await writeFile(variant, changed);
      const e = await verify(variant);
      tried++;
      if (e.state !== 'verified') {
        failed++;
        continue;
      }
      const what = `${file} with byte ${at} (${JSON.stringify(String.fromCharCode(original[at]!))}) flipped`;
      // The key hint is not signed (and not checked by cosign either): the signer is the key that verified.
      const signer = (x: Evidence) => (x.signer?.kind === 'key' ? { ...x.signer, hint: undefined } : x.signer);
      assert.deepEqual(signer(e), signer(reference), `${what}: other signer`);
      assert.deepEqual(e.bundle?.messageDigest, reference.bundle?.messageDigest, `${what}: other digest`);
      const known = (t: { logIndex: string; logId: string; integratedTime?: Date }) =>
        reference.tlogEntries.some((r) => r.logIndex === t.logIndex && r.logId === t.logId && r.integratedTime?.getTime() === t.integratedTime?.getTime());
      assert.ok(e.tlogEntries.every(known), `${what}: a log entry the original did not have`);
      assert.ok(e.timestamps.every((t) => reference.timestamps.some((r) => r.time.getTime() === t.time.getTime())), `${what}: another signing time`);
    }
    // Most single-byte changes must break it outright (the rest are the harmless kinds above).
    assert.ok(failed >= tried * 0.8, `only ${failed} of ${tried} flips of ${file} failed`);
  }
});

function pem(base64Der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64Der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * An OIDC token as cosign expects one. cosign only reads its claims (Fulcio checks the
 * signature, and the instance's Fulcio checks nothing), but go-jose refuses `alg: none`.
 */
function identityToken(email: string, issuer: string): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${part({ alg: 'ES256', typ: 'JWT' })}.${part({ iss: issuer, sub: email, email, email_verified: true, aud: 'sigstore', iat: now, exp: now + 600 })}`;
  return `${unsigned}.${sign('sha256', Buffer.from(unsigned), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

