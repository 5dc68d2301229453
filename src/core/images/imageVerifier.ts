/**
 * Verifies what is attached to an image with the verifiers files use, then the trust policy's
 * image rules (`images` globs, see policy.ts) decide, as `match` rules do for files:
 *
 * - cosign simple signing (`.sig` layers, cosign `oci-1-1` referrers): the payload must name
 *   this image's digest (`critical.image.docker-manifest-digest`) and repository
 *   (`critical.identity.docker-reference`); the signature over the payload bytes is checked
 *   as a legacy cosign bundle (signature + certificate + Rekor bundle annotations, converted to
 *   a v0.1 bundle), or with the rule's keys.
 * - cosign DSSE envelopes (`.att` layers): envelope + certificate + Rekor bundle annotations as
 *   a v0.1 bundle; the in-toto statement must have the image digest as a subject.
 * - Sigstore bundle referrers: verified as a bundle about the image digest.
 * - One rule for all three: a valid signature whose signed claims name another repository
 *   (the payload's `docker-reference`, the statement's subject names for this digest, as cosign
 *   writes them: `host/path`) than the one it was found in is `untrusted` here, whoever signed
 *   it: "signed for ghcr.io/a/b, found on ghcr.io/c/d". Copies and mirrors keep the original's
 *   signatures (cosign copy does); the digest binds the content, not where it may be used.
 * - SBOMs and other unsigned artifacts are not evidence: {@link verifyAttachment} returns
 *   undefined and their state is `unsigned`, distinct from the five states (nothing was
 *   checked, nothing failed). Notary signatures are listed as `unverifiable`.
 *
 * Never throws for bad content or registry trouble (both become evidence); rethrows cancellation.
 */
import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { createHash } from 'node:crypto';
import { digestArtifact, type Artifact } from '../artifacts/artifact';
import { shortDigest } from '../oci/digest';
import { OciError } from '../oci/errors';
import type { ImageReference } from '../oci/reference';
import { applyPolicy, decideImage, type PolicyState } from '../policy/evaluate';
import type { LoadedTrustedRoot } from '../trust/trustedRoot';
import { verifyBundleObject } from '../verify/bundleVerifier';
import { certificateDerProblem } from '../verify/certificate';
import { EvidenceBuilder } from '../verify/evidenceBuilder';
import { convertLegacyBundle, decodeBase64, joinEvidence, LegacyBundleError, pemOf, tlogEntryFromRekor } from '../verify/legacyBundle';
import type { Evidence, EvidenceKind, VerificationState } from '../verify/result';
import { PUBLIC_GOOD_REKOR_URL, type TrustedRootChoice, type TrustInputs } from '../verify/trustInputs';
import { ANNOTATIONS, isCancellation, referenceOf, type Attachment, type LoadedAttachment } from './attachments';

export interface ImageTrust {
  readonly policy: PolicyState;
  /** The trusted root when the matching rule names none (settings, or public-good). */
  readonly trustedRoot: TrustedRootChoice;
  /** Not used yet: image signatures carry their log entries; kept for Rekor lookups. */
  readonly network?: TrustInputs['network'];
  readonly signal?: AbortSignal;
}

/** The five verification states, and `unsigned` for attachments that carry no signature (SBOMs). */
export type AttachmentState = VerificationState | 'unsigned';

const SIMPLE_SIGNING_TYPES = ['cosign container image signature', 'atomic container signature'];

const REMEDY = {
  load: 'Check the connection to the registry and your access to the repository, then verify again.',
  damaged: 'The registry sent content that does not match its digest or is not what it claims to be: do not trust it.',
  payload: 'The signature layer is damaged or was not written by cosign; do not trust it. Sign the image again.',
  otherImage: 'It was made for another image, or copied here from one: do not trust it for this image.',
  otherRepository:
    'Copies and mirrors keep the original repository\'s signatures: if this is a copy you expect, verify the original; to accept signatures made for it here, sign this repository too.',
  noTime:
    'The certificate is short-lived, and nothing (no Rekor bundle annotation, no RFC 3161 timestamp) proves the signature was made while it was valid. Sign with a transparency-log upload, or verify with cosign against the log.',
  notary: 'Verify it with the Notary Project\'s notation CLI.',
};

