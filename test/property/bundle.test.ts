// Sigstore bundles (message signatures and DSSE attestations), mutated: the verifier must
// always return evidence, quickly, and never `verified` once a signature, a digest, a
// log entry or the artifact has changed.
import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import fc from 'fast-check';
import { digestArtifact } from '../../src/core/artifacts/artifact';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../src/core/trust/trustedRoot';
import { verifyBundleBytes } from '../../src/core/verify/bundleVerifier';
import type { NamedPublicKey } from '../../src/core/verify/trustInputs';
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
  nodeAt,
  outcomeOf,
  parseJson,
  serialize,
  toTree,
  valueAt,
  type CriticalField,
  type Keep,
  type ValueOf,
} from './support';

const ARTIFACT = Buffer.from('release 1.2.3 of a tool, signed for the property tests\n');
const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

interface Base {
  readonly name: string;
  readonly json: SerializedBundle;
  /** Fields a critical edit changes, and the oracle compares. */
  readonly fields: readonly CriticalField[];
}

const TLOG = ['verificationMaterial', 'tlogEntries'] as const;

/** Every tlog entry's value at `sub`: 'same' if any entry still has the original, 'absent' if none has the field. */
function entriesField(json: unknown, sub: readonly string[], original: Buffer | undefined): 'same' | 'changed' | 'absent' {
  const entries = valueAt(json, TLOG);
  if (!original || !Array.isArray(entries) || entries.length === 0) return 'absent';
  const states = entries.map((e) => base64Field(valueAt(e, sub), original));
  if (states.includes('same')) return 'same';
  return states.every((s) => s === 'absent') ? 'absent' : 'changed';
}

/** What a mutated bundle changed that must stop it verifying (empty: it may verify). */
function guardReasons(base: Base, bytes: Buffer, artifactChanged: boolean): string[] {
  const reasons = artifactChanged ? ['the artifact changed'] : [];
  const parsed = parseJson(bytes);
  if (!parsed.ok) return [...reasons, 'not JSON'];
  const json = parsed.value;
  const original = base.json as unknown;
  const b64 = (path: readonly (string | number)[]) => {
    const v = valueAt(original, path);
    return typeof v === 'string' ? Buffer.from(v, 'base64') : undefined;
  };
  const check = (label: string, state: 'same' | 'changed' | 'absent') => state === 'changed' && reasons.push(label);
  if (base.json.messageSignature) {
    check('the signature changed', base64Field(valueAt(json, ['messageSignature', 'signature']), b64(['messageSignature', 'signature'])!));
    check('the message digest changed', base64Field(valueAt(json, ['messageSignature', 'messageDigest', 'digest']), b64(['messageSignature', 'messageDigest', 'digest'])!));
  } else {
    check('the DSSE payload changed', base64Field(valueAt(json, ['dsseEnvelope', 'payload']), b64(['dsseEnvelope', 'payload'])!));
    const sigs = valueAt(json, ['dsseEnvelope', 'signatures']);
    const originalSig = b64(['dsseEnvelope', 'signatures', 0, 'sig'])!;
    if (Array.isArray(sigs) && sigs.length > 0) {
      const states = sigs.map((s) => base64Field(valueAt(s, ['sig']), originalSig));
      if (!states.includes('same') && states.some((s) => s === 'changed')) reasons.push('the DSSE signature changed');
    }
  }
  check('the log entry body changed', entriesField(json, ['canonicalizedBody'], b64([...TLOG, 0, 'canonicalizedBody'])));
  check('the signed entry timestamp changed', entriesField(json, ['inclusionPromise', 'signedEntryTimestamp'], b64([...TLOG, 0, 'inclusionPromise', 'signedEntryTimestamp'])));
  return reasons;
}

function certificatePath(bundle: SerializedBundle): (string | number)[] | undefined {
  const material = bundle.verificationMaterial as { certificate?: unknown; x509CertificateChain?: unknown };
  if (material.certificate) return ['verificationMaterial', 'certificate', 'rawBytes'];
  if (material.x509CertificateChain) return ['verificationMaterial', 'x509CertificateChain', 'certificates', 0, 'rawBytes'];
  return undefined;
}

function fieldsOf(bundle: SerializedBundle): CriticalField[] {
  const fields: CriticalField[] = bundle.messageSignature
    ? [
        { path: ['messageSignature', 'signature'], encoding: 'base64' },
        { path: ['messageSignature', 'messageDigest', 'digest'], encoding: 'base64' },
      ]
    : [
        { path: ['dsseEnvelope', 'payload'], encoding: 'base64' },
        { path: ['dsseEnvelope', 'signatures', 0, 'sig'], encoding: 'base64' },
      ];
  if (bundle.verificationMaterial.tlogEntries.length > 0) {
    fields.push({ path: [...TLOG, 0, 'canonicalizedBody'], encoding: 'base64' }, { path: [...TLOG, 0, 'inclusionPromise', 'signedEntryTimestamp'], encoding: 'base64' });
  }
  return fields;
}

