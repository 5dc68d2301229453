/**
 * The read-modify-write of cosign tags and the referrers fallback index, with another writer
 * stepping in at chosen moments. A registry cannot be made to interleave two clients' requests
 * exactly so; this in-memory one can. (test/integration/image-signing.test.ts runs real
 * concurrent writers against docker-registry.)
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';

import { appendToCosignTag, attachReferrer, digestTag, type RegistryWriter, type TagTiming } from '../../../src/core/imageSigning/attachmentStore';
import { OciError } from '../../../src/core/oci/errors';
import { parseManifest, type Descriptor, type FetchedManifest } from '../../../src/core/oci/manifest';
import { OCI_INDEX, OCI_MANIFEST } from '../../../src/core/oci/mediaTypes';
import { parseImageReference, type ImageReference } from '../../../src/core/oci/reference';

const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const SUBJECT = sha('the image');
const repo = parseImageReference('registry.example/app');

/** Tags and blobs in memory; `onBlob` runs as each blob is pushed (between a writer's read and its write). */
class MemoryRegistry implements RegistryWriter {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly tags = new Map<string, string>();
  puts = 0;
  onBlob?: () => Promise<void> | void;
  hasReferrersApi = false;

  async findManifest(_ref: ImageReference, tagOrDigest: string): Promise<FetchedManifest | undefined> {
    const digest = tagOrDigest.startsWith('sha256:') ? tagOrDigest : this.tags.get(tagOrDigest);
    const m = digest ? this.manifests.get(digest) : undefined;
    if (!m || !digest) return undefined;
    return { ...parseManifest(m.bytes, m.mediaType, tagOrDigest), digest, bytes: m.bytes, mediaType: m.mediaType } as FetchedManifest;
  }

  async referrers(_ref: ImageReference, digest: string): Promise<{ source: 'referrers' | 'fallback-tag'; manifests: Descriptor[] }> {
    if (!this.hasReferrersApi) return { source: 'fallback-tag', manifests: [] };
    const manifests: Descriptor[] = [];
    for (const [d, m] of this.manifests) {
      const parsed = JSON.parse(m.bytes.toString()) as { subject?: { digest: string }; artifactType?: string };
      if (parsed.subject?.digest === digest) manifests.push({ mediaType: m.mediaType, digest: d, size: m.bytes.length, ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}) });
    }
    return { source: 'referrers', manifests };
  }

  async pushBlob(_ref: ImageReference, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
    const digest = sha(bytes);
    this.blobs.set(digest, Buffer.from(bytes));
    await this.onBlob?.();
    return { digest, size: bytes.length };
  }

  async putManifest(_ref: ImageReference, tagOrDigest: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    this.puts++;
    const digest = sha(bytes);
    for (const l of (JSON.parse(Buffer.from(bytes).toString()) as { layers?: Descriptor[] }).layers ?? []) {
      assert.ok(this.blobs.has(l.digest), `a manifest is pushed only after its blobs (${l.digest})`);
    }
    this.manifests.set(digest, { bytes: Buffer.from(bytes), mediaType });
    if (!tagOrDigest.startsWith('sha256:')) this.tags.set(tagOrDigest, digest);
    return digest;
  }

  layers(tag: string): Descriptor[] {
    const m = this.manifests.get(this.tags.get(tag)!)!;
    return (JSON.parse(m.bytes.toString()) as { layers: Descriptor[] }).layers;
  }

  entries(tag: string): Descriptor[] {
    const m = this.manifests.get(this.tags.get(tag)!)!;
    return (JSON.parse(m.bytes.toString()) as { manifests: Descriptor[] }).manifests;
  }
}

