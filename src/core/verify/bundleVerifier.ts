import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  type Bundle,
} from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { toSignedEntity, Verifier, type SignedEntity } from '@sigstore/verify';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Artifact, DigestAlgorithm } from '../artifacts/artifact';
import { readLimited, SMALL_FILE_BYTES } from '../artifacts/artifact';
import { SigstoreError } from '../errors';
import { trustMaterialOf, type LoadedTrustedRoot } from '../trust/trustedRoot';
import { certificateSigner, distinguishedName } from './certificate';
import { DsseEnvelopeSignature } from './dsseSignature';
import { DigestMessageSignature, verifiesFromDigest } from './messageSignature';
import type { BundleDetails, Check, CheckId, Evidence, Failure, SignerInfo, TimestampInfo, TlogEntryInfo, VerificationState } from './result';

/** Signatures that cannot be checked from a digest (RSA, Ed25519) load the file whole, up to this size. */
const MAX_WHOLE_ARTIFACT_BYTES = 256 * 1024 * 1024;

/** Companions above this are not signature files; we refuse to parse them. */
export const MAX_COMPANION_BYTES = 10 * 1024 * 1024;

export const KNOWN_BUNDLE_MEDIA_TYPES: readonly string[] = [
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
];

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** What the caller requires beyond a cryptographically valid bundle. */
export interface BundleExpectation {
  /** Exact certificate identity (SAN) and OIDC issuer: compared whole, never as a pattern. */
  readonly identity?: { readonly subject: string; readonly issuer: string };
  /** The public key a key-based bundle must verify with. */
  readonly publicKey?: KeyObject;
}

export interface BundleVerificationOptions {
  readonly trustedRoot: LoadedTrustedRoot;
  readonly expect?: BundleExpectation;
}

const CHECK_TITLES: Record<CheckId, string> = {
  read: 'Companion file readable',
  parse: 'Companion is JSON',
  'media-type': 'Bundle media type supported',
  schema: 'Bundle structure valid',
  'artifact-binding': 'Bundle refers to this file',
  timestamps: 'Trusted signing time (log entry or timestamp authority)',
  certificate: 'Certificate chains to a trusted Fulcio CA and has an SCT',
  'signing-key': 'Signing key accepted',
  'transparency-log': 'Transparency log entry (inclusion and content)',
  signature: 'Signature matches the file',
  identity: 'Signer identity matches what was expected',
};

// The order in which @sigstore/verify's Verifier runs its stages, so a failure at one
// stage tells us which ones passed before it.
const VERIFIER_STAGES: readonly CheckId[] = ['timestamps', 'certificate', 'transparency-log', 'signature'];

const REMEDIES: Record<CheckId, string> = {
  read: 'Check that the companion file exists and is readable.',
  parse: 'The companion is damaged or is not a Sigstore bundle. Download it again from where you got the file.',
  'media-type': 'This bundle uses a format version this extension does not know. Update the extension, or verify it with a current cosign.',
  schema: 'The bundle is incomplete or damaged. Download it again, or ask the signer for a new one.',
  'artifact-binding':
    'The file is not the one that was signed: it changed after signing, or the bundle belongs to another file. Get the original file or its matching bundle.',
  timestamps:
    'No trusted signing time could be established. If the bundle comes from a private Sigstore deployment, set "sigstore.trustedRoot" to its trusted_root.json.',
  certificate:
    'The signing certificate is not trusted: it was not issued by a Fulcio CA of the trusted root, or not valid when the signature was made. If it comes from a private Sigstore deployment, set "sigstore.trustedRoot" to its trusted_root.json; otherwise treat the signature as forged.',
  'signing-key': 'The key that made this signature is not the expected one. Check which key the signer publishes.',
  'transparency-log':
    'The transparency-log evidence does not prove that this signature was logged by a trusted log. Ask the signer for a fresh bundle; do not trust this one.',
  signature:
    'The signature does not match the file: it was changed after signing, or the bundle belongs to another file. Get the original file or its matching bundle.',
  identity: 'The file was signed by someone else than expected. Do not trust it unless you know this signer.',
};

/** Verifies a bundle companion file against an artifact. Never throws for bad input: every problem becomes evidence. */
export async function verifyBundleFile(companionPath: string, artifact: Artifact, options: BundleVerificationOptions): Promise<Evidence> {
  let bytes: Buffer;
  try {
    bytes = await readLimited(companionPath, MAX_COMPANION_BYTES);
  } catch (e) {
    const missing = e instanceof SigstoreError && e.code === 'NOT_FOUND';
    return new BundleCheck(companionPath).stop('read', missing ? 'unverifiable' : 'failed', errorMessage(e), remedyOf(e) ?? REMEDIES.read);
  }
  return verifyBundleBytes(companionPath, bytes, artifact, options);
}

