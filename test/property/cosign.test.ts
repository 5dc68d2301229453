// cosign's detached `.sig` (key-based) and `.sig` + certificate (keyless, with the entry
// looked up in a local Rekor stand-in), mutated: evidence every time, no hang, and never
// `verified` once the signature, the certificate, the log entry or the artifact changed.
import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerializedBundle } from '@sigstore/bundle';
import fc from 'fast-check';
import { digestArtifact } from '../../src/core/artifacts/artifact';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../src/core/trust/trustedRoot';
import { verifyCosignSignature } from '../../src/core/verify/cosignSignature';
import type { NamedPublicKey, TrustInputs } from '../../src/core/verify/trustInputs';
import { rekorEntryOf, startRekorStub, type RekorLogEntry, type RekorStub } from '../support/rekor-stub';
import { signFile, startSigstoreInstance, type SigstoreInstance } from '../support/sigstore-instance';
import {
  artifactMutation,
  assertEvidenceShape,
  base64Field,
  bounded,
  byteOps,
  certificateMutation,
  checkKind,
  describeChange,
  encodeBase64,
  jsonMutation,
  memoryArtifact,
  mutateArtifact,
  mutateBytes,
  mutateCertificate,
  mutateJson,
  outcomeOf,
  parseJson,
  sometimes,
  valueAt,
  type ByteOp,
} from './support';

const ARTIFACT = Buffer.from('cosign sign-blob signed this file for the property tests\n');

/** How the `.sig` spells the signature: base64 (cosign's default), with a newline, or raw (--b64=false). */
type SigForm = 'base64' | 'base64-newline' | 'raw';

function encodeSig(sig: Buffer, form: SigForm): Buffer {
  if (form === 'raw') return sig;
  return Buffer.from(sig.toString('base64') + (form === 'base64-newline' ? '\n' : ''));
}

/**
 * Whether the `.sig` still holds `original`, read either way a decoder could: as base64
 * text (Node's lenient decoder, a superset of the verifier's strict one) or as raw bytes.
 */
function sigUnchanged(file: Buffer, original: Buffer): boolean {
  return file.equals(original) || Buffer.from(file.toString('latin1'), 'base64').equals(original);
}

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every DER certificate a certificate file could be read as: DER itself, PEM, or base64 of PEM. */
function certificatesIn(file: Buffer): Buffer[] {
  const found = [file];
  const texts = [file.toString('utf8'), Buffer.from(file.toString('latin1'), 'base64').toString('utf8')];
  for (const text of texts) {
    for (const m of text.matchAll(PEM)) if (m[1] === 'CERTIFICATE') found.push(Buffer.from(m[2]!, 'base64'));
  }
  return found;
}