const layer = (n: string) => ({ bytes: Buffer.from(`payload ${n}`), mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', annotations: { 'dev.cosignproject.cosign/signature': `sig-${n}` } });
const sigTag = digestTag(SUBJECT, 'sig');

/** Pauses answered at once, recorded; `onPause` may step in (another writer acting meanwhile). */
function instant(onPause?: (ms: number) => Promise<void> | void): TagTiming & { pauses: number[] } {
  const pauses: number[] = [];
  let clock = 0;
  return {
    pauses,
    now: () => clock,
    pause: async (ms) => {
      pauses.push(ms);
      clock += ms;
      await onPause?.(ms);
    },
  };
}
const INSTANT = instant();

describe('image signing: writing cosign tags', () => {
  it('creates the .sig tag, then appends to it keeping what is there, and adds nothing twice', async () => {
    const registry = new MemoryRegistry();
    const first = await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('a'), undefined, INSTANT);
    assert.equal(first.location, `registry.example/app:${sigTag}`);
    assert.equal(first.attempts, 1);
    await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('b'), undefined, INSTANT);
    assert.deepEqual(registry.layers(sigTag).map((l) => l.annotations?.['dev.cosignproject.cosign/signature']), ['sig-a', 'sig-b']);
    const puts = registry.puts;
    await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('a'), undefined, INSTANT);
    assert.equal(registry.puts, puts, 'the same signature again writes nothing');
    // cosign's config: one diff_id per layer.
    const manifest = (await registry.findManifest(repo, sigTag))!;
    assert.equal(manifest.kind, 'manifest');
    const config = JSON.parse(registry.blobs.get(manifest.kind === 'manifest' ? manifest.manifest.config.digest : '')!.toString()) as { rootfs: { diff_ids: string[] }; history: unknown[] };
    assert.deepEqual(config.rootfs.diff_ids, registry.layers(sigTag).map((l) => l.digest));
    assert.equal(config.history.length, 2);
  });

  it('keeps a signature another writer put in between our read and our write: the tag moved, so it starts again', async () => {
    const registry = new MemoryRegistry();
    await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('old'), undefined, INSTANT);
    // While we build our manifest (the second blob: after our layer, its config), the other writer lands.
    let blobs = 0;
    registry.onBlob = async () => {
      if (++blobs < 2) return;
      registry.onBlob = undefined;
      await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('theirs'), undefined, INSTANT);
    };
    const puts = registry.puts;
    const ours = await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('ours'), undefined, INSTANT);
    assert.equal(ours.attempts, 2, 'the re-read saw the tag move: our first manifest was never written');
    assert.equal(registry.puts, puts + 2, 'theirs, then ours once');
    assert.deepEqual(registry.layers(sigTag).map((l) => l.annotations?.['dev.cosignproject.cosign/signature']), ['sig-old', 'sig-theirs', 'sig-ours']);
  });

  it('writes again when another writer overwrote ours right after it landed', async () => {
    const registry = new MemoryRegistry();
    let overwritten = false;
    const original = registry.putManifest.bind(registry);
    registry.putManifest = async (ref, tag, bytes, mediaType) => {
      const digest = await original(ref, tag, bytes, mediaType);
      if (!overwritten && !tag.startsWith('sha256:')) {
        overwritten = true;
        // A writer who read before ours landed puts its own version, without ours.
        const theirs = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('{}'), size: 2 }, layers: [] }));
        registry.blobs.set(sha('{}'), Buffer.from('{}'));
        await original(ref, tag, theirs, OCI_MANIFEST);
      }
      return digest;
    };
    const ours = await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('ours'), undefined, INSTANT);
    assert.equal(ours.attempts, 2);
    assert.deepEqual(registry.layers(sigTag).map((l) => l.annotations?.['dev.cosignproject.cosign/signature']), ['sig-ours']);
  });

  it('writes again when a writer that read before ours landed puts its version after our first confirmation', async () => {
    const registry = new MemoryRegistry();
    await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('old'), undefined, INSTANT);
    const stale = (await registry.findManifest(repo, sigTag))!;
    let stepped = false;
    // The other writer read `stale`, and its write (old + theirs) lands while we wait to confirm.
    const timing = instant(async (ms) => {
      if (stepped || ms < 50) return;
      stepped = true;
      await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('theirs'), undefined, instant());
      const theirs = JSON.parse(stale.bytes.toString()) as { layers: unknown[] };
      theirs.layers = [...theirs.layers, ...registry.layers(sigTag).filter((l) => l.annotations?.['dev.cosignproject.cosign/signature'] === 'sig-theirs')];
      await registry.putManifest(repo, sigTag, Buffer.from(JSON.stringify(theirs)), OCI_MANIFEST);
    });
    const ours = await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('ours'), undefined, timing);
    assert.ok(stepped, 'the settle pause happened');
    assert.ok(timing.pauses.some((ms) => ms >= 50), `a settle time of at least 50 ms (${timing.pauses.join(', ')})`);
    assert.equal(ours.attempts, 2);
    assert.deepEqual(registry.layers(sigTag).map((l) => l.annotations?.['dev.cosignproject.cosign/signature']).sort(), ['sig-old', 'sig-ours', 'sig-theirs']);
  });

  it('reads again when the registry serves a tag being rewritten as a 500, or as briefly missing', async () => {
    const registry = new MemoryRegistry();
    await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('old'), undefined, INSTANT);
    const find = registry.findManifest.bind(registry);
    let hiccups = 0;
    registry.findManifest = async (ref, tag) => {
      hiccups++;
      if (hiccups === 1) throw new OciError('BAD_RESPONSE', 'registry answered 500 Internal Server Error', 'retry later', 500);
      if (hiccups === 3) return undefined; // seen before: torn, not deleted
      return find(ref, tag);
    };
    await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('ours'), undefined, INSTANT);
    assert.deepEqual(registry.layers(sigTag).map((l) => l.annotations?.['dev.cosignproject.cosign/signature']), ['sig-old', 'sig-ours'], 'the old signature was not dropped by a torn read');
    registry.findManifest = async () => {
      throw new OciError('BAD_RESPONSE', 'registry answered 500 Internal Server Error', 'retry later', 500);
    };
    await assert.rejects(appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('x'), undefined, INSTANT), /500/, 'a registry that keeps failing is reported');
  });

  it('gives up with a clear error on a tag that never stops moving', async () => {
    const registry = new MemoryRegistry();
    let n = 0;
    const other = async () => {
      registry.onBlob = undefined;
      await appendToCosignTag(registry, repo, SUBJECT, 'sig', layer(`other-${n++}`), undefined, INSTANT);
      registry.onBlob = other;
    };
    registry.onBlob = other;
    await assert.rejects(appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('ours'), undefined, INSTANT), /kept changing while it was being updated \(12 attempts\)/);
    assert.ok(!registry.layers(sigTag).some((l) => l.annotations?.['dev.cosignproject.cosign/signature'] === 'sig-ours'));
  });

  it('cancelled mid-upload: no tag written, whatever blobs were already pushed', async () => {
    for (const at of [1, 2]) {
      const registry = new MemoryRegistry();
      const stop = new AbortController();
      let blobs = 0;
      registry.onBlob = () => {
        if (++blobs === at) stop.abort(new Error('cancelled'));
        stop.signal.throwIfAborted();
      };
      await assert.rejects(appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('ours'), stop.signal, INSTANT), /cancelled/);
      assert.equal(registry.tags.size, 0, `cancelled at blob ${at}: no tag`);
      assert.equal(registry.puts, 0);
    }
  });

  it('refuses to write into a .sig tag that holds an index', async () => {
    const registry = new MemoryRegistry();
    await registry.putManifest(repo, sigTag, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })), OCI_INDEX);
    await assert.rejects(appendToCosignTag(registry, repo, SUBJECT, 'sig', layer('a'), undefined, INSTANT), /holds an index/);
  });
});

