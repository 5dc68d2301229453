/**
 * What is attached to an image in its registry (FORMATS.md §3): cosign's `sha256-<hex>.sig`,
 * `.att` and `.sbom` tags, and OCI 1.1 referrers (the referrers API, else the `sha256-<hex>`
 * fallback tag). Listing reads manifests and indexes only; payloads are fetched when an
 * attachment is loaded, so listing one image costs at most 6 requests on a registry without a
 * referrers API (tag, .sig, .att, .sbom, referrers API, fallback tag; the API's absence is
 * remembered, so 5 for the next images and 4 per platform manifest), 5 with one, and never a
 * manifest per tag of the repository. Two kinds of referrer cost one manifest request each,
 * counted in the tests: one whose index entry does not say what it is (no artifactType, or the
 * empty config type cosign 2.5 writes for `attest --new-bundle-format` into a fallback tag), and
 * cosign's simple-signing referrers (`sign --registry-referrers-mode=oci-1-1`), whose layers are
 * the signatures. Authentication adds the registry's own round trips (401, token) once per scope.
 *
 * The view expands one level at a time: {@link resolveImage} (1 request), then
 * {@link attachmentsOf} per manifest digest; {@link listAttachments} does both for a CLI.
 * Registry problems with one source become {@link AttachmentProblem}s; the others still list.
 *
 * A registry's answers are untrusted: an index may list 20,000 platforms, a digest 15,000
 * referrers, a `.sig` tag as many layers. At most `maxAttachments` platforms of an index and
 * attachments of a manifest are read (default {@link DEFAULT_MAX_ATTACHMENTS}); the rest are
 * counted as not read, for the view and the CLI to say so.
 */
import { isDigest, shortDigest } from '../oci/digest';
import { OciError } from '../oci/errors';
import type { Descriptor, FetchedManifest, ImageManifest } from '../oci/manifest';
import { OCI_EMPTY } from '../oci/mediaTypes';
import { formatReference, parseImageReference, repositoryName, type ImageReference } from '../oci/reference';
import type { ReferrersSource, RegistryClient } from '../oci/registryClient';
import { COSIGN_SIGN_PREDICATE } from './predicateTypes';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** The artifact type of cosign's `--registry-referrers-mode=oci-1-1` signature referrers (cosign 2.x). */
export const COSIGN_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const COSIGN_SBOM_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sbom.v1+json';
export const NOTARY_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';

export const BUNDLE_ARTIFACT_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
]);

/** Artifact (and cosign `.sbom` layer) media types of SBOMs. */
export const SBOM_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/spdx+json',
  'text/spdx',
  'text/spdx+json',
  'text/spdx+xml',
  'application/vnd.spdx+json',
  'application/vnd.cyclonedx',
  'application/vnd.cyclonedx+json',
  'application/vnd.cyclonedx+xml',
  'text/vnd.cyclonedx+json',
  'text/vnd.cyclonedx+xml',
  'application/vnd.syft+json',
  COSIGN_SBOM_ARTIFACT_TYPE,
]);

/** The annotations cosign writes on `.sig`/`.att` layers, and those of Sigstore bundle referrers. */
export const ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
  predicateType: 'predicateType',
  bundleContent: 'dev.sigstore.bundle.content',
  bundlePredicateType: 'dev.sigstore.bundle.predicateType',
} as const;

/** Payloads of signatures and bundles are small; anything larger is not one. */
const MAX_SIGNATURE_PAYLOAD_BYTES = 1024 * 1024;
/** Referrer manifests fetched while listing one digest: a bound against hostile indexes. */
const MAX_MANIFEST_FETCHES = 16;
/** Platforms of an index, and attachments of a manifest, read unless asked otherwise. */
export const DEFAULT_MAX_ATTACHMENTS = 50;
/** The most a setting or flag may ask for. */
export const MAX_ATTACHMENTS_LIMIT = 1000;

export type AttachmentKind = 'signature' | 'attestation' | 'sbom' | 'other';
/** How it was found: the referrers API, the referrers fallback tag `sha256-<hex>`, or a cosign tag `sha256-<hex>.sig|.att|.sbom`. */
export type AttachmentSource = ReferrersSource | 'cosign-tag';
/**
 * What the content is, which decides how it is verified:
 * `simple-signing` (cosign signature: payload + annotations), `dsse-envelope` (cosign `.att`),
 * `sigstore-bundle`, `notary-signature` (listed, not checked), `unsigned` (SBOMs and other artifacts).
 */