export async function verifyBundleBytes(companionPath: string, bytes: Buffer, artifact: Artifact, options: BundleVerificationOptions): Promise<Evidence> {
  const run = new BundleCheck(companionPath);
  run.pass('read', `${bytes.length} bytes`);

  if (bytes.length === 0) return run.stop('parse', 'failed', 'The companion file is empty.');
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    return run.stop('parse', 'failed', `The companion is not valid JSON: ${errorMessage(e)}.`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return run.stop('parse', 'failed', 'The companion is JSON but not a bundle object.');
  }
  run.pass('parse');

  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string') {
    return run.stop('media-type', 'failed', 'The companion has no "mediaType": it is not a Sigstore bundle.', REMEDIES.parse);
  }
  if (!KNOWN_BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    return run.stop('media-type', 'unverifiable', `Unknown bundle media type ${JSON.stringify(mediaType)}.`);
  }
  run.pass('media-type', mediaType);

  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    return run.stop('schema', 'failed', `The bundle is not valid: ${errorMessage(e)}.`);
  }
  run.pass('schema');

  try {
    return await verifyParsed(run, bundle, mediaType, artifact, options);
  } catch (e) {
    // A malformed certificate or timestamp deep inside the bundle: bad evidence, not a crash.
    return run.stop(run.current ?? 'schema', 'failed', `The bundle could not be checked: ${errorMessage(e)}.`);
  }
}

async function verifyParsed(run: BundleCheck, bundle: Bundle, mediaType: string, artifact: Artifact, options: BundleVerificationOptions): Promise<Evidence> {
  run.current = 'schema';
  run.details = describeBundle(bundle, mediaType);
  run.tlogEntries = bundle.verificationMaterial.tlogEntries.map(describeTlogEntry);
  run.trustedRoot = { source: options.trustedRoot.source, ignored: options.trustedRoot.ignored };

  const material = bundle.verificationMaterial.content;
  let signer: SignerInfo;
  if (material.$case === 'publicKey') {
    signer = { kind: 'key', hint: material.publicKey.hint };
  } else {
    const raw = material.$case === 'certificate' ? material.certificate.rawBytes : material.x509CertificateChain.certificates[0]?.rawBytes;
    if (!raw) return run.stop('schema', 'failed', 'The bundle has no signing certificate.');
    signer = certificateSigner(X509Certificate.parse(Buffer.from(raw)));
  }
  run.signer = signer;

  // Key material must be what the caller asked for.
  const expectedKey = options.expect?.publicKey;
  if (signer.kind === 'key' && !expectedKey) {
    return run.stop(
      'signing-key',
      'unverifiable',
      `The bundle is signed with a public key${signer.hint ? ` (hint ${signer.hint})` : ''}, and no key is configured to check it.`,
      'Obtain the signer\'s public key (for example cosign.pub) and verify with it.',
    );
  }
  if (signer.kind === 'certificate' && expectedKey) {
    return run.stop('signing-key', 'failed', 'A public key was expected, but the bundle carries a certificate.', REMEDIES['signing-key']);
  }
  if (signer.kind === 'key' && options.expect?.identity) {
    return run.stop('identity', 'failed', 'A certificate identity was expected, but the bundle is signed with a bare public key.', REMEDIES.identity);
  }

  // Bind the bundle to this artifact: the part @sigstore/verify leaves to the caller.
  let entity: SignedEntity;
  if (bundle.content.$case === 'messageSignature') {
    const { messageDigest, signature } = bundle.content.messageSignature;
    const algorithm = digestAlgorithmOf(messageDigest?.algorithm);
    if (!algorithm) return run.stop('schema', 'failed', `Unsupported message digest algorithm ${messageDigest?.algorithm}.`);
    const digest = await artifact.digest(algorithm);
    if (!digest) {
      return run.stop('artifact-binding', 'unverifiable', `The bundle signs a ${algorithm} digest, and only a sha256 digest of the artifact is known.`, 'Verify the file itself rather than its digest.');
    }
    if (messageDigest && !Buffer.from(messageDigest.digest).equals(digest)) {
      return run.stop('artifact-binding', 'failed', `The file's ${algorithm} is ${digest.toString('hex')}, but the bundle was made for ${Buffer.from(messageDigest.digest).toString('hex')}.`);
    }
    run.pass('artifact-binding', `${algorithm} ${digest.toString('hex')}`);
    const base = toSignedEntity(bundle);
    const key = signingKeyOf(base, expectedKey);
    const bytes = await artifact.bytes(key && !verifiesFromDigest(key) ? MAX_WHOLE_ARTIFACT_BYTES : SMALL_FILE_BYTES);
    if (key && !verifiesFromDigest(key) && !bytes) {
      return run.stop('signature', 'unverifiable', `A ${key.asymmetricKeyType} signature can only be checked over the whole file, which is not available.`, 'Verify the file itself rather than its digest.');
    }
    entity = { ...base, signature: new DigestMessageSignature(Buffer.from(signature), digest, algorithm, bytes) };
  } else {
    const envelope = bundle.content.dsseEnvelope;
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      return run.stop('artifact-binding', 'failed', `The envelope's payload type is ${JSON.stringify(envelope.payloadType)}, not an in-toto statement, so it names no file.`);
    }
    const sha256 = await artifact.digest('sha256');
    const subjects = run.details?.subjects ?? [];
    if (!sha256) return run.stop('artifact-binding', 'unverifiable', 'The sha256 digest of the artifact is not known.');
    const hex = sha256.toString('hex');
    if (!subjects.some((s) => s.sha256 === hex)) {
      const named = subjects.map((s) => `${s.name || '(unnamed)'} sha256:${s.sha256 ?? '(none)'}`).join('; ') || 'no subjects';
      return run.stop('artifact-binding', 'failed', `No subject of the in-toto statement has this file's sha256 ${hex} (statement names: ${named}).`);
    }
    run.pass('artifact-binding', `subject sha256 ${hex}`);
    const entries = bundle.verificationMaterial.tlogEntries;
    const hashedRekord = entries.length > 0 && entries.every((e) => e.kindVersion?.kind === 'hashedrekord');
    entity = { ...toSignedEntity(bundle), signature: new DsseEnvelopeSignature(envelope, hashedRekord) };
  }
  run.timestamps = describeTimestamps(entity);

  const trust = trustMaterialOf(
    options.trustedRoot,
    expectedKey ? () => ({ publicKey: expectedKey, validFor: () => true }) : undefined,
  );
  try {
    new Verifier(trust).verify(entity);
  } catch (e) {
    const check = stageOf((e as { code?: string }).code, signer);
    run.passStagesBefore(check, signer);
    return run.stop(check, 'failed', errorMessage(e));
  }
  run.passStagesBefore(undefined, signer);

  const identity = options.expect?.identity;
  if (identity && signer.kind === 'certificate') {
    if (signer.identity !== identity.subject || signer.issuer !== identity.issuer) {
      return run.stop(
        'identity',
        'failed',
        `Signed by ${signer.identity} (issuer ${signer.issuer ?? 'none'}), but ${identity.subject} (issuer ${identity.issuer}) was expected.`,
      );
    }
    run.pass('identity', `${signer.identity} (issuer ${signer.issuer})`);
  }
  return run.finish();
}

