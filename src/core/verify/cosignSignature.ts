/**
 * cosign's detached signatures: `F.sig` (base64 of a DER ECDSA signature, or raw with
 * `--b64=false`), alone (signed with a key) or with the short-lived certificate cosign wrote
 * next to it (`F.pem`/`F.crt`/`F.cert`, keyless). A keyless signature is worthless without a
 * trusted signing time, which only the transparency log has: we look the entry up in Rekor
 * (when the user allows network lookups) and verify it as a bundle against the trusted root.
 */
import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Artifact, DigestAlgorithm } from '../artifacts/artifact';
import { readLimited, SMALL_FILE_BYTES } from '../artifacts/artifact';
import { SigstoreError } from '../errors';
import { withoutValues } from '../untrustedText';
import { verifyBundleObject } from './bundleVerifier';
import { certificateDerProblem, certificateSigner } from './certificate';
import { EvidenceBuilder } from './evidenceBuilder';
import { decodeStdBase64 } from './strictJson';
import { decodeBase64, joinEvidence, LegacyBundleError, pemOf, tlogEntryFromRekor, type RekorBody } from './legacyBundle';
import { DigestMessageSignature, verifiesFromDigest } from './messageSignature';
import type { CheckId, Evidence } from './result';
import type { TrustInputs } from './trustInputs';

/** A signature is a few hundred bytes (RSA-4096 in base64: ~700); anything far larger is not one. */
const MAX_SIGNATURE_BYTES = 64 * 1024;
/** A certificate (with a chain) in PEM, possibly base64 again. */
const MAX_CERTIFICATE_BYTES = 256 * 1024;
/** RSA and Ed25519 signatures are checked over the whole file, up to this size. */
const MAX_WHOLE_ARTIFACT_BYTES = 256 * 1024 * 1024;
/** Rekor answers are small; a larger one is not an answer we want. */
export const MAX_REKOR_RESPONSE_BYTES = 1024 * 1024;
export const REKOR_TIMEOUT_MS = 15_000;
/** Entries looked at for one artifact digest (popular files have many entries; ours is usually the only one). */
const MAX_CANDIDATE_ENTRIES = 50;
/** Rekor's search accepts at most 10 UUIDs per query. */
const UUIDS_PER_QUERY = 10;

const REMEDY = {
  read: 'Check that the signature file exists and is readable.',
  parse: 'The signature file is damaged or not a cosign signature. Download it again from where you got the file.',
  certificateParse: 'The certificate file is damaged or not a certificate. Download it again from where you got the file.',
  noKey: 'Name the signer\'s public key (for example cosign.pub) in the trust policy.',
  wrongKey: 'The file was changed after signing, or signed with another key. Get the original file, or the signer\'s current public key.',
  certKey: 'The signature does not match the certificate next to it: the file changed after signing, or the two files do not belong together. Get the original files.',
  offline:
    'Allow network lookups (set "sigstore.network.enabled") so the entry can be found in the transparency log, or get the signer\'s .sigstore.json bundle, which carries the log entry.',
  lookup: 'Check the network connection and the Rekor URL, then verify again; or get the signer\'s .sigstore.json bundle, which carries the log entry.',
  notFound:
    'The transparency log has no entry for this signature and certificate. Check that the Rekor URL is the log the signer used, or get the signer\'s .sigstore.json bundle.',
  badAnswer:
    'The transparency log\'s answer does not verify against the trusted root, so it proves nothing. Check the Rekor URL and the trusted root, or get the signer\'s .sigstore.json bundle.',
};

/**
 * Verifies cosign's `F.sig` (and, keyless, its certificate `certPath`) against the artifact.
 * Never throws for bad input or network trouble; rethrows only when `signal` aborts.
 */