export type AttachmentFormat = 'simple-signing' | 'dsse-envelope' | 'sigstore-bundle' | 'notary-signature' | 'unsigned';

export interface ImagePlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface LoadedAttachment {
  /** The stored bytes, checked against their digest: simple-signing payload, DSSE envelope, bundle or SBOM. */
  readonly content: Buffer;
  readonly contentMediaType: string;
  readonly contentDigest: string;
  /** What a person reads: the simple-signing payload, the in-toto statement of an envelope or DSSE bundle, the SBOM, else the content. */
  readonly payload: Buffer;
  /** Media type of `payload` (`application/vnd.in-toto+json` for statements). */
  readonly payloadType: string;
  /** The annotations of the layer holding the content (cosign keeps the signature and certificate there). */
  readonly annotations: Readonly<Record<string, string>>;
  /** For referrers: the referrer manifest. */
  readonly manifest?: ImageManifest;
}

export interface Attachment {
  readonly kind: AttachmentKind;
  readonly source: AttachmentSource;
  readonly format: AttachmentFormat;
  /** Of the layer (cosign tags) or of the referrer manifest (referrers). */
  readonly digest: string;
  /** The layer's media type (cosign tags) or the referrer's artifact type. */
  readonly mediaType: string;
  readonly size: number;
  /** From the annotations (untrusted until verified): `predicateType` or `dev.sigstore.bundle.predicateType`. */
  readonly predicateType?: string;
  /** Layer annotations (cosign tags) or the referrer's annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** Whether it carries a signature at all: SBOM attachments and unknown artifacts do not. */
  readonly signed: boolean;
  /** The manifest digest it is attached to. */
  readonly subject: string;
  /** The repository it was found in. */
  readonly repository: ImageReference;
  /** Where, for messages and reports: `host/repo:sha256-….sig (layer 1 of 2)` or `host/repo@sha256:…`. */
  readonly location: string;
  /** Fetches the content (1 request for cosign tags, 2 for referrers), once; a failed load may be retried. */
  load(signal?: AbortSignal): Promise<LoadedAttachment>;
}

export interface AttachmentProblem {
  readonly source: AttachmentSource;
  /** The tag or API that could not be read. */
  readonly location: string;
  readonly code: string;
  readonly message: string;
  readonly remedy?: string;
}

/** What the registry listed beyond the bound, left unread. */
export interface NotRead {
  readonly count: number;
  /** The registry had more still (a referrers page not followed): `count` is a lower bound. */
  readonly more: boolean;
}

export interface AttachmentList {
  readonly attachments: readonly Attachment[];
  readonly problems: readonly AttachmentProblem[];
  /** Attachments listed by the registry and not read (over `maxAttachments`); absent when none. */
  readonly notRead?: NotRead;
}

export interface PlatformManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly platform?: ImagePlatform;
}

export interface ResolvedImage {
  readonly reference: ImageReference;
  /** `registry/repository`. */
  readonly name: string;
  readonly digest: string;
  readonly mediaType: string;
  /** Of the manifest or index, in bytes (for a descriptor naming it). */
  readonly size: number;
  readonly kind: 'index' | 'manifest';
  /** For an index: the manifests it lists (Docker build attestation manifests left out), at most `maxPlatforms`. */
  readonly platforms: readonly PlatformManifest[];
  /** Platform manifests of the index beyond `maxPlatforms`, not read. */
  readonly platformsNotRead: number;
}

export interface ManifestAttachments extends AttachmentList {
  readonly digest: string;
  readonly mediaType: string;
  readonly platform?: ImagePlatform;
}

export interface ImageAttachments {
  /** The reference as resolved (canonical form). */
  readonly reference: string;
  readonly digest: string;
  readonly mediaType: string;
  /** The image itself first (for a multi-arch image, the index), then each platform manifest. */
  readonly manifests: readonly ManifestAttachments[];
  readonly image: ResolvedImage;
}

export function referenceOf(reference: string | ImageReference): ImageReference {
  return typeof reference === 'string' ? parseImageReference(reference) : reference;
}

/** A count from a setting or a flag, within 1…MAX_ATTACHMENTS_LIMIT (a hand-edited value may hold anything). */
export function attachmentLimit(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(MAX_ATTACHMENTS_LIMIT, Math.max(1, Math.floor(value))) : DEFAULT_MAX_ATTACHMENTS;
}

