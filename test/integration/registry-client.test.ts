/**
 * The registry client (src/core/oci) against a real registry, Debian's docker-registry
 * (distribution 2.8.2): plain HTTP, htpasswd Basic, token auth and TLS variants, with images
 * the harness pushes itself; then against a hostile registry of ours that misbehaves on
 * demand, and serves the referrers API that distribution 2.8 lacks.
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { dockerCredentials, staticCredentials } from '../../src/core/oci/dockerCredentials';
import { formatReference, parseImageReference, type ImageReference } from '../../src/core/oci/reference';
import { RegistryClient, type RegistryClientOptions } from '../../src/core/oci/registryClient';
import { HOSTILE_USER, startHostileRegistry, type HostileRegistry, type RecordedRequest } from '../support/hostile-registry';
import { ALICE, ALICE_IDENTITY_TOKEN, MALLORY, OCI_INDEX, sha256, startRegistry, type TestRegistry } from '../support/registry';
import { rejectsWith } from '../support/oci-errors';

const ALL_MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SBOM_TYPE = 'application/spdx+json';

function refOf(host: string, name: string): ImageReference {
  return parseImageReference(`${host}/${name}`);
}

describe('registry client against docker-registry 2.8 (plain HTTP)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.close());

  it('reads a pushed image by tag and by digest, with the digest checked', async () => {
    const image = await registry.pushImage('app/plain', { tag: 'v1' });
    const client = new RegistryClient();
    const ref = refOf(registry.host, 'app/plain:v1');
    assert.equal(formatReference(ref), `${registry.host}/app/plain:v1`);

    const byTag = await client.getManifest(ref, 'v1');
    assert.equal(byTag.kind, 'manifest');
    assert.equal(byTag.digest, image.digest);
    assert.equal(byTag.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(byTag.bytes, image.bytes);
    assert.ok(byTag.kind === 'manifest');
    assert.equal(byTag.manifest.config.digest, image.configDigest);
    assert.deepEqual(byTag.manifest.layers.map((l) => l.digest), [image.layerDigest]);

    const byDigest = await client.getManifest(ref, image.digest);
    assert.equal(byDigest.digest, image.digest);
    assert.deepEqual(byDigest.bytes, image.bytes);
  });

  it('reads a Docker v2 manifest as is (no schema-1 down-conversion, same digest)', async () => {
    const image = await registry.pushImage('app/docker', { tag: 'v2', docker: true });
    const got = await new RegistryClient().getManifest(refOf(registry.host, 'app/docker'), 'v2');
    assert.equal(got.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(got.digest, image.digest);
  });

  it('reads a multi-arch index and each platform manifest by digest', async () => {
    const index = await registry.pushIndex('app/multi', '1.0');
    const client = new RegistryClient();
    const ref = refOf(registry.host, 'app/multi:1.0');
    const got = await client.getManifest(ref, '1.0');
    assert.equal(got.kind, 'index');
    assert.equal(got.digest, index.digest);
    assert.ok(got.kind === 'index');
    assert.deepEqual(
      got.manifest.manifests.map((m) => [m.digest, m.platform?.os, m.platform?.architecture, m.platform?.variant]),
      [
        [index.manifests[0]!.digest, 'linux', 'amd64', undefined],
        [index.manifests[1]!.digest, 'linux', 'arm64', 'v8'],
      ],
    );
    for (const child of got.manifest.manifests) {
      const m = await client.getManifest(ref, child.digest);
      assert.equal(m.kind, 'manifest');
      assert.equal(m.digest, child.digest);
    }
  });

  it('downloads a blob checked against its digest, capped, and says NOT_FOUND for an unknown one', async () => {
    const image = await registry.pushImage('app/blobs', { tag: 'v1' });
    const client = new RegistryClient();
    const ref = refOf(registry.host, 'app/blobs');
    assert.deepEqual(await client.getBlob(ref, image.layerDigest), image.layer);
    await rejectsWith(client.getBlob(ref, image.layerDigest, { maxBytes: image.layer.length - 1 }), 'TOO_LARGE', /larger than/);
    await rejectsWith(client.getBlob(ref, sha256('never pushed')), 'NOT_FOUND', /BLOB_UNKNOWN/);
  });

  it('gives undefined from findManifest and NOT_FOUND from getManifest for a missing tag', async () => {
    await registry.pushImage('app/optional', { tag: 'v1' });
    const client = new RegistryClient();
    const ref = refOf(registry.host, 'app/optional');
    assert.equal(await client.findManifest(ref, `${'sha256-'.padEnd(71, '0')}.sig`), undefined);
    await rejectsWith(client.getManifest(ref, 'nope'), 'NOT_FOUND', /has no tag "nope"/);
    await rejectsWith(client.getManifest(refOf(registry.host, 'no/such-repo'), 'latest'), 'NOT_FOUND');
  });

  it('lists all tags (distribution 2.8 ignores ?n= and answers in one page, unsorted)', async () => {
    const image = await registry.pushImage('app/tags', { tag: 't0' });
    const names = ['t0', 't1', 't2', 't3', 't4', 't5', 't6'];
    for (const t of names.slice(1)) await registry.tag('app/tags', image.digest, t);
    const client = new RegistryClient({ tagPageSize: 3 });
    const ref = refOf(registry.host, 'app/tags');
    await client.findManifest(ref, 't0'); // settles HTTP vs HTTPS first, so only tag pages are counted
    const before = client.requestCount;
    const tags = await client.listTags(ref);
    assert.deepEqual([...tags].sort(), names);
    // Asked for 3 a page; 2.8 sends all 7 and no Link (pagination of tags/list came with distribution 3).
    assert.equal(client.requestCount - before, 1);
  });

  it('falls back to the sha256-<hex> tag for referrers (distribution 2.8 has no referrers API)', async () => {
    const image = await registry.pushImage('app/signed', { tag: 'v1' });
    const client = new RegistryClient();
    const ref = refOf(registry.host, 'app/signed:v1');
    assert.deepEqual(await client.referrers(ref, image.digest), { source: 'fallback-tag', manifests: [] });

    // What an OCI 1.1 writer does against a registry without the API: push the artifacts, then
    // maintain an index of them under the tag sha256-<hex>.
    const subject = { mediaType: image.mediaType, digest: image.digest, size: image.size };
    const bundle = await registry.pushArtifact('app/signed', subject, BUNDLE_TYPE, Buffer.from('{"bundle":1}'), { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' });
    const sbom = await registry.pushArtifact('app/signed', subject, SBOM_TYPE, Buffer.from('{"spdxVersion":"SPDX-2.3"}'));
    await registry.pushManifest('app/signed', `sha256-${image.digest.slice(7)}`, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [bundle, sbom] }, OCI_INDEX);

    const before = client.requestCount;
    const all = await client.referrers(ref, image.digest);
    assert.equal(all.source, 'fallback-tag');
    assert.deepEqual(all.manifests.map((m) => [m.digest, m.artifactType]), [
      [bundle.digest, BUNDLE_TYPE],
      [sbom.digest, SBOM_TYPE],
    ]);
    assert.equal(all.manifests[0]!.annotations?.['dev.sigstore.bundle.predicateType'], 'https://sigstore.dev/cosign/sign/v1');
    // The registry's 404 on /referrers/ was remembered: one request, the fallback tag.
    assert.equal(client.requestCount - before, 1);

    const bundles = await client.referrers(ref, image.digest, { artifactType: BUNDLE_TYPE });
    assert.deepEqual(bundles.manifests.map((m) => m.digest), [bundle.digest]);
    // Each artifact is a manifest whose subject is the image.
    const artifact = await client.getManifest(ref, bundle.digest);
    assert.ok(artifact.kind === 'manifest');
    assert.equal(artifact.manifest.subject?.digest, image.digest);
    assert.equal(artifact.manifest.artifactType, BUNDLE_TYPE);
  });
});

describe('registry client against docker-registry 2.8 with htpasswd (Basic)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let ref: ImageReference;
  let digest: string;
  before(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
    digest = (await registry.pushImage('team/private', { tag: 'v1' })).digest;
    ref = refOf(registry.host, 'team/private:v1');
  });
  after(() => registry?.close());

  it('reads with the right credentials, and sends Basic at once after the first challenge', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: ALICE }) });
    assert.equal((await client.getManifest(ref, 'v1')).digest, digest);
    const before = client.requestCount;
    assert.equal((await client.getManifest(ref, digest)).digest, digest);
    assert.equal(client.requestCount - before, 1);
  });

  it('says the credentials were rejected when the password is wrong', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 'wrong' } }) });
    const e = await rejectsWith(client.getManifest(ref, 'v1'), 'AUTH_REQUIRED', /rejected the username and password of alice/);
    assert.match(e.remedy ?? '', new RegExp(`docker login ${registry.host}`));
  });

  it('says sign-in is required when there are no credentials', async () => {
    await rejectsWith(new RegistryClient().getManifest(ref, 'v1'), 'AUTH_REQUIRED', /requires sign-in/);
    await rejectsWith(new RegistryClient({ credentials: staticCredentials({ 'other.example': ALICE }) }).getManifest(ref, 'v1'), 'AUTH_REQUIRED', /requires sign-in/);
  });

  it('reads credentials from the auths of a Docker config.json ($DOCKER_CONFIG)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docker-config-'));
    try {
      const auth = Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64');
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths: { [`http://${registry.host}/v2/`]: { auth } } }));
      const client = new RegistryClient({ credentials: dockerCredentials({ env: { DOCKER_CONFIG: dir }, homedir: '/nonexistent' }) });
      assert.equal((await client.getManifest(ref, 'v1')).digest, digest);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('registry client against docker-registry 2.8 with token auth', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let tokenRequests: () => number;
  before(async () => {
    registry = await startRegistry({ auth: 'token' });
    tokenRequests = () => registry.tokenServer!.requests.length;
  });
  after(() => registry?.close());

  it('pulls a public repository with an anonymous token', async () => {
    const image = await registry.pushImage('public/tool', { tag: 'v1' });
    const client = new RegistryClient();
    const before = tokenRequests();
    assert.equal((await client.getManifest(refOf(registry.host, 'public/tool'), 'v1')).digest, image.digest);
    assert.equal(tokenRequests() - before, 1);
    assert.equal(registry.tokenServer!.requests.at(-1)!.user, undefined);
    assert.deepEqual(registry.tokenServer!.requests.at(-1)!.scopes, ['repository:public/tool:pull']);
  });

  it('denies an anonymous pull of a private repository, then allows it with credentials', async () => {
    const image = await registry.pushImage('private/app', { tag: 'v1' });
    const ref = refOf(registry.host, 'private/app:v1');
    const anonymous = new RegistryClient();
    const before = anonymous.requestCount;
    await rejectsWith(anonymous.getManifest(ref, 'v1'), 'AUTH_REQUIRED', /requires sign-in/);
    // One challenge, one token, one retry (plus the HTTPS probe of a loopback registry): no loop.
    assert.ok(anonymous.requestCount - before <= 4, `made ${anonymous.requestCount - before} requests`);

    const alice = new RegistryClient({ credentials: staticCredentials({ [registry.host]: ALICE }) });
    assert.equal((await alice.getManifest(ref, 'v1')).digest, image.digest);
    assert.equal(registry.tokenServer!.requests.at(-1)!.user, 'alice');
  });

  it('caches the token per repository scope', async () => {
    const image = await registry.pushImage('private/cached', { tag: 'v1' });
    const other = await registry.pushImage('private/other', { tag: 'v1' });
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: ALICE }) });
    const ref = refOf(registry.host, 'private/cached:v1');
    const start = tokenRequests();
    await client.getManifest(ref, 'v1');
    await client.getManifest(ref, image.digest);
    await client.getBlob(ref, image.layerDigest);
    await client.listTags(ref);
    await client.referrers(ref, image.digest);
    assert.equal(tokenRequests() - start, 1, 'one token for private/cached');

    // Another repository: a token for its scope, fetched before asking (no 401 round trip).
    const before = client.requestCount;
    assert.equal((await client.getManifest(refOf(registry.host, 'private/other'), 'v1')).digest, other.digest);
    assert.equal(tokenRequests() - start, 2);
    assert.equal(client.requestCount - before, 2);
    assert.deepEqual(registry.tokenServer!.requests.at(-1)!.scopes, ['repository:private/other:pull']);
  });

  it('says the credentials were rejected when the password is wrong', async () => {
    await registry.pushImage('private/wrong', { tag: 'v1' });
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 'nope' } }) });
    await rejectsWith(client.getManifest(refOf(registry.host, 'private/wrong'), 'v1'), 'AUTH_REQUIRED', /rejected the credentials of alice/);
  });

  it('says DENIED for valid credentials without access, after one fresh token', async () => {
    await registry.pushImage('private/secret', { tag: 'v1' });
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: MALLORY }) });
    const start = tokenRequests();
    await rejectsWith(client.getManifest(refOf(registry.host, 'private/secret'), 'v1'), 'DENIED', /does not let mallory read private\/secret/);
    assert.equal(tokenRequests() - start, 1);
  });

  it('exchanges a Docker identitytoken at the realm by POST (OAuth2 refresh token)', async () => {
    const image = await registry.pushImage('private/oauth', { tag: 'v1' });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docker-config-'));
    try {
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: ALICE_IDENTITY_TOKEN } } }));
      const client = new RegistryClient({ credentials: dockerCredentials({ env: { DOCKER_CONFIG: dir } }) });
      assert.equal((await client.getManifest(refOf(registry.host, 'private/oauth'), 'v1')).digest, image.digest);
      const last = registry.tokenServer!.requests.at(-1)!;
      assert.deepEqual([last.method, last.grantType, last.user], ['POST', 'refresh_token', 'alice']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('gets credentials from a credential helper (docker-credential-test on PATH)', async () => {
    const image = await registry.pushImage('private/helper', { tag: 'v1' });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cred-helper-'));
    try {
      const log = path.join(dir, 'asked');
      const script = [
        '#!/bin/sh',
        '[ "$1" = get ] || exit 2',
        'read -r server',
        `printf '%s\\n' "$server" >> '${log}'`,
        'case "$server" in',
        `  '${registry.host}') printf '{"ServerURL":"%s","Username":"${ALICE.username}","Secret":"${ALICE.password}"}' "$server" ;;`,
        '  *) echo "credentials not found in native keychain"; exit 1 ;;',
        'esac',
      ].join('\n');
      await fs.writeFile(path.join(dir, 'docker-credential-test'), `${script}\n`, { mode: 0o755 });
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths: {}, credHelpers: { [registry.host]: 'test' } }));
      const env = { PATH: `${dir}:${process.env.PATH ?? ''}`, DOCKER_CONFIG: dir };
      const client = new RegistryClient({ credentials: dockerCredentials({ env }) });
      assert.equal((await client.getManifest(refOf(registry.host, 'private/helper'), 'v1')).digest, image.digest);
      assert.equal(registry.tokenServer!.requests.at(-1)!.user, 'alice');
      assert.deepEqual((await fs.readFile(log, 'utf8')).trim().split('\n'), [registry.host]);

      // credsStore, and a helper that has nothing for the registry: anonymous, so sign-in is required.
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ credsStore: 'test' }));
      const store = new RegistryClient({ credentials: dockerCredentials({ env }) });
      assert.equal((await store.getManifest(refOf(registry.host, 'private/helper'), 'v1')).digest, image.digest);
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'missing' } }));
      const missing = new RegistryClient({ credentials: dockerCredentials({ env }) });
      await rejectsWith(missing.getManifest(refOf(registry.host, 'private/helper'), 'v1'), 'CREDENTIALS', /docker-credential-missing, which is not on PATH/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('registry client against docker-registry 2.8 over TLS (self-signed CA)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let digest: string;
  before(async () => {
    registry = await startRegistry({ tls: true });
    digest = (await registry.pushImage('secure/app', { tag: 'v1' })).digest;
  });
  after(() => registry?.close());

  it('refuses the registry without its CA, saying the certificate is not trusted (no HTTP fallback)', async () => {
    const client = new RegistryClient();
    const e = await rejectsWith(client.getManifest(refOf(registry.host, 'secure/app'), 'v1'), 'TLS', /TLS certificate of 127\.0\.0\.1:\d+ is not trusted/);
    assert.match(e.remedy ?? '', /CA certificates setting/);
    assert.equal(client.requestCount, 1);
  });

  it('reads over TLS with the CA in caCertificates', async () => {
    const client = new RegistryClient({ caCertificates: [registry.caPem!] });
    try {
      const got = await client.getManifest(refOf(registry.host, 'secure/app'), 'v1');
      assert.equal(got.digest, digest);
      assert.equal(client.requestCount, 1);
    } finally {
      await client.close();
    }
  });
});

describe('registry client against a hostile registry', function () {
  this.timeout(30_000);
  let hostile: HostileRegistry;
  let onRequest: ((r: RecordedRequest) => void) | undefined;
  const client = (options: RegistryClientOptions = {}) => new RegistryClient({ timeoutMs: 5_000, ...options });
  const ref = (name: string) => refOf(hostile.host, name);
  before(async () => {
    hostile = await startHostileRegistry({ onRequest: (r) => onRequest?.(r) });
  });
  afterEach(() => (onRequest = undefined));
  after(() => hostile?.close());

  it('sends all four manifest media types in Accept', async () => {
    const c = client();
    assert.equal((await c.getManifest(ref('good'), 'latest')).digest, hostile.manifest.digest);
    const accept = hostile.requestsTo('good').at(-1)!.accept ?? '';
    for (const t of ALL_MANIFEST_TYPES) assert.ok(accept.includes(t), `Accept lacks ${t}: ${accept}`);
  });

  it('stops a manifest over 4 MiB, announced or not', async () => {
    await rejectsWith(client().getManifest(ref('huge'), 'latest'), 'TOO_LARGE', /larger than 4 MiB/);
    await rejectsWith(client().getManifest(ref('huge-chunked'), 'latest'), 'TOO_LARGE', /larger than 4 MiB/);
  });

  it('says DIGEST_MISMATCH when the bytes are not what the digest asked for', async () => {
    const c = client();
    await rejectsWith(c.getManifest(ref('mismatch'), hostile.manifest.digest), 'DIGEST_MISMATCH', /not the sha256:[0-9a-f]{12}… asked for/);
    await rejectsWith(c.getManifest(ref('mismatch'), 'v1'), 'DIGEST_MISMATCH');
    await rejectsWith(c.findManifest(ref('mismatch'), 'v1'), 'DIGEST_MISMATCH');
    await rejectsWith(c.getBlob(ref('mismatch'), hostile.blob.digest), 'DIGEST_MISMATCH', /blob/);
  });

  it('pages through tags/list with ?n=, last= and Link rel="next"', async () => {
    const c = client({ tagPageSize: 3 });
    const tags = await c.listTags(ref('paged'));
    assert.deepEqual(tags, Array.from({ length: 10 }, (_, i) => `tag-${String(i).padStart(2, '0')}`));
    assert.deepEqual(
      hostile.requestsTo('paged').map((r) => r.url),
      ['/v2/paged/tags/list?n=3', '/v2/paged/tags/list?n=3&last=tag-02', '/v2/paged/tags/list?n=3&last=tag-05', '/v2/paged/tags/list?n=3&last=tag-08'],
    );
  });

  it('stops on an empty page even though Link goes on', async () => {
    const tags = await client({ tagPageSize: 5 }).listTags(ref('paged-trailing'));
    assert.equal(tags.length, 10);
    assert.equal(hostile.requestsTo('paged-trailing').length, 3);
  });

  it('stops endless tag pagination: a repeated next URL, and a page cap', async () => {
    const same = client();
    const tags = await same.listTags(ref('endless-same'));
    assert.equal(tags.length, 4);
    assert.equal(hostile.requestsTo('endless-same').length, 2);

    const capped = client({ maxTagPages: 5 });
    assert.equal((await capped.listTags(ref('endless-new'))).length, 10);
    assert.equal(hostile.requestsTo('endless-new').length, 5);

    const byDefault = client();
    const before = hostile.requestsTo('endless-new').length;
    const all = await byDefault.listTags(ref('endless-new'));
    const pages = hostile.requestsTo('endless-new').length - before;
    assert.ok(pages > 5 && pages <= 100, `${pages} pages`);
    assert.equal(all.length, pages * 2);
  });

  it('follows a blob redirect to another host without our Authorization header', async () => {
    const c = client({ credentials: staticCredentials({ [hostile.host]: HOSTILE_USER }) });
    assert.deepEqual(await c.getBlob(ref('redirect'), hostile.blob.digest), hostile.blob.bytes);
    const atRegistry = hostile.requestsTo('redirect').at(-1)!;
    assert.match(atRegistry.authorization ?? '', /^Basic /);
    assert.equal(hostile.other.requests.length, 1);
    assert.equal(hostile.other.requests[0]!.url, `/storage/${hostile.blob.digest}`);
    assert.equal(hostile.other.requests[0]!.authorization, undefined);
  });

  it('sends Docker credentials to a token realm on the registry\'s own origin only, never to another loopback port', async () => {
    const credentials = staticCredentials({ [hostile.host]: { ...HOSTILE_USER, identityToken: 'the-identity-token' } });
    // Another port of 127.0.0.1: an anonymous token request, no Basic credential, no identity token.
    assert.equal((await client({ credentials }).getManifest(ref('token-elsewhere'), 'latest')).digest, hostile.manifest.digest);
    assert.notEqual(hostile.realm.host, hostile.host);
    assert.ok(hostile.realm.requests.length >= 1);
    for (const r of hostile.realm.requests) {
      assert.equal(r.method, 'GET', 'no identity-token POST');
      assert.equal(r.authorization, undefined);
      assert.doesNotMatch(`${r.url} ${r.body}`, /the-identity-token|hostile-pass/);
    }
    // The registry's own origin: the identity token is exchanged there, and Basic credentials go there.
    assert.equal((await client({ credentials }).getManifest(ref('token-here'), 'latest')).digest, hostile.manifest.digest);
    assert.equal(hostile.realmHere.at(-1)!.method, 'POST');
    assert.match(hostile.realmHere.at(-1)!.body, /refresh_token=the-identity-token/);
    await client({ credentials: staticCredentials({ [hostile.host]: HOSTILE_USER }) }).getManifest(ref('token-here'), 'latest');
    assert.equal(hostile.realmHere.at(-1)!.authorization, `Basic ${Buffer.from(`${HOSTILE_USER.username}:${HOSTILE_USER.password}`).toString('base64')}`);
  });

  it('never follows a redirect for a manifest', async () => {
    const c = client({ credentials: staticCredentials({ [hostile.host]: HOSTILE_USER }) });
    const before = hostile.other.requests.length;
    await rejectsWith(c.getManifest(ref('redirect'), 'latest'), 'BAD_RESPONSE', /only blob downloads may be redirected/);
    assert.equal(hostile.other.requests.length, before);
  });

  it('gives up on a 401 loop after one fresh token', async () => {
    const c = client();
    const tokensBefore = hostile.tokenRequests();
    await rejectsWith(c.getManifest(ref('loop'), 'latest'), 'AUTH_REQUIRED', /requires sign-in/);
    assert.equal(hostile.tokenRequests() - tokensBefore, 1);
    assert.equal(hostile.requestsTo('loop').length, 2);
    // Again on the same client: the known realm gives a token first, its 401 ends it.
    await rejectsWith(c.getManifest(ref('loop'), 'latest'), 'AUTH_REQUIRED');
    assert.equal(hostile.tokenRequests() - tokensBefore, 2);
    assert.equal(hostile.requestsTo('loop').length, 3);
  });

  it('times out a registry slower than the client timeout, headers or body', async () => {
    const started = Date.now();
    await rejectsWith(client({ timeoutMs: 300 }).getManifest(ref('slow'), 'latest'), 'TIMEOUT', /did not answer within 300 ms/);
    await rejectsWith(client({ timeoutMs: 300 }).getManifest(ref('slow-body'), 'latest'), 'TIMEOUT');
    assert.ok(Date.now() - started < 4_000);
  });

  it('stops at once when the caller cancels', async () => {
    const controller = new AbortController();
    onRequest = (r) => {
      if (r.url.startsWith('/v2/slow/')) controller.abort();
    };
    const c = client({ timeoutMs: 20_000 });
    const started = Date.now();
    await rejectsWith(c.getManifest(ref('slow'), 'latest', controller.signal), 'CANCELLED');
    assert.ok(Date.now() - started < 4_000);
    const count = c.requestCount;
    await rejectsWith(c.getBlob(ref('good'), hostile.blob.digest, { signal: controller.signal }), 'CANCELLED');
    assert.equal(c.requestCount, count, 'no request after cancellation');
  });

  it('rejects a manifest that is not JSON, or JSON of the wrong shape', async () => {
    await rejectsWith(client().getManifest(ref('badjson'), 'latest'), 'BAD_RESPONSE', /not valid JSON/);
    await rejectsWith(client().getManifest(ref('badshape'), 'latest'), 'BAD_RESPONSE', /config is not an object/);
  });

  it('reports 429 as RATE_LIMITED with Retry-After, 403 as DENIED, 500 as BAD_RESPONSE', async () => {
    const e = await rejectsWith(client().getManifest(ref('ratelimited'), 'latest'), 'RATE_LIMITED', /Retry-After: 42 s/);
    assert.match(e.remedy ?? '', /Wait 42 s/);
    await rejectsWith(client().getManifest(ref('forbidden'), 'latest'), 'DENIED', /403/);
    await rejectsWith(client().getManifest(ref('broken'), 'latest'), 'BAD_RESPONSE', /answered 500/);
  });

  it('uses a referrers API when the registry has one, filtering by artifactType itself', async () => {
    const c = client();
    const digest = hostile.manifest.digest;
    const all = await c.referrers(ref('referrers'), digest);
    assert.equal(all.source, 'referrers');
    assert.deepEqual(all.manifests.map((m) => m.artifactType), [...hostile.referrerTypes]);
    const some = await c.referrers(ref('referrers'), digest, { artifactType: hostile.referrerTypes[1] });
    assert.equal(some.source, 'referrers');
    assert.deepEqual(some.manifests.map((m) => m.artifactType), [hostile.referrerTypes[1]]);
    assert.equal(hostile.requestsTo('referrers').at(-1)!.url, `/v2/referrers/referrers/${digest}?artifactType=${encodeURIComponent(hostile.referrerTypes[1])}`);
  });

  it('treats a text/plain referrers answer as no API and tries the fallback tag', async () => {
    const got = await client().referrers(ref('referrers-text'), hostile.manifest.digest);
    assert.deepEqual(got, { source: 'fallback-tag', manifests: [] });
    assert.equal(hostile.requestsTo('referrers-text').at(-1)!.url, `/v2/referrers-text/manifests/sha256-${hostile.manifest.digest.slice(7)}`);
  });

  describe('a registry that is not on loopback (registry.test, mapped to the hostile server)', () => {
    const name = 'registry.test:5000';
    const mapped = (): typeof fetch => (input, init) => fetch(String(input).replace(name, hostile.host), init);

    it('refuses plain HTTP unless the registry is listed as insecure', async () => {
      await rejectsWith(client({ fetch: mapped() }).getManifest(refOf(name, 'good'), 'latest'), 'INSECURE_REGISTRY', /does not speak HTTPS/);
      const listed = client({ fetch: mapped(), insecureRegistries: [name] });
      assert.equal((await listed.getManifest(refOf(name, 'good'), 'latest')).digest, hostile.manifest.digest);
    });

    it('never sends credentials to it over plain HTTP', async () => {
      const c = client({ fetch: mapped(), insecureRegistries: [name], credentials: staticCredentials({ [name]: HOSTILE_USER }) });
      const before = hostile.requestsTo('redirect').length;
      await rejectsWith(c.getBlob(refOf(name, 'redirect'), hostile.blob.digest), 'INSECURE_REGISTRY', /never sent over plain HTTP/);
      const seen = hostile.requestsTo('redirect').slice(before);
      assert.ok(seen.length >= 1);
      assert.ok(seen.every((r) => r.authorization === undefined));
    });
  });
});
