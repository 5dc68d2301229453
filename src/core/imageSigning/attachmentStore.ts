/**
 * Writing signatures and attestations next to an image: a layer appended to cosign's
 * `sha256-<hex>.sig` / `.att` tag, or an OCI 1.1 referrer (plus the `sha256-<hex>` fallback
 * index where the registry has no referrers API).
 *
 * Tags are read-modify-write and registries offer no compare-and-swap, so every update
 * re-reads the tag just before writing, and after writing confirms that our entry is still
 * there at once and again after a settle time (a few times our own read-to-write span, which
 * is about how late another writer's stale write can land). If the tag moved (another window,
 * cosign) the update starts again from what is there now, keeping every entry. What no client
 * can prevent: a write landing later than that, from a writer that does not check afterwards
 * (cosign does not), loses ours. Blobs are
 * pushed before the manifest that names them: a failed upload leaves no tag pointing at a
 * missing blob.
 */
import { createHash } from 'node:crypto';
import { pause } from '../abortable';
import type { Descriptor, FetchedManifest } from '../oci/manifest';
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from '../oci/mediaTypes';
import { repositoryName, type ImageReference } from '../oci/reference';
import type { ReferrersSource } from '../oci/registryClient';
import { OciError } from '../oci/errors';
import { ImageSigningError } from './payloads';

/** What writing needs of the registry client. */
export interface RegistryWriter {
  findManifest(ref: ImageReference, tagOrDigest: string, signal?: AbortSignal): Promise<FetchedManifest | undefined>;
  referrers(ref: ImageReference, digest: string, options?: { signal?: AbortSignal }): Promise<{ source: ReferrersSource; manifests: Descriptor[] }>;
  pushBlob(ref: ImageReference, bytes: Uint8Array, signal?: AbortSignal): Promise<{ digest: string; size: number }>;
  putManifest(ref: ImageReference, tagOrDigest: string, bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<string>;
}

/** Rounds of read, write, confirm before giving up on a tag that keeps moving. */
const MAX_ATTEMPTS = 12;
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const EMPTY_JSON = Buffer.from('{}');

export interface NewLayer {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface Written {
  /** The manifest now under the tag (cosign tags) or the referrer manifest. */
  readonly digest: string;
  /** Where: `repo:tag`, or `repo@digest` for a referrer. */
  readonly location: string;
  /** The fallback index tag updated, for a registry without the referrers API. */
  readonly fallbackTag?: string;
  /** How many read-modify-write rounds the tag took (1 unless someone wrote at the same time). */
  readonly attempts: number;
}

/** `sha256-<hex>.<suffix>` (or the fallback tag without suffix) for an image digest. */
export function digestTag(digest: string, suffix?: 'sig' | 'att'): string {
  return `${digest.replace(':', '-')}${suffix ? `.${suffix}` : ''}`;
}

/**
 * Appends a layer to cosign's `.sig` or `.att` tag of `subject`, keeping every layer already
 * there. A layer already present (same blob, same signature) is not added twice.
 */
export async function appendToCosignTag(
  client: RegistryWriter,
  repo: ImageReference,
  subject: string,
  suffix: 'sig' | 'att',
  layer: NewLayer,
  signal?: AbortSignal,
  timing?: TagTiming,
): Promise<Written> {
  const tag = digestTag(subject, suffix);
  const clock = timing ?? REAL_TIMING;
  // Pushes are idempotent; docker-registry answers 500 now and then while others push the same blob.
  const pushed = await throughServerTrouble(() => client.pushBlob(repo, layer.bytes, signal), clock, signal);
  const ours: Descriptor = { mediaType: layer.mediaType, digest: pushed.digest, size: pushed.size, annotations: { ...layer.annotations } };
  const holds = (m: FetchedManifest): boolean => m.kind === 'manifest' && m.manifest.layers.some((l) => sameLayer(l, ours));
  return updateTag(client, repo, tag, holds, signal, clock, async (current) => {
    if (current && current.kind !== 'manifest') {
      throw new ImageSigningError('TAG_IN_USE', `${repositoryName(repo)}:${tag} holds an index, not the image manifest cosign writes.`, 'Something other than cosign uses that tag; inspect it with crane or oras, or store signatures as referrers.');
    }
    const layers = [...(current?.kind === 'manifest' ? current.manifest.layers : []), ours];
    // cosign's config: one diff_id and one history entry per layer (go-containerregistry expects them).
    const config = Buffer.from(
      JSON.stringify({
        architecture: '',
        created: '0001-01-01T00:00:00Z',
        history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
        os: '',
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
        config: {},
      }),
    );
    const configBlob = await throughServerTrouble(() => client.pushBlob(repo, config, signal), clock, signal);
    const previous = current?.kind === 'manifest' ? current.manifest.annotations : undefined;
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, size: configBlob.size, digest: configBlob.digest },
      layers: layers.map(descriptorJSON),
      ...(previous && Object.keys(previous).length ? { annotations: previous } : {}),
    };
    return { bytes: Buffer.from(JSON.stringify(manifest)), mediaType: OCI_MANIFEST };
  });
}

