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
import { basename } from 'node:path';
import type { Artifact, DigestAlgorithm } from '../artifacts/artifact';
import { readLimited, SMALL_FILE_BYTES } from '../artifacts/artifact';
import { SigstoreError } from '../errors';
import { printable } from '../text/printable';
import { jsonProblem, withoutValues } from '../untrustedText';
import { trustMaterialOf, type LoadedTrustedRoot } from '../trust/trustedRoot';
import { certificateDerProblem, certificateSigner, distinguishedName } from './certificate';
import { nextTurn } from './cpuTurns';
import './derEncodingCache';
import { DsseEnvelopeSignature } from './dsseSignature';
import { DigestMessageSignature, verifiesFromDigest } from './messageSignature';
import { EvidenceBuilder } from './evidenceBuilder';
import type { BundleDetails, CheckId, Evidence, EvidenceKind, SignerInfo, TimestampInfo, TlogEntryInfo } from './result';
import type { NamedPublicKey } from './trustInputs';
import { isProtojsonBase64, parseStrictJson, StrictJsonError } from './strictJson';

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
  /** Keys a key-signed bundle may verify with (from the trust policy); the first that works is the signer. */
  readonly keys?: readonly NamedPublicKey[];
  /** How the evidence is labelled: converted legacy bundles and attestation lines reuse this verifier. */
  readonly kind?: EvidenceKind;
  readonly line?: number;
}

// The order in which @sigstore/verify's Verifier runs its stages, so a failure at one
// stage tells us which ones passed before it.
const VERIFIER_STAGES: readonly CheckId[] = ['timestamps', 'certificate', 'transparency-log', 'signature'];

const REMEDIES: Partial<Record<CheckId, string>> & Record<'read' | 'parse' | 'schema', string> = {
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
    return fail(builderOf(companionPath, options), 'read', missing ? 'unverifiable' : 'failed', errorMessage(e), remedyOf(e) ?? REMEDIES.read);
  }
  return verifyBundleBytes(companionPath, bytes, artifact, options);
}

export async function verifyBundleBytes(companionPath: string, bytes: Buffer, artifact: Artifact, options: BundleVerificationOptions): Promise<Evidence> {
  const run = builderOf(companionPath, options);
  run.pass('read', `${bytes.length} bytes`);

  if (bytes.length === 0) return fail(run, 'parse', 'failed', 'The companion file is empty.');
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = parseStrictJson(text, { keys: 'protojson' });
  } catch (e) {
    if (e instanceof StrictJsonError) return fail(run, 'parse', 'failed', e.message);
    return fail(run, 'parse', 'failed', `The companion ${jsonProblem(text)}.`);
  }
  return verifyBundleJSON(run, json, artifact, options);
}

/** Verifies an already parsed bundle object (a converted legacy bundle, one line of a JSON-lines file). */
export async function verifyBundleObject(companionPath: string, json: unknown, artifact: Artifact, options: BundleVerificationOptions): Promise<Evidence> {
  return verifyBundleJSON(builderOf(companionPath, options), json, artifact, options);
}

async function verifyBundleJSON(run: EvidenceBuilder, json: unknown, artifact: Artifact, options: BundleVerificationOptions): Promise<Evidence> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail(run, 'parse', 'failed', 'The companion is JSON but not a bundle object.');
  }
  const badBytes = malformedBytesField(json);
  if (badBytes !== undefined) {
    return fail(run, 'parse', 'failed', `The bundle's ${badBytes} is not base64 as Sigstore's other verifiers read it (stray characters or blanks), so what it holds is ambiguous.`);
  }
  const keys = options.keys ?? [];
  if (keys.length > 0 && !options.expect?.publicKey && isKeySigned(json)) {
    return verifyWithPolicyKeys(run, json, artifact, options, keys);
  }
  run.pass('parse');

  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string') {
    return fail(run, 'media-type', 'failed', 'The companion has no "mediaType": it is not a Sigstore bundle.', REMEDIES.parse);
  }
  if (!KNOWN_BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    // Named only when it is evidently a Sigstore bundle version: the field is the file's content.
    const named = /^application\/vnd\.dev\.sigstore\.bundle(?:\.v[0-9.]+)?\+json(?:;version=[0-9.]+)?$/.test(mediaType) ? ` ${mediaType}` : '';
    return fail(run, 'media-type', 'unverifiable', `Unknown bundle media type${named}.`);
  }
  run.pass('media-type', mediaType);

  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    return fail(run, 'schema', 'failed', `The bundle is not valid: ${schemaProblem(e)}.`);
  }
  run.pass('schema');

  try {
    return await verifyParsed(run, bundle, mediaType, artifact, options);
  } catch (e) {
    // A malformed certificate or timestamp deep inside the bundle: bad evidence, not a crash.
    return fail(run, run.current ?? 'schema', 'failed', `The bundle could not be checked: ${withoutValues(e)}.`);
  }
}

