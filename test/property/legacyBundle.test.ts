// cosign's legacy bundles (`cosign sign-blob --bundle`, ≤ v2), mutated: evidence every time,
// no hang, and never `verified` once the signature, the log entry (body, SET and the
// fields it signs), the certificate or the artifact changed.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import fc from 'fast-check';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../src/core/trust/trustedRoot';
import { verifyLegacyBundle } from '../../src/core/verify/legacyBundle';
import type { TrustInputs } from '../../src/core/verify/trustInputs';
import { signFile, startSigstoreInstance, type SigstoreInstance } from '../support/sigstore-instance';
import {
  artifactMutation,
  assertEvidenceShape,
  base64Field,
  bounded,
  certificateMutation,
  checkKind,
  describeChange,
  jsonMutation,
  memoryArtifact,
  mutateArtifact,
  mutateCertificate,
  mutateJson,
  outcomeOf,
  parseJson,
  valueAt,
  type CriticalField,
} from './support';

const ARTIFACT = Buffer.from('a release signed by cosign 2 with --bundle, for the property tests\n');

/** What cosign ≤ v2 writes with `sign-blob --bundle`. */
interface LegacyBundle {
  base64Signature: string;
  cert?: string;
  rekorBundle?: { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };
}

function pemText(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/** The legacy form of a message-signature bundle, as cosign would have written it. */
function legacyOf(bundle: SerializedBundle, cert: string | undefined): LegacyBundle {
  const t = bundle.verificationMaterial.tlogEntries[0]!;
  return {
    base64Signature: bundle.messageSignature!.signature,
    ...(cert ? { cert: Buffer.from(cert).toString('base64') } : {}),
    rekorBundle: {
      SignedEntryTimestamp: t.inclusionPromise!.signedEntryTimestamp,
      Payload: { body: t.canonicalizedBody, integratedTime: Number(t.integratedTime), logIndex: Number(t.logIndex), logID: Buffer.from(t.logId.keyId, 'base64').toString('hex') },
    },
  };
}

const FIELDS: readonly CriticalField[] = [
  { path: ['base64Signature'], encoding: 'base64' },
  { path: ['rekorBundle', 'Payload', 'body'], encoding: 'base64' },
  { path: ['rekorBundle', 'SignedEntryTimestamp'], encoding: 'base64' },
  { path: ['rekorBundle', 'Payload', 'logID'], encoding: 'hex' },
];

/** What a mutated legacy bundle changed that must stop it verifying. */
function guardReasons(original: LegacyBundle, bytes: Buffer): string[] {
  const parsed = parseJson(bytes);
  if (!parsed.ok) return ['not JSON'];
  const json = parsed.value;
  const reasons: string[] = [];
  if (base64Field(valueAt(json, ['base64Signature']), Buffer.from(original.base64Signature, 'base64')) === 'changed') reasons.push('the signature changed');
  const rekor = original.rekorBundle;
  if (!rekor) return reasons;
  const payload = (field: string) => valueAt(json, ['rekorBundle', 'Payload', field]);
  if (base64Field(payload('body'), Buffer.from(rekor.Payload.body, 'base64')) === 'changed') reasons.push('the entry body changed');
  if (base64Field(valueAt(json, ['rekorBundle', 'SignedEntryTimestamp']), Buffer.from(rekor.SignedEntryTimestamp, 'base64')) === 'changed') reasons.push('the SET changed');
  // The SET signs these too, as the verifier reads them: integers (or decimal strings), hex in any case.
  const integer = (v: unknown) => (typeof v === 'number' ? String(v) : typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v).toString() : v);
  for (const field of ['integratedTime', 'logIndex'] as const) {
    const v = payload(field);
    if (v !== undefined && v !== null && integer(v) !== String(rekor.Payload[field])) reasons.push(`${field} changed`);
  }
  const logID = payload('logID');
  if (logID !== undefined && logID !== null && (typeof logID !== 'string' || logID.toLowerCase() !== rekor.Payload.logID)) reasons.push('logID changed');
  return reasons;
}

