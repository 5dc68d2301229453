/**
 * The registry client's writes (blobExists, pushBlob, putManifest) against a real registry,
 * Debian's docker-registry (distribution 2.8.2): plain HTTP, htpasswd Basic, token auth (with a
 * read-only account) and TLS. What the client pushes is read back by the client and, to be
 * sure it is really stored, by plain `fetch` straight from the registry.
 */
import { strict as assert } from 'node:assert';

import { staticCredentials } from '../../src/core/oci/dockerCredentials';
import { parseImageReference, type ImageReference } from '../../src/core/oci/reference';
import { RegistryClient, type RegistryClientOptions } from '../../src/core/oci/registryClient';
import { ALICE, MALLORY, OCI_INDEX, OCI_MANIFEST, READER, sha256, startRegistry, type TestRegistry } from '../support/registry';
import { rejectsWith } from '../support/oci-errors';

const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

function refOf(host: string, name: string): ImageReference {
  return parseImageReference(`${host}/${name}`);
}

/** A fetch that records `METHOD path?query` of every request before passing it on. */
function countingFetch(): { fetch: typeof fetch; requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    fetch: (input, init) => {
      const url = new URL(String(input));
      requests.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
      return fetch(input, init);
    },
  };
}

/** A config blob, one layer and the OCI image manifest naming them; `seed` makes distinct images. */
function image(seed: string) {
  const layer = Buffer.from(`layer of ${seed}\n`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, config: {} }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: sha256(layer), size: layer.length }],
    }),
  );
  return { layer, config, manifest, digest: sha256(manifest) };
}

/** Pushes `seed`'s blobs and manifest (under `tag`, or its digest) with `client`; returns what it pushed. */
async function pushImage(client: RegistryClient, ref: ImageReference, seed: string, tag?: string) {
  const img = image(seed);
  assert.deepEqual(await client.pushBlob(ref, img.config), { digest: sha256(img.config), size: img.config.length });
  assert.deepEqual(await client.pushBlob(ref, img.layer), { digest: sha256(img.layer), size: img.layer.length });
  assert.equal(await client.putManifest(ref, tag ?? img.digest, img.manifest, OCI_MANIFEST), img.digest);
  return img;
}

