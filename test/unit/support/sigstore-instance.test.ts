// Proves the local Sigstore instance is real: its bundles verify through the
// normal @sigstore/verify path with its assembled trusted root, and only with it.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  type Bundle,
  type SerializedBundle,
} from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial, type Signer, type VerifierOptions } from '@sigstore/verify';

import {
  BADGE,
  BUNDLE_SUFFIX,
  EXPECTED_BADGES_FILE,
  TRUSTED_ROOT_FILE,
  writeFixtureWorkspace,
  type FixtureManifest,
  type FixtureState,
} from '../../support/fixtures';
import {
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  IN_TOTO_PAYLOAD_TYPE,
  inTotoStatement,
  sha256Hex,
  signFile,
  signStatement,
  startSigstoreInstance,
  type SigstoreInstance,
  type TrustedRootJSON,
} from '../../support/sigstore-instance';

// Captured before any instance starts, to check the Date patch is undone.
const RealDate = globalThis.Date;

function verify(root: TrustedRootJSON, serialized: SerializedBundle, data: Buffer, opts?: VerifierOptions): Signer {
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root)), opts);
  return verifier.verify(toSignedEntity(bundleFromJSON(serialized), data));
}

function leafCertificate(bundle: Bundle): X509Certificate {
  const vm = bundle.verificationMaterial.content;
  switch (vm.$case) {
    case 'x509CertificateChain':
      return X509Certificate.parse(Buffer.from(vm.x509CertificateChain.certificates[0].rawBytes));
    case 'certificate':
      return X509Certificate.parse(Buffer.from(vm.certificate.rawBytes));
    default:
      throw new Error(`no certificate in bundle (${vm.$case})`);
  }
}

function statementOf(bundle: Bundle): { subject: Array<{ name: string; digest: Record<string, string> }> } {
  assert.equal(bundle.content.$case, 'dsseEnvelope');
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('unreachable');
  assert.equal(bundle.content.dsseEnvelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
  return JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8'));
}

const KNOWN_BUNDLE_MEDIA_TYPES = [BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE];

// What the extension must do for a companion bundle, in its smallest form:
// @sigstore/verify plus the two checks it leaves to the caller (known media
// type; DSSE subject digest, since toSignedEntity ignores the artifact).
function referenceState(root: TrustedRootJSON, data: Buffer, companion: string): FixtureState {
  try {
    const serialized = JSON.parse(companion) as SerializedBundle;
    if (!KNOWN_BUNDLE_MEDIA_TYPES.includes(serialized.mediaType)) return 'unverifiable';
    const bundle = bundleFromJSON(serialized);
    if (bundle.content.$case === 'dsseEnvelope') {
      const digest = sha256Hex(data);
      if (!statementOf(bundle).subject.some((s) => s.digest.sha256 === digest)) return 'failed';
    }
    new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root))).verify(toSignedEntity(bundle, data));
    return 'verified';
  } catch {
    return 'failed';
  }
}