export async function verifyCosignSignature(
  sigPath: string,
  certPath: string | undefined,
  artifact: Artifact,
  trust: TrustInputs,
  signal?: AbortSignal,
): Promise<Evidence> {
  const run = new EvidenceBuilder('cosign-signature', sigPath);
  const raw = await readCompanion(run, sigPath, MAX_SIGNATURE_BYTES);
  if (!Buffer.isBuffer(raw)) return raw;
  run.pass('read', `${raw.length} bytes`);
  const signature = decodeSignature(raw);
  if (!signature) {
    return run.stop('parse', 'failed', raw.length === 0 ? 'The signature file is empty.' : 'The signature file is neither base64 nor a DER signature.', REMEDY.parse);
  }
  const parsed = `signature: ${signature.form}, ${signature.bytes.length} bytes`;

  if (certPath === undefined) {
    run.pass('parse', parsed);
    return verifyWithPolicyKeys(run, signature.bytes, artifact, trust);
  }
  return verifyKeyless(run, signature.bytes, parsed, certPath, artifact, trust, signal);
}

// ---- key-based ------------------------------------------------------------------------

async function verifyWithPolicyKeys(run: EvidenceBuilder, signature: Buffer, artifact: Artifact, trust: TrustInputs): Promise<Evidence> {
  run.notes.push(
    'Nothing was logged: no transparency-log entry or timestamp proves when this was signed or that the signature was published (like `cosign verify-blob --insecure-ignore-tlog`).',
  );
  if (trust.publicKeys.length === 0) {
    return run.stop('signing-key', 'unverifiable', 'No public key configured; name cosign.pub in the trust policy.', REMEDY.noKey);
  }
  const unchecked: string[] = [];
  for (const { key, source } of trust.publicKeys) {
    const outcome = await signatureMatches(signature, key, artifact);
    if (outcome === true) {
      run.signer = { kind: 'key', hint: '', source };
      run.pass('signing-key', `the key in ${source}`);
      run.pass('signature');
      return run.finish('verified', `Signed with the key in ${source}`);
    }
    if (outcome !== false) unchecked.push(`${source}: ${outcome}`);
  }
  const names = trust.publicKeys.map((k) => k.source).join(', ');
  if (unchecked.length === trust.publicKeys.length) {
    return run.stop('signature', 'unverifiable', `The signature could not be checked (${unchecked.join('; ')}).`, 'Verify the file itself rather than its digest.');
  }
  return run.stop('signature', 'failed', `None of the trusted keys verifies this signature (${names}).`, REMEDY.wrongKey);
}

/**
 * Whether `signature` is `key`'s over the artifact, or why it cannot be told. cosign signs
 * SHA-256 with ECDSA and RSA (PKCS#1 v1.5), and the message itself with Ed25519; a P-384 or
 * P-521 key may also have used its curve's own hash (newer signers do).
 */
async function signatureMatches(signature: Buffer, key: KeyObject, artifact: Artifact): Promise<boolean | string> {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const algorithms: DigestAlgorithm[] = ['sha256'];
  if (curve === 'secp384r1') algorithms.push('sha384');
  if (curve === 'secp521r1') algorithms.push('sha512');
  const fromDigest = verifiesFromDigest(key);
  const bytes = await artifact.bytes(fromDigest ? SMALL_FILE_BYTES : MAX_WHOLE_ARTIFACT_BYTES);
  if (!fromDigest && !bytes) return `a ${key.asymmetricKeyType} signature can only be checked over the whole file, which is not available`;
  let checked = false;
  for (const algorithm of algorithms) {
    const digest = await artifact.digest(algorithm);
    if (!digest) continue;
    checked = true;
    if (new DigestMessageSignature(signature, digest, algorithm, bytes).verifySignature(key)) return true;
  }
  return checked ? false : 'the artifact\'s digest is not known';
}

// ---- keyless (certificate) ----------------------------------------------------------