describe('property: cosign signatures under mutation', function () {
  this.timeout(600_000);
  let dir: string;
  let sigPath: string;
  let certPath: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-property-cosign-'));
    sigPath = join(dir, 'f.bin.sig');
    certPath = join(dir, 'f.bin.pem');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('key-based .sig', () => {
    interface KeyBase {
      readonly name: string;
      readonly signature: Buffer;
      readonly form: SigForm;
      readonly keys: NamedPublicKey[];
    }
    const bases: KeyBase[] = [];

    before(async () => {
      const pair = (type: 'ec' | 'rsa' | 'ed25519', curve?: string) =>
        type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: curve! })
          : type === 'rsa'
            ? generateKeyPairSync('rsa', { modulusLength: 2048 })
            : generateKeyPairSync('ed25519');
      const decoy = pair('ec', 'prime256v1').publicKey;
      const add = (name: string, key: { privateKey: KeyObject; publicKey: KeyObject }, hash: string | null, form: SigForm) => {
        // A wrong key first: the verifier must try every policy key and name the one that works.
        const keys = [{ source: 'old.pub', key: decoy }, { source: 'cosign.pub', key: key.publicKey }];
        bases.push({ name, signature: sign(hash, ARTIFACT, key.privateKey), form, keys });
      };
      const p256 = pair('ec', 'prime256v1');
      add('P-256, base64', p256, 'sha256', 'base64');
      add('P-256, base64 + newline', p256, 'sha256', 'base64-newline');
      add('P-256, raw DER', p256, 'sha256', 'raw');
      add('P-384 over SHA-384', pair('ec', 'secp384r1'), 'sha384', 'base64');
      add('RSA-2048', pair('rsa'), 'sha256', 'base64');
      add('Ed25519, raw', pair('ed25519'), null, 'raw');
      for (const b of bases) {
        await writeFile(sigPath, encodeSig(b.signature, b.form));
        const e = await verifyCosignSignature(sigPath, undefined, memoryArtifact('f.bin', ARTIFACT), trust(b.keys));
        assert.equal(e.state, 'verified', `${b.name}: ${e.summary}`);
      }
    });

    const trust = (keys: NamedPublicKey[]): TrustInputs => ({
      trustedRoot: { error: 'not needed', remedy: '' },
      publicKeys: keys,
      openpgpKeys: [],
      network: { allowed: false, rekorURL: 'http://127.0.0.1:9' },
    });

    const input = fc.record({
      base: fc.nat(),
      // Changes to the signature bytes themselves, then encoded like the original.
      signature: sometimes(byteOps(3), 50),
      // Changes to the file as stored (its base64 text, or the raw bytes).
      file: sometimes(byteOps(3), 40),
      artifact: artifactMutation,
      digestOnly: fc.boolean(),
    });

    it('no exception, no hang, never verified after the signature or the artifact changed', async () => {
      await checkKind('cosign .sig (key)', input, async ({ base: index, signature: sigOps, file: fileOps, artifact: artifactOps, digestOnly }, keep) => {
        const base = bases[index % bases.length]!;
        const signature = sigOps ? mutateBytes(base.signature, sigOps, true) : base.signature;
        let file: Buffer = encodeSig(signature, base.form);
        if (fileOps) file = mutateBytes(file, fileOps);
        const content = mutateArtifact(ARTIFACT, artifactOps);
        keep('f.bin.sig', file);
        keep('f.bin', content);
        await writeFile(sigPath, file);
        const artifact = digestOnly ? digestArtifact(createHash('sha256').update(content).digest('hex')) : memoryArtifact('f.bin', content);
        const e = await bounded('verifyCosignSignature', () => verifyCosignSignature(sigPath, undefined, artifact, trust(base.keys)));
        assertEvidenceShape(e, ['verified', 'failed', 'unverifiable']);
        const reasons: string[] = [];
        if (!content.equals(ARTIFACT)) reasons.push('the artifact changed');
        if (!sigUnchanged(file, base.signature)) reasons.push('the signature changed');
        if (reasons.length) assert.notEqual(e.state, 'verified', `${base.name}: verified although ${reasons.join(', ')} (${describeChange(base.signature, signature)})`);
        return { state: outcomeOf(e), guarded: reasons.length > 0 };
      });
    });
  });

  describe('keyless .sig + certificate, entry from Rekor', () => {
    let inst: SigstoreInstance;
    let root: LoadedTrustedRoot;
    let stub: RekorStub;
    let bundle: SerializedBundle;
    let signature: Buffer;
    let der: Buffer;
    let entry: RekorLogEntry;
    let uuid: string;
    /** What the stand-in Rekor answers in the current run. */
    let answer: { entry: unknown; raw?: readonly ByteOp[] } = { entry: undefined };

    before(async () => {
      inst = await startSigstoreInstance();
      root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'property test root');
      bundle = await signFile(inst, ARTIFACT, 'message');
      signature = Buffer.from(bundle.messageSignature!.signature, 'base64');
      der = Buffer.from(bundle.verificationMaterial.x509CertificateChain!.certificates[0]!.rawBytes, 'base64');
      ({ entry, uuid } = rekorEntryOf(bundle));
      // Every search answers with the current entry, found or not: the verifier must check it is the right one.
      stub = await startRekorStub([], {
        override: (path) => {
          const body = path === '/api/v1/index/retrieve' ? [uuid] : [{ [uuid]: answer.entry }];
          const text = Buffer.from(JSON.stringify(body));
          return { status: 200, body: answer.raw ? mutateBytes(text, answer.raw) : text };
        },
      });
      answer = { entry };
      await writeFile(sigPath, bundle.messageSignature!.signature);
      await writeFile(certPath, certificateFile(der, 0));
      const e = await verifyCosignSignature(sigPath, certPath, memoryArtifact('f.bin', ARTIFACT), trust());
      assert.equal(e.state, 'verified', e.summary);
    });
    after(async () => {
      await stub?.close();
      await inst?.close();
    });

    const trust = (): TrustInputs => ({ trustedRoot: root, publicKeys: [], openpgpKeys: [], network: { allowed: true, rekorURL: stub.url } });

    /** cosign's base64 of PEM, plain PEM (sigstore-python, .crt), or DER. */
    function certificateFile(certificate: Buffer, form: number): Buffer {
      const pem = `-----BEGIN CERTIFICATE-----\n${certificate.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
      return form % 3 === 0 ? Buffer.from(Buffer.from(pem).toString('base64')) : form % 3 === 1 ? Buffer.from(pem) : certificate;
    }

    /** The log's signed fields, normalised as the verifier reads them (numbers or decimal strings, hex in any case). */
    function entryReasons(served: unknown): string[] {
      const reasons: string[] = [];
      const record = valueAt(served, []);
      if (typeof record !== 'object' || record === null) return reasons;
      if (base64Field(valueAt(served, ['body']), Buffer.from(entry.body, 'base64')) === 'changed') reasons.push('the entry body changed');
      const set = Buffer.from(entry.verification.signedEntryTimestamp, 'base64');
      if (base64Field(valueAt(served, ['verification', 'signedEntryTimestamp']), set) === 'changed') reasons.push('the signed entry timestamp changed');
      const integer = (v: unknown) => (typeof v === 'number' ? String(v) : typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v).toString() : v);
      for (const field of ['integratedTime', 'logIndex'] as const) {
        const v = valueAt(served, [field]);
        if (v !== undefined && v !== null && integer(v) !== String(entry[field])) reasons.push(`${field} changed`);
      }
      const logID = valueAt(served, ['logID']);
      if (logID !== undefined && logID !== null && (typeof logID !== 'string' || logID.toLowerCase() !== entry.logID.toLowerCase())) reasons.push('logID changed');
      return reasons;
    }

    const input = fc.record({
      signature: sometimes(byteOps(3), 30),
      sigFile: sometimes(byteOps(2), 15),
      certificate: sometimes(certificateMutation, 30),
      certForm: fc.nat(),
      certFile: sometimes(byteOps(2), 15),
      // The log's answer: its entry's fields (body, SET, …) edited, or its raw bytes.
      entry: sometimes(jsonMutation, 30),
      answer: sometimes(byteOps(2), 5),
      artifact: sometimes(byteOps(3), 15),
    });

    it('no exception, no hang, never verified after the signature, certificate, log entry or artifact changed', async () => {
      await checkKind('cosign .sig (keyless)', input, async (i, keep) => {
        const sig = i.signature ? mutateBytes(signature, i.signature, true) : signature;
        let sigFile: Buffer = Buffer.from(encodeBase64(sig));
        if (i.sigFile) sigFile = mutateBytes(sigFile, i.sigFile);
        const certificate = i.certificate ? mutateCertificate(der, i.certificate) : der;
        let certFile: Buffer = certificateFile(certificate, i.certForm);
        if (i.certFile) certFile = mutateBytes(certFile, i.certFile);
        const served = i.entry ? parseJson(mutateJson(entry, { ...i.entry, raw: undefined }, ENTRY_FIELDS)) : { ok: true as const, value: entry };
        answer = { entry: served.ok ? served.value : null, raw: i.answer };
        const content = mutateArtifact(ARTIFACT, i.artifact);
        keep('f.bin.sig', sigFile);
        keep('f.bin.pem', certFile);
        keep('f.bin', content);
        keep('rekor-entry.json', JSON.stringify({ [uuid]: answer.entry }));
        keep('trusted_root.json', JSON.stringify(inst.trustedRoot));
        await Promise.all([writeFile(sigPath, sigFile), writeFile(certPath, certFile)]);

        const e = await bounded('verifyCosignSignature', () => verifyCosignSignature(sigPath, certPath, memoryArtifact('f.bin', content), trust()));
        assertEvidenceShape(e, ['verified', 'failed', 'unverifiable']);
        const reasons: string[] = [];
        if (!content.equals(ARTIFACT)) reasons.push('the artifact changed');
        if (!sigUnchanged(sigFile, signature)) reasons.push('the signature changed');
        if (!certificatesIn(certFile).some((c) => c.equals(der))) reasons.push(`the certificate changed (${describeChange(der, certificate)})`);
        if (served.ok) reasons.push(...entryReasons(served.value));
        if (reasons.length) assert.notEqual(e.state, 'verified', `verified although ${reasons.join(', ')}: ${e.summary}`);
        return { state: outcomeOf(e), guarded: reasons.length > 0 };
      });
    });
  });
});

const ENTRY_FIELDS = [
  { path: ['body'], encoding: 'base64' },
  { path: ['verification', 'signedEntryTimestamp'], encoding: 'base64' },
  { path: ['logID'], encoding: 'hex' },
] as const;