describe('local Sigstore instance (test/support)', function () {
  this.timeout(20_000);

  let inst: SigstoreInstance;
  let other: SigstoreInstance;
  const data = Buffer.from('some artifact bytes\n');

  before(async () => {
    [inst, other] = await Promise.all([startSigstoreInstance(), startSigstoreInstance()]);
  });
  after(async () => {
    await Promise.all([inst?.close(), other?.close()]);
  });

  it('serves a trusted root with a CA, a CT log, a tlog and a TSA', () => {
    const root = TrustedRoot.fromJSON(inst.trustedRoot);
    assert.equal(root.mediaType, 'application/vnd.dev.sigstore.trustedroot+json;version=0.1');
    assert.equal(root.certificateAuthorities.length, 1);
    assert.equal(root.ctlogs.length, 1);
    assert.equal(root.tlogs.length, 1);
    assert.equal(root.tlogs[0].baseUrl, inst.rekorURL);
    assert.equal(root.timestampAuthorities[0].certChain?.certificates.length, 2);
    assert.match(inst.fulcioURL, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('makes a v0.2 message-signature bundle that verifies, for the identity asked', async () => {
    const serialized = await signFile(inst, data, 'message');
    assert.equal(serialized.mediaType, BUNDLE_V02_MEDIA_TYPE);
    const bundle = bundleFromJSON(serialized);
    assert.equal(bundle.verificationMaterial.content.$case, 'x509CertificateChain');
    assert.equal(bundle.verificationMaterial.tlogEntries[0].kindVersion?.kind, 'hashedrekord');

    const signer = verify(inst.trustedRoot, serialized, data);
    assert.equal(signer.identity?.subjectAlternativeName, DEFAULT_IDENTITY);
    assert.equal(signer.identity?.extensions?.issuer, DEFAULT_ISSUER);
  });

  it('makes a v0.3 DSSE in-toto bundle naming the file, that verifies', async () => {
    const serialized = await signFile(inst, data, 'dsse', { subjectName: 'artifact.txt' });
    assert.equal(serialized.mediaType, BUNDLE_V03_MEDIA_TYPE);
    const bundle = bundleFromJSON(serialized);
    assert.equal(bundle.verificationMaterial.content.$case, 'certificate');
    assert.equal(bundle.verificationMaterial.tlogEntries[0].kindVersion?.kind, 'intoto');
    assert.deepEqual(statementOf(bundle).subject, [{ name: 'artifact.txt', digest: { sha256: sha256Hex(data) } }]);

    const signer = verify(inst.trustedRoot, serialized, data);
    assert.equal(signer.identity?.subjectAlternativeName, DEFAULT_IDENTITY);
  });

  it('puts the requested identity and issuer in the certificate', async () => {
    const identity = 'bob@example.test';
    const issuer = 'https://other-issuer.example.test';
    const serialized = await signFile(inst, data, 'message', { identity, issuer });
    const signer = verify(inst.trustedRoot, serialized, data);
    assert.equal(signer.identity?.subjectAlternativeName, identity);
    assert.equal(signer.identity?.extensions?.issuer, issuer);

    const cert = leafCertificate(bundleFromJSON(serialized));
    const san = cert.extSubjectAltName;
    // The mock CA writes every identity as a URI SAN, even an e-mail.
    assert.equal(san?.uri ?? san?.rfc822Name, identity);
  });

  it('stamps everything with the fixed clock, on a whole second in the past', async () => {
    assert.equal(inst.clock.getTime() % 1000, 0);
    assert.ok(inst.clock.getTime() < Date.now());
    const bundle = bundleFromJSON(await signFile(inst, data, 'message', { useTSA: true }));
    assert.equal(leafCertificate(bundle).notBefore.getTime(), inst.clock.getTime());
    assert.equal(Number(bundle.verificationMaterial.tlogEntries[0].integratedTime) * 1000, inst.clock.getTime());
    const tsr = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps[0];
    assert.ok(tsr);
    assert.equal(RFC3161Timestamp.parse(Buffer.from(tsr.signedTimestamp)).signingTime.getTime(), inst.clock.getTime());
  });

  for (const kind of ['message', 'dsse'] as const) {
    it(`with useTSA, adds an RFC 3161 timestamp that verifies (${kind})`, async () => {
      const serialized = await signFile(inst, data, kind, { useTSA: true });
      const bundle = bundleFromJSON(serialized);
      assert.equal(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length, 1);
      // Two verified timestamps needed: the tlog's and the TSA's.
      verify(inst.trustedRoot, serialized, data, { timestampThreshold: 2 });
      // Without the TSA in the root that timestamp is rejected.
      const noTSA = { ...inst.trustedRoot, timestampAuthorities: [] };
      assert.throws(() => verify(noTSA, serialized, data), /timestamp/i);
    });
  }

  it('floors a given clock to the second (mock TSA times with .010 etc. are rejected by @sigstore/core)', async () => {
    const at = new Date(Date.UTC(2025, 5, 1, 12, 0, 0, 10));
    const fixed = await startSigstoreInstance({ clock: at });
    try {
      assert.equal(fixed.clock.getTime(), at.getTime() - 10);
      const serialized = await signFile(fixed, data, 'dsse', { useTSA: true });
      verify(fixed.trustedRoot, serialized, data, { timestampThreshold: 2 });
    } finally {
      await fixed.close();
    }
  });

  it('leaves the global Date alone, even when instances start concurrently', async () => {
    const started = await Promise.all([0, 1, 2].map(() => startSigstoreInstance()));
    await Promise.all(started.map((s) => s.close()));
    assert.equal(globalThis.Date, RealDate);
    assert.ok(Math.abs(Date.now() - (performance.timeOrigin + performance.now())) < 1000);
  });

  it("fails against another instance's trusted root", async () => {
    for (const kind of ['message', 'dsse'] as const) {
      const serialized = await signFile(inst, data, kind, { useTSA: true });
      assert.throws(() => verify(other.trustedRoot, serialized, data), /certificate|tlog|timestamp/i);
      verify(inst.trustedRoot, serialized, data);
    }
  });

  it('fails a message signature over different bytes', async () => {
    const serialized = await signFile(inst, data, 'message');
    assert.throws(() => verify(inst.trustedRoot, serialized, Buffer.from('other bytes')));
  });

  it('signStatement makes a valid DSSE bundle whose subject need not match (the caller must check)', async () => {
    const statement = inTotoStatement([{ name: 'x.bin', sha256: sha256Hex(Buffer.from('not the artifact')) }]);
    const serialized = await signStatement(inst, statement);
    // @sigstore/verify alone accepts it for any artifact...
    verify(inst.trustedRoot, serialized, data);
    // ...so only the subject check catches the mismatch.
    assert.equal(referenceState(inst.trustedRoot, data, JSON.stringify(serialized)), 'failed');
  });

  it('close() stops the server', async () => {
    const tmp = await startSigstoreInstance();
    await tmp.close();
    await assert.rejects(fetch(`${tmp.fulcioURL}/api/v2/signingCert`, { method: 'POST', body: '{}' }));
    await tmp.close(); // idempotent
  });
});

describe('fixture workspace (test/support/fixtures)', function () {
  this.timeout(20_000);

  let dir: string;
  let manifest: FixtureManifest;
  let elapsed: number;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sigstore-fixtures-'));
    const t0 = performance.now();
    manifest = await writeFixtureWorkspace(dir);
    elapsed = performance.now() - t0;
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is written in under 3 s', () => {
    assert.ok(elapsed < 3000, `took ${Math.round(elapsed)} ms`);
    assert.equal(manifest.dir, dir);
  });

  it('writes files whose expected state is what verification gives', async () => {

    const root = JSON.parse(await fs.readFile(path.join(dir, TRUSTED_ROOT_FILE), 'utf8')) as TrustedRootJSON;
    const expectedBadges: Record<string, string> = {};
    // The reference is plain sigstore-js, which knows no trust policy: these two are
    // cryptographically valid, and only the workspace policy makes them untrusted / failed.
    const decidedByPolicy = new Set(['vendor/lib.txt', 'wrong-signer.txt']);
    for (const f of manifest.files) {
      expectedBadges[f.path] = BADGE[f.expected];
      // Other companion kinds are checked by the product's own suites.
      if (!f.companion.endsWith(BUNDLE_SUFFIX)) continue;
      const data = await fs.readFile(path.join(dir, f.path));
      const companion = await fs.readFile(path.join(dir, f.companion), 'utf8');
      assert.equal(f.companion, f.path + BUNDLE_SUFFIX);
      assert.equal(referenceState(root, data, companion), decidedByPolicy.has(f.path) ? 'verified' : f.expected, `${f.path}: ${f.reason}`);
      if (f.expected === 'verified') {
        const signer = verify(root, JSON.parse(companion), data);
        assert.equal(signer.identity?.subjectAlternativeName, f.signer, f.path);
        assert.equal(signer.identity?.extensions?.issuer, f.issuer, f.path);
      }
    }
    assert.deepEqual(
      manifest.files.map((f) => f.path).sort(),
      [
        'app.bin',
        'corrupt.txt',
        'dist/one.bin',
        'dist/two.bin',
        'docs.txt',
        'empty.txt',
        'hello.txt',
        'legacy.md',
        'malformed.txt',
        'nested/deep.txt',
        'notes.txt',
        'other-root.txt',
        'release.tar.gz',
        'tampered.txt',
        'unknown-media.txt',
        'vendor/lib.txt',
        'wrong-signer.txt',
        'wrong-subject.bin',
      ],
    );

    for (const p of manifest.required) expectedBadges[p] = BADGE.unsigned;
    const badges = JSON.parse(await fs.readFile(path.join(dir, EXPECTED_BADGES_FILE), 'utf8'));
    assert.deepEqual(badges, expectedBadges);
    for (const p of manifest.unsigned) {
      assert.equal(badges[p], undefined);
      await fs.access(path.join(dir, p));
      await assert.rejects(fs.access(path.join(dir, p + BUNDLE_SUFFIX)));
    }

    const settings = JSON.parse(await fs.readFile(path.join(dir, '.vscode', 'settings.json'), 'utf8'));
    assert.deepEqual(settings, { 'sigstore.trustedRoot': '${workspaceFolder}/trusted_root.json' });
  });

  it('unknown-media.txt fails only because of its media type', async () => {
    // Guards the fixture's meaning: with the media type restored it verifies,
    // and @sigstore/bundle itself does not reject the unknown one.
    const data = await fs.readFile(path.join(dir, 'unknown-media.txt'));
    const serialized = JSON.parse(await fs.readFile(path.join(dir, 'unknown-media.txt' + BUNDLE_SUFFIX), 'utf8'));
    const root = JSON.parse(await fs.readFile(path.join(dir, TRUSTED_ROOT_FILE), 'utf8')) as TrustedRootJSON;
    verify(root, serialized, data);
    verify(root, { ...serialized, mediaType: BUNDLE_V03_MEDIA_TYPE }, data);
  });
});
