/**
 * cosign ≤ v2's own bundle format (`cosign sign-blob --bundle F.bundle`), converted into a
 * v0.1 Sigstore bundle so the one bundle verifier checks it: nothing here decides trust.
 *
 *   {"base64Signature": "…", "cert": base64(PEM certificate or PEM public key),
 *    "rekorBundle": {"SignedEntryTimestamp": "…", "Payload": {"body", "integratedTime", "logIndex", "logID"}}}
 *
 * `cert` and `rekorBundle` are optional: `--key … --tlog-upload=false` writes only the signature.
 */
import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import type { Artifact } from '../artifacts/artifact';
import { readLimited } from '../artifacts/artifact';
import { SigstoreError } from '../errors';
import { jsonProblem } from '../untrustedText';
import type { LoadedTrustedRoot } from '../trust/trustedRoot';
import { MAX_COMPANION_BYTES, verifyBundleObject } from './bundleVerifier';
import { certificateDerProblem } from './certificate';
import { EvidenceBuilder } from './evidenceBuilder';
import type { Check, CheckId, Evidence } from './result';
import { decodeStdBase64, parseStrictJson, StrictJsonError } from './strictJson';
import type { TrustInputs } from './trustInputs';

/** The bundle (or Rekor answer) cannot be turned into a Sigstore bundle. */
export class LegacyBundleError extends SigstoreError {
  constructor(message: string) {
    super('LEGACY_BUNDLE_INVALID', message, 'The bundle is damaged or not written by cosign. Download it again, or ask the signer for a .sigstore.json bundle.');
  }
}

/** A cosign legacy bundle names its signature `base64Signature`; a protobuf bundle never does. */
export function isLegacyCosignBundle(json: unknown): boolean {
  return isRecord(json) && 'base64Signature' in json;
}

export interface ConversionOptions {
  /**
   * The artifact's SHA-256, used as the message digest only when the bundle has no log entry
   * to take it from (nothing else records it; the signature itself then binds the file).
   */
  readonly artifactSha256?: Buffer;
}

/** Converts a legacy cosign bundle into v0.1 Sigstore bundle JSON. Throws `LegacyBundleError` on bad input. */
export function convertLegacyBundle(json: unknown, options: ConversionOptions = {}): object {
  if (!isRecord(json)) throw new LegacyBundleError('The legacy bundle is not a JSON object.');
  const signature = base64Field(json.base64Signature, 'base64Signature');

  let material: object = { publicKey: { hint: '' } };
  if (json.cert !== undefined && json.cert !== null && json.cert !== '') {
    if (typeof json.cert !== 'string') throw new LegacyBundleError('"cert" is not a string.');
    const pem = pemOf(json.cert, '"cert"');
    const certificates = pem.filter((b) => b.label === 'CERTIFICATE');
    if (certificates.length > 0) {
      for (const c of certificates) {
        const problem = certificateDerProblem(c.der);
        if (problem) throw new LegacyBundleError(`"cert": ${problem}.`);
      }
      material = { x509CertificateChain: { certificates: certificates.map((c) => ({ rawBytes: c.der.toString('base64') })) } };
    } else if (!pem.some((b) => b.label === 'PUBLIC KEY')) {
      throw new LegacyBundleError(`"cert" holds neither a certificate nor a public key (only ${pem.length === 1 ? 'another kind of PEM block' : `${pem.length} other PEM blocks`}).`);
    }
    // A public key stays a key: the verifier checks the signature with the trust policy's keys.
  }

  const tlogEntries: object[] = [];
  let digest: { algorithm: string; digest: string } | undefined;
  if (json.rekorBundle !== undefined && json.rekorBundle !== null) {
    const rekor = json.rekorBundle;
    if (!isRecord(rekor) || !isRecord(rekor.Payload)) throw new LegacyBundleError('"rekorBundle" has no "Payload" object.');
    const entry = tlogEntryFromRekor(
      {
        body: rekor.Payload.body,
        integratedTime: rekor.Payload.integratedTime,
        logIndex: rekor.Payload.logIndex,
        logID: rekor.Payload.logID,
        signedEntryTimestamp: rekor.SignedEntryTimestamp,
      },
      'rekorBundle',
    );
    tlogEntries.push(entry.json);
    digest = messageDigestOf(entry.body);
  }
  if (!digest && options.artifactSha256) {
    digest = { algorithm: 'SHA2_256', digest: options.artifactSha256.toString('base64') };
  }
  if (!digest) throw new LegacyBundleError('The bundle has no log entry, so it records no message digest, and none was given.');

  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: { ...material, tlogEntries, timestampVerificationData: { rfc3161Timestamps: [] } },
    messageSignature: { messageDigest: digest, signature: signature.toString('base64') },
  };
}