/**
 * Pushes an OCI 1.1 referrer of `subject` holding one layer, and, where the registry has no
 * referrers API, adds it to the `sha256-<hex>` fallback index (keeping the entries there).
 */
export async function attachReferrer(
  client: RegistryWriter,
  repo: ImageReference,
  subject: Descriptor,
  artifactType: string,
  layer: NewLayer,
  manifestAnnotations: Readonly<Record<string, string>>,
  signal?: AbortSignal,
  timing?: TagTiming,
): Promise<Written> {
  const clock = timing ?? REAL_TIMING;
  const push = (bytes: Buffer) => throughServerTrouble(() => client.pushBlob(repo, bytes, signal), clock, signal);
  const config = await push(EMPTY_JSON);
  const pushed = await push(layer.bytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: OCI_EMPTY, digest: config.digest, size: config.size },
    layers: [{ mediaType: layer.mediaType, digest: pushed.digest, size: pushed.size, ...(Object.keys(layer.annotations).length ? { annotations: layer.annotations } : {}) }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { ...manifestAnnotations },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await throughServerTrouble(() => client.putManifest(repo, digest, bytes, OCI_MANIFEST, signal), clock, signal);
  const location = `${repositoryName(repo)}@${digest}`;

  // Without a referrers API this reads the fallback tag, which other writers may be rewriting.
  const listed = await throughServerTrouble(() => client.referrers(repo, subject.digest, { signal }), clock, signal);
  if (listed.source === 'referrers' && listed.manifests.some((d) => d.digest === digest)) return { digest, location, attempts: 1 };

  const tag = digestTag(subject.digest);
  const entry: Descriptor = { mediaType: OCI_MANIFEST, digest, size: bytes.length, artifactType, annotations: { ...manifestAnnotations } };
  const holds = (m: FetchedManifest): boolean => m.kind === 'index' && m.manifest.manifests.some((d) => d.digest === digest);
  const written = await updateTag(client, repo, tag, holds, signal, clock, async (current) => {
    if (current && current.kind !== 'index') {
      throw new ImageSigningError('TAG_IN_USE', `The referrers fallback tag ${repositoryName(repo)}:${tag} holds an image manifest, not an index.`, 'Something other than an OCI referrers writer uses that tag; inspect it with oras or crane.');
    }
    // Keep the index as it is (fields we do not know included), with our entry added.
    const index = current ? (JSON.parse(current.bytes.toString('utf8')) as { manifests?: unknown[] } & Record<string, unknown>) : { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    index.manifests = [...(Array.isArray(index.manifests) ? index.manifests : []), descriptorJSON(entry)];
    return { bytes: Buffer.from(JSON.stringify(index)), mediaType: OCI_INDEX };
  });
  return { digest, location, fallbackTag: `${repositoryName(repo)}:${tag}`, attempts: written.attempts };
}

/** Waiting between reads, and the clock it is measured with (tests answer at once). */
export interface TagTiming {
  pause(ms: number, signal?: AbortSignal): Promise<void>;
  now(): number;
}

const REAL_TIMING: TagTiming = { pause, now: () => performance.now() };

/** Requests answered 5xx tried again: docker-registry serves a tag half-rewritten, or a blob pushed by two at once, as a 500. */
const TORN_READS = 4;

/**
 * How long after our write another writer's stale write may still land: that writer read the
 * tag before ours landed and writes after, which takes about as long as our own read-to-write
 * did. Confirming over a few times that span catches it, and we merge again.
 */
function settleTime(readToWrite: number): number {
  return Math.min(2000, Math.max(50, 3 * readToWrite));
}

/** Jittered, growing waits between attempts: writers that collided do not collide again in step. */
function backoff(attempt: number): number {
  return (10 + Math.random() * 40) * attempt;
}

function serverTrouble(e: unknown): boolean {
  return e instanceof OciError && e.status !== undefined && e.status >= 500;
}

/** `read`, tried again (TORN_READS times, with backoff) while the registry answers 5xx. */
async function throughServerTrouble<T>(read: () => Promise<T>, timing: TagTiming, signal?: AbortSignal): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await read();
    } catch (e) {
      if (!serverTrouble(e) || i > TORN_READS) throw e;
      await timing.pause(backoff(i), signal);
    }
  }
}

