import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { digestArtifact, fileArtifact } from '../../../src/core/artifacts/artifact';
import { SigstoreError } from '../../../src/core/errors';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { verifyBundleObject } from '../../../src/core/verify/bundleVerifier';
import { convertLegacyBundle, isLegacyCosignBundle, LegacyBundleError, verifyLegacyBundle } from '../../../src/core/verify/legacyBundle';
import type { TrustInputs } from '../../../src/core/verify/trustInputs';
import { DEFAULT_IDENTITY, sha256Hex, signFile, startSigstoreInstance, type SigstoreInstance } from '../../support/sigstore-instance';

/** What cosign ≤ v2 writes with `sign-blob --bundle`. */
interface LegacyBundle {
  base64Signature: string;
  cert?: string;
  rekorBundle?: { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };
}

/** The legacy form of a v0.1/v0.2 message-signature bundle, as cosign would have written it. */
function legacyOf(bundle: SerializedBundle, cert: 'certificate' | string | undefined = 'certificate'): LegacyBundle {
  const t = bundle.verificationMaterial.tlogEntries[0]!;
  const raw = bundle.verificationMaterial.x509CertificateChain?.certificates[0]?.rawBytes;
  const pem = cert === 'certificate' ? (raw ? pemText('CERTIFICATE', raw) : undefined) : cert;
  return {
    base64Signature: bundle.messageSignature!.signature,
    ...(pem ? { cert: Buffer.from(pem).toString('base64') } : {}),
    rekorBundle: {
      SignedEntryTimestamp: t.inclusionPromise!.signedEntryTimestamp,
      Payload: {
        body: t.canonicalizedBody,
        integratedTime: Number(t.integratedTime),
        logIndex: Number(t.logIndex),
        logID: Buffer.from(t.logId.keyId, 'base64').toString('hex'),
      },
    },
  };
}