async function verifyParsed(run: EvidenceBuilder, bundle: Bundle, mediaType: string, artifact: Artifact, options: BundleVerificationOptions): Promise<Evidence> {
  run.current = 'schema';
  run.details = describeBundle(bundle, mediaType);
  run.tlogEntries = bundle.verificationMaterial.tlogEntries.map(describeTlogEntry);
  run.trustedRoot = { source: options.trustedRoot.source, ignored: options.trustedRoot.ignored };

  const material = bundle.verificationMaterial.content;
  let signer: SignerInfo;
  if (material.$case === 'publicKey') {
    signer = { kind: 'key', hint: material.publicKey.hint };
  } else {
    const certificates = material.$case === 'certificate' ? [material.certificate] : material.x509CertificateChain.certificates;
    const raw = certificates[0]?.rawBytes;
    if (!raw) return fail(run, 'schema', 'failed', 'The bundle has no signing certificate.');
    for (const c of certificates) {
      const problem = certificateDerProblem(Buffer.from(c.rawBytes));
      if (problem) return fail(run, 'certificate', 'failed', `The bundle's certificate is malformed: ${problem}.`);
    }
    signer = certificateSigner(X509Certificate.parse(Buffer.from(raw)));
  }
  run.signer = signer;

  // Key material must be what the caller asked for.
  const expectedKey = options.expect?.publicKey;
  if (signer.kind === 'key' && !expectedKey) {
    return fail(run, 
      'signing-key',
      'unverifiable',
      `The bundle is signed with a public key${signer.hint ? ` (hint ${signer.hint})` : ''}, and no key is configured to check it.`,
      'Obtain the signer\'s public key (for example cosign.pub) and verify with it.',
    );
  }
  if (signer.kind === 'certificate' && expectedKey) {
    return fail(run, 'signing-key', 'failed', 'A public key was expected, but the bundle carries a certificate.', REMEDIES['signing-key']);
  }
  if (signer.kind === 'key' && options.expect?.identity) {
    return fail(run, 'identity', 'failed', 'A certificate identity was expected, but the bundle is signed with a bare public key.', REMEDIES.identity);
  }

  // Bind the bundle to this artifact: the part @sigstore/verify leaves to the caller.
  let entity: SignedEntity;
  if (bundle.content.$case === 'messageSignature') {
    const { messageDigest, signature } = bundle.content.messageSignature;
    const algorithm = digestAlgorithmOf(messageDigest?.algorithm);
    if (!algorithm) return fail(run, 'schema', 'failed', `Unsupported message digest algorithm ${messageDigest?.algorithm}.`);
    const digest = await artifact.digest(algorithm);
    if (!digest) {
      return fail(run, 'artifact-binding', 'unverifiable', `The bundle signs a ${algorithm} digest, and only a sha256 digest of the artifact is known.`, 'Verify the file itself rather than its digest.');
    }
    if (messageDigest && !Buffer.from(messageDigest.digest).equals(digest)) {
      return fail(run, 'artifact-binding', 'failed', `The file's ${algorithm} is ${digest.toString('hex')}, but the bundle was made for ${Buffer.from(messageDigest.digest).toString('hex')}.`);
    }
    run.pass('artifact-binding', `${algorithm} ${digest.toString('hex')}`);
    const base = toSignedEntity(bundle);
    const key = signingKeyOf(base, expectedKey);
    const bytes = await artifact.bytes(key && !verifiesFromDigest(key) ? MAX_WHOLE_ARTIFACT_BYTES : SMALL_FILE_BYTES);
    if (key && !verifiesFromDigest(key) && !bytes) {
      return fail(run, 'signature', 'unverifiable', `A ${key.asymmetricKeyType} signature can only be checked over the whole file, which is not available.`, 'Verify the file itself rather than its digest.');
    }
    entity = { ...base, signature: new DigestMessageSignature(Buffer.from(signature), digest, algorithm, bytes) };
  } else {
    const envelope = bundle.content.dsseEnvelope;
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      return fail(run, 'artifact-binding', 'failed', `The envelope's payload type is not in-toto's (${IN_TOTO_PAYLOAD_TYPE}), so it names no file.`);
    }
    const ambiguity = statementAmbiguity(envelope.payload);
    if (ambiguity) return fail(run, 'schema', 'failed', `The in-toto statement is ambiguous: ${ambiguity}`);
    const sha256 = await artifact.digest('sha256');
    const subjects = run.details?.subjects ?? [];
    if (!sha256) return fail(run, 'artifact-binding', 'unverifiable', 'The sha256 digest of the artifact is not known.');
    const hex = sha256.toString('hex');
    if (!subjects.some((s) => s.sha256 === hex)) {
      // The subjects themselves are in the bundle details; the message only counts them.
      const counted = subjects.length === 0 ? 'it has no subjects' : `it has ${subjects.length} subject${subjects.length === 1 ? '' : 's'}`;
      return fail(run, 'artifact-binding', 'failed', `No subject of the in-toto statement has this file's sha256 ${hex} (${counted}).`);
    }
    run.pass('artifact-binding', `subject sha256 ${hex}`);
    noteSubjectName(run, subjects.filter((s) => s.sha256 === hex), artifact);
    const entries = bundle.verificationMaterial.tlogEntries;
    const hashedRekord = entries.length > 0 && entries.every((e) => e.kindVersion?.kind === 'hashedrekord');
    entity = { ...toSignedEntity(bundle), signature: new DsseEnvelopeSignature(envelope, hashedRekord) };
  }
  run.timestamps = describeTimestamps(entity);

  const trust = trustMaterialOf(
    options.trustedRoot,
    expectedKey ? () => ({ publicKey: expectedKey, validFor: () => true }) : undefined,
  );
  // A key-signed bundle needs no log entry or timestamp (cosign --tlog-upload=false writes
  // such bundles); entries that are present are still checked. The report says it is weaker.
  const keyOnly = signer.kind === 'key' && bundle.verificationMaterial.tlogEntries.length === 0 && entity.timestamps.length === 0;
  if (keyOnly) run.notes.push('No transparency-log entry or timestamp: nothing proves when this was signed, or that the signature was published.');
  await nextTurn();
  try {
    new Verifier(trust, keyOnly ? { tlogThreshold: 0, timestampThreshold: 0 } : {}).verify(entity);
  } catch (e) {
    const check = stageOf((e as { code?: string }).code, signer);
    passStagesBefore(run, check, signer);
    return fail(run, check, 'failed', withoutValues(e));
  }
  passStagesBefore(run, undefined, signer);

  const identity = options.expect?.identity;
  if (identity && signer.kind === 'certificate') {
    if (signer.identity !== identity.subject || signer.issuer !== identity.issuer) {
      return fail(run, 
        'identity',
        'failed',
        `Signed by ${signer.identity} (issuer ${signer.issuer ?? 'none'}), but ${identity.subject} (issuer ${identity.issuer}) was expected.`,
      );
    }
    run.pass('identity', `${signer.identity} (issuer ${signer.issuer})`);
  }
  return run.finish();
}