/**
 * Read, build, re-read (unchanged?), write, then confirm that our entry is still there right
 * away and after a settle time. Any change or registry hiccup starts the round again from
 * what is under the tag then. `build` gets what is under the tag now (undefined if nothing)
 * and returns the new manifest; `holds` says whether a manifest carries our entry.
 */
async function updateTag(
  client: RegistryWriter,
  repo: ImageReference,
  tag: string,
  holds: (m: FetchedManifest) => boolean,
  signal: AbortSignal | undefined,
  timing: TagTiming,
  build: (current: FetchedManifest | undefined) => Promise<{ bytes: Buffer; mediaType: string }>,
): Promise<Written> {
  const location = `${repositoryName(repo)}:${tag}`;
  let existed = false;
  const read = async (): Promise<FetchedManifest | undefined> => {
    for (let i = 1; ; i++) {
      const found = await throughServerTrouble(() => client.findManifest(repo, tag, signal), timing, signal);
      // A tag that was there and is gone mid-update is more likely being rewritten than deleted.
      if (!found && existed && i <= TORN_READS) {
        await timing.pause(backoff(i), signal);
        continue;
      }
      if (found) existed = true;
      return found;
    }
  };
  const confirmed = async (readToWrite: number): Promise<FetchedManifest | undefined> => {
    const now = await read();
    if (!now || !holds(now)) return undefined;
    await timing.pause(settleTime(readToWrite), signal);
    const later = await read();
    return later && holds(later) ? later : undefined;
  };

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (attempt > 1) await timing.pause(backoff(attempt - 1), signal);
    const start = timing.now();
    const current = await read();
    if (current && holds(current)) {
      // Already there (an earlier round of ours, merged by someone else): make sure it stays.
      const kept = await confirmed(timing.now() - start);
      if (kept) return { digest: kept.digest, location, attempts: attempt };
      continue;
    }
    const next = await build(current);
    const reread = timing.now();
    const again = await read();
    if (again?.digest !== current?.digest) continue;
    try {
      await client.putManifest(repo, tag, next.bytes, next.mediaType, signal);
    } catch (e) {
      if (serverTrouble(e)) continue;
      throw e;
    }
    const kept = await confirmed(timing.now() - reread);
    if (kept) return { digest: kept.digest, location, attempts: attempt };
  }
  throw new ImageSigningError('TAG_CONFLICT', `${location} kept changing while it was being updated (${MAX_ATTEMPTS} attempts).`, 'Someone else is writing to the same image right now; try again in a moment.');
}

function sameLayer(a: Descriptor, b: Descriptor): boolean {
  const key = 'dev.cosignproject.cosign/signature';
  return a.digest === b.digest && (a.annotations?.[key] ?? '') === (b.annotations?.[key] ?? '');
}

function descriptorJSON(d: Descriptor): Record<string, unknown> {
  return {
    mediaType: d.mediaType,
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
    size: d.size,
    digest: d.digest,
    ...(d.annotations && Object.keys(d.annotations).length ? { annotations: d.annotations } : {}),
    ...(d.platform ? { platform: d.platform } : {}),
  };
}