describe('property: Sigstore bundles under mutation', function () {
  this.timeout(600_000);
  let inst: SigstoreInstance;
  let root: LoadedTrustedRoot;
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keys: NamedPublicKey[] = [{ source: 'cosign.pub', key: ec.publicKey }];
  const message: Base[] = [];
  const dsse: Base[] = [];

  before(async () => {
    inst = await startSigstoreInstance();
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'property test root');
    const base = (name: string, json: SerializedBundle): Base => ({ name, json, fields: fieldsOf(json) });

    // Key-signed, nothing logged (cosign --key --tlog-upload=false --new-bundle-format).
    const keyOnly = {
      mediaType: BUNDLE_V03,
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(ARTIFACT).digest('base64') },
        signature: sign('sha256', ARTIFACT, ec.privateKey).toString('base64'),
      },
    } as unknown as SerializedBundle;
    const publicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const keyLogged = bundleToJSON(
      await new MessageSignatureBundleBuilder({
        signer: { sign: async (bytes) => ({ signature: sign('sha256', bytes, ec.privateKey), key: { $case: 'publicKey', publicKey: publicPem } }) },
        witnesses: [new RekorWitness({ rekorBaseURL: inst.rekorURL })],
      }).create({ data: ARTIFACT }),
    );
    message.push(
      base('keyless message', await signFile(inst, ARTIFACT, 'message')),
      base('keyless message + TSA', await signFile(inst, ARTIFACT, 'message', { useTSA: true })),
      base('key-signed, logged', keyLogged),
      base('key-signed, not logged', keyOnly),
    );
    dsse.push(base('keyless DSSE', await signFile(inst, ARTIFACT, 'dsse')), base('keyless DSSE + TSA', await signFile(inst, ARTIFACT, 'dsse', { useTSA: true })));

    // Every starting point verifies: otherwise "never verified" would prove nothing.
    for (const b of [...message, ...dsse]) {
      const e = await verifyBundleBytes('x.sigstore.json', Buffer.from(JSON.stringify(b.json)), memoryArtifact('f.bin', ARTIFACT), { trustedRoot: root, keys });
      assert.equal(e.state, 'verified', `${b.name}: ${e.summary}`);
    }
  });
  after(async () => {
    await inst?.close();
  });

  const input = fc.record({ base: fc.nat(), mutation: jsonMutation, artifact: artifactMutation, digestOnly: fc.boolean() });

  async function run(bases: readonly Base[], { base: index, mutation, artifact: artifactOps, digestOnly }: ValueOf<typeof input>, keep: Keep) {
    const base = bases[index % bases.length]!;
    const bytes = mutateJson(base.json, mutation, base.fields);
    const content = mutateArtifact(ARTIFACT, artifactOps);
    keep('original.sigstore.json', JSON.stringify(base.json));
    keep('f.bin.sigstore.json', bytes);
    keep('f.bin', content);
    keep('trusted_root.json', JSON.stringify(inst.trustedRoot));
    // A digest-only artifact (the conformance protocol, huge files) takes other branches.
    const artifact = digestOnly ? digestArtifact(createHash('sha256').update(content).digest('hex')) : memoryArtifact('f.bin', content);
    const e = await bounded('verifyBundleBytes', () => verifyBundleBytes('f.bin.sigstore.json', bytes, artifact, { trustedRoot: root, keys }));
    assertEvidenceShape(e, ['verified', 'failed', 'unverifiable']);
    const reasons = guardReasons(base, bytes, !content.equals(ARTIFACT));
    if (reasons.length > 0) {
      assert.notEqual(e.state, 'verified', `${base.name}: verified although ${reasons.join(', ')}: ${e.summary}\ninput: ${bytes.toString('utf8')}`);
    }
    return { state: outcomeOf(e), guarded: reasons.length > 0 };
  }

  it(`message-signature bundles: no exception, no hang, never verified after a critical change`, async () => {
    await checkKind('bundle (message)', input, (i, keep) => run(message, i, keep));
  });

  it(`DSSE bundles: no exception, no hang, never verified after a critical change`, async () => {
    await checkKind('bundle (DSSE)', input, (i, keep) => run(dsse, i, keep));
  });

  // The CA signs the certificate's TBS part only; the outer tags, the signature algorithm
  // and the BIT STRING's unused-bits byte are not covered. @sigstore/core's parser ignores
  // them, so a changed byte there still verifies unless the verifier checks the encoding
  // (legacyBundle.ts's certificateDerProblem does that for cosign's formats).
  const certificateInput = fc.record({ base: fc.nat(), certificate: certificateMutation, style: fc.nat({ max: 3 }) });
  it('the signing certificate: a bundle whose certificate DER changed in any byte never verifies', async () => {
    const keyless = [...message, ...dsse].filter((b) => certificatePath(b.json));
    await checkKind('bundle (certificate)', certificateInput, async ({ base: index, certificate, style }, keep) => {
      const base = keyless[index % keyless.length]!;
      const path = certificatePath(base.json)!;
      const tree = toTree(base.json);
      const slot = nodeAt(tree, path)!;
      const original = Buffer.from((slot.node as { v: string }).v, 'base64');
      const der = mutateCertificate(original, certificate);
      slot.set!({ t: 'str', v: der.toString('base64') });
      const bytes = Buffer.from(serialize(tree, style));
      keep('original.sigstore.json', JSON.stringify(base.json));
      keep('f.bin.sigstore.json', bytes);
      keep('f.bin', ARTIFACT);
      keep('trusted_root.json', JSON.stringify(inst.trustedRoot));
      const e = await bounded('verifyBundleBytes', () => verifyBundleBytes('f.bin.sigstore.json', bytes, memoryArtifact('f.bin', ARTIFACT), { trustedRoot: root, keys }));
      assertEvidenceShape(e, ['verified', 'failed', 'unverifiable']);
      assert.notEqual(e.state, 'verified', `${base.name}: verified with a changed certificate (${describeChange(original, der)})`);
      return { state: outcomeOf(e), guarded: true };
    });
  });
});