/** A Rekor v1 log entry as the API (and cosign's rekorBundle) carries it; every field untrusted. */
export interface RekorEntryFields {
  readonly body: unknown;
  readonly integratedTime: unknown;
  readonly logIndex: unknown;
  readonly logID: unknown;
  readonly signedEntryTimestamp: unknown;
  readonly inclusionProof?: unknown;
}

/** The decoded entry body: `kind`, `apiVersion` and `spec`, checked only for shape. */
export interface RekorBody {
  readonly kind: string;
  readonly apiVersion: string;
  readonly spec: Record<string, unknown>;
}

/**
 * Turns a Rekor v1 entry into a bundle's TransparencyLogEntry JSON, keeping every signed
 * byte as it was (the SET covers body, integratedTime, logIndex and logID exactly).
 */
export function tlogEntryFromRekor(fields: RekorEntryFields, where: string): { json: object; body: RekorBody } {
  if (typeof fields.body !== 'string') throw new LegacyBundleError(`${where}: the entry has no "body".`);
  const bodyBytes = base64Field(fields.body, `${where}.body`);
  let parsed: unknown;
  try {
    parsed = parseStrictJson(bodyBytes.toString('utf8'), { keys: 'go-struct' });
  } catch {
    throw new LegacyBundleError(`${where}: the entry body is not JSON.`);
  }
  if (!isRecord(parsed) || typeof parsed.kind !== 'string' || typeof parsed.apiVersion !== 'string' || !isRecord(parsed.spec)) {
    throw new LegacyBundleError(`${where}: the entry body has no kind, apiVersion and spec.`);
  }
  const body: RekorBody = { kind: parsed.kind, apiVersion: parsed.apiVersion, spec: parsed.spec };
  const logId = hexField(fields.logID, `${where}.logID`, 32);
  const set = base64Field(fields.signedEntryTimestamp, `${where}.SignedEntryTimestamp`);

  const json: Record<string, unknown> = {
    logIndex: integerField(fields.logIndex, `${where}.logIndex`),
    logId: { keyId: logId.toString('base64') },
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: integerField(fields.integratedTime, `${where}.integratedTime`),
    inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
    canonicalizedBody: fields.body.replace(/\s+/g, ''),
  };
  const proof = inclusionProofOf(fields.inclusionProof, where);
  if (proof) json.inclusionProof = proof;
  return { json, body };
}

/** Rekor's inclusion proof (hex hashes) in bundle form; dropped without a checkpoint, which the verifier needs. */
function inclusionProofOf(value: unknown, where: string): object | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new LegacyBundleError(`${where}: the inclusion proof is not an object.`);
  if (typeof value.checkpoint !== 'string' || value.checkpoint === '') return undefined;
  const hashes = value.hashes ?? [];
  if (!Array.isArray(hashes) || hashes.length > 64) throw new LegacyBundleError(`${where}: the inclusion proof's hashes are not a list of at most 64.`);
  return {
    logIndex: integerField(value.logIndex, `${where}.inclusionProof.logIndex`),
    rootHash: hexField(value.rootHash, `${where}.inclusionProof.rootHash`, 32).toString('base64'),
    treeSize: integerField(value.treeSize, `${where}.inclusionProof.treeSize`),
    hashes: hashes.map((h, i) => hexField(h, `${where}.inclusionProof.hashes[${i}]`, 32).toString('base64')),
    checkpoint: { envelope: value.checkpoint },
  };
}

const REKOR_HASH_ALGORITHMS: Record<string, string> = { sha256: 'SHA2_256', sha384: 'SHA2_384', sha512: 'SHA2_512' };