/**
 * Resolves a tag (or checks a digest) to the manifest or index it names: one request. Keeps
 * `maxPlatforms` platforms when given (listing), all of them otherwise (signing an index and
 * each platform signs what the person was shown and confirmed).
 */
export async function resolveImage(client: RegistryClient, reference: string | ImageReference, options: { signal?: AbortSignal; maxPlatforms?: number } = {}): Promise<ResolvedImage> {
  const ref = referenceOf(reference);
  const fetched = await client.getManifest(ref, ref.digest ?? ref.tag ?? 'latest', options.signal);
  const listed = fetched.kind === 'index' ? fetched.manifest.manifests.filter((d) => d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest') : [];
  const max = options.maxPlatforms === undefined ? listed.length : attachmentLimit(options.maxPlatforms);
  const platforms = listed.slice(0, max).map((d): PlatformManifest => ({ digest: d.digest, mediaType: d.mediaType, size: d.size, ...(d.platform ? { platform: platformOf(d.platform) } : {}) }));
  return { reference: ref, name: repositoryName(ref), digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.length, kind: fetched.kind, platforms, platformsNotRead: listed.length - platforms.length };
}

export interface ListingOptions {
  readonly signal?: AbortSignal;
  /** Start loading each signed attachment's content as soon as it is listed (for verifying it next). */
  readonly prefetch?: boolean;
  /** Attachments read per manifest, and (listAttachments) platforms per index. Default {@link DEFAULT_MAX_ATTACHMENTS}. */
  readonly maxAttachments?: number;
}

/**
 * Everything attached to one manifest (or index) digest: its cosign tags and referrers, read
 * concurrently. At most 5 requests (4 once the registry is known to lack the referrers API),
 * and at most `maxAttachments` attachments kept, in the order .sig, .att, .sbom, referrers.
 */
export async function attachmentsOf(client: RegistryClient, repository: string | ImageReference, digest: string, options: ListingOptions = {}): Promise<AttachmentList> {
  const repo = referenceOf(repository);
  if (!isDigest(digest)) throw new OciError('BAD_REFERENCE', `"${String(digest).slice(0, 80)}" is not a sha256 or sha512 digest.`);
  const max = attachmentLimit(options.maxAttachments);
  // Loading signed content as soon as its source is listed overlaps it with the slower sources;
  // never more loads than attachments kept.
  let prefetches = max;
  const started = (list: AttachmentList): AttachmentList => {
    if (options.prefetch) {
      for (const a of list.attachments) {
        if (prefetches <= 0) break;
        if (!a.signed) continue;
        prefetches--;
        a.load(options.signal).catch(() => undefined);
      }
    }
    return list;
  };
  const parts = await Promise.all([
    cosignTagAttachments(client, repo, digest, 'sig', options.signal, max).then(started),
    cosignTagAttachments(client, repo, digest, 'att', options.signal, max).then(started),
    cosignTagAttachments(client, repo, digest, 'sbom', options.signal, max).then(started),
    referrerAttachments(client, repo, digest, options.signal, max).then(started),
  ]);
  const all = parts.flatMap((p) => p.attachments);
  const count = all.length - Math.min(all.length, max) + parts.reduce((n, p) => n + (p.notRead?.count ?? 0), 0);
  const more = parts.some((p) => p.notRead?.more === true);
  return { attachments: all.slice(0, max), problems: parts.flatMap((p) => p.problems), ...notRead(count, more) };
}

function notRead(count: number, more = false): { notRead?: NotRead } {
  return count > 0 || more ? { notRead: { count, more } } : {};
}

/**
 * Resolves the reference and lists what is attached to it and (unless `platforms` is false)
 * to each platform manifest of an index. The index is listed first: it teaches the client
 * whether the registry has a referrers API, so the platforms do not ask again.
 */
export async function listAttachments(client: RegistryClient, reference: string | ImageReference, options: ListingOptions & { platforms?: boolean } = {}): Promise<ImageAttachments> {
  const image = await resolveImage(client, reference, { ...(options.signal ? { signal: options.signal } : {}), maxPlatforms: attachmentLimit(options.maxAttachments) });
  const top = await attachmentsOf(client, image.reference, image.digest, options);
  const manifests: ManifestAttachments[] = [{ digest: image.digest, mediaType: image.mediaType, ...top }];
  if (options.platforms !== false) {
    const each = await Promise.all(image.platforms.map((p) => attachmentsOf(client, image.reference, p.digest, options)));
    image.platforms.forEach((p, i) => manifests.push({ digest: p.digest, mediaType: p.mediaType, ...(p.platform ? { platform: p.platform } : {}), ...each[i]! }));
  }
  return { reference: formatReference(image.reference), digest: image.digest, mediaType: image.mediaType, manifests, image };
}

// --- cosign tags -------------------------------------------------------------------------

/** The layers of `sha256-<hex>.<suffix>`: one attachment each, the first `max`. One request. */
export async function cosignTagAttachments(client: RegistryClient, repo: ImageReference, digest: string, suffix: 'sig' | 'att' | 'sbom', signal?: AbortSignal, max = DEFAULT_MAX_ATTACHMENTS): Promise<AttachmentList> {
  const tag = `${digest.replace(':', '-')}.${suffix}`;
  const location = `${repositoryName(repo)}:${tag}`;
  let fetched: FetchedManifest | undefined;
  try {
    fetched = await client.findManifest(repo, tag, signal);
  } catch (e) {
    return { attachments: [], problems: [problemOf(e, 'cosign-tag', location)] };
  }
  if (!fetched) return { attachments: [], problems: [] };
  if (fetched.kind !== 'manifest') {
    return {
      attachments: [],
      problems: [{ source: 'cosign-tag', location, code: 'BAD_RESPONSE', message: `${location} holds an index, not the image manifest cosign writes.`, remedy: 'Something other than cosign uses that tag; inspect it with crane or oras.' }],
    };
  }
  const layers = fetched.manifest.layers;
  const attachments = layers.slice(0, max).map((layer, i): Attachment => {
    const annotations = layer.annotations ?? {};
    const kind: AttachmentKind = suffix === 'sig' ? 'signature' : suffix === 'att' ? 'attestation' : 'sbom';
    const format: AttachmentFormat =
      suffix === 'sbom' ? 'unsigned' : layer.mediaType === SIMPLE_SIGNING_MEDIA_TYPE ? 'simple-signing' : layer.mediaType === DSSE_ENVELOPE_MEDIA_TYPE ? 'dsse-envelope' : suffix === 'sig' ? 'simple-signing' : 'dsse-envelope';
    const predicateType = suffix === 'att' ? annotations[ANNOTATIONS.predicateType] : undefined;
    return {
      kind,
      source: 'cosign-tag',
      format,
      digest: layer.digest,
      mediaType: layer.mediaType,
      size: layer.size,
      ...(predicateType ? { predicateType } : {}),
      annotations,
      signed: format !== 'unsigned',
      subject: digest,
      repository: repo,
      location: layers.length > 1 ? `${location} (layer ${i + 1} of ${layers.length})` : location,
      load: once(async (s) => {
        const content = await client.getBlob(repo, layer.digest, { signal: s, ...(format === 'simple-signing' ? { maxBytes: MAX_SIGNATURE_PAYLOAD_BYTES } : {}) });
        return loaded(content, layer.mediaType, layer.digest, format, annotations);
      }),
    };
  });
  return { attachments, problems: [], ...notRead(layers.length - attachments.length) };
}

// --- referrers ---------------------------------------------------------------------------

interface Classified {
  readonly kind: AttachmentKind;
  readonly format: AttachmentFormat;
  readonly predicateType?: string;
}

/** What a referrer is, from its artifact type and annotations. */
export function classifyReferrer(artifactType: string | undefined, annotations: Readonly<Record<string, string>>): Classified {
  const type = (artifactType ?? '').toLowerCase().replace(/\s+/g, '');
  if (BUNDLE_ARTIFACT_TYPES.has(type)) {
    const predicateType = annotations[ANNOTATIONS.bundlePredicateType] || undefined;
    const signature = predicateType === COSIGN_SIGN_PREDICATE || annotations[ANNOTATIONS.bundleContent] === 'message-signature';
    return { kind: signature ? 'signature' : 'attestation', format: 'sigstore-bundle', ...(predicateType ? { predicateType } : {}) };
  }
  if (type === COSIGN_SIGNATURE_ARTIFACT_TYPE || type === SIMPLE_SIGNING_MEDIA_TYPE) return { kind: 'signature', format: 'simple-signing' };
  if (type === NOTARY_SIGNATURE_ARTIFACT_TYPE) return { kind: 'signature', format: 'notary-signature' };
  if (type === DSSE_ENVELOPE_MEDIA_TYPE) {
    const predicateType = annotations[ANNOTATIONS.predicateType] || undefined;
    return { kind: 'attestation', format: 'dsse-envelope', ...(predicateType ? { predicateType } : {}) };
  }
  if (SBOM_MEDIA_TYPES.has(type)) return { kind: 'sbom', format: 'unsigned' };
  return { kind: 'other', format: 'unsigned' };
}

/** Needs its manifest to say what it is (no artifactType, or cosign 2.5's empty config type in a fallback index). */
function unclassified(d: Descriptor): boolean {
  return d.artifactType === undefined || d.artifactType === '' || d.artifactType === OCI_EMPTY;
}

/**
 * The OCI 1.1 referrers of a digest: one request with a referrers API, else two the first time
 * (the API's 404 is remembered, then the fallback tag). Referrers whose index entry does not
 * say what they are, and cosign's simple-signing referrers (one signature per layer, like a
 * `.sig` tag: cosign 2.5 writes the image's whole signature set into each), cost one manifest
 * request each.
 */
export async function referrerAttachments(client: RegistryClient, repo: ImageReference, digest: string, signal?: AbortSignal, max = DEFAULT_MAX_ATTACHMENTS): Promise<AttachmentList> {
  let answer: { source: ReferrersSource; manifests: Descriptor[]; more?: boolean };
  try {
    answer = await client.referrers(repo, digest, { signal, enough: max });
  } catch (e) {
    return { attachments: [], problems: [problemOf(e, 'referrers', `the referrers of ${repositoryName(repo)}@${shortDigest(digest)}`)] };
  }
  const problems: AttachmentProblem[] = [];
  const known = new Map<string, FetchedManifest>();
  const listed = answer.manifests.slice(0, max);
  let unread = answer.manifests.length - listed.length;
  const needed = listed.filter((d) => unclassified(d) || classifyReferrer(d.artifactType, d.annotations ?? {}).format === 'simple-signing').slice(0, MAX_MANIFEST_FETCHES);
  await Promise.all(
    needed.map(async (d) => {
      try {
        known.set(d.digest, await client.getManifest(repo, d.digest, signal));
      } catch (e) {
        problems.push(problemOf(e, answer.source, `${repositoryName(repo)}@${d.digest}`));
      }
    }),
  );
  const attachments: Attachment[] = [];
  for (const d of listed) {
    if (attachments.length >= max) {
      unread++;
      continue;
    }
    const fetched = known.get(d.digest);
    let artifactType = d.artifactType;
    let annotations: Readonly<Record<string, string>> = d.annotations ?? {};
    if (fetched) {
      const m = fetched.manifest;
      if (unclassified(d)) artifactType = m.artifactType ?? (fetched.kind === 'manifest' ? fetched.manifest.config.mediaType : undefined) ?? artifactType;
      annotations = { ...(m.annotations ?? {}), ...annotations };
    }
    const c = classifyReferrer(artifactType, annotations);
    const location = `${repositoryName(repo)}@${d.digest}`;
    const common = { kind: c.kind, source: answer.source, format: c.format, subject: digest, repository: repo } as const;
    if (c.format === 'simple-signing' && fetched?.kind === 'manifest') {
      // One attachment per signature layer, as for a .sig tag.
      const layers = fetched.manifest.layers.filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE);
      const room = max - attachments.length;
      unread += Math.max(0, layers.length - room);
      layers.slice(0, room).forEach((layer, i) => {
        const layerAnnotations = layer.annotations ?? {};
        attachments.push({
          ...common,
          digest: layer.digest,
          mediaType: layer.mediaType,
          size: layer.size,
          annotations: layerAnnotations,
          signed: true,
          location: layers.length > 1 ? `${location} (layer ${i + 1} of ${layers.length})` : location,
          load: once(async (s) => {
            const content = await client.getBlob(repo, layer.digest, { signal: s, maxBytes: MAX_SIGNATURE_PAYLOAD_BYTES });
            return { ...loaded(content, layer.mediaType, layer.digest, 'simple-signing', layerAnnotations), manifest: fetched.manifest };
          }),
        });
      });
      continue;
    }
    attachments.push({
      ...common,
      digest: d.digest,
      mediaType: artifactType ?? d.mediaType,
      size: d.size,
      ...(c.predicateType ? { predicateType: c.predicateType } : {}),
      annotations,
      signed: c.format !== 'unsigned',
      location,
      load: once((s) => loadReferrer(client, repo, d, fetched, c.format, s)),
    });
  }
  return { attachments, problems, ...notRead(unread, answer.more) };
}