/**
 * Verifies one attachment of the image `imageDigest` (the manifest or index it is attached
 * to) under the policy's rule for `reference`. Undefined for unsigned attachments.
 */
export async function verifyAttachment(attachment: Attachment, imageDigest: string, reference: string | ImageReference, trust: ImageTrust): Promise<Evidence | undefined> {
  if (!attachment.signed) return undefined;
  const ref = referenceOf(reference);
  const decision = decideImage(trust.policy, ref, { trustedRoot: trust.trustedRoot, network: trust.network ?? { allowed: false, rekorURL: PUBLIC_GOOD_REKOR_URL } });
  const evidence = await verifyContent(attachment, imageDigest, ref, decision.inputs, trust.signal);
  return applyPolicy(evidence, trust.policy, decision.rule, 'image');
}

/** The state to show: the evidence's, or `unsigned`. */
export function attachmentState(evidence: Evidence | undefined): AttachmentState {
  return evidence?.state ?? 'unsigned';
}

/** Verifies attachments of one manifest, a few at a time (each load is one or two requests). */
export async function verifyAttachments(
  attachments: readonly Attachment[],
  imageDigest: string,
  reference: string | ImageReference,
  trust: ImageTrust,
  concurrency = 6,
): Promise<Array<{ attachment: Attachment; evidence: Evidence | undefined }>> {
  const out: Array<{ attachment: Attachment; evidence: Evidence | undefined }> = attachments.map((attachment) => ({ attachment, evidence: undefined }));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < attachments.length) {
      const i = next++;
      out[i] = { attachment: attachments[i]!, evidence: await verifyAttachment(attachments[i]!, imageDigest, reference, trust) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, attachments.length) }, worker));
  return out;
}

function evidenceKind(attachment: Attachment): EvidenceKind {
  if (attachment.format === 'simple-signing') return 'cosign-signature';
  if (attachment.format === 'dsse-envelope') return 'intoto-attestation';
  return 'sigstore-bundle';
}

async function verifyContent(attachment: Attachment, imageDigest: string, ref: ImageReference, inputs: TrustInputs, signal?: AbortSignal): Promise<Evidence> {
  const run = new EvidenceBuilder(evidenceKind(attachment), attachment.location);
  if (attachment.format === 'notary-signature') {
    return run.stop('media-type', 'unverifiable', 'A Notary Project (notation) signature: listed, but not checked by this extension.', REMEDY.notary);
  }
  const hex = /^sha256:([0-9a-f]{64})$/.exec(imageDigest)?.[1];
  if (!hex) return run.stop('artifact-binding', 'unverifiable', `Only sha256 image digests can be checked, not ${shortDigest(imageDigest)}.`, 'Verify the image with cosign.');

  let loaded: LoadedAttachment;
  try {
    loaded = await attachment.load(signal);
  } catch (e) {
    if (isCancellation(e)) throw e;
    const damaged = e instanceof OciError && (e.code === 'DIGEST_MISMATCH' || e.code === 'BAD_RESPONSE' || e.code === 'TOO_LARGE');
    const message = e instanceof Error ? e.message : String(e);
    return run.stop('read', damaged ? 'failed' : 'unverifiable', message, (e instanceof OciError && e.remedy) || (damaged ? REMEDY.damaged : REMEDY.load));
  }
  run.pass('read', `${loaded.content.length} bytes, digest ${shortDigest(loaded.contentDigest)} checked`);

  try {
    switch (attachment.format) {
      case 'simple-signing':
        return await verifySimpleSigning(run, loaded, imageDigest, ref, inputs);
      case 'dsse-envelope':
        return await verifyEnvelope(run, loaded, attachment, hex, ref, inputs);
      default:
        return await verifyReferrerBundle(run, loaded, attachment, imageDigest, hex, ref, inputs);
    }
  } catch (e) {
    if (isCancellation(e)) throw e;
    // Malformed content deep inside (a certificate, a timestamp): bad evidence, not a crash.
    return run.stop(run.current ?? 'parse', 'failed', `The ${attachment.kind} could not be checked: ${(e as Error).message}`, REMEDY.payload);
  }
}

