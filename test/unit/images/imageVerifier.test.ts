/**
 * Image attachments without a registry: listing through a stub client (what each cosign tag
 * and referrer becomes, problems, cancellation), verification of hand-signed cosign payloads
 * and envelopes (node crypto, cosign's formats), and the trust policy's `images` rules.
 * The real cosign, oras and docker-registry are in test/integration/image-attachments.test.ts.
 */
import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  attachmentsOf,
  classifyReferrer,
  DEFAULT_MAX_ATTACHMENTS,
  listAttachments,
  resolveImage,
  type Attachment,
  type LoadedAttachment,
} from '../../../src/core/images/attachments';
import { attachmentState, verifyAttachment, type ImageTrust } from '../../../src/core/images/imageVerifier';
import { OciError } from '../../../src/core/oci/errors';
import type { Descriptor, FetchedManifest } from '../../../src/core/oci/manifest';
import { parseImageReference, type ImageReference } from '../../../src/core/oci/reference';
import type { RegistryClient } from '../../../src/core/oci/registryClient';
import { applyPolicy, decideImage, type PolicyState } from '../../../src/core/policy/evaluate';
import { compilePolicy, ruleFor, ruleForImage, type PolicyLoad } from '../../../src/core/policy/policy';
import { certificateSignerOf, validEvidence } from '../../support/evidence';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const IMAGE = sha256('the image manifest');
const OTHER_IMAGE = sha256('another image manifest');
const REPO = '127.0.0.1:5000/app';
const SIMPLE = 'application/vnd.dev.cosign.simplesigning.v1+json';
const DSSE = 'application/vnd.dsse.envelope.v1+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ISSUER = 'https://token.actions.githubusercontent.com';

/** A registry in memory, counting requests as the real client does (one per call). */
class StubRegistry {
  readonly manifests = new Map<string, FetchedManifest>();
  readonly blobs = new Map<string, Buffer>();
  /** The referrers of every digest, or of each digest. */
  referrers: Descriptor[] | ((digest: string) => Descriptor[]) | undefined = undefined;
  referrersSource: 'referrers' | 'fallback-tag' = 'fallback-tag';
  failing = new Map<string, OciError>();
  calls: string[] = [];

  get client(): RegistryClient {
    const take = (what: string) => {
      this.calls.push(what);
      const failure = [...this.failing].find(([k]) => what.includes(k))?.[1];
      if (failure) throw failure;
    };
    return {
      requestCount: 0,
      findManifest: async (_ref: ImageReference, tag: string) => {
        take(`manifest ${tag}`);
        return this.manifests.get(tag);
      },
      getManifest: async (_ref: ImageReference, tag: string) => {
        take(`manifest ${tag}`);
        const m = this.manifests.get(tag);
        if (!m) throw new OciError('NOT_FOUND', `no ${tag}`);
        return m;
      },
      getBlob: async (_ref: ImageReference, digest: string) => {
        take(`blob ${digest}`);
        const b = this.blobs.get(digest);
        if (!b) throw new OciError('NOT_FOUND', `no blob ${digest}`);
        return b;
      },
      referrers: async (_ref: ImageReference, digest: string) => {
        take(`referrers ${digest}`);
        return { source: this.referrersSource, manifests: typeof this.referrers === 'function' ? this.referrers(digest) : (this.referrers ?? []) };
      },
    } as unknown as RegistryClient;
  }

  blob(bytes: Buffer | string): Descriptor {
    const b = Buffer.from(bytes);
    this.blobs.set(sha256(b), b);
    return { mediaType: 'application/octet-stream', digest: sha256(b), size: b.length };
  }

  manifest(tag: string | undefined, doc: Record<string, unknown>): Descriptor {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = sha256(bytes);
    const isIndex = doc.mediaType === OCI_INDEX;
    const fetched = { kind: isIndex ? 'index' : 'manifest', digest, mediaType: doc.mediaType as string, manifest: doc, bytes } as unknown as FetchedManifest;
    this.manifests.set(digest, fetched);
    if (tag) this.manifests.set(tag, fetched);
    return { mediaType: doc.mediaType as string, digest, size: bytes.length };
  }

  /** A cosign-style manifest under `sha256-<hex>.<suffix>` with these layers. */
  cosignTag(subject: string, suffix: string, layers: Array<{ bytes: Buffer | string; mediaType: string; annotations?: Record<string, string> }>): void {
    const config = this.blob('{}');
    this.manifest(`${subject.replace(':', '-')}.${suffix}`, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { ...config, mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: layers.map((l) => ({ ...this.blob(l.bytes), mediaType: l.mediaType, ...(l.annotations ? { annotations: l.annotations } : {}) })),
    });
  }
}