async function loadReferrer(client: RegistryClient, repo: ImageReference, d: Descriptor, known: FetchedManifest | undefined, format: AttachmentFormat, signal?: AbortSignal): Promise<LoadedAttachment> {
  const fetched = known ?? (await client.getManifest(repo, d.digest, signal));
  const where = `${repositoryName(repo)}@${shortDigest(d.digest)}`;
  if (fetched.kind !== 'manifest') {
    // An index as a referrer: nothing to read but the index itself.
    return { content: fetched.bytes, contentMediaType: fetched.mediaType, contentDigest: fetched.digest, payload: fetched.bytes, payloadType: fetched.mediaType, annotations: fetched.manifest.annotations ?? {} };
  }
  const manifest = fetched.manifest;
  const wanted = (l: Descriptor): boolean =>
    format === 'sigstore-bundle' ? BUNDLE_ARTIFACT_TYPES.has(l.mediaType) : format === 'simple-signing' ? l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE : format === 'dsse-envelope' ? l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE : true;
  const layer = manifest.layers.find(wanted) ?? manifest.layers[0];
  if (!layer) {
    throw new OciError('BAD_RESPONSE', `The referrer ${where} has no layer to read.`, 'It is not a signature, attestation or SBOM this extension reads; inspect it with oras.');
  }
  const content = await client.getBlob(repo, layer.digest, { signal, ...(format === 'simple-signing' ? { maxBytes: MAX_SIGNATURE_PAYLOAD_BYTES } : {}) });
  const annotations = format === 'simple-signing' ? layer.annotations ?? {} : { ...(manifest.annotations ?? {}), ...(layer.annotations ?? {}) };
  return { ...loaded(content, layer.mediaType, layer.digest, format, annotations), manifest };
}