describe('property: cosign legacy bundles under mutation', function () {
  this.timeout(600_000);
  let inst: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  let path: string;
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const decoy = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const bases: { name: string; json: LegacyBundle }[] = [];
  let keylessDer: Buffer;

  const trust = (): TrustInputs => ({
    trustedRoot: root,
    publicKeys: [
      { source: 'old.pub', key: decoy.publicKey },
      { source: 'cosign.pub', key: ec.publicKey },
    ],
    openpgpKeys: [],
    network: { allowed: false, rekorURL: 'http://127.0.0.1:9' },
  });

  before(async () => {
    inst = await startSigstoreInstance();
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'property test root');
    dir = await mkdtemp(join(tmpdir(), 'sigstore-property-legacy-'));
    path = join(dir, 'f.bin.bundle');

    const keyless = await signFile(inst, ARTIFACT, 'message');
    keylessDer = Buffer.from(keyless.verificationMaterial.x509CertificateChain!.certificates[0]!.rawBytes, 'base64');
    const publicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    // `cosign sign-blob --key` with the signature uploaded to the (local) log.
    const keyLogged = bundleToJSON(
      await new MessageSignatureBundleBuilder({
        signer: { sign: async (bytes) => ({ signature: sign('sha256', bytes, ec.privateKey), key: { $case: 'publicKey', publicKey: publicPem } }) },
        witnesses: [new RekorWitness({ rekorBaseURL: inst.rekorURL })],
      }).create({ data: ARTIFACT }),
    );
    const keySig = sign('sha256', ARTIFACT, ec.privateKey).toString('base64');
    bases.push(
      { name: 'keyless, logged', json: legacyOf(keyless, pemText('CERTIFICATE', keylessDer)) },
      { name: 'key, logged', json: legacyOf(keyLogged, publicPem) },
      { name: 'key, not logged', json: { base64Signature: keySig, cert: Buffer.from(publicPem).toString('base64') } },
      { name: 'key, no cert, not logged', json: { base64Signature: keySig } },
    );
    for (const b of bases) {
      await writeFile(path, JSON.stringify(b.json));
      const e = await verifyLegacyBundle(path, memoryArtifact('f.bin', ARTIFACT), trust());
      assert.equal(e.state, 'verified', `${b.name}: ${e.summary}`);
    }
  });
  after(async () => {
    await inst?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const input = fc.record({ base: fc.nat(), mutation: jsonMutation, artifact: artifactMutation });

  it('no exception, no hang, never verified after the signature, log entry or artifact changed', async () => {
    await checkKind('legacy bundle', input, async ({ base: index, mutation, artifact: artifactOps }, keep) => {
      const base = bases[index % bases.length]!;
      const bytes = mutateJson(base.json, mutation, base.json.rekorBundle ? FIELDS : FIELDS.slice(0, 1));
      const content = mutateArtifact(ARTIFACT, artifactOps);
      keep('original.bundle', JSON.stringify(base.json));
      keep('f.bin.bundle', bytes);
      keep('f.bin', content);
      keep('trusted_root.json', JSON.stringify(inst.trustedRoot));
      await writeFile(path, bytes);
      const e = await bounded('verifyLegacyBundle', () => verifyLegacyBundle(path, memoryArtifact('f.bin', content), trust()));
      assertEvidenceShape(e, ['verified', 'failed', 'unverifiable']);
      const reasons = guardReasons(base.json, bytes);
      if (!content.equals(ARTIFACT)) reasons.push('the artifact changed');
      if (reasons.length) assert.notEqual(e.state, 'verified', `${base.name}: verified although ${reasons.join(', ')}: ${e.summary}\ninput: ${bytes.toString('utf8')}`);
      return { state: outcomeOf(e), guarded: reasons.length > 0 };
    });
  });

  // legacyBundle.ts rejects certificates whose unsigned parts (outer tags, algorithm, the
  // BIT STRING's unused-bits byte, trailing bytes) changed, since @sigstore/core ignores them.
  const certificateInput = fc.record({ certificate: certificateMutation, plainPem: fc.boolean() });
  it('the certificate: a legacy bundle whose certificate DER changed in any byte never verifies', async () => {
    const base = bases[0]!;
    await checkKind('legacy bundle (certificate)', certificateInput, async ({ certificate, plainPem }, keep) => {
      const der = mutateCertificate(keylessDer, certificate);
      const pem = pemText('CERTIFICATE', der);
      // cosign writes base64 of the PEM; plain PEM is accepted too.
      const bytes = Buffer.from(JSON.stringify({ ...base.json, cert: plainPem ? pem : Buffer.from(pem).toString('base64') }));
      keep('original.bundle', JSON.stringify(base.json));
      keep('f.bin.bundle', bytes);
      keep('f.bin', ARTIFACT);
      keep('trusted_root.json', JSON.stringify(inst.trustedRoot));
      await writeFile(path, bytes);
      const e = await bounded('verifyLegacyBundle', () => verifyLegacyBundle(path, memoryArtifact('f.bin', ARTIFACT), trust()));
      assertEvidenceShape(e, ['verified', 'failed', 'unverifiable']);
      assert.notEqual(e.state, 'verified', `verified with a changed certificate (${describeChange(keylessDer, der)})`);
      return { state: outcomeOf(e), guarded: true };
    });
  });
});