async function verifyKeyless(
  run: EvidenceBuilder,
  signature: Buffer,
  parsed: string,
  certPath: string,
  artifact: Artifact,
  trust: TrustInputs,
  signal: AbortSignal | undefined,
): Promise<Evidence> {
  const raw = await readCompanion(run, certPath, MAX_CERTIFICATE_BYTES);
  if (!Buffer.isBuffer(raw)) return raw;
  let certificate: X509Certificate;
  let der: Buffer;
  try {
    ({ certificate, der } = parseCertificate(raw));
    run.signer = certificateSigner(certificate);
  } catch (e) {
    return run.stop('parse', 'failed', `${certPath}: ${certificateProblem(e)}.`, REMEDY.certificateParse);
  }
  run.pass('parse', `${parsed}; certificate: ${certPath}`);

  // Checked locally first: a signature that does not match its certificate is bad whatever the log says.
  let key: KeyObject;
  try {
    key = createPublicKey({ key: certificate.publicKey, format: 'der', type: 'spki' });
  } catch (e) {
    return run.stop('parse', 'failed', `${certPath}: the certificate's public key cannot be read (${withoutValues(e)}).`, REMEDY.certificateParse);
  }
  const matches = await signatureMatches(signature, key, artifact);
  if (matches === false) return run.stop('signature', 'failed', 'The signature does not match the key in its certificate.', REMEDY.certKey);
  if (matches !== true) return run.stop('signature', 'unverifiable', `The signature could not be checked: ${matches}.`, 'Verify the file itself rather than its digest.');

  if ('error' in trust.trustedRoot) return run.stop('timestamps', 'unverifiable', trust.trustedRoot.error, trust.trustedRoot.remedy);
  const trustedRoot = trust.trustedRoot;
  if (!trust.network.allowed) {
    return run.stop(
      'rekor-lookup',
      'unverifiable',
      'The signature comes with a short-lived signing certificate, which needs a trusted signing time from the transparency log; network lookups are off.',
      REMEDY.offline,
    );
  }

  const sha256 = await artifact.digest('sha256');
  if (!sha256) return run.stop('rekor-lookup', 'unverifiable', 'The artifact\'s sha256 digest is not known.', REMEDY.lookup);
  let candidates: RekorCandidate[];
  try {
    candidates = await findEntries(trust.network.rekorURL, sha256, signature, der, signal);
  } catch (e) {
    if (signal?.aborted) throw e;
    return run.stop('rekor-lookup', 'unverifiable', `Looking the entry up in ${trust.network.rekorURL} failed: ${messageOf(e)}.`, REMEDY.lookup);
  }
  if (candidates.length === 0) {
    return run.stop('rekor-lookup', 'unverifiable', `${trust.network.rekorURL} has no hashedrekord entry with this signature and certificate.`, REMEDY.notFound);
  }
  run.pass('rekor-lookup', `${candidates.length === 1 ? 'entry' : `${candidates.length} entries`} at log index ${candidates.map((c) => c.logIndex).join(', ')}`);
  run.pass('conversion', BUNDLE_V01_MEDIA_TYPE);

  let last: Evidence | undefined;
  for (const candidate of candidates) {
    const bundle = {
      mediaType: BUNDLE_V01_MEDIA_TYPE,
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: der.toString('base64') }] },
        tlogEntries: [candidate.entry],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: sha256.toString('base64') },
        signature: signature.toString('base64'),
      },
    };
    const tail = await verifyBundleObject(run.companion, bundle, artifact, { trustedRoot, kind: 'cosign-signature' });
    if (tail.state === 'verified') return joinEvidence(run, tail);
    last = tail;
  }
  return joinEvidence(run, answerNotTrusted(last!));
}

// Failures that come from what the log sent, not from the signature or certificate we hold:
// a bad answer proves nothing either way.
const ANSWER_CHECKS: readonly CheckId[] = ['parse', 'media-type', 'schema', 'timestamps', 'transparency-log'];

function answerNotTrusted(evidence: Evidence): Evidence {
  const failure = evidence.failure;
  if (evidence.state !== 'failed' || !failure || !ANSWER_CHECKS.includes(failure.check)) return evidence;
  const message = `The transparency log's entry does not verify: ${failure.message.replace(/\.$/, '')}.`;
  return { ...evidence, state: 'unverifiable', summary: message, failure: { ...failure, message, remedy: REMEDY.badAnswer } };
}

interface RekorCandidate {
  readonly logIndex: string;
  /** TransparencyLogEntry JSON for a bundle. */
  readonly entry: object;
}

/**
 * Entries of the log that record this signature and certificate over this digest. First
 * cosign's own query (the proposed entry: exact, one request), then by artifact hash through
 * the index, which also finds entries whose certificate was uploaded in another spelling.
 */