function pemText(label: string, base64: string): string {
  return `-----BEGIN ${label}-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

describe('cosign legacy bundles (F.bundle)', function () {
  this.timeout(20_000);
  let inst: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  let n = 0;
  const data = Buffer.from('a release built with cosign 2\n');
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const otherEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const trust = (overrides: Partial<TrustInputs> = {}): TrustInputs => ({
    trustedRoot: root,
    publicKeys: [{ source: 'cosign.pub', key: ec.publicKey }],
    openpgpKeys: [],
    network: { allowed: false, rekorURL: 'http://127.0.0.1:9' },
    ...overrides,
  });

  let keyless: SerializedBundle;
  let keyLogged: SerializedBundle;
  before(async () => {
    inst = await startSigstoreInstance();
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test root');
    dir = await mkdtemp(join(tmpdir(), 'sigstore-legacy-'));
    keyless = await signFile(inst, data, 'message');
    // A key-signed signature logged in the instance's Rekor, as `cosign sign-blob --key` with tlog upload does.
    const builder = new MessageSignatureBundleBuilder({
      signer: { sign: async (bytes) => ({ signature: sign('sha256', bytes, ec.privateKey), key: { $case: 'publicKey', publicKey: publicPem } }) },
      witnesses: [new RekorWitness({ rekorBaseURL: inst.rekorURL })],
    });
    keyLogged = bundleToJSON(await builder.create({ data }));
  });
  after(async () => {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function verifyLegacy(legacy: unknown, content = data, t = trust()) {
    const base = join(dir, `a${++n}.bin`);
    await writeFile(base, content);
    await writeFile(`${base}.bundle`, typeof legacy === 'string' ? legacy : JSON.stringify(legacy));
    return verifyLegacyBundle(`${base}.bundle`, fileArtifact(base), t);
  }

  const flipBase64 = (b64: string, at: number) => {
    const bytes = Buffer.from(b64, 'base64');
    bytes[at] = bytes[at]! ^ 0x01;
    return bytes.toString('base64');
  };

  describe('convertLegacyBundle', () => {
    it('tells legacy bundles from protobuf bundles', () => {
      assert.equal(isLegacyCosignBundle(legacyOf(keyless)), true);
      assert.equal(isLegacyCosignBundle({ base64Signature: 'x' }), true);
      assert.equal(isLegacyCosignBundle(keyless), false);
      for (const v of [null, [], 'x', 1, undefined]) assert.equal(isLegacyCosignBundle(v), false);
    });

    it('converts a keyless bundle losslessly into v0.1', () => {
      const converted = convertLegacyBundle(legacyOf(keyless)) as SerializedBundle;
      const original = keyless.verificationMaterial.tlogEntries[0]!;
      assert.equal(converted.mediaType, 'application/vnd.dev.sigstore.bundle+json;version=0.1');
      assert.deepEqual(converted.messageSignature, keyless.messageSignature);
      assert.deepEqual(converted.verificationMaterial.x509CertificateChain, keyless.verificationMaterial.x509CertificateChain);
      const entry = converted.verificationMaterial.tlogEntries[0]!;
      assert.equal(entry.canonicalizedBody, original.canonicalizedBody);
      assert.equal(entry.logIndex, original.logIndex);
      assert.equal(entry.integratedTime, original.integratedTime);
      assert.deepEqual(entry.logId, original.logId);
      assert.deepEqual(entry.kindVersion, { kind: 'hashedrekord', version: '0.0.1' });
      assert.deepEqual(entry.inclusionPromise, original.inclusionPromise);
      assert.equal(entry.inclusionProof, undefined);
    });

    it('keeps a public key as key material with an empty hint', () => {
      const converted = convertLegacyBundle(legacyOf(keyLogged, publicPem)) as SerializedBundle;
      assert.deepEqual(converted.verificationMaterial.publicKey, { hint: '' });
      assert.equal(converted.verificationMaterial.tlogEntries.length, 1);
    });

    it('needs the artifact digest when nothing was logged (--tlog-upload=false)', () => {
      const legacy = { base64Signature: sign('sha256', data, ec.privateKey).toString('base64') };
      assert.throws(() => convertLegacyBundle(legacy), LegacyBundleError);
      const sha = Buffer.from(sha256Hex(data), 'hex');
      const converted = convertLegacyBundle(legacy, { artifactSha256: sha }) as SerializedBundle;
      assert.deepEqual(converted.messageSignature?.messageDigest, { algorithm: 'SHA2_256', digest: sha.toString('base64') });
      assert.deepEqual(converted.verificationMaterial.tlogEntries, []);
    });

    it('throws a typed error for every malformed input', () => {
      const good = legacyOf(keyless);
      const payload = good.rekorBundle!.Payload;
      const cases: [string, unknown][] = [
        ['not an object', 'x'],
        ['array', [good]],
        ['no signature', { ...good, base64Signature: undefined }],
        ['signature not base64', { ...good, base64Signature: 'not base64!' }],
        ['empty signature', { ...good, base64Signature: '' }],
        ['cert not a string', { ...good, cert: 42 }],
        ['cert garbage', { ...good, cert: Buffer.from('hello').toString('base64') }],
        ['cert other PEM', { ...good, cert: Buffer.from(pemText('PRIVATE KEY', 'AAAA')).toString('base64') }],
        ['rekorBundle without Payload', { ...good, rekorBundle: { SignedEntryTimestamp: 'AAAA' } }],
        ['body not base64', { ...good, rekorBundle: { ...good.rekorBundle, Payload: { ...payload, body: '%%%' } } }],
        ['body not JSON', { ...good, rekorBundle: { ...good.rekorBundle, Payload: { ...payload, body: Buffer.from('nope').toString('base64') } } }],
        ['body without kind', { ...good, rekorBundle: { ...good.rekorBundle, Payload: { ...payload, body: Buffer.from('{"spec":{}}').toString('base64') } } }],
        ['logID not hex', { ...good, rekorBundle: { ...good.rekorBundle, Payload: { ...payload, logID: 'zz' } } }],
        ['negative time', { ...good, rekorBundle: { ...good.rekorBundle, Payload: { ...payload, integratedTime: -1 } } }],
        ['fractional index', { ...good, rekorBundle: { ...good.rekorBundle, Payload: { ...payload, logIndex: 1.5 } } }],
        ['no SET', { ...good, rekorBundle: { Payload: payload } }],
      ];
      for (const [name, input] of cases) {
        assert.throws(() => convertLegacyBundle(input), (e: unknown) => e instanceof LegacyBundleError && e instanceof SigstoreError && e.code === 'LEGACY_BUNDLE_INVALID', name);
      }
    });
  });

  describe('verifyLegacyBundle', () => {
    it('verifies a keyless legacy bundle and names the certificate identity', async () => {
      const e = await verifyLegacy(legacyOf(keyless));
      assert.equal(e.state, 'verified', `${e.summary} ${JSON.stringify(e.failure)}`);
      assert.equal(e.kind, 'cosign-legacy-bundle');
      assert.equal(e.signer?.kind === 'certificate' && e.signer.identity, DEFAULT_IDENTITY);
      assert.equal(e.tlogEntries.length, 1);
      assert.deepEqual(
        e.checks.map((c) => c.id),
        ['read', 'parse', 'conversion', 'artifact-binding', 'timestamps', 'certificate', 'transparency-log', 'signature'],
      );
      assert.ok(e.notes.some((note) => /legacy bundle/.test(note)));
    });

    it('verifies a key-signed, logged legacy bundle with the policy key', async () => {
      for (const cert of [publicPem, undefined]) {
        const e = await verifyLegacy(legacyOf(keyLogged, cert));
        assert.equal(e.state, 'verified', `${cert ? 'with' : 'without'} cert: ${e.summary}`);
        assert.deepEqual(e.signer, { kind: 'key', hint: '', source: 'cosign.pub' });
        assert.equal(e.tlogEntries.length, 1);
      }
    });

    it('verifies a key-signed bundle with nothing logged (--tlog-upload=false) with the policy key, even without a trusted root', async () => {
      const legacy = { base64Signature: sign('sha256', data, ec.privateKey).toString('base64') };
      const e = await verifyLegacy(legacy);
      assert.equal(e.state, 'verified', e.summary);
      assert.equal(e.signer?.kind === 'key' && e.signer.source, 'cosign.pub');
      assert.ok(e.notes.some((note) => /No transparency-log entry/.test(note)));
      const noRoot = await verifyLegacy(legacy, data, trust({ trustedRoot: { error: 'root broken', remedy: 'fix' } }));
      assert.equal(noRoot.state, 'verified', noRoot.summary);
      // A logged one does need the root.
      const logged = await verifyLegacy(legacyOf(keyLogged), data, trust({ trustedRoot: { error: 'root broken', remedy: 'fix' } }));
      assert.equal(logged.state, 'unverifiable');
      assert.equal(logged.failure?.message, 'root broken');
    });

    it('fails with the wrong key and is unverifiable without one', async () => {
      const legacy = { base64Signature: sign('sha256', data, ec.privateKey).toString('base64') };
      const wrong = await verifyLegacy(legacy, data, trust({ publicKeys: [{ source: 'other.pub', key: otherEc.publicKey }] }));
      assert.equal(wrong.state, 'failed', wrong.summary);
      assert.match(wrong.summary, /other\.pub/);
      const none = await verifyLegacy(legacy, data, trust({ publicKeys: [] }));
      assert.equal(none.state, 'unverifiable', none.summary);
    });

    it('never verifies after one byte of the artifact, the signature or the bundle changes', async () => {
      const unlogged = { base64Signature: sign('sha256', data, ec.privateKey).toString('base64') };
      const artifact = Buffer.from(data);
      artifact[3] = artifact[3]! ^ 0x01;
      for (const [name, legacy] of [
        ['keyless', legacyOf(keyless)],
        ['key, logged', legacyOf(keyLogged)],
        ['key, unlogged', unlogged],
      ] as [string, LegacyBundle][]) {
        const changedFile = await verifyLegacy(legacy, artifact);
        assert.equal(changedFile.state, 'failed', `${name}, artifact: ${changedFile.summary}`);
        const changedSig = await verifyLegacy({ ...legacy, base64Signature: flipBase64(legacy.base64Signature, 10) });
        assert.equal(changedSig.state, 'failed', `${name}, signature: ${changedSig.summary}`);
        if (legacy.rekorBundle) {
          const set = { ...legacy, rekorBundle: { ...legacy.rekorBundle, SignedEntryTimestamp: flipBase64(legacy.rekorBundle.SignedEntryTimestamp, 10) } };
          assert.equal((await verifyLegacy(set)).state, 'failed', `${name}, SET`);
          const time = { ...legacy, rekorBundle: { ...legacy.rekorBundle, Payload: { ...legacy.rekorBundle.Payload, integratedTime: legacy.rekorBundle.Payload.integratedTime + 1 } } };
          assert.equal((await verifyLegacy(time)).state, 'failed', `${name}, integratedTime`);
        }
      }
      // Every single byte of the file flipped: parse error, conversion error or failed check, never verified.
      const text = Buffer.from(JSON.stringify(legacyOf(keyless)));
      for (let at = 0; at < text.length; at += 97) {
        const changed = Buffer.from(text);
        changed[at] = changed[at]! ^ 0x01;
        const e = await verifyLegacy(changed.toString('latin1'));
        assert.notEqual(e.state, 'verified', `byte ${at}`);
      }
    });

    it('reports bad files without throwing: missing, not JSON, not a legacy bundle, unconvertible', async () => {
      const missing = await verifyLegacyBundle(join(dir, 'none.bundle'), digestArtifact(sha256Hex(data)), trust());
      assert.equal(missing.state, 'unverifiable');
      assert.equal(missing.failure?.check, 'read');
      const notJSON = await verifyLegacy('{not json');
      assert.equal(notJSON.failure?.check, 'parse');
      const protobuf = await verifyLegacy(keyless);
      assert.equal(protobuf.state, 'failed');
      assert.equal(protobuf.failure?.check, 'parse');
      const broken = await verifyLegacy({ ...legacyOf(keyless), cert: 'AAAA' });
      assert.equal(broken.state, 'failed');
      assert.equal(broken.failure?.check, 'conversion');
    });

    it('gives the converted bundle to the ordinary bundle verifier unchanged in meaning', async () => {
      const converted = convertLegacyBundle(legacyOf(keyless));
      const e = await verifyBundleObject('x.bundle', converted, digestArtifact(sha256Hex(data)), { trustedRoot: root, kind: 'cosign-legacy-bundle' });
      assert.equal(e.state, 'verified', e.summary);
    });
  });
});