/** The signed digest a hashedrekord (or rekord) body records. */
function messageDigestOf(body: RekorBody): { algorithm: string; digest: string } | undefined {
  const data = body.spec.data;
  const hash = isRecord(data) ? data.hash : undefined;
  if (!isRecord(hash)) return undefined;
  const algorithm = typeof hash.algorithm === 'string' ? REKOR_HASH_ALGORITHMS[hash.algorithm] : undefined;
  if (!algorithm) throw new LegacyBundleError('The log entry\'s hash algorithm is not supported (only sha256, sha384 and sha512).');
  const size = algorithm === 'SHA2_256' ? 32 : algorithm === 'SHA2_384' ? 48 : 64;
  return { algorithm, digest: hexField(hash.value, 'the log entry\'s hash', size).toString('base64') };
}

/** Verifies a legacy cosign bundle companion: converted, then checked like any bundle. Never throws for bad input. */
export async function verifyLegacyBundle(path: string, artifact: Artifact, trust: TrustInputs): Promise<Evidence> {
  const run = new EvidenceBuilder('cosign-legacy-bundle', path);
  let bytes: Buffer;
  try {
    bytes = await readLimited(path, MAX_COMPANION_BYTES);
  } catch (e) {
    const missing = e instanceof SigstoreError && e.code === 'NOT_FOUND';
    return run.stop('read', missing ? 'unverifiable' : 'failed', messageOf(e), (e instanceof SigstoreError && e.remedy) || 'Check that the companion file exists and is readable.');
  }
  run.pass('read', `${bytes.length} bytes`);

  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    // cosign reads its bundle into Go structs: keys match case-insensitively there.
    json = parseStrictJson(text, { keys: 'go-struct' });
  } catch (e) {
    if (e instanceof StrictJsonError) return run.stop('parse', 'failed', e.message, DAMAGED);
    return run.stop('parse', 'failed', `The companion ${jsonProblem(text)}.`, DAMAGED);
  }
  if (!isLegacyCosignBundle(json)) {
    return run.stop('parse', 'failed', 'The companion is not a cosign bundle: it has no "base64Signature".', DAMAGED);
  }
  run.pass('parse', 'cosign legacy bundle');

  let bundle: object;
  try {
    bundle = convertLegacyBundle(json, { artifactSha256: await artifact.digest('sha256') });
  } catch (e) {
    if (!(e instanceof LegacyBundleError)) throw e;
    return run.stop('conversion', 'failed', e.message, e.remedy ?? DAMAGED);
  }
  run.pass('conversion', BUNDLE_V01_MEDIA_TYPE);

  const hasLogEntry = hasTlogEntries(bundle);
  let trustedRoot: LoadedTrustedRoot;
  if (!('error' in trust.trustedRoot)) {
    trustedRoot = trust.trustedRoot;
  } else if (!hasLogEntry && isKeyMaterial(bundle)) {
    // A key-signed bundle with nothing logged needs no trusted root at all.
    trustedRoot = NO_ROOT;
  } else {
    return run.stop('timestamps', 'unverifiable', trust.trustedRoot.error, trust.trustedRoot.remedy);
  }

  const tail = await verifyBundleObject(path, bundle, artifact, { trustedRoot, keys: trust.publicKeys, kind: 'cosign-legacy-bundle' });
  run.notes.push('Converted from cosign\'s legacy bundle format (cosign ≤ v2 `--bundle`).');
  return joinEvidence(run, tail);
}

const DAMAGED = 'The companion is damaged or not a cosign bundle. Download it again from where you got the file.';

// Checks the bundle verifier records about the bundle JSON itself: for a bundle we built,
// "conversion" already says it.
const OWN_BUNDLE_CHECKS: readonly CheckId[] = ['parse', 'media-type', 'schema'];

/**
 * One piece of evidence from the checks recorded so far in `head` and the bundle verifier's
 * result for the converted bundle (`tail`): its state, signer and details, our checks first.
 */
export function joinEvidence(head: EvidenceBuilder, tail: Evidence): Evidence {
  const prefix = head.finish().checks;
  const checks: Check[] = [...prefix, ...tail.checks.filter((c) => !(c.outcome === 'passed' && OWN_BUNDLE_CHECKS.includes(c.id)))];
  return { ...tail, kind: head.kind, companion: head.companion, checks, notes: [...head.notes, ...tail.notes] };
}

const NO_ROOT: LoadedTrustedRoot = {
  source: 'none needed (key-signed, nothing logged)',
  root: TrustedRoot.fromJSON({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }),
  ignored: [],
};

function hasTlogEntries(bundle: object): boolean {
  const material = (bundle as { verificationMaterial?: { tlogEntries?: unknown[] } }).verificationMaterial;
  return (material?.tlogEntries?.length ?? 0) > 0;
}