async function findEntries(
  rekorURL: string,
  sha256: Buffer,
  signature: Buffer,
  certificate: Buffer,
  signal: AbortSignal | undefined,
): Promise<RekorCandidate[]> {
  const base = rekorBase(rekorURL);
  const hex = sha256.toString('hex');
  const matching = (answer: unknown) => entriesOf(answer).filter((c) => recordsThis(c.body, hex, signature, certificate));

  const proposed = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: hex } },
      signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(toPem(certificate)).toString('base64') } },
    },
  };
  try {
    const exact = matching(await postJSON(`${base}/api/v1/log/entries/retrieve`, { entries: [proposed] }, signal, [404]));
    if (exact.length > 0) return exact;
  } catch (e) {
    // A log that refuses this query (older or other servers) may still answer the index.
    if (!(e instanceof HttpStatusError)) throw e;
  }

  const uuids = await postJSON(`${base}/api/v1/index/retrieve`, { hash: `sha256:${hex}` }, signal, [404]);
  if (uuids === undefined) return [];
  if (!Array.isArray(uuids) || !uuids.every((u) => typeof u === 'string' && /^[0-9a-f]{64}(?:[0-9a-f]{16})?$/i.test(u))) {
    throw new Error('the index answer is not a list of entry UUIDs');
  }
  const found: RekorCandidate[] = [];
  const wanted = [...new Set(uuids as string[])].slice(0, MAX_CANDIDATE_ENTRIES);
  for (let i = 0; i < wanted.length; i += UUIDS_PER_QUERY) {
    const answer = await postJSON(`${base}/api/v1/log/entries/retrieve`, { entryUUIDs: wanted.slice(i, i + UUIDS_PER_QUERY) }, signal, [404]);
    found.push(...matching(answer));
  }
  return found;
}

/** Log entries in a Rekor answer (`[{"<uuid>": entry}, …]`); malformed ones are skipped, not trusted. */
function entriesOf(answer: unknown): (RekorCandidate & { body: RekorBody })[] {
  if (answer === undefined) return [];
  if (!Array.isArray(answer)) throw new Error('the answer is not a list of entries');
  const out: (RekorCandidate & { body: RekorBody })[] = [];
  for (const item of answer) {
    if (!isRecord(item)) continue;
    for (const value of Object.values(item)) {
      if (!isRecord(value)) continue;
      const verification = isRecord(value.verification) ? value.verification : {};
      try {
        const { json, body } = tlogEntryFromRekor(
          {
            body: value.body,
            integratedTime: value.integratedTime,
            logIndex: value.logIndex,
            logID: value.logID,
            signedEntryTimestamp: verification.signedEntryTimestamp,
            inclusionProof: verification.inclusionProof,
          },
          'the log entry',
        );
        out.push({ logIndex: String((json as { logIndex: string }).logIndex), entry: json, body });
      } catch (e) {
        if (!(e instanceof LegacyBundleError)) throw e;
      }
    }
  }
  return out;
}

/** Whether a hashedrekord body records this digest, signature and certificate. */
function recordsThis(body: RekorBody, sha256Hex: string, signature: Buffer, certificate: Buffer): boolean {
  if (body.kind !== 'hashedrekord') return false;
  const spec = body.spec as { data?: { hash?: { algorithm?: unknown; value?: unknown } }; signature?: { content?: unknown; publicKey?: { content?: unknown } } };
  const hash = spec.data?.hash;
  if (hash?.algorithm !== 'sha256' || typeof hash.value !== 'string' || hash.value.toLowerCase() !== sha256Hex) return false;
  const content = typeof spec.signature?.content === 'string' ? decodeBase64(spec.signature.content) : undefined;
  if (!content?.equals(signature)) return false;
  const keyContent = spec.signature?.publicKey?.content;
  if (typeof keyContent !== 'string') return false;
  try {
    return pemOf(keyContent, 'the entry\'s certificate').some((b) => b.label === 'CERTIFICATE' && b.der.equals(certificate));
  } catch {
    return false;
  }
}