/** Collects the checks of one bundle and turns them into evidence. */
class BundleCheck {
  private readonly checks: Check[] = [];
  current?: CheckId;
  details?: BundleDetails;
  signer?: SignerInfo;
  tlogEntries: TlogEntryInfo[] = [];
  timestamps: TimestampInfo[] = [];
  trustedRoot?: { source: string; ignored: readonly string[] };

  constructor(private readonly companion: string) {}

  pass(id: CheckId, detail?: string): void {
    this.checks.push({ id, title: titleOf(id, this.signer), outcome: 'passed', detail });
    this.current = id;
  }

  passStagesBefore(failed: CheckId | undefined, signer: SignerInfo): void {
    for (const stage of VERIFIER_STAGES) {
      if (stage === failed) return;
      const id = stage === 'certificate' && signer.kind === 'key' ? 'signing-key' : stage;
      this.checks.push({ id, title: titleOf(id, signer), outcome: 'passed' });
    }
  }

  stop(id: CheckId, state: VerificationState, message: string, remedy: string = REMEDIES[id]): Evidence {
    this.checks.push({ id, title: titleOf(id, this.signer), outcome: 'failed', detail: message });
    const failure: Failure = { check: id, message, remedy };
    return this.evidence(state, message, failure);
  }

  finish(): Evidence {
    const signer = this.signer;
    const who = signer?.kind === 'certificate' ? `${signer.identity}${signer.issuer ? ` (${signer.issuer})` : ''}` : 'a trusted public key';
    return this.evidence('verified', `Signed by ${who}`);
  }

  private evidence(state: VerificationState, summary: string, failure?: Failure): Evidence {
    const notes: string[] = [];
    if (this.signer?.kind === 'key') notes.push('Signed with a public key: no certificate identity; trust rests on the key alone.');
    if (this.trustedRoot?.ignored.length) notes.push(...this.trustedRoot.ignored.map((i) => `Ignored in the trusted root: ${i}`));
    return {
      kind: 'sigstore-bundle',
      companion: this.companion,
      state,
      summary,
      checks: [...this.checks],
      failure,
      bundle: this.details,
      signer: this.signer,
      tlogEntries: this.tlogEntries,
      timestamps: this.timestamps,
      trustedRoot: this.trustedRoot,
      notes,
    };
  }
}