function simpleSigningPayload(digest: string, repository = REPO): Buffer {
  return Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': repository }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }));
}

function pae(type: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);
}

function envelope(key: KeyObject, subjectDigest: string, predicateType = 'https://slsa.dev/provenance/v1', names: readonly string[] = [REPO]): Buffer {
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: names.map((name) => ({ name, digest: { sha256: subjectDigest.slice(7) } })), predicateType, predicate: {} }));
  const type = 'application/vnd.in-toto+json';
  return Buffer.from(JSON.stringify({ payloadType: type, payload: statement.toString('base64'), signatures: [{ keyid: '', sig: sign('sha256', pae(type, statement), key).toString('base64') }] }));
}

/** A key-signed Sigstore bundle v0.3 around the envelope, nothing logged: what `cosign sign --new-bundle-format --tlog-upload=false` attaches as a referrer. */
function bundleOf(dsse: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      mediaType: BUNDLE,
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
      dsseEnvelope: JSON.parse(dsse.toString('utf8')) as object,
    }),
  );
}

/** A hand-made attachment whose content is `content`. */
function attachment(format: Attachment['format'], content: Buffer, annotations: Record<string, string> = {}, kind: Attachment['kind'] = format === 'dsse-envelope' ? 'attestation' : 'signature'): Attachment {
  const loaded: LoadedAttachment = { content, contentMediaType: format === 'dsse-envelope' ? DSSE : SIMPLE, contentDigest: sha256(content), payload: content, payloadType: 'application/json', annotations };
  return {
    kind,
    source: 'cosign-tag',
    format,
    digest: sha256(content),
    mediaType: loaded.contentMediaType,
    size: content.length,
    annotations,
    signed: format !== 'unsigned',
    subject: IMAGE,
    repository: parseImageReference(REPO),
    location: `${REPO}:sha256-test.sig`,
    load: async () => loaded,
  };
}