function rekorBase(rekorURL: string): string {
  let url: URL;
  try {
    url = new URL(rekorURL);
  } catch {
    throw new Error(`${JSON.stringify(rekorURL)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${rekorURL} is not an http(s) URL`);
  return url.href.replace(/\/+$/, '');
}

/**
 * POSTs JSON and parses the answer: a timeout, a size cap, no redirects. Statuses in
 * `absent` mean "nothing there" (undefined). Everything returned is still untrusted.
 */
async function postJSON(url: string, body: unknown, signal: AbortSignal | undefined, absent: readonly number[]): Promise<unknown> {
  const timeout = AbortSignal.timeout(REKOR_TIMEOUT_MS);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    redirect: 'error',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  if (absent.includes(response.status)) {
    await response.body?.cancel();
    return undefined;
  }
  const text = await readCapped(response);
  if (!response.ok) throw new HttpStatusError(`HTTP ${response.status} from ${url}${text ? `: ${text.slice(0, 200)}` : ''}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`the answer from ${url} is not JSON`);
  }
}

class HttpStatusError extends Error {}

async function readCapped(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > MAX_REKOR_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new Error(`the answer is larger than ${MAX_REKOR_RESPONSE_BYTES} bytes`);
  }
  if (!response.body) return '';
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_REKOR_RESPONSE_BYTES) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${MAX_REKOR_RESPONSE_BYTES} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks).toString('utf8');
}

// ---- companions -----------------------------------------------------------------------

/** The companion's bytes, or the evidence that ends here (missing: unverifiable; unreadable: failed). */
async function readCompanion(run: EvidenceBuilder, path: string, limit: number): Promise<Buffer | Evidence> {
  try {
    return await readLimited(path, limit);
  } catch (e) {
    const missing = e instanceof SigstoreError && e.code === 'NOT_FOUND';
    return run.stop('read', missing ? 'unverifiable' : 'failed', messageOf(e), (e instanceof SigstoreError && e.remedy) || REMEDY.read);
  }
}

/**
 * cosign writes base64 of the signature, or the bytes themselves with `--b64=false` (a DER
 * SEQUENCE for ECDSA, plain bytes for RSA and Ed25519). Text that is not base64 is neither.
 */
function decodeSignature(raw: Buffer): { bytes: Buffer; form: string } | undefined {
  // cosign's test (Go's StdEncoding): base64 with CR/LF anywhere, nothing else; otherwise raw bytes.
  const decoded = decodeStdBase64(raw.toString('latin1'));
  if (decoded?.length) return { bytes: decoded, form: 'base64' };
  if (raw[0] === 0x30 && isDerSequence(raw)) return { bytes: raw, form: 'DER' };
  // Binary that is not DER: an RSA or Ed25519 signature; printable text here is garbage.
  if (raw.some((b) => b < 0x09 || b > 0x7e)) return { bytes: raw, form: 'raw' };
  return undefined;
}

function isDerSequence(raw: Buffer): boolean {
  if (raw.length < 2) return false;
  const first = raw[1]!;
  if (first < 0x80) return raw.length === 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 2 || raw.length < 2 + n) return false;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + raw[2 + i]!;
  return raw.length === 2 + n + length;
}

/** The leaf certificate of a cosign (base64 of PEM) or sigstore-python (PEM) certificate file, or DER. */
function parseCertificate(raw: Buffer): { certificate: X509Certificate; der: Buffer } {
  if (raw.length === 0) throw new CertificateFileError('the certificate file is empty');
  let der: Buffer;
  if (raw[0] === 0x30) {
    der = raw;
  } else {
    const blocks = pemOf(raw.toString('utf8'), 'The certificate file');
    const leaf = blocks.find((b) => b.label === 'CERTIFICATE');
    if (!leaf) throw new CertificateFileError(`it holds no certificate (only ${blocks.length === 1 ? 'another kind of PEM block' : `${blocks.length} other PEM blocks`})`);
    der = leaf.der;
  }
  const problem = certificateDerProblem(der);
  if (problem) throw new CertificateFileError(problem);
  return { certificate: X509Certificate.parse(der as Buffer<ArrayBuffer>), der };
}

/** Our own words about a certificate file (safe to show); anything else is a library's. */
class CertificateFileError extends Error {}

function certificateProblem(e: unknown): string {
  if (e instanceof CertificateFileError || e instanceof LegacyBundleError) return messageOf(e);
  return withoutValues(e);
}

/** Rekor canonicalises the key of a proposed entry, so any correct PEM finds the entry. */
function toPem(der: Buffer): string {
  const base64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\.$/, '');
}
