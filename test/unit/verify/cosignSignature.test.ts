import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerializedBundle } from '@sigstore/bundle';
import { digestArtifact, fileArtifact } from '../../../src/core/artifacts/artifact';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { MAX_REKOR_RESPONSE_BYTES, verifyCosignSignature } from '../../../src/core/verify/cosignSignature';
import type { Evidence } from '../../../src/core/verify/result';
import type { NamedPublicKey, TrustInputs } from '../../../src/core/verify/trustInputs';
import { rekorEntryOf, startRekorStub, type RekorStub, type RekorStubOptions } from '../../support/rekor-stub';
import { DEFAULT_IDENTITY, DEFAULT_ISSUER, sha256Hex, signFile, startSigstoreInstance, type SigstoreInstance } from '../../support/sigstore-instance';

describe('cosign .sig verification', function () {
  this.timeout(20_000);
  let inst: SigstoreInstance;
  let other: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  let n = 0;
  const data = Buffer.from('cosign signed this, version 2.5\n');
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const otherEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = (source: string, k: KeyObject): NamedPublicKey => ({ source, key: k });
  const trust = (overrides: Partial<TrustInputs> = {}): TrustInputs => ({
    trustedRoot: root,
    publicKeys: [key('cosign.pub', ec.publicKey)],
    openpgpKeys: [],
    network: { allowed: false, rekorURL: 'http://127.0.0.1:9' },
    ...overrides,
  });

  before(async () => {
    [inst, other] = await Promise.all([startSigstoreInstance(), startSigstoreInstance()]);
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test root');
    dir = await mkdtemp(join(tmpdir(), 'sigstore-cosign-sig-'));
  });
  after(async () => {
    await Promise.all([inst.close(), other.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the artifact and its companions into a fresh sub-name; returns the paths. */
  async function files(content: Buffer, sig: Buffer | string, cert?: { suffix: string; content: Buffer | string }) {
    const base = join(dir, `f${++n}.bin`);
    await writeFile(base, content);
    await writeFile(`${base}.sig`, sig);
    if (cert) await writeFile(base + cert.suffix, cert.content);
    return { artifact: base, sig: `${base}.sig`, cert: cert ? base + cert.suffix : undefined };
  }

  async function verifyFiles(content: Buffer, sig: Buffer | string, t: TrustInputs = trust(), cert?: { suffix: string; content: Buffer | string }): Promise<Evidence> {
    const f = await files(content, sig, cert);
    return verifyCosignSignature(f.sig, f.cert, fileArtifact(f.artifact), t);
  }

  const cosignSig = (bytes: Buffer, k = ec.privateKey) => sign('sha256', bytes, k).toString('base64');
  const flip = (b: Buffer, at = Math.floor(b.length / 2)) => {
    const copy = Buffer.from(b);
    copy[at] = copy[at]! ^ 0x01;
    return copy;
  };

  describe('with a public key', () => {
    it('verifies base64 DER (cosign default) and names the policy key as the signer', async () => {
      const e = await verifyFiles(data, cosignSig(data));
      assert.equal(e.state, 'verified', e.summary);
      assert.equal(e.kind, 'cosign-signature');
      assert.deepEqual(e.signer, { kind: 'key', hint: '', source: 'cosign.pub' });
      assert.match(e.summary, /cosign\.pub/);
      assert.deepEqual(
        e.checks.map((c) => `${c.id}:${c.outcome}`),
        ['read:passed', 'parse:passed', 'signing-key:passed', 'signature:passed'],
      );
      assert.ok(e.notes.some((note) => /Nothing was logged/.test(note) && /insecure-ignore-tlog/.test(note)), e.notes.join('\n'));
    });

    it('verifies a raw DER signature (--b64=false) and base64 with a trailing newline', async () => {
      const der = sign('sha256', data, ec.privateKey);
      assert.equal((await verifyFiles(data, der)).state, 'verified');
      assert.equal((await verifyFiles(data, `${der.toString('base64')}\n`)).state, 'verified');
    });

    it('takes the first policy key that verifies as the signer', async () => {
      const e = await verifyFiles(data, cosignSig(data), trust({ publicKeys: [key('old.pub', otherEc.publicKey), key('cosign.pub', ec.publicKey)] }));
      assert.equal(e.state, 'verified', e.summary);
      assert.equal(e.signer?.kind === 'key' && e.signer.source, 'cosign.pub');
    });

    it('fails with the wrong key, naming the keys tried', async () => {
      const e = await verifyFiles(data, cosignSig(data), trust({ publicKeys: [key('keys/a.pub', otherEc.publicKey), key('keys/b.pub', otherEc.publicKey)] }));
      assert.equal(e.state, 'failed');
      assert.equal(e.failure?.check, 'signature');
      assert.match(e.failure!.message, /keys\/a\.pub, keys\/b\.pub/);
    });

    it('fails when one byte of the artifact or of the signature is flipped', async () => {
      const sig = sign('sha256', data, ec.privateKey);
      const artifactFlipped = await verifyFiles(flip(data), sig.toString('base64'));
      assert.equal(artifactFlipped.state, 'failed', artifactFlipped.summary);
      // Flip inside r or s (not the DER header, which would only make it unparseable).
      for (const at of [8, sig.length - 3]) {
        const e = await verifyFiles(data, flip(sig, at).toString('base64'));
        assert.equal(e.state, 'failed', `byte ${at}: ${e.summary}`);
      }
    });

    it('is unverifiable without a configured key and says to name cosign.pub', async () => {
      const e = await verifyFiles(data, cosignSig(data), trust({ publicKeys: [] }));
      assert.equal(e.state, 'unverifiable');
      assert.equal(e.failure?.check, 'signing-key');
      assert.match(e.failure!.message, /no public key configured; name cosign\.pub in the trust policy/i);
    });

    it('verifies from the digest alone (large files, conformance digests)', async () => {
      const f = await files(data, cosignSig(data));
      const e = await verifyCosignSignature(f.sig, undefined, digestArtifact(sha256Hex(data)), trust());
      assert.equal(e.state, 'verified', e.summary);
    });

    it('verifies the other key types cosign can sign with (RSA, Ed25519, P-384 with SHA-384)', async () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const ed = generateKeyPairSync('ed25519');
      const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      const cases: [string, KeyObject, Buffer][] = [
        ['rsa.pub', rsa.publicKey, sign('sha256', data, rsa.privateKey)],
        ['ed25519.pub', ed.publicKey, sign(null, data, ed.privateKey)],
        ['p384-sha256.pub', p384.publicKey, sign('sha256', data, p384.privateKey)],
        ['p384-sha384.pub', p384.publicKey, sign('sha384', data, p384.privateKey)],
      ];
      for (const [source, k, sig] of cases) {
        const e = await verifyFiles(data, sig.toString('base64'), trust({ publicKeys: [key(source, k)] }));
        assert.equal(e.state, 'verified', `${source}: ${e.summary}`);
        const bad = await verifyFiles(flip(data), sig.toString('base64'), trust({ publicKeys: [key(source, k)] }));
        assert.equal(bad.state, 'failed', `${source} flipped: ${bad.summary}`);
      }
    });
  });

  describe('malformed signature files', () => {
    it('fails on empty, whitespace, non-base64 text, JSON and truncated DER, without throwing', async () => {
      const der = sign('sha256', data, ec.privateKey);
      const cases: [string, Buffer | string][] = [
        ['empty', ''],
        ['whitespace', '  \n'],
        ['text', 'this is not a signature!'],
        ['json', '{"base64Signature": "x"}'],
      ];
      for (const [name, content] of cases) {
        const e = await verifyFiles(data, content);
        assert.equal(e.state, 'failed', `${name}: ${e.summary}`);
        assert.equal(e.failure?.check, 'parse', name);
      }
      // Binary that is not DER may still be an RSA or Ed25519 signature: it fails at the signature.
      const truncated = await verifyFiles(data, der.subarray(0, der.length - 5));
      assert.equal(truncated.state, 'failed', truncated.summary);
    });

    it('fails on a huge file without reading it whole, and is unverifiable when the file is missing', async () => {
      const huge = await verifyFiles(data, Buffer.alloc(1024 * 1024, 'A'));
      assert.equal(huge.state, 'failed');
      assert.equal(huge.failure?.check, 'read');
      const missing = await verifyCosignSignature(join(dir, 'nothing.sig'), undefined, fileArtifact(join(dir, 'nothing')), trust());
      assert.equal(missing.state, 'unverifiable');
      assert.equal(missing.failure?.check, 'read');
    });

    it('fails on a certificate file that is empty, garbage, or a public key', async () => {
      const bundle = await signFile(inst, data, 'message');
      const cases: [string, string][] = [
        ['empty', ''],
        ['garbage', 'bm90IGEgY2VydGlmaWNhdGU='],
        ['public key', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string],
        ['broken PEM', '-----BEGIN CERTIFICATE-----\nMIIBadcert\n-----END CERTIFICATE-----\n'],
      ];
      for (const [name, content] of cases) {
        const e = await verifyFiles(data, bundle.messageSignature!.signature, trust(), { suffix: '.pem', content });
        assert.equal(e.state, 'failed', `${name}: ${e.summary}`);
        assert.equal(e.failure?.check, 'parse', name);
      }
    });
  });

  describe('with a certificate (keyless)', () => {
    let bundle: SerializedBundle;
    let certPem: string;
    let sig: string;
    before(async () => {
      bundle = await signFile(inst, data, 'message');
      certPem = pemOf(bundle);
      sig = bundle.messageSignature!.signature;
    });
    const cosignPem = () => ({ suffix: '.pem', content: Buffer.from(certPem).toString('base64') });

    it('offline: unverifiable, shows the claimed identity, says to allow lookups or get a bundle', async () => {
      for (const cert of [cosignPem(), { suffix: '.crt', content: certPem }, { suffix: '.cert', content: certPem }]) {
        const e = await verifyFiles(data, sig, trust(), cert);
        assert.equal(e.state, 'unverifiable', `${cert.suffix}: ${e.summary}`);
        assert.equal(e.failure?.check, 'rekor-lookup');
        assert.match(e.failure!.message, /short-lived/);
        assert.match(e.failure!.remedy, /sigstore\.network\.enabled/);
        assert.match(e.failure!.remedy, /\.sigstore\.json/);
        assert.equal(e.signer?.kind === 'certificate' && e.signer.identity, DEFAULT_IDENTITY);
        assert.equal(e.signer?.kind === 'certificate' && e.signer.issuer, DEFAULT_ISSUER);
      }
    });

    it('offline: fails when the signature does not match the certificate (changed file)', async () => {
      const e = await verifyFiles(flip(data), sig, trust(), cosignPem());
      assert.equal(e.state, 'failed', e.summary);
      assert.equal(e.failure?.check, 'signature');
    });

    it('is unverifiable when the trusted root could not be loaded', async () => {
      const e = await verifyFiles(data, sig, trust({ trustedRoot: { error: 'no root here', remedy: 'fix it' } }), cosignPem());
      assert.equal(e.state, 'unverifiable');
      assert.equal(e.failure?.message, 'no root here');
    });

    describe('looking the entry up in Rekor', () => {
      const stubs: RekorStub[] = [];
      afterEach(async () => {
        await Promise.all(stubs.splice(0).map((s) => s.close()));
      });
      async function online(entries: SerializedBundle[], options: RekorStubOptions = {}, content = data, signature = sig) {
        const stub = await startRekorStub(
          entries.map((b) => rekorEntryOf(b).entry),
          options,
        );
        stubs.push(stub);
        const e = await verifyFiles(content, signature, trust({ network: { allowed: true, rekorURL: stub.url } }), cosignPem());
        return { e, stub };
      }

      it('verifies with the entry Rekor serves (found by the proposed entry, one request)', async () => {
        const { e, stub } = await online([bundle]);
        assert.equal(e.state, 'verified', `${e.summary} ${JSON.stringify(e.failure)}`);
        assert.equal(e.kind, 'cosign-signature');
        assert.equal(e.signer?.kind === 'certificate' && e.signer.identity, DEFAULT_IDENTITY);
        assert.equal(e.tlogEntries.length, 1);
        assert.equal(e.tlogEntries[0]!.logIndex, bundle.verificationMaterial.tlogEntries[0]!.logIndex);
        assert.ok(e.tlogEntries[0]!.inclusionPromise);
        assert.ok(e.timestamps.some((t) => t.source === 'transparency-log'));
        assert.deepEqual(stub.requests, ['/api/v1/log/entries/retrieve']);
        assert.deepEqual(
          e.checks.map((c) => c.id),
          ['read', 'parse', 'rekor-lookup', 'conversion', 'artifact-binding', 'timestamps', 'certificate', 'transparency-log', 'signature'],
        );
        assert.ok(e.checks.every((c) => c.outcome === 'passed'));
      });

      it('verifies through the index (hash search, then entries by UUID) among unrelated entries', async () => {
        const unrelated = await signFile(inst, data, 'message', { identity: 'someone@example.test' });
        const { e, stub } = await online([unrelated, bundle], { indexOnly: true });
        assert.equal(e.state, 'verified', e.summary);
        assert.deepEqual(stub.requests, ['/api/v1/log/entries/retrieve', '/api/v1/index/retrieve', '/api/v1/log/entries/retrieve']);
      });

      it('falls back to the index when the log refuses the proposed-entry query', async () => {
        const { e, stub } = await online([bundle], {
          override: (path, request) =>
            path === '/api/v1/log/entries/retrieve' && (request as { entries?: unknown }).entries ? { status: 400, body: '{"message":"unsupported"}' } : undefined,
        });
        assert.equal(e.state, 'verified', e.summary);
        assert.deepEqual(stub.requests, ['/api/v1/log/entries/retrieve', '/api/v1/index/retrieve', '/api/v1/log/entries/retrieve']);
      });

      it('is not verified when the log only has entries for other signatures of the file', async () => {
        const unrelated = await signFile(inst, data, 'message', { identity: 'mallory@example.test' });
        const { e } = await online([unrelated]);
        assert.equal(e.state, 'unverifiable', e.summary);
        assert.equal(e.failure?.check, 'rekor-lookup');
        // Even an entry claiming our signature under another certificate is no match.
        const forgedEntry = rekorEntryOf(unrelated).entry;
        const body = JSON.parse(Buffer.from(forgedEntry.body, 'base64').toString('utf8')) as { spec: { signature: { content: string } } };
        body.spec.signature.content = sig;
        const stub = await startRekorStub([{ ...forgedEntry, body: Buffer.from(JSON.stringify(body)).toString('base64') }]);
        stubs.push(stub);
        const e2 = await verifyFiles(data, sig, trust({ network: { allowed: true, rekorURL: stub.url } }), cosignPem());
        assert.notEqual(e2.state, 'verified');
      });

      it('is not verified when the entry matches but its signed entry timestamp does not verify', async () => {
        const entry = rekorEntryOf(bundle).entry;
        const setBytes = Buffer.from(entry.verification.signedEntryTimestamp, 'base64');
        const tampered = { ...entry, verification: { ...entry.verification, signedEntryTimestamp: flip(setBytes, 10).toString('base64'), inclusionProof: undefined } };
        const stub = await startRekorStub([tampered]);
        stubs.push(stub);
        const e = await verifyFiles(data, sig, trust({ network: { allowed: true, rekorURL: stub.url } }), cosignPem());
        assert.equal(e.state, 'unverifiable', e.summary);
        assert.match(e.failure!.message, /transparency log's entry does not verify/);
      });

      it('is not verified when the entry comes from a log the trusted root does not know', async () => {
        const foreign = await signFile(other, data, 'message');
        const stub = await startRekorStub([rekorEntryOf(foreign).entry]);
        stubs.push(stub);
        const e = await verifyFiles(data, foreign.messageSignature!.signature, trust({ network: { allowed: true, rekorURL: stub.url } }), {
          suffix: '.pem',
          content: Buffer.from(pemOf(foreign)).toString('base64'),
        });
        assert.notEqual(e.state, 'verified', e.summary);
      });

      it('never verifies a changed file, whatever the log says', async () => {
        const { e } = await online([bundle], {}, flip(data));
        assert.equal(e.state, 'failed', e.summary);
      });

      it('is unverifiable with the reason on HTTP errors, junk, oversized answers and refused connections', async () => {
        const answers: [string, RekorStubOptions['override']][] = [
          ['HTTP 500', () => ({ status: 500, body: '{"message":"boom"}' })],
          ['not JSON', () => ({ status: 200, body: '<html>' })],
          ['not a list', () => ({ status: 200, body: '{"a":1}' })],
          ['oversized', () => ({ status: 200, body: Buffer.alloc(MAX_REKOR_RESPONSE_BYTES + 10, 0x20) })],
          ['bad UUIDs', (path) => (path === '/api/v1/index/retrieve' ? { status: 200, body: '["../../etc"]' } : { status: 200, body: '[]' })],
        ];
        for (const [name, override] of answers) {
          const { e } = await online([bundle], { override });
          assert.equal(e.state, 'unverifiable', `${name}: ${e.summary}`);
          assert.equal(e.failure?.check, 'rekor-lookup', name);
        }
        const closed = await startRekorStub([]);
        await closed.close();
        const e = await verifyFiles(data, sig, trust({ network: { allowed: true, rekorURL: closed.url } }), cosignPem());
        assert.equal(e.state, 'unverifiable');
        assert.match(e.failure!.message, /failed/);
        const notURL = await verifyFiles(data, sig, trust({ network: { allowed: true, rekorURL: 'file:///etc/passwd' } }), cosignPem());
        assert.equal(notURL.state, 'unverifiable');
      });

      it('skips malformed entries in an answer instead of trusting or crashing on them', async () => {
        const good = rekorEntryOf(bundle);
        const { e } = await online([bundle], {
          override: (path) =>
            path === '/api/v1/log/entries/retrieve'
              ? { status: 200, body: JSON.stringify([{ x: { body: 'not base64!' } }, 'junk', { y: null }, { [good.uuid]: good.entry }]) }
              : undefined,
        });
        assert.equal(e.state, 'verified', e.summary);
      });

      it('stops when the caller aborts (rejects; the result would be discarded)', async () => {
        const controller = new AbortController();
        const stub = await startRekorStub([], { hang: true, onRequest: () => controller.abort() });
        stubs.push(stub);
        const f = await files(data, sig, cosignPem());
        await assert.rejects(
          verifyCosignSignature(f.sig, f.cert, fileArtifact(f.artifact), trust({ network: { allowed: true, rekorURL: stub.url } }), controller.signal),
          (err: Error) => err.name === 'AbortError',
        );
      });
    });
  });
});

function pemOf(bundle: SerializedBundle): string {
  const raw = bundle.verificationMaterial.x509CertificateChain?.certificates[0]?.rawBytes ?? bundle.verificationMaterial.certificate?.rawBytes;
  if (!raw) throw new Error('no certificate in the bundle');
  const lines = raw.match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n`;
}