describe('image attachments: listing', () => {
  it('one attachment per layer of the cosign tags, with how each was found', async () => {
    const reg = new StubRegistry();
    reg.cosignTag(IMAGE, 'sig', [
      { bytes: simpleSigningPayload(IMAGE), mediaType: SIMPLE, annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' } },
      { bytes: simpleSigningPayload(IMAGE, 'other/app'), mediaType: SIMPLE, annotations: { 'dev.cosignproject.cosign/signature': 'BBBB' } },
    ]);
    reg.cosignTag(IMAGE, 'att', [{ bytes: '{"payloadType":"x"}', mediaType: DSSE, annotations: { predicateType: 'https://slsa.dev/provenance/v0.2', 'dev.cosignproject.cosign/signature': '' } }]);
    reg.cosignTag(IMAGE, 'sbom', [{ bytes: '{"spdxVersion":"SPDX-2.3"}', mediaType: 'text/spdx+json' }]);
    const { attachments, problems } = await attachmentsOf(reg.client, REPO, IMAGE);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      attachments.map((a) => [a.kind, a.source, a.format, a.signed, a.predicateType]),
      [
        ['signature', 'cosign-tag', 'simple-signing', true, undefined],
        ['signature', 'cosign-tag', 'simple-signing', true, undefined],
        ['attestation', 'cosign-tag', 'dsse-envelope', true, 'https://slsa.dev/provenance/v0.2'],
        ['sbom', 'cosign-tag', 'unsigned', false, undefined],
      ],
    );
    const hex = IMAGE.slice(7);
    assert.equal(attachments[0]!.location, `${REPO}:sha256-${hex}.sig (layer 1 of 2)`);
    assert.equal(attachments[2]!.location, `${REPO}:sha256-${hex}.att`);
    // Listing read manifests only: the .sig/.att/.sbom tags and the referrers.
    assert.deepEqual(reg.calls.sort(), [`manifest sha256-${hex}.att`, `manifest sha256-${hex}.sbom`, `manifest sha256-${hex}.sig`, `referrers ${IMAGE}`]);
    const sbom = await attachments[3]!.load();
    assert.equal(sbom.payload.toString(), '{"spdxVersion":"SPDX-2.3"}');
    await attachments[3]!.load();
    assert.equal(reg.calls.filter((c) => c.startsWith('blob')).length, 1, 'a payload is fetched once');
  });

  it('classifies referrers by artifact type and annotations, fetching a manifest only when the index does not say', async () => {
    const reg = new StubRegistry();
    const bundleLayer = reg.blob('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
    const empty = reg.blob('{}');
    // What cosign 2.5's `attest --new-bundle-format` writes, and its fallback index entry (artifactType: the empty type, no annotations).
    const unlabelled = reg.manifest(undefined, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE,
      config: { ...empty, mediaType: 'application/vnd.oci.empty.v1+json' },
      layers: [{ ...bundleLayer, mediaType: BUNDLE }],
      annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1' },
      subject: { mediaType: OCI_MANIFEST, digest: IMAGE, size: 1 },
    });
    reg.referrers = [
      { ...unlabelled, artifactType: 'application/vnd.oci.empty.v1+json' },
      { mediaType: OCI_MANIFEST, digest: sha256('a'), size: 1, artifactType: BUNDLE, annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' } },
      { mediaType: OCI_MANIFEST, digest: sha256('b'), size: 1, artifactType: 'application/spdx+json' },
      { mediaType: OCI_MANIFEST, digest: sha256('c'), size: 1, artifactType: 'application/vnd.example.thing' },
      { mediaType: OCI_MANIFEST, digest: sha256('d'), size: 1, artifactType: 'application/vnd.cncf.notary.signature' },
    ];
    const { attachments, problems } = await attachmentsOf(reg.client, REPO, IMAGE);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      attachments.map((a) => [a.kind, a.source, a.format, a.mediaType, a.predicateType ?? null]),
      [
        ['attestation', 'fallback-tag', 'sigstore-bundle', BUNDLE, 'https://slsa.dev/provenance/v1'],
        ['signature', 'fallback-tag', 'sigstore-bundle', BUNDLE, 'https://sigstore.dev/cosign/sign/v1'],
        ['sbom', 'fallback-tag', 'unsigned', 'application/spdx+json', null],
        ['other', 'fallback-tag', 'unsigned', 'application/vnd.example.thing', null],
        ['signature', 'fallback-tag', 'notary-signature', 'application/vnd.cncf.notary.signature', null],
      ],
    );
    assert.deepEqual(reg.calls.filter((c) => c.startsWith('manifest sha256:')), [`manifest ${unlabelled.digest}`], 'only the unlabelled referrer was opened');
    const loaded = await attachments[0]!.load();
    assert.equal(loaded.content.toString(), '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
    assert.equal(reg.calls.filter((c) => c === `manifest ${unlabelled.digest}`).length, 1, 'the manifest fetched to classify is reused');
  });

  it('classifyReferrer: bundle content and predicate decide signature or attestation', () => {
    assert.equal(classifyReferrer(BUNDLE, { 'dev.sigstore.bundle.content': 'message-signature' }).kind, 'signature');
    assert.equal(classifyReferrer('application/vnd.dev.sigstore.bundle+json;version=0.3', {}).kind, 'attestation');
    assert.equal(classifyReferrer('application/vnd.dev.cosign.artifact.sig.v1+json', {}).format, 'simple-signing');
    assert.equal(classifyReferrer('application/vnd.cyclonedx+json', {}).kind, 'sbom');
    assert.equal(classifyReferrer(undefined, {}).kind, 'other');
  });

  it('a source that fails is a problem of its own; the others still list; cancellation is not swallowed', async () => {
    const reg = new StubRegistry();
    reg.cosignTag(IMAGE, 'sig', [{ bytes: simpleSigningPayload(IMAGE), mediaType: SIMPLE }]);
    reg.failing.set('.att', new OciError('DENIED', 'no access to the .att tag', 'Sign in.'));
    reg.failing.set('referrers', new OciError('RATE_LIMITED', 'slow down'));
    const { attachments, problems } = await attachmentsOf(reg.client, REPO, IMAGE);
    assert.equal(attachments.length, 1);
    assert.deepEqual(
      problems.map((p) => [p.source, p.code, p.message]),
      [
        ['cosign-tag', 'DENIED', 'no access to the .att tag'],
        ['referrers', 'RATE_LIMITED', 'slow down'],
      ],
    );
    assert.match(problems[0]!.location, /\.att$/);
    reg.failing.set('.sbom', new OciError('CANCELLED', 'cancelled'));
    await assert.rejects(attachmentsOf(reg.client, REPO, IMAGE), (e: unknown) => e instanceof OciError && e.code === 'CANCELLED');
  });

  it('a multi-arch index: the index first, then each platform with its own attachments', async () => {
    const reg = new StubRegistry();
    const amd = reg.manifest(undefined, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'c', digest: sha256('c1'), size: 1 }, layers: [] });
    const arm = reg.manifest(undefined, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'c', digest: sha256('c2'), size: 1 }, layers: [] });
    const buildx = reg.manifest(undefined, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'c', digest: sha256('c3'), size: 1 }, layers: [] });
    const index = reg.manifest('v1', {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { ...amd, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { ...buildx, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd.digest } },
      ],
    });
    reg.cosignTag(arm.digest, 'sig', [{ bytes: simpleSigningPayload(arm.digest), mediaType: SIMPLE }]);
    const listing = await listAttachments(reg.client, `${REPO}:v1`);
    assert.equal(listing.reference, `${REPO}:v1`);
    assert.equal(listing.digest, index.digest);
    assert.deepEqual(
      listing.manifests.map((m) => [m.digest, m.platform ?? null, m.attachments.length]),
      [
        [index.digest, null, 0],
        [amd.digest, { os: 'linux', architecture: 'amd64' }, 0],
        [arm.digest, { os: 'linux', architecture: 'arm64', variant: 'v8' }, 1],
      ],
    );
    const only = await listAttachments(reg.client, `${REPO}:v1`, { platforms: false });
    assert.equal(only.manifests.length, 1);
  });
});