// --- cosign simple signing ---------------------------------------------------------------

async function verifySimpleSigning(run: EvidenceBuilder, loaded: LoadedAttachment, imageDigest: string, ref: ImageReference, inputs: TrustInputs): Promise<Evidence> {
  const payload = loaded.content;
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return run.stop('parse', 'failed', 'The signed payload is not JSON, so not a cosign simple-signing payload.', REMEDY.payload);
  }
  const critical = record(record(doc)?.critical);
  const type = critical?.type;
  if (!critical || typeof type !== 'string') return run.stop('parse', 'failed', 'The signed payload has no "critical" section with a "type": it is not a cosign simple-signing payload.', REMEDY.payload);
  if (!SIMPLE_SIGNING_TYPES.includes(type.toLowerCase())) return run.stop('schema', 'failed', `The signed payload is of type ${JSON.stringify(type)}, not a container image signature.`, REMEDY.payload);
  run.pass('parse', `simple-signing payload (${type})`);

  const signedDigest = record(critical.image)?.['docker-manifest-digest'];
  const signedReference = record(critical.identity)?.['docker-reference'];
  if (signedDigest !== imageDigest) {
    const named = typeof signedDigest === 'string' ? signedDigest : 'no image digest';
    return run.stop('artifact-binding', 'failed', `The signature is for ${named}, not for this image (${imageDigest}).`, REMEDY.otherImage);
  }
  const repository = `${ref.registry}/${ref.repository}`;
  if (typeof signedReference !== 'string') return run.stop('artifact-binding', 'failed', `The signature names no repository (critical.identity.docker-reference), only ${imageDigest}.`, REMEDY.payload);
  // A copy or mirror of the image keeps the signature of the original (cosign copy does this):
  // the digest binds the content, so the signature is checked, but it was not made for here.
  const elsewhere = !sameRepository(signedReference, ref);
  run.pass('artifact-binding', `docker-manifest-digest ${imageDigest}; docker-reference ${signedReference}${elsewhere ? ` (not ${repository})` : ''}`);

  const annotations = loaded.annotations;
  const signature = annotations[ANNOTATIONS.signature];
  if (!signature || !decodeBase64(signature)) {
    return run.stop('parse', 'failed', `The layer has no usable ${ANNOTATIONS.signature} annotation (base64 of the signature).`, REMEDY.payload);
  }
  const signing = signingAnnotations(run, annotations);
  if ('state' in signing) return signing;
  const { certificate, rekor, tsa } = signing;

  let bundle: BundleJSON;
  try {
    bundle = convertLegacyBundle(
      { base64Signature: signature, ...(certificate ? { cert: certificate } : {}), ...(rekor ? { rekorBundle: rekor } : {}) },
      { artifactSha256: createHash('sha256').update(payload).digest() },
    ) as BundleJSON;
    addTimestamp(bundle, tsa);
  } catch (e) {
    if (!(e instanceof LegacyBundleError)) throw e;
    return run.stop('conversion', 'failed', e.message, e.remedy ?? REMEDY.payload);
  }
  run.pass('conversion', `${BUNDLE_V01_MEDIA_TYPE} from the signature${certificate ? ', certificate' : ''}${rekor ? ', Rekor bundle' : ''}${tsa ? ', RFC 3161 timestamp' : ''} annotations`);
  const root = rootFor(inputs, bundle);
  if ('error' in root) return run.stop('timestamps', 'unverifiable', root.error, root.remedy);
  const tail = await verifyBundleObject(run.companion, bundle, bytesArtifact(loaded.contentDigest, payload), { trustedRoot: root, keys: inputs.publicKeys, kind: 'cosign-signature' });
  const joined = joinEvidence(run, tail);
  return elsewhere ? signedElsewhere(joined, 'signature', [signedReference], ref) : joined;
}