describe('registry push against docker-registry 2.8 (plain HTTP)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.close());

  /** The manifest as the registry itself serves it, without the client under test. */
  const stored = async (repository: string, reference: string) => {
    const r = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, { headers: { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } });
    assert.equal(r.status, 200, `${repository}:${reference}`);
    return { bytes: Buffer.from(await r.arrayBuffer()), digest: r.headers.get('docker-content-digest'), type: r.headers.get('content-type') };
  };

  it('pushes a config blob, a layer and an OCI image manifest by tag, and reads them back', async () => {
    const { fetch: f, requests } = countingFetch();
    const client = new RegistryClient({ fetch: f });
    const ref = refOf(registry.host, 'push/app');
    const img = await pushImage(client, ref, 'round trip', 'v1');

    // The upload followed the registry's Location, upload state (_state=) included, then &digest=.
    const puts = requests.filter((r) => r.startsWith('PUT /v2/push/app/blobs/uploads/'));
    assert.equal(puts.length, 2);
    for (const put of puts) assert.match(put, /\?_state=[^&]+&digest=sha256%3A[0-9a-f]{64}$/);

    const raw = await stored('push/app', 'v1');
    assert.deepEqual(raw.bytes, img.manifest);
    assert.equal(raw.digest, img.digest);
    assert.equal(raw.type, OCI_MANIFEST);

    const reader = new RegistryClient();
    const got = await reader.getManifest(ref, 'v1');
    assert.equal(got.digest, img.digest);
    assert.deepEqual(got.bytes, img.manifest);
    assert.ok(got.kind === 'manifest');
    assert.deepEqual(await reader.getBlob(ref, got.manifest.config.digest), img.config);
    assert.deepEqual(await reader.getBlob(ref, got.manifest.layers[0]!.digest), img.layer);
  });

  it('pushes manifests under their digest reference, and an index of them under a tag', async () => {
    const client = new RegistryClient();
    const ref = refOf(registry.host, 'push/multi');
    const amd = await pushImage(client, ref, 'amd64');
    const arm = await pushImage(client, ref, 'arm64');
    assert.deepEqual((await stored('push/multi', amd.digest)).bytes, amd.manifest);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { mediaType: OCI_MANIFEST, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: OCI_MANIFEST, digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
    );
    assert.equal(await client.putManifest(ref, '1.0', index, OCI_INDEX), sha256(index));

    const got = await new RegistryClient().getManifest(ref, '1.0');
    assert.equal(got.kind, 'index');
    assert.equal(got.digest, sha256(index));
    assert.ok(got.kind === 'index');
    assert.deepEqual(got.manifest.manifests.map((m) => m.digest), [amd.digest, arm.digest]);
    assert.deepEqual((await new RegistryClient().getManifest(ref, arm.digest)).bytes, arm.manifest);
  });

  it('uploads a blob once: pushing it again is one HEAD', async () => {
    const { fetch: f, requests } = countingFetch();
    const client = new RegistryClient({ fetch: f });
    const ref = refOf(registry.host, 'push/once');
    const bytes = Buffer.from('pushed twice, uploaded once');
    assert.equal(await client.blobExists(ref, sha256(bytes)), false);

    const first = requests.length;
    await client.pushBlob(ref, bytes);
    assert.deepEqual(requests.slice(first).map((r) => r.split(' ')[0]), ['HEAD', 'POST', 'PUT']);
    assert.equal(await client.blobExists(ref, sha256(bytes)), true);

    const before = client.requestCount;
    assert.deepEqual(await client.pushBlob(ref, bytes), { digest: sha256(bytes), size: bytes.length });
    assert.equal(client.requestCount - before, 1);
    assert.equal(requests.at(-1), `HEAD /v2/push/once/blobs/${sha256(bytes)}`);
    assert.equal(requests.filter((r) => r.startsWith('POST ')).length, 1, 'one upload in all');
  });

  it('says which blob is missing when a manifest references one the repository lacks (400 MANIFEST_BLOB_UNKNOWN)', async () => {
    const client = new RegistryClient();
    const ref = refOf(registry.host, 'push/missing');
    const img = image('missing layer');
    await client.pushBlob(ref, img.config); // not the layer
    const e = await rejectsWith(client.putManifest(ref, 'v1', img.manifest, OCI_MANIFEST), 'BAD_RESPONSE', /refused the manifest .*push\/missing:v1: it references a blob push\/missing does not have \(400: MANIFEST_BLOB_UNKNOWN/);
    assert.match(e.remedy ?? '', /Push the blobs the manifest references/);
    assert.equal(await client.findManifest(ref, 'v1'), undefined);
  });

  it('refuses a digest reference that is not the manifest\'s digest, before sending', async () => {
    const client = new RegistryClient();
    const img = image('wrong digest');
    await rejectsWith(client.putManifest(refOf(registry.host, 'push/wrong'), sha256('other'), img.manifest, OCI_MANIFEST), 'BAD_REFERENCE');
    assert.equal(client.requestCount, 0);
  });
});

describe('registry push against docker-registry 2.8 with htpasswd (Basic)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
  });
  after(() => registry?.close());

  it('pushes with the right credentials and reads it back', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: ALICE }) });
    const ref = refOf(registry.host, 'team/signed');
    const img = await pushImage(client, ref, 'basic', 'v1');
    assert.equal((await client.getManifest(ref, 'v1')).digest, img.digest);
  });

  it('says sign-in is required without credentials, and that the password was rejected with a wrong one', async () => {
    const ref = refOf(registry.host, 'team/refused');
    const anonymous = await rejectsWith(new RegistryClient().pushBlob(ref, Buffer.from('x')), 'AUTH_REQUIRED', /team\/refused requires sign-in to push to it/);
    assert.match(anonymous.remedy ?? '', new RegExp(`docker login ${registry.host} with an account that may push to team/refused`));
    const wrong = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 'wrong' } }) });
    await rejectsWith(wrong.putManifest(ref, 'v1', image('x').manifest, OCI_MANIFEST), 'AUTH_REQUIRED', /rejected the username and password of alice/);
  });
});