/** The bytes fields of a bundle (protobuf JSON), each a path of keys; `[]` is every item of an array. */
const BYTES_FIELDS: readonly (readonly string[])[] = [
  ['verificationMaterial', 'certificate', 'rawBytes'],
  ['verificationMaterial', 'x509CertificateChain', 'certificates', '[]', 'rawBytes'],
  ['verificationMaterial', 'tlogEntries', '[]', 'logId', 'keyId'],
  ['verificationMaterial', 'tlogEntries', '[]', 'canonicalizedBody'],
  ['verificationMaterial', 'tlogEntries', '[]', 'inclusionPromise', 'signedEntryTimestamp'],
  ['verificationMaterial', 'tlogEntries', '[]', 'inclusionProof', 'rootHash'],
  ['verificationMaterial', 'tlogEntries', '[]', 'inclusionProof', 'hashes', '[]'],
  ['verificationMaterial', 'timestampVerificationData', 'rfc3161Timestamps', '[]', 'signedTimestamp'],
  ['messageSignature', 'messageDigest', 'digest'],
  ['messageSignature', 'signature'],
  ['dsseEnvelope', 'payload'],
  ['dsseEnvelope', 'signatures', '[]', 'sig'],
];

/**
 * The first bytes field whose text protojson (sigstore-go, cosign) refuses, as a dotted path;
 * @sigstore/bundle decodes with Buffer.from, which skips any junk, so that is checked here.
 */
function malformedBytesField(json: object): string | undefined {
  for (const path of BYTES_FIELDS) {
    let values: { value: unknown; where: string }[] = [{ value: json, where: '' }];
    for (const key of path) {
      const next: { value: unknown; where: string }[] = [];
      for (const { value, where } of values) {
        if (key === '[]') {
          if (Array.isArray(value)) value.forEach((item, i) => next.push({ value: item, where: `${where}[${i}]` }));
        } else if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)) {
          next.push({ value: (value as Record<string, unknown>)[key], where: where ? `${where}.${key}` : key });
        }
      }
      values = next;
    }
    const bad = values.find(({ value }) => typeof value === 'string' && !isProtojsonBase64(value));
    if (bad) return `"${bad.where}"`;
  }
  return undefined;
}