/**
 * A verified signature whose signed claims name only other repositories than `ref`: untrusted
 * here (anything short of verified stays as it is: a bad signature is bad wherever it is).
 */
function signedElsewhere(evidence: Evidence, noun: string, claimed: readonly string[], ref: ImageReference): Evidence {
  if (evidence.state !== 'verified' || claimed.length === 0) return evidence;
  const message = `A valid ${noun}, signed for ${claimed.join(', ')}, found on ${ref.registry}/${ref.repository}.`;
  return { ...evidence, state: 'untrusted', summary: message, failure: { check: 'artifact-binding', message, remedy: REMEDY.otherRepository } };
}

/**
 * The repositories an in-toto statement names for the image `hex`, when none of them is `ref`:
 * its subjects with that sha256 whose name is a repository with its registry (`host/path`, as
 * cosign writes them). A name that is no such repository (a file name, a purl) claims nothing.
 */
function otherRepositories(evidence: Evidence, hex: string, ref: ImageReference): string[] {
  const named: string[] = [];
  for (const subject of evidence.bundle?.subjects ?? []) {
    if (subject.sha256 !== hex || !hasRegistry(subject.name)) continue;
    if (sameRepository(subject.name, ref)) return [];
    try {
      referenceOf(subject.name);
      if (!named.includes(subject.name)) named.push(subject.name);
    } catch {
      // Not a reference: no claim about where it belongs.
    }
  }
  return named.slice(0, 3);
}

/** `host[:port]/path`: a first component that is a registry by Docker's rule (a `.` or `:`, or localhost). */
function hasRegistry(name: string): boolean {
  const slash = name.indexOf('/');
  if (slash <= 0) return false;
  const first = name.slice(0, slash);
  return /[.:]/.test(first) || first === 'localhost';
}

/**
 * What cosign keeps next to a signature in layer annotations: the certificate, the Rekor bundle
 * and the RFC 3161 timestamp; or the Evidence that stops verification when they cannot serve.
 */
function signingAnnotations(
  run: EvidenceBuilder,
  annotations: Readonly<Record<string, string>>,
): { certificate?: string; rekor?: Record<string, unknown>; tsa?: Record<string, unknown> } | Evidence {
  const certificate = annotations[ANNOTATIONS.certificate] || undefined;
  const rekor = parseAnnotation(annotations[ANNOTATIONS.bundle]);
  const tsa = parseAnnotation(annotations[ANNOTATIONS.rfc3161Timestamp]);
  if (rekor === null || tsa === null) return run.stop('parse', 'failed', `The ${rekor === null ? ANNOTATIONS.bundle : ANNOTATIONS.rfc3161Timestamp} annotation is not a JSON object.`, REMEDY.payload);
  if (certificate && !rekor && !tsa) return run.stop('timestamps', 'unverifiable', 'Signed with a short-lived certificate, without a Rekor bundle or an RFC 3161 timestamp.', REMEDY.noTime);
  return { certificate, rekor, tsa };
}

function sameRepository(text: string, ref: ImageReference): boolean {
  try {
    const named = referenceOf(text);
    return named.registry === ref.registry && named.repository === ref.repository;
  } catch {
    return false;
  }
}

// --- cosign DSSE envelopes (.att) ----------------------------------------------------------

interface EnvelopeJSON {
  payloadType: string;
  payload: string;
  signatures: Array<{ sig: string; keyid?: string }>;
}