describe('image signing: writing referrers', () => {
  const subject = { mediaType: OCI_MANIFEST, digest: SUBJECT, size: 123 };
  const bundleLayer = { bytes: Buffer.from('{"bundle":1}'), mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', annotations: {} };
  const annotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' };

  it('pushes a manifest with subject, artifactType and the empty config, and adds it to the fallback index without losing entries', async () => {
    const registry = new MemoryRegistry();
    const fallback = digestTag(SUBJECT);
    const existing = { mediaType: OCI_MANIFEST, digest: sha('someone else'), size: 9, artifactType: 'application/spdx+json' };
    await registry.putManifest(repo, fallback, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [existing], annotations: { kept: 'yes' } })), OCI_INDEX);
    const written = await attachReferrer(registry, repo, subject, 'application/vnd.dev.sigstore.bundle.v0.3+json', bundleLayer, annotations, undefined, INSTANT);
    const referrer = JSON.parse(registry.manifests.get(written.digest)!.bytes.toString()) as Record<string, unknown>;
    assert.deepEqual(referrer.subject, subject);
    assert.equal(referrer.artifactType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(referrer.config, { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 });
    assert.deepEqual(referrer.annotations, annotations);
    assert.equal(written.fallbackTag, `registry.example/app:${fallback}`);
    const entries = registry.entries(fallback);
    assert.deepEqual(entries.map((e) => e.digest), [existing.digest, written.digest]);
    assert.equal(entries[1]!.artifactType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(entries[1]!.annotations, annotations);
    const index = JSON.parse(registry.manifests.get(registry.tags.get(fallback)!)!.bytes.toString()) as { annotations: unknown };
    assert.deepEqual(index.annotations, { kept: 'yes' }, 'fields of the index we do not write are kept');
  });

  it('leaves the fallback tag alone where the registry lists referrers itself', async () => {
    const registry = new MemoryRegistry();
    registry.hasReferrersApi = true;
    const written = await attachReferrer(registry, repo, subject, 'application/vnd.dev.sigstore.bundle.v0.3+json', bundleLayer, annotations, undefined, INSTANT);
    assert.equal(written.fallbackTag, undefined);
    assert.equal(registry.tags.size, 0);
  });
});