/** The content and what a person reads of it. Never throws: unreadable content is shown as it is. */
function loaded(content: Buffer, mediaType: string, digest: string, format: AttachmentFormat, annotations: Readonly<Record<string, string>>): LoadedAttachment {
  const base = { content, contentMediaType: mediaType, contentDigest: digest, annotations };
  if (format === 'dsse-envelope' || format === 'sigstore-bundle') {
    const statement = statementOf(content, format);
    if (statement) return { ...base, payload: statement, payloadType: IN_TOTO_MEDIA_TYPE };
  }
  return { ...base, payload: content, payloadType: format === 'simple-signing' ? 'application/json' : mediaType };
}

/** The in-toto statement of a DSSE envelope (or of a bundle's envelope), if it has one. */
function statementOf(content: Buffer, format: AttachmentFormat): Buffer | undefined {
  try {
    const doc = JSON.parse(content.toString('utf8')) as { dsseEnvelope?: unknown };
    const envelope = (format === 'sigstore-bundle' ? doc.dsseEnvelope : doc) as { payload?: unknown; payloadType?: unknown } | undefined;
    if (typeof envelope?.payload !== 'string' || envelope.payloadType !== IN_TOTO_MEDIA_TYPE) return undefined;
    return Buffer.from(envelope.payload, 'base64');
  } catch {
    return undefined;
  }
}

// --- helpers -----------------------------------------------------------------------------

function platformOf(p: { os: string; architecture: string; variant?: string }): ImagePlatform {
  return { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
}

/** `linux/arm64/v8`. */
export function platformLabel(p: ImagePlatform | undefined): string {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : '';
}

export function isCancellation(e: unknown): boolean {
  return (e instanceof OciError && e.code === 'CANCELLED') || (e as Error)?.name === 'AbortError';
}

/** A registry problem as a listing entry; cancellation is not a problem and goes on up. */
function problemOf(e: unknown, source: AttachmentSource, location: string): AttachmentProblem {
  if (isCancellation(e)) throw e;
  if (e instanceof OciError) return { source, location, code: e.code, message: e.message, ...(e.remedy ? { remedy: e.remedy } : {}) };
  return { source, location, code: 'ERROR', message: `Reading ${location} failed: ${(e as Error)?.message ?? String(e)}` };
}

/** A loader that runs once; after a failure the next call tries again. */
function once<T>(load: (signal?: AbortSignal) => Promise<T>): (signal?: AbortSignal) => Promise<T> {
  let pending: Promise<T> | undefined;
  return (signal) => {
    if (!pending) {
      pending = load(signal);
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}