async function verifyEnvelope(run: EvidenceBuilder, loaded: LoadedAttachment, attachment: Attachment, hex: string, ref: ImageReference, inputs: TrustInputs): Promise<Evidence> {
  const envelope = envelopeOf(loaded.content);
  if (!envelope) return run.stop('parse', 'failed', 'The layer is not a DSSE envelope (payloadType, payload and signatures).', REMEDY.payload);
  run.pass('parse', `DSSE envelope (${envelope.payloadType}), ${envelope.signatures.length} signature(s)`);

  const annotations = loaded.annotations;
  const signing = signingAnnotations(run, annotations);
  if ('state' in signing) return signing;
  const { certificate, rekor, tsa } = signing;

  let bundle: BundleJSON;
  try {
    let material: object = { publicKey: { hint: '' } };
    if (certificate) {
      const leaf = pemOf(certificate, `The ${ANNOTATIONS.certificate} annotation`).find((b) => b.label === 'CERTIFICATE');
      if (!leaf) throw new LegacyBundleError(`The ${ANNOTATIONS.certificate} annotation holds no certificate.`);
      const problem = certificateDerProblem(leaf.der);
      if (problem) throw new LegacyBundleError(`The ${ANNOTATIONS.certificate} annotation: ${problem}.`);
      material = { x509CertificateChain: { certificates: [{ rawBytes: leaf.der.toString('base64') }] } };
    }
    const tlogEntries: object[] = [];
    if (rekor) {
      const payload = record(rekor.Payload);
      if (!payload) throw new LegacyBundleError(`The ${ANNOTATIONS.bundle} annotation has no "Payload" object.`);
      const entry = tlogEntryFromRekor(
        { body: payload.body, integratedTime: payload.integratedTime, logIndex: payload.logIndex, logID: payload.logID, signedEntryTimestamp: rekor.SignedEntryTimestamp },
        `the ${ANNOTATIONS.bundle} annotation`,
      );
      tlogEntries.push(entry.json);
    }
    bundle = {
      mediaType: BUNDLE_V01_MEDIA_TYPE,
      verificationMaterial: { ...material, tlogEntries, timestampVerificationData: { rfc3161Timestamps: [] } },
      dsseEnvelope: { payloadType: envelope.payloadType, payload: envelope.payload, signatures: envelope.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid ?? '' })) },
    };
    addTimestamp(bundle, tsa);
  } catch (e) {
    if (!(e instanceof LegacyBundleError)) throw e;
    return run.stop('conversion', 'failed', e.message, e.remedy ?? REMEDY.payload);
  }
  run.pass('conversion', `${BUNDLE_V01_MEDIA_TYPE} from the envelope${certificate ? ', certificate' : ''}${rekor ? ', Rekor bundle' : ''}${tsa ? ', RFC 3161 timestamp' : ''} annotations`);
  const root = rootFor(inputs, bundle);
  if ('error' in root) return run.stop('timestamps', 'unverifiable', root.error, root.remedy);
  const tail = await verifyBundleObject(run.companion, bundle, digestArtifact(hex), { trustedRoot: root, keys: inputs.publicKeys, kind: 'intoto-attestation' });
  const claimed = attachment.predicateType;
  const actual = tail.bundle?.predicateType;
  if (claimed && actual && claimed !== actual) run.notes.push(`The layer's predicateType annotation says ${claimed}; the signed statement says ${actual}.`);
  return signedElsewhere(joinEvidence(run, tail), 'attestation', otherRepositories(tail, hex, ref), ref);
}

function envelopeOf(content: Buffer): EnvelopeJSON | undefined {
  try {
    const doc = record(JSON.parse(content.toString('utf8')));
    if (!doc || typeof doc.payloadType !== 'string' || typeof doc.payload !== 'string' || !Array.isArray(doc.signatures) || doc.signatures.length === 0) return undefined;
    const signatures = doc.signatures.map(record);
    if (!signatures.every((s) => s && typeof s.sig === 'string' && (s.keyid === undefined || typeof s.keyid === 'string'))) return undefined;
    return { payloadType: doc.payloadType, payload: doc.payload, signatures: signatures as EnvelopeJSON['signatures'] };
  } catch {
    return undefined;
  }
}