describe('registry push against docker-registry 2.8 with token auth', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  const tokens = () => registry.tokenServer!.requests;
  const as = (user: { username: string; password: string }, options: RegistryClientOptions = {}) => new RegistryClient({ credentials: staticCredentials({ [registry.host]: user }), ...options });
  before(async () => {
    registry = await startRegistry({ auth: 'token' });
  });
  after(() => registry?.close());

  it('asks for a pull,push token to push (one for the whole image), and a pull token to read', async () => {
    const client = as(ALICE);
    const ref = refOf(registry.host, 'private/signed');
    const start = tokens().length;
    const img = await pushImage(client, ref, 'token', 'v1');
    assert.deepEqual(tokens().slice(start).map((t) => [t.user, t.scopes.join(' '), t.status]), [['alice', 'repository:private/signed:pull,push', 200]]);

    const mark = tokens().length;
    assert.equal((await client.getManifest(ref, 'v1')).digest, img.digest);
    assert.deepEqual(tokens().slice(mark).map((t) => t.scopes.join(' ')), ['repository:private/signed:pull']);
  });

  it('says DENIED, naming the repository, to a read-only account that can still read', async () => {
    const ref = refOf(registry.host, 'private/readonly');
    const img = await pushImage(as(ALICE), ref, 'read-only', 'v1');

    const reader = as(READER);
    assert.equal((await reader.getManifest(ref, 'v1')).digest, img.digest, 'reader may pull');
    assert.equal(await reader.blobExists(ref, sha256(img.layer)), true);
    const start = tokens().length;
    const e = await rejectsWith(reader.pushBlob(ref, Buffer.from('a new layer')), 'DENIED', /does not let reader push to private\/readonly \(insufficient_scope\): the credentials are accepted but may not write there/);
    assert.match(e.remedy ?? '', new RegExp(`docker login ${registry.host} with an account that may push to private/readonly`));
    assert.ok(tokens().slice(start).every((t) => t.user === 'reader' && t.scopes.join(' ') === 'repository:private/readonly:pull,push'));
    await rejectsWith(reader.putManifest(ref, 'v2', img.manifest, OCI_MANIFEST), 'DENIED', /does not let reader push to private\/readonly/);
    assert.equal(await new RegistryClient({ credentials: staticCredentials({ [registry.host]: ALICE }) }).findManifest(ref, 'v2'), undefined, 'nothing was tagged');
  });

  it('says DENIED to an account without any access, and AUTH_REQUIRED to an anonymous push', async () => {
    const ref = refOf(registry.host, 'public/tool');
    await rejectsWith(as(MALLORY).pushBlob(ref, Buffer.from('m')), 'DENIED', /does not let mallory push to public\/tool/);
    await rejectsWith(new RegistryClient().putManifest(ref, 'v1', image('anon').manifest, OCI_MANIFEST), 'AUTH_REQUIRED', /public\/tool requires sign-in to push to it/);
  });
});

describe('registry push against docker-registry 2.8 over TLS (self-signed CA)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ tls: true });
  });
  after(() => registry?.close());

  it('pushes over TLS with the CA in caCertificates, and not without it', async () => {
    const ref = refOf(registry.host, 'secure/signed');
    await rejectsWith(new RegistryClient().pushBlob(ref, Buffer.from('x')), 'TLS', /not trusted/);
    const client = new RegistryClient({ caCertificates: [registry.caPem!] });
    try {
      const img = await pushImage(client, ref, 'tls', 'v1');
      assert.deepEqual((await client.getManifest(ref, 'v1')).bytes, img.manifest);
    } finally {
      await client.close();
    }
  });
});