/** Why an in-toto statement's JSON is read differently by other verifiers, if it is. */
function statementAmbiguity(payload: Uint8Array): string | undefined {
  try {
    // in-toto's Go types are structs at the top level: `subject` and `Subject` are one field there.
    parseStrictJson(Buffer.from(payload).toString('utf8'), { keys: 'go-struct', structDepth: 1 });
  } catch (e) {
    if (e instanceof StrictJsonError) return e.message;
  }
  return undefined;
}

function isKeySigned(json: object): boolean {
  const material = (json as { verificationMaterial?: { publicKey?: unknown } }).verificationMaterial;
  return typeof material === 'object' && material !== null && material.publicKey !== undefined;
}

/** A key-signed bundle verifies if one of the policy's keys verifies it; that key is the signer. */
async function verifyWithPolicyKeys(
  run: EvidenceBuilder,
  json: object,
  artifact: Artifact,
  options: BundleVerificationOptions,
  keys: readonly NamedPublicKey[],
): Promise<Evidence> {
  let last: Evidence | undefined;
  for (const { key, source } of keys) {
    const attempt = builderOf(run.companion, options);
    const evidence = await verifyBundleJSON(attempt, json, artifact, { ...options, keys: undefined, expect: { ...options.expect, publicKey: key } });
    if (evidence.state === 'verified') {
      const signer = evidence.signer?.kind === 'key' ? { ...evidence.signer, source } : evidence.signer;
      return { ...evidence, signer, summary: `Signed with the key in ${source}` };
    }
    // A key that fails at the signature is merely the wrong key; any other failure is about the bundle.
    if (evidence.failure?.check !== 'signature' && evidence.failure?.check !== 'signing-key') return evidence;
    last = evidence;
  }
  const names = keys.map((k) => k.source).join(', ');
  return {
    ...last!,
    summary: `None of the trusted keys verifies this signature (${names}).`,
    failure: {
      check: 'signature',
      message: `None of the trusted keys verifies this signature (${names}).`,
      remedy: 'The file was changed after signing, or signed with another key. Get the original file, or the signer\'s current public key.',
    },
  };
}

function builderOf(companion: string, options: BundleVerificationOptions): EvidenceBuilder {
  return new EvidenceBuilder(options.kind ?? 'sigstore-bundle', companion, options.line);
}

/**
 * The digest binds a statement to a file, as in cosign and sigstore-go; the subject's name is
 * a label anyone may choose (an npm purl, a path in another tree). Say so when it differs from
 * the file's name, so a statement made for another file is visible in the report.
 */
function noteSubjectName(run: EvidenceBuilder, matching: readonly { name: string }[], artifact: Artifact): void {
  if (artifact.name.startsWith('sha256:')) return;
  const file = basename(artifact.name);
  const names = matching.map((s) => s.name).filter((n) => n !== '');
  if (names.length === 0 || names.some((n) => n === file || n.endsWith(`/${file}`))) return;
  const shown = names.slice(0, 3).map((n) => JSON.stringify(printable(n, 120)));
  run.notes.push(`The statement names this digest ${shown.join(', ')}, not ${JSON.stringify(printable(file, 120))}: the digest binds it to this file; the name is only a label.`);
}

function fail(run: EvidenceBuilder, id: CheckId, state: 'failed' | 'unverifiable', message: string, remedy = REMEDIES[id] ?? REMEDIES.schema): Evidence {
  return run.stop(id, state, message, remedy);
}

function passStagesBefore(run: EvidenceBuilder, failed: CheckId | undefined, signer: SignerInfo): void {
  for (const stage of VERIFIER_STAGES) {
    if (stage === failed) return;
    run.pass(stage === 'certificate' && signer.kind === 'key' ? 'signing-key' : stage);
  }
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

/** What the bundle schema check refused: the field names it lists, never their values. */
function schemaProblem(e: unknown): string {
  const fields = (e as { fields?: unknown }).fields;
  if (Array.isArray(fields) && fields.length > 0 && fields.every((f) => typeof f === 'string' && /^[\w.[\]$]{1,100}$/.test(f))) {
    return `${fields.length === 1 ? 'the field' : 'the fields'} ${fields.slice(0, 8).join(', ')}${fields.length > 8 ? ', …' : ''} ${fields.length === 1 ? 'is' : 'are'} missing or malformed`;
  }
  return withoutValues(e);
}

function errorMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/\.$/, '');
}

function remedyOf(e: unknown): string | undefined {
  return e instanceof SigstoreError ? e.remedy : undefined;
}