// --- Sigstore bundle referrers -----------------------------------------------------------

async function verifyReferrerBundle(run: EvidenceBuilder, loaded: LoadedAttachment, attachment: Attachment, imageDigest: string, hex: string, ref: ImageReference, inputs: TrustInputs): Promise<Evidence> {
  let json: unknown;
  try {
    json = JSON.parse(loaded.content.toString('utf8'));
  } catch (e) {
    return run.stop('parse', 'failed', `The referrer's bundle is not valid JSON: ${(e as Error).message}.`, REMEDY.payload);
  }
  const subject = loaded.manifest?.subject?.digest;
  if (subject && subject !== imageDigest) run.notes.push(`The referrer manifest names ${subject} as its subject, not ${imageDigest}; only the signed content counts.`);
  const root = rootFor(inputs, record(json) as BundleJSON | undefined);
  if ('error' in root) return run.stop('timestamps', 'unverifiable', root.error, root.remedy);
  const tail = await verifyBundleObject(run.companion, json, digestArtifact(hex), { trustedRoot: root, keys: inputs.publicKeys, kind: 'sigstore-bundle' });
  const head = run.finish();
  const joined: Evidence = { ...tail, checks: [...head.checks, ...tail.checks], notes: [...run.notes, ...tail.notes] };
  return signedElsewhere(joined, attachment.kind === 'signature' ? 'signature' : 'attestation', otherRepositories(tail, hex, ref), ref);
}

// --- helpers -----------------------------------------------------------------------------

interface BundleJSON {
  mediaType?: string;
  verificationMaterial?: {
    publicKey?: unknown;
    tlogEntries?: unknown[];
    timestampVerificationData?: { rfc3161Timestamps?: unknown[] };
  };
  [field: string]: unknown;
}

const NO_ROOT: LoadedTrustedRoot = {
  source: 'none needed (key-signed, nothing logged)',
  root: TrustedRoot.fromJSON({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }),
  ignored: [],
};

/** The trusted root to verify with; a key-signed bundle with nothing logged or stamped needs none. */
function rootFor(inputs: TrustInputs, bundle: BundleJSON | undefined): TrustedRootChoice {
  if (!('error' in inputs.trustedRoot)) return inputs.trustedRoot;
  const material = bundle?.verificationMaterial;
  const keyOnly = material?.publicKey !== undefined && !material.tlogEntries?.length && !material.timestampVerificationData?.rfc3161Timestamps?.length;
  return keyOnly ? NO_ROOT : inputs.trustedRoot;
}

/** cosign's `{"SignedRFC3161Timestamp": "<base64 DER>"}` as a bundle timestamp (both stamp the signature bytes). */
function addTimestamp(bundle: BundleJSON, annotation: Record<string, unknown> | undefined): void {
  if (!annotation) return;
  const stamp = annotation.SignedRFC3161Timestamp;
  if (typeof stamp !== 'string' || !decodeBase64(stamp)) throw new LegacyBundleError(`The ${ANNOTATIONS.rfc3161Timestamp} annotation has no base64 "SignedRFC3161Timestamp".`);
  const material = (bundle.verificationMaterial ??= {});
  material.timestampVerificationData = { rfc3161Timestamps: [...(material.timestampVerificationData?.rfc3161Timestamps ?? []), { signedTimestamp: stamp.replace(/\s+/g, '') }] };
}

/** undefined when absent, null when present but not a JSON object. */
function parseAnnotation(text: string | undefined): Record<string, unknown> | undefined | null {
  if (text === undefined || text === '') return undefined;
  try {
    return record(JSON.parse(text)) ?? null;
  } catch {
    return null;
  }
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Bytes we hold (a signed payload) as an artifact. */
function bytesArtifact(name: string, bytes: Buffer): Artifact {
  return {
    name,
    digest: async (algorithm) => createHash(algorithm).update(bytes).digest(),
    bytes: async (limit) => (bytes.length <= limit ? bytes : undefined),
  };
}