describe('image attachments: a registry listing thousands', () => {
  const loads = (calls: readonly string[]) => calls.filter((c) => c.startsWith('blob') || /^manifest sha256:/.test(c)).length;

  it('an index of 20,000 platforms and a digest with 15,000 referrers: reads 50 of each, counts the rest as not read', async () => {
    const reg = new StubRegistry();
    const platforms = Array.from({ length: 20_000 }, (_, i) => ({ mediaType: OCI_MANIFEST, digest: sha256(`platform ${i}`), size: 1, platform: { os: 'linux', architecture: `a${i}` } }));
    const index = reg.manifest('latest', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: platforms });
    const referrers = Array.from({ length: 15_000 }, (_, i): Descriptor => ({ mediaType: OCI_MANIFEST, digest: sha256(`referrer ${i}`), size: 1, artifactType: BUNDLE }));
    reg.referrersSource = 'referrers';
    reg.referrers = (digest) => (digest === index.digest ? referrers : []);
    const listing = await listAttachments(reg.client, `${REPO}:latest`, { prefetch: true });
    assert.equal(DEFAULT_MAX_ATTACHMENTS, 50);
    assert.equal(listing.image.platforms.length, 50);
    assert.equal(listing.image.platformsNotRead, 20_000 - 50);
    assert.equal(listing.manifests.length, 51);
    assert.equal(listing.manifests[0]!.attachments.length, 50);
    assert.deepEqual(listing.manifests[0]!.notRead, { count: 15_000 - 50, more: false });
    assert.equal(listing.manifests[1]!.notRead, undefined, 'nothing left unread: no count');
    // The tag, 4 listing requests per manifest read, and one prefetch per attachment kept.
    assert.ok(reg.calls.length <= 1 + 51 * 4 + 50, `${reg.calls.length} requests`);
    // Signing an index and each platform asks for all of them, as the person confirmed.
    const whole = await resolveImage(reg.client, `${REPO}:latest`);
    assert.deepEqual([whole.platforms.length, whole.platformsNotRead], [20_000, 0]);
    const few = await listAttachments(reg.client, `${REPO}:latest`, { maxAttachments: 3 });
    assert.deepEqual([few.manifests.length, few.image.platformsNotRead, few.manifests[0]!.attachments.length, few.manifests[0]!.notRead?.count], [4, 20_000 - 3, 3, 15_000 - 3]);
  });

  it('counts cosign-tag layers and simple-signing referrer layers against the same bound, in the order .sig, .att, .sbom, referrers', async () => {
    const reg = new StubRegistry();
    const layers = (n: number, mediaType: string) => Array.from({ length: n }, (_, i) => ({ bytes: `layer ${mediaType} ${i}`, mediaType, annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' } }));
    reg.cosignTag(IMAGE, 'sig', layers(8, SIMPLE));
    reg.cosignTag(IMAGE, 'att', layers(5, DSSE));
    reg.referrers = [
      { mediaType: OCI_MANIFEST, digest: sha256('r1'), size: 1, artifactType: BUNDLE },
      { mediaType: OCI_MANIFEST, digest: sha256('r2'), size: 1, artifactType: BUNDLE },
    ];
    const got = await attachmentsOf(reg.client, REPO, IMAGE, { maxAttachments: 10, prefetch: true });
    assert.deepEqual(got.attachments.map((a) => a.format), [...Array(8).fill('simple-signing'), 'dsse-envelope', 'dsse-envelope']);
    assert.deepEqual(got.notRead, { count: 3 + 2, more: false });
    assert.ok(loads(reg.calls) <= 10, `${loads(reg.calls)} payloads prefetched for 10 attachments`);

    // cosign's oci-1-1 signature referrer: one signature per layer, thousands of layers.
    const many = new StubRegistry();
    const config = many.blob('{}');
    const sig = many.manifest(undefined, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      config: { ...config, mediaType: 'application/vnd.oci.empty.v1+json' },
      layers: Array.from({ length: 5_000 }, (_, i) => ({ ...many.blob(`sig ${i}`), mediaType: SIMPLE })),
    });
    many.referrers = [{ ...sig, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' }];
    const bounded = await attachmentsOf(many.client, REPO, IMAGE, { maxAttachments: 7 });
    assert.equal(bounded.attachments.length, 7);
    assert.deepEqual(bounded.notRead, { count: 5_000 - 7, more: false });
  });

  it('says "more" when the registry had referrers pages left, and a bound outside 1…1000 is brought within it', async () => {
    const reg = new StubRegistry();
    const client = reg.client;
    const asked: Array<number | undefined> = [];
    const paging = Object.assign(Object.create(client) as RegistryClient, {
      referrers: async (_ref: ImageReference, _digest: string, options: { enough?: number } = {}) => {
        asked.push(options.enough);
        return { source: 'referrers' as const, manifests: Array.from({ length: 4 }, (_, i) => ({ mediaType: OCI_MANIFEST, digest: sha256(`p${i}`), size: 1, artifactType: 'application/spdx+json' })), more: true };
      },
    });
    const got = await attachmentsOf(paging, REPO, IMAGE, { maxAttachments: 2 });
    assert.deepEqual(asked, [2], 'the client is told when it has enough');
    assert.deepEqual(got.notRead, { count: 2, more: true });
    await attachmentsOf(paging, REPO, IMAGE, { maxAttachments: 1e9 });
    await attachmentsOf(paging, REPO, IMAGE, { maxAttachments: -5 });
    assert.deepEqual(asked.slice(1), [1000, 1]);
  });
});

describe('image attachments: verification under the trust policy', () => {
  let dir: string;
  let key: KeyObject;
  let otherKey: KeyObject;
  const trustedRoot = { error: 'no trusted root in this test', remedy: 'none' };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-image-verify-'));
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    key = pair.privateKey;
    await writeFile(join(dir, 'cosign.pub'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    otherKey = other.privateKey;
    await writeFile(join(dir, 'other.pub'), other.publicKey.export({ type: 'spki', format: 'pem' }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const policyOf = async (rules: unknown[]): Promise<PolicyState> => {
    const load = await compilePolicy(join(dir, 'policy.json'), JSON.stringify({ version: 1, rules }));
    assert.ok(load.ok, load.diagnostics.map((d) => d.message).join('; '));
    return { kind: 'loaded', load };
  };
  const trust = (policy: PolicyState): ImageTrust => ({ policy, trustedRoot });
  const signedPayload = (payload: Buffer, by = key) => attachment('simple-signing', payload, { 'dev.cosignproject.cosign/signature': sign('sha256', payload, by).toString('base64') });

  it('a key-signed simple-signing payload: verified by the key of the rule covering the image', async () => {
    const policy = await policyOf([{ name: 'apps', images: ['127.0.0.1:5000/*'], keys: ['cosign.pub'] }]);
    const e = await verifyAttachment(signedPayload(simpleSigningPayload(IMAGE)), IMAGE, `${REPO}:v1`, trust(policy));
    assert.equal(e?.state, 'verified', e?.summary);
    assert.equal(e?.kind, 'cosign-signature');
    assert.equal(e?.rule, 'rule 1 (apps)');
    assert.equal(e?.signer?.kind === 'key' && e.signer.source, join(dir, 'cosign.pub'));
    assert.deepEqual(
      e?.checks.map((c) => `${c.id}:${c.outcome}`),
      ['read:passed', 'parse:passed', 'artifact-binding:passed', 'conversion:passed', 'artifact-binding:passed', 'timestamps:passed', 'signing-key:passed', 'transparency-log:passed', 'signature:passed', 'policy:passed'],
    );
  });

  it('fails a payload naming another image digest; one made for another repository (a copy, a mirror) is valid but untrusted here', async () => {
    const policy = await policyOf([{ images: ['127.0.0.1:5000/**'], keys: ['cosign.pub'] }]);
    const other = await verifyAttachment(signedPayload(simpleSigningPayload(OTHER_IMAGE)), IMAGE, REPO, trust(policy));
    assert.equal(other?.state, 'failed');
    assert.equal(other?.failure?.check, 'artifact-binding');
    assert.match(other!.failure!.message, new RegExp(`is for ${OTHER_IMAGE}, not for this image \\(${IMAGE}\\)`));
    const moved = await verifyAttachment(signedPayload(simpleSigningPayload(IMAGE, 'ghcr.io/octo/app')), IMAGE, REPO, trust(policy));
    assert.equal(moved?.state, 'untrusted', moved?.summary);
    assert.equal(moved?.failure?.check, 'artifact-binding');
    assert.equal(moved!.summary, 'A valid signature, signed for ghcr.io/octo/app, found on 127.0.0.1:5000/app.');
    assert.ok(moved!.checks.some((c) => c.id === 'signature' && c.outcome === 'passed'), 'the signature itself was checked');
    // Made for another repository and also not valid: failed, as any bad signature.
    const movedForged = await verifyAttachment(signedPayload(simpleSigningPayload(IMAGE, 'ghcr.io/octo/app'), otherKey), IMAGE, REPO, trust(policy));
    assert.equal(movedForged?.state, 'failed');
    const nameless = Buffer.from(JSON.stringify({ critical: { identity: {}, image: { 'docker-manifest-digest': IMAGE }, type: 'cosign container image signature' }, optional: null }));
    assert.equal((await verifyAttachment(signedPayload(nameless), IMAGE, REPO, trust(policy)))?.state, 'failed');
    // Docker Hub spellings are one repository.
    const hub = await verifyAttachment(signedPayload(simpleSigningPayload(IMAGE, 'index.docker.io/library/alpine')), IMAGE, 'alpine:3', trust(await policyOf([{ images: ['alpine'], keys: ['cosign.pub'] }])));
    assert.equal(hub?.state, 'verified', hub?.summary);
  });

  it('another key, a changed payload: failed; no rule for the image: no key, unverifiable', async () => {
    const policy = await policyOf([{ images: [REPO], keys: ['cosign.pub'] }]);
    const wrongKey = await verifyAttachment(signedPayload(simpleSigningPayload(IMAGE), otherKey), IMAGE, REPO, trust(policy));
    assert.equal(wrongKey?.state, 'failed');
    assert.equal(wrongKey?.failure?.check, 'signature');
    const payload = simpleSigningPayload(IMAGE);
    const changed = attachment('simple-signing', Buffer.from(payload.toString().replace('"optional":null', '"optional":{"x":1}')), { 'dev.cosignproject.cosign/signature': sign('sha256', payload, key).toString('base64') });
    assert.equal((await verifyAttachment(changed, IMAGE, REPO, trust(policy)))?.state, 'failed');
    const uncovered = await verifyAttachment(signedPayload(simpleSigningPayload(IMAGE)), IMAGE, REPO, trust(await policyOf([{ images: ['ghcr.io/**'], keys: ['cosign.pub'] }])));
    assert.equal(uncovered?.state, 'unverifiable');
    assert.equal(uncovered?.failure?.check, 'signing-key');
  });

  it('a keyless signature without a Rekor bundle or timestamp cannot be checked', async () => {
    const e = await verifyAttachment(
      attachment('simple-signing', simpleSigningPayload(IMAGE), { 'dev.cosignproject.cosign/signature': 'MEUCIQ==', 'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n' }),
      IMAGE,
      REPO,
      trust({ kind: 'none' }),
    );
    assert.equal(e?.state, 'unverifiable');
    assert.equal(e?.failure?.check, 'timestamps');
  });

  it('a key-signed DSSE envelope (.att): its statement must name the image digest', async () => {
    const policy = await policyOf([{ images: [REPO], keys: ['cosign.pub'] }]);
    const good = await verifyAttachment(attachment('dsse-envelope', envelope(key, IMAGE)), IMAGE, REPO, trust(policy));
    assert.equal(good?.state, 'verified', good?.summary);
    assert.equal(good?.kind, 'intoto-attestation');
    assert.equal(good?.bundle?.predicateType, 'https://slsa.dev/provenance/v1');
    const elsewhere = await verifyAttachment(attachment('dsse-envelope', envelope(key, OTHER_IMAGE)), IMAGE, REPO, trust(policy));
    assert.equal(elsewhere?.state, 'failed');
    assert.equal(elsewhere?.failure?.check, 'artifact-binding');
    const notEnvelope = await verifyAttachment(attachment('dsse-envelope', Buffer.from('{"payload":1}')), IMAGE, REPO, trust(policy));
    assert.equal(notEnvelope?.state, 'failed');
    assert.equal(notEnvelope?.failure?.check, 'parse');
  });

  it('one rule for every kind: a valid signature or attestation signed for another repository is untrusted here', async () => {
    const policy = await policyOf([{ images: ['127.0.0.1:5000/**'], keys: ['cosign.pub'] }]);
    const cosignSign = 'https://sigstore.dev/cosign/sign/v1';
    const bundleReferrer = (names: readonly string[], kind: Attachment['kind'] = 'signature', predicateType = cosignSign) => ({
      ...attachment('sigstore-bundle', bundleOf(envelope(key, IMAGE, predicateType, names)), {}, kind),
      source: 'referrers' as const,
      location: `${REPO}@${sha256('referrer')}`,
    });
    const cases: Array<[string, Attachment, string, string | undefined]> = [
      ['a bundle referrer copied from ghcr.io/octo/app', bundleReferrer(['ghcr.io/octo/app']), 'untrusted', 'A valid signature, signed for ghcr.io/octo/app, found on 127.0.0.1:5000/app.'],
      ['a bundle referrer signed for here', bundleReferrer([REPO]), 'verified', undefined],
      ['a bundle attestation copied from ghcr.io/octo/app', bundleReferrer(['ghcr.io/octo/app'], 'attestation', 'https://slsa.dev/provenance/v1'), 'untrusted', 'A valid attestation, signed for ghcr.io/octo/app, found on 127.0.0.1:5000/app.'],
      ['a .att envelope copied from ghcr.io/octo/app', attachment('dsse-envelope', envelope(key, IMAGE, 'https://slsa.dev/provenance/v1', ['ghcr.io/octo/app'])), 'untrusted', 'A valid attestation, signed for ghcr.io/octo/app, found on 127.0.0.1:5000/app.'],
      ['a .att envelope naming here among others', attachment('dsse-envelope', envelope(key, IMAGE, 'https://slsa.dev/provenance/v1', ['ghcr.io/octo/app', REPO])), 'verified', undefined],
      ['a .att envelope whose subject is a file name, no repository', attachment('dsse-envelope', envelope(key, IMAGE, 'https://slsa.dev/provenance/v1', ['app.tar'])), 'verified', undefined],
      ['a .sig payload copied from ghcr.io/octo/app', signedPayload(simpleSigningPayload(IMAGE, 'ghcr.io/octo/app')), 'untrusted', 'A valid signature, signed for ghcr.io/octo/app, found on 127.0.0.1:5000/app.'],
    ];
    for (const [what, a, state, summary] of cases) {
      const e = await verifyAttachment(a, IMAGE, REPO, trust(policy));
      assert.equal(e?.state, state, `${what}: ${e?.summary}`);
      if (summary) {
        assert.equal(e?.summary, summary, what);
        assert.equal(e?.failure?.check, 'artifact-binding', what);
        assert.ok(e?.checks.some((c) => c.id === 'signature' && c.outcome === 'passed'), `${what}: the signature itself was checked`);
      }
    }
    // Signed for another repository by another key: failed, as any bad signature.
    const forged = { ...bundleReferrer(['ghcr.io/octo/app']), load: async () => ({ ...(await bundleReferrer(['ghcr.io/octo/app']).load()), content: bundleOf(envelope(otherKey, IMAGE, cosignSign, ['ghcr.io/octo/app'])) }) };
    assert.equal((await verifyAttachment(forged, IMAGE, REPO, trust(policy)))?.state, 'failed');
  });

  it('SBOMs carry no signature: no evidence, state "unsigned"', async () => {
    const sbom = attachment('unsigned', Buffer.from('{}'), {}, 'sbom');
    const e = await verifyAttachment(sbom, IMAGE, REPO, trust({ kind: 'none' }));
    assert.equal(e, undefined);
    assert.equal(attachmentState(e), 'unsigned');
  });

  it('registry trouble while loading: unverifiable; content not matching its digest: failed; cancellation rethrown', async () => {
    const failing = (error: OciError): Attachment => ({ ...attachment('simple-signing', Buffer.from('x')), load: async () => Promise.reject(error) });
    const offline = await verifyAttachment(failing(new OciError('NETWORK', 'the registry cannot be reached', 'Check the network.')), IMAGE, REPO, trust({ kind: 'none' }));
    assert.equal(offline?.state, 'unverifiable');
    assert.equal(offline?.failure?.check, 'read');
    assert.equal(offline?.failure?.remedy, 'Check the network.');
    const tampered = await verifyAttachment(failing(new OciError('DIGEST_MISMATCH', 'wrong bytes')), IMAGE, REPO, trust({ kind: 'none' }));
    assert.equal(tampered?.state, 'failed');
    await assert.rejects(verifyAttachment(failing(new OciError('CANCELLED', 'cancelled')), IMAGE, REPO, trust({ kind: 'none' })), /cancelled/);
  });
});

describe('trust policy: "images" rules', () => {
  const compile = (rules: unknown[]): Promise<PolicyLoad> => compilePolicy('/ws/.sigstore/policy.json', JSON.stringify({ version: 1, rules }));
  const errors = (load: PolicyLoad) => load.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);

  it('globs cover registry/repository, whatever the tag or digest; Docker Hub names normalised', async () => {
    const load = await compile([
      { name: 'org', images: ['ghcr.io/octo/*'], identities: [{ subject: 'a@example.test', issuer: ISSUER }] },
      { name: 'deep', images: ['registry.example.test:5000/**'], identities: [{ subject: 'b@example.test', issuer: ISSUER }] },
      { name: 'hub', images: ['alpine', 'octo/app'], identities: [{ subject: 'c@example.test', issuer: ISSUER }] },
      { name: 'files', match: ['**'], identities: [{ subject: 'd@example.test', issuer: ISSUER }] },
    ]);
    assert.ok(load.ok, errors(load).join('; '));
    const rule = (ref: string) => ruleForImage(load.policy, ref)?.label;
    assert.equal(rule('ghcr.io/octo/app:1.2'), 'rule 1 (org)');
    assert.equal(rule(`GHCR.io/octo/app@${IMAGE}`), 'rule 1 (org)', 'hosts are case-insensitive, digests do not matter');
    assert.equal(rule('ghcr.io/octo/team/app'), undefined, '* stays within one path component');
    assert.equal(rule('ghcr.io/octopus/app'), undefined);
    assert.equal(rule('registry.example.test:5000/a/b/c:tag'), 'rule 2 (deep)');
    assert.equal(rule('alpine'), 'rule 3 (hub)');
    assert.equal(rule('docker.io/library/alpine:3.19'), 'rule 3 (hub)');
    assert.equal(rule('index.docker.io/octo/app'), 'rule 3 (hub)');
    assert.equal(rule('quay.io/alpine'), undefined);
    assert.equal(rule('not a reference'), undefined);
    assert.equal(ruleFor(load.policy, '/ws/dist/app.tgz')?.label, 'rule 4 (files)', 'files are matched by "match" only');
    assert.equal(rule('quay.io/x/y'), undefined, '"match" rules never cover images');
    const all = await compile([{ images: ['*'], keys: [] }]);
    assert.ok(all.ok && ruleForImage(all.policy, 'quay.io/x/y'), '"*" alone covers every image');
  });

  it('a glob naming a tag or digest, or uppercase repositories, is an error where it is written', async () => {
    for (const glob of ['ghcr.io/octo/app:1.2', `app@${IMAGE}`, 'alpine:3', 'ghcr.io/Octo/app', 'ghcr.io//app']) {
      const load = await compile([{ images: [glob], keys: [] }]);
      assert.equal(load.ok, false, glob);
      const diagnostic = load.diagnostics.find((d) => d.severity === 'error');
      assert.match(diagnostic!.message, /not a usable image glob/, glob);
      const text = JSON.stringify({ version: 1, rules: [{ images: [glob], keys: [] }] });
      assert.equal(text.slice(diagnostic!.offset, diagnostic!.offset + diagnostic!.length), JSON.stringify(glob));
    }
  });

  it('decideImage passes the rule\'s keys; applyPolicy says "image" for images', async () => {
    const load = await compile([{ name: 'apps', images: ['ghcr.io/octo/*'], identities: [{ subject: 'a@example.test', issuer: ISSUER }] }]);
    const policy: PolicyState = { kind: 'loaded', load };
    const defaults = { trustedRoot: { error: 'x', remedy: 'y' }, network: { allowed: false, rekorURL: 'https://rekor.example.test' } };
    assert.equal(decideImage(policy, 'ghcr.io/octo/app:1', defaults).rule?.label, 'rule 1 (apps)');
    assert.equal(decideImage(policy, 'ghcr.io/other/app:1', defaults).rule, undefined);
    const signer = certificateSignerOf('a@example.test', ISSUER);
    const uncovered = applyPolicy(validEvidence(signer), policy, undefined, 'image');
    assert.equal(uncovered.state, 'untrusted');
    assert.match(uncovered.summary, /no rule of the trust policy covers this image/);
    assert.match(uncovered.failure!.remedy, /whose "images" covers this image/);
    const someoneElse = applyPolicy(validEvidence(certificateSignerOf('z@example.test', ISSUER)), policy, decideImage(policy, 'ghcr.io/octo/app', defaults).rule, 'image');
    assert.equal(someoneElse.state, 'failed');
    assert.match(someoneElse.failure!.remedy, /^The image was signed by someone/);
    // Files keep their wording.
    assert.match(applyPolicy(validEvidence(signer), policy, undefined).summary, /covers this file/);
  });
});
