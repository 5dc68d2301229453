import { strict as assert } from 'node:assert';

import { OciError } from '../../../src/core/oci/errors';
import { descriptorOf, filterByArtifactType, parseManifest } from '../../../src/core/oci/manifest';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, MANIFEST_ACCEPT, OCI_INDEX, OCI_MANIFEST } from '../../../src/core/oci/mediaTypes';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (c: string, extra: object = {}) => ({ mediaType: 'application/octet-stream', digest: D(c), size: 3, ...extra });
const bytes = (doc: unknown) => Buffer.from(JSON.stringify(doc));
const badResponse = (re: RegExp) => (e: unknown) => e instanceof OciError && e.code === 'BAD_RESPONSE' && re.test(e.message);

describe('manifests and indexes: shape checks', () => {
  it('accepts all four manifest media types, and asks for them all', () => {
    for (const t of [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST]) assert.ok(MANIFEST_ACCEPT.split(', ').includes(t));
    const m = parseManifest(bytes({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: desc('a'), layers: [desc('b')] }), 'text/plain', 'x');
    assert.equal(m.kind, 'manifest');
    assert.equal(m.mediaType, DOCKER_MANIFEST);
    const i = parseManifest(bytes({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [desc('c', { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } })] }), null, 'x');
    assert.equal(i.kind, 'index');
    assert.ok(i.kind === 'index');
    assert.deepEqual(i.manifest.manifests[0]!.platform, { os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  it('takes the media type from Content-Type when the document has none', () => {
    assert.equal(parseManifest(bytes({ schemaVersion: 2, config: desc('a'), layers: [] }), `${OCI_MANIFEST}; charset=utf-8`, 'x').kind, 'manifest');
    assert.equal(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), OCI_INDEX, 'x').kind, 'index');
    // Neither: the structure decides.
    assert.equal(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), 'application/json', 'x').kind, 'index');
  });

  it('keeps artifactType, subject and annotations of OCI 1.1 artifacts', () => {
    const m = parseManifest(bytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/x.t', config: desc('a'), layers: [desc('b', { annotations: { k: 'v' } })], subject: desc('c'), annotations: { 'org.opencontainers.image.created': 'now' } }), null, 'x');
    assert.ok(m.kind === 'manifest');
    assert.equal(m.manifest.artifactType, 'application/x.t');
    assert.equal(m.manifest.subject?.digest, D('c'));
    assert.deepEqual(m.manifest.layers[0]!.annotations, { k: 'v' });
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{"schemaVersion":', /not valid JSON/],
    ['an array', [], /not a JSON object/],
    ['schema 1', { schemaVersion: 1, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', fsLayers: [] }, /not an OCI or Docker v2 manifest/],
    ['schemaVersion 3', { schemaVersion: 3, mediaType: OCI_MANIFEST, config: desc('a'), layers: [] }, /schemaVersion is not 2/],
    ['config a string', { schemaVersion: 2, mediaType: OCI_MANIFEST, config: 'x', layers: [] }, /config is not an object/],
    ['layers an object', { schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc('a'), layers: {} }, /layers is not a list/],
    ['a short digest', { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...desc('a'), digest: 'sha256:abc' }, layers: [] }, /config\.digest is not/],
    ['a negative size', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...desc('a'), size: -1 }] }, /manifests\[0\]\.size/],
    ['a fractional size', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...desc('a'), size: 1.5 }] }, /size/],
    ['no media type', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ digest: D('a'), size: 1 }] }, /mediaType is missing/],
    ['non-string annotations', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc('a', { annotations: { n: 1 } })] }, /annotations\["n"\]/],
    ['a platform without os', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc('a', { platform: { architecture: 'amd64' } })] }, /platform lacks/],
    ['an index without manifests', { schemaVersion: 2, mediaType: OCI_INDEX }, /manifests is not a list/],
    ['the deprecated artifact manifest', { schemaVersion: 2, mediaType: 'application/vnd.oci.artifact.manifest.v1+json', blobs: [] }, /not an OCI or Docker v2/],
  ];
  for (const [name, doc, re] of bad) {
    it(`rejects ${name} as BAD_RESPONSE`, () => {
      assert.throws(() => parseManifest(typeof doc === 'string' ? Buffer.from(doc) : bytes(doc), null, 'r.example/a:b'), badResponse(re));
    });
  }

  it('checks single descriptors and filters by artifact type', () => {
    assert.deepEqual(descriptorOf(desc('a', { urls: ['https://x'], extra: 1 }), 'd'), { ...desc('a'), urls: ['https://x'] });
    const list = [descriptorOf(desc('a', { artifactType: 'x' }), 'd'), descriptorOf(desc('b', { artifactType: 'y' }), 'd'), descriptorOf(desc('c'), 'd')];
    assert.deepEqual(filterByArtifactType(list, 'y').map((d) => d.digest), [D('b')]);
    assert.equal(filterByArtifactType(list, undefined).length, 3);
  });
});