function titleOf(id: CheckId, signer?: SignerInfo): string {
  if (id === 'signing-key' && signer?.kind === 'key') return 'Public key accepted';
  return CHECK_TITLES[id];
}

function stageOf(code: string | undefined, signer: SignerInfo): CheckId {
  if (!code) return 'signature';
  if (code === 'TIMESTAMP_ERROR') return 'timestamps';
  if (code === 'CERTIFICATE_ERROR') return 'certificate';
  if (code === 'PUBLIC_KEY_ERROR') return signer.kind === 'key' ? 'signing-key' : 'certificate';
  if (code.startsWith('TLOG')) return 'transparency-log';
  return 'signature';
}

function signingKeyOf(entity: SignedEntity, expected?: KeyObject): KeyObject | undefined {
  if (entity.key.$case === 'certificate') return createPublicKey({ key: entity.key.certificate.publicKey, format: 'der', type: 'spki' });
  return expected;
}

function digestAlgorithmOf(algorithm: HashAlgorithm | undefined): DigestAlgorithm | undefined {
  switch (algorithm) {
    case undefined:
    case HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED:
    case HashAlgorithm.SHA2_256:
      return 'sha256';
    case HashAlgorithm.SHA2_384:
      return 'sha384';
    case HashAlgorithm.SHA2_512:
      return 'sha512';
    default:
      return undefined;
  }
}

function describeBundle(bundle: Bundle, mediaType: string): BundleDetails {
  if (bundle.content.$case === 'messageSignature') {
    const md = bundle.content.messageSignature.messageDigest;
    return {
      mediaType,
      content: 'message-signature',
      messageDigest: md ? { algorithm: digestAlgorithmOf(md.algorithm) ?? String(md.algorithm), hex: Buffer.from(md.digest).toString('hex') } : undefined,
    };
  }
  const envelope = bundle.content.dsseEnvelope;
  const details: BundleDetails = { mediaType, content: 'dsse', payloadType: envelope.payloadType };
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return details;
  try {
    const statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8')) as {
      predicateType?: unknown;
      subject?: unknown;
    };
    const subjects = Array.isArray(statement.subject)
      ? statement.subject.map((s: { name?: unknown; digest?: { sha256?: unknown } }) => ({
          name: typeof s?.name === 'string' ? s.name : '',
          sha256: typeof s?.digest?.sha256 === 'string' ? s.digest.sha256.toLowerCase() : undefined,
        }))
      : [];
    return { ...details, predicateType: typeof statement.predicateType === 'string' ? statement.predicateType : undefined, subjects };
  } catch {
    return { ...details, subjects: [] };
  }
}

function describeTlogEntry(entry: Bundle['verificationMaterial']['tlogEntries'][number]): TlogEntryInfo {
  const seconds = Number(entry.integratedTime);
  const proof = entry.inclusionProof;
  return {
    logId: Buffer.from(entry.logId?.keyId ?? []).toString('hex'),
    logIndex: entry.logIndex,
    kind: entry.kindVersion ? `${entry.kindVersion.kind} ${entry.kindVersion.version}` : 'unknown',
    integratedTime: seconds > 0 ? new Date(seconds * 1000) : undefined,
    inclusionPromise: !!entry.inclusionPromise?.signedEntryTimestamp?.length,
    inclusionProof: proof
      ? {
          logIndex: proof.logIndex,
          treeSize: proof.treeSize,
          rootHash: Buffer.from(proof.rootHash).toString('hex'),
          checkpoint: proof.checkpoint?.envelope,
        }
      : undefined,
  };
}

function describeTimestamps(entity: SignedEntity): TimestampInfo[] {
  return entity.timestamps.map((t): TimestampInfo => {
    if (t.$case === 'transparency-log') {
      return { source: 'transparency-log', time: new Date(Number(t.tlogEntry.integratedTime) * 1000), authority: `log ${Buffer.from(t.tlogEntry.logId?.keyId ?? []).toString('hex').slice(0, 16)}…` };
    }
    return { source: 'timestamp-authority', time: t.timestamp.signingTime, authority: signerOfTimestamp(t.timestamp) };
  });
}

function signerOfTimestamp(ts: RFC3161Timestamp): string | undefined {
  try {
    return distinguishedName(ts.signerIssuer);
  } catch {
    return undefined;
  }
}

function errorMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/\.$/, '');
}

function remedyOf(e: unknown): string | undefined {
  return e instanceof SigstoreError ? e.remedy : undefined;
}