function isKeyMaterial(bundle: object): boolean {
  return (bundle as { verificationMaterial?: { publicKey?: unknown } }).verificationMaterial?.publicKey !== undefined;
}

// ---- strict decoding of untrusted fields -----------------------------------------------

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (whitespace ignored); undefined when `text` is not that. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

function base64Field(value: unknown, name: string): Buffer {
  if (typeof value !== 'string') throw new LegacyBundleError(`"${name}" is missing or not a string.`);
  // As cosign decodes it (Go's StdEncoding): a blank or stray character inside is refused.
  const decoded = decodeStdBase64(value);
  if (!decoded?.length) throw new LegacyBundleError(`"${name}" is not valid base64.`);
  return decoded;
}

function hexField(value: unknown, name: string, bytes: number): Buffer {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(value)) {
    throw new LegacyBundleError(`"${name}" is not ${bytes} bytes of hex.`);
  }
  return Buffer.from(value, 'hex');
}

/** A non-negative integer, as a decimal string (protobuf JSON's int64 form). */
function integerField(value: unknown, name: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^\d{1,19}$/.test(value)) return BigInt(value).toString();
  throw new LegacyBundleError(`"${name}" is not a non-negative integer.`);
}

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

const PEM_BEGIN = '-----BEGIN ';
const PEM_END = '-----END ';
const PEM_DASHES = '-----';

/** The label of a `-----BEGIN <label>-----` / `-----END <label>-----` line at `at` (after its prefix), and where it ends. */
function pemLabelAt(text: string, at: number): { label: string; end: number } | undefined {
  let i = at;
  while (i < text.length && /[A-Z0-9 ]/.test(text[i]!)) i++;
  if (i === at || !text.startsWith(PEM_DASHES, i)) return undefined;
  return { label: text.slice(at, i), end: i + PEM_DASHES.length };
}

/**
 * PEM blocks in `text`: each `-----BEGIN L-----` with the first `-----END L-----` after it.
 * Scanned in one pass over the END lines: a regular expression searching ahead for the END
 * of every BEGIN was quadratic in a text of BEGIN lines only.
 */
export function pemBlocks(text: string): PemBlock[] {
  const ends = new Map<string, number[]>();
  for (let at = text.indexOf(PEM_END); at >= 0; at = text.indexOf(PEM_END, at + 1)) {
    const found = pemLabelAt(text, at + PEM_END.length);
    if (!found) continue;
    let list = ends.get(found.label);
    if (!list) ends.set(found.label, (list = []));
    list.push(at);
  }
  const nextEnd = new Map<string, number>();
  const blocks: PemBlock[] = [];
  let cursor = 0;
  for (let at = text.indexOf(PEM_BEGIN); at >= 0; at = text.indexOf(PEM_BEGIN, Math.max(at + 1, cursor))) {
    if (at < cursor) continue;
    const begin = pemLabelAt(text, at + PEM_BEGIN.length);
    const list = begin && ends.get(begin.label);
    if (!begin || !list) continue;
    // END lines of this label are used in order: one before this BEGIN never ends a later one.
    let k = nextEnd.get(begin.label) ?? 0;
    while (k < list.length && list[k]! < begin.end) k++;
    nextEnd.set(begin.label, k);
    if (k === list.length) continue;
    const endAt = list[k]!;
    const der = decodeBase64(text.slice(begin.end, endAt));
    if (der?.length) blocks.push({ label: begin.label, der });
    cursor = endAt + PEM_END.length + begin.label.length + PEM_DASHES.length;
  }
  return blocks;
}

/**
 * The PEM blocks of a certificate or key file in either spelling cosign and its peers use:
 * plain PEM, or base64 of the PEM text (cosign's `--output-certificate`, the bundle's "cert").
 */
export function pemOf(text: string, what: string): PemBlock[] {
  let blocks = pemBlocks(text);
  if (blocks.length === 0) {
    // cosign tries Go's StdEncoding on the whole text, then reads it as PEM.
    const decoded = decodeStdBase64(text);
    if (decoded) blocks = pemBlocks(decoded.toString('utf8'));
  }
  if (blocks.length === 0) throw new LegacyBundleError(`${what} is neither PEM nor base64 of PEM.`);
  return blocks;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\.$/, '');
}
