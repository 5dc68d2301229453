/**
 * The registry client's writes (blobExists, pushBlob, putManifest) against a scripted `fetch`:
 * the upload protocol, where the upload may go, the push scope, refused pushes, digests the
 * registry answers with, what is refused before sending, and cancellation.
 * (test/integration/registry-push.test.ts runs them against docker-registry 2.8.)
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';

import { staticCredentials } from '../../../src/core/oci/dockerCredentials';
import type { OciErrorCode } from '../../../src/core/oci/errors';
import { OCI_INDEX, OCI_MANIFEST } from '../../../src/core/oci/mediaTypes';
import { parseImageReference } from '../../../src/core/oci/reference';
import { MAX_MANIFEST_BYTES, RegistryClient, type RegistryClientOptions } from '../../../src/core/oci/registryClient';
import { rejectsWith } from '../../support/oci-errors';
import { json, scripted, type Call, type Handler } from './scriptedFetch';

/** Never answers; rejects like fetch does once the request's signal aborts. */
function hangs(call: Call): Promise<Response> {
  return new Promise((_resolve, reject) => {
    call.signal?.addEventListener('abort', () => reject(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' })), { once: true });
  });
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const registryError = (status: number, code: string, message: string, headers: Record<string, string> = {}) => json(status, { errors: [{ code, message }] }, headers);
const challenge = (value: string) => registryError(401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': value });
const created = (headers: Record<string, string> = {}) => new Response(null, { status: 201, headers });

const client = (f: typeof fetch, options: RegistryClientOptions = {}) => new RegistryClient({ fetch: f, ...options });
const ref = (text: string) => parseImageReference(text);
const A = ref('r.example/a');

const blob = Buffer.from('a layer of bytes');
const BLOB_DIGEST = sha(blob);
const config = Buffer.from('{}');
const manifestDoc = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(config), size: 2 }, layers: [{ mediaType: 'application/octet-stream', digest: BLOB_DIGEST, size: blob.length }] };
const manifestBytes = Buffer.from(JSON.stringify(manifestDoc));
const MANIFEST_DIGEST = sha(manifestBytes);
const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: MANIFEST_DIGEST, size: manifestBytes.length }] }));

/** A registry without auth: HEAD says 404 until the blob is PUT, uploads start at `location`. */
function uploads(location: (call: Call) => string, put: (call: Call) => Response | Promise<Response> = () => created({ 'docker-content-digest': BLOB_DIGEST })): Handler {
  return (call) => {
    if (call.method === 'HEAD') return new Response(null, { status: 404 });
    if (call.method === 'POST' && call.url.pathname === '/v2/a/blobs/uploads/') return new Response(null, { status: 202, headers: { location: location(call), 'docker-upload-uuid': 'u-1' } });
    if (call.method === 'PUT') return put(call);
    return json(500, {});
  };
}

describe('registry push: blobs', () => {
  it('blobExists says true on 200 and false on 404, with one HEAD each', async () => {
    const f = scripted(({ url }) => new Response(null, { status: url.pathname.endsWith(BLOB_DIGEST) ? 200 : 404 }));
    const c = client(f);
    assert.equal(await c.blobExists(A, BLOB_DIGEST), true);
    assert.equal(await c.blobExists(A, sha('other')), false);
    assert.deepEqual(f.calls.map((x) => `${x.method} ${x.url.pathname}`), [`HEAD /v2/a/blobs/${BLOB_DIGEST}`, `HEAD /v2/a/blobs/${sha('other')}`]);
    await rejectsWith(c.blobExists(A, 'sha256:nope'), 'BAD_REFERENCE');
    assert.equal(f.calls.length, 2, 'no request for a malformed digest');
  });

  it('skips the upload when HEAD finds the blob', async () => {
    const f = scripted(({ method }) => (method === 'HEAD' ? new Response(null, { status: 200, headers: { 'content-length': String(blob.length) } }) : json(500, {})));
    const c = client(f);
    assert.deepEqual(await c.pushBlob(A, blob), { digest: BLOB_DIGEST, size: blob.length });
    assert.deepEqual(f.calls.map((x) => x.method), ['HEAD']);
    assert.equal(c.requestCount, 1);
  });

  it('uploads to a relative Location: POST, then one PUT with the bytes and ?digest=', async () => {
    const f = scripted(uploads(() => '/v2/a/blobs/uploads/u-1'));
    const c = client(f);
    assert.deepEqual(await c.pushBlob(A, blob), { digest: BLOB_DIGEST, size: blob.length });
    assert.deepEqual(f.calls.map((x) => `${x.method} ${x.url.origin}${x.url.pathname}`), [
      `HEAD https://r.example/v2/a/blobs/${BLOB_DIGEST}`,
      'POST https://r.example/v2/a/blobs/uploads/',
      'PUT https://r.example/v2/a/blobs/uploads/u-1',
    ]);
    const put = f.calls[2]!;
    assert.equal(put.url.search, `?digest=${encodeURIComponent(BLOB_DIGEST)}`);
    assert.equal(put.url.searchParams.get('digest'), BLOB_DIGEST);
    assert.equal(put.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(put.body, blob);
    assert.equal(c.requestCount, 3, 'requestCount counts HEAD, POST and PUT');
  });

  it('keeps the upload state of an absolute Location and appends digest= with &', async () => {
    const state = '_state=abc%2Bdef%2F%3D%3D&x=1';
    const f = scripted(uploads(() => `https://r.example/v2/a/blobs/uploads/u-2?${state}`));
    await client(f).pushBlob(A, blob);
    const put = f.calls.at(-1)!;
    assert.equal(put.url.pathname, '/v2/a/blobs/uploads/u-2');
    assert.equal(put.url.search, `?${state}&digest=${encodeURIComponent(BLOB_DIGEST)}`, 'the state token byte for byte, then digest');
    assert.equal(put.url.searchParams.get('_state'), 'abc+def/==');
  });

  it('keeps a Location path that starts with // on the registry', async () => {
    const f = scripted(uploads(() => 'https://r.example//evil.example/upload'));
    await client(f).pushBlob(A, blob);
    assert.equal(f.calls.at(-1)!.url.host, 'r.example');
    assert.equal(f.calls.at(-1)!.url.pathname, '//evil.example/upload');
  });

  it('refuses an upload Location on another origin, without sending anything (or credentials) there', async () => {
    for (const location of ['https://evil.example/upload', '//evil.example/upload', 'http://r.example/v2/a/blobs/uploads/u', 'https://r.example:8443/v2/a/blobs/uploads/u', 'ftp://r.example/x']) {
      const f = scripted((call) => {
        if (call.url.host === 'r.example' && call.url.protocol === 'https:' && !call.headers.authorization) return challenge('Basic realm="r"');
        return uploads(() => location)(call);
      });
      const c = client(f, { credentials: staticCredentials({ 'r.example': { username: 'u', password: 'p' } }) });
      await rejectsWith(c.pushBlob(A, blob), 'BAD_RESPONSE', /(another server|without a usable Location)/);
      assert.deepEqual(f.calls.map((x) => x.method), ['HEAD', 'HEAD', 'POST'], location);
      assert.ok(f.calls.every((x) => x.url.origin === 'https://r.example'), location);
    }
  });

  it('refuses an upload answered with no Location, or a status other than 202', async () => {
    await rejectsWith(client(scripted(uploads(() => ''))).pushBlob(A, blob), 'BAD_RESPONSE', /without a usable Location/);
    const f = scripted(({ method }) => (method === 'HEAD' ? new Response(null, { status: 404 }) : registryError(405, 'UNSUPPORTED', 'The operation is unsupported.')));
    await rejectsWith(client(f).pushBlob(A, blob), 'BAD_RESPONSE', /answered 405.*UNSUPPORTED/);
    assert.equal(f.calls.length, 2);
  });

  it('says DIGEST_MISMATCH when the registry stored the blob under another digest, BAD_RESPONSE for an unreadable one', async () => {
    await rejectsWith(client(scripted(uploads(() => '/u', () => created({ 'docker-content-digest': sha('something else') })))).pushBlob(A, blob), 'DIGEST_MISMATCH', /stored the blob sha256:[0-9a-f]{12}… of r\.example\/a as/);
    await rejectsWith(client(scripted(uploads(() => '/u', () => created({ 'docker-content-digest': 'md5:1' })))).pushBlob(A, blob), 'BAD_RESPONSE', /unreadable Docker-Content-Digest/);
    // No header at all: the registry's 201 is taken as is.
    assert.equal((await client(scripted(uploads(() => '/u', () => created()))).pushBlob(A, blob)).digest, BLOB_DIGEST);
  });

  it('maps a refused upload PUT with the registry\'s own words', async () => {
    const cases: Array<[Response, OciErrorCode, RegExp]> = [
      [registryError(400, 'DIGEST_INVALID', 'provided digest did not match\u001b[0m uploaded content'), 'BAD_RESPONSE', /refused the blob .*\(400: DIGEST_INVALID provided digest did not match \[0m uploaded content\)/],
      [registryError(404, 'NAME_UNKNOWN', 'repository name not known to registry'), 'NOT_FOUND', /no repository a .*NAME_UNKNOWN repository name not known/],
      [registryError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry'), 'NOT_FOUND', /no longer knows the upload of the blob .*\(404: BLOB_UPLOAD_UNKNOWN/],
      [registryError(413, 'SIZE_INVALID', 'too big'), 'TOO_LARGE', /refused the blob .* as too large \(413: SIZE_INVALID too big\)/],
      [registryError(429, 'TOOMANYREQUESTS', 'slow down', { 'retry-after': '9' }), 'RATE_LIMITED', /Retry-After: 9 s/],
      [registryError(503, 'UNAVAILABLE', 'maintenance'), 'BAD_RESPONSE', /answered 503.*UNAVAILABLE maintenance/],
    ];
    for (const [answer, code, message] of cases) {
      const e = await rejectsWith(client(scripted(uploads(() => '/u', () => answer.clone()))).pushBlob(A, blob), code, message);
      assert.ok(!e.message.includes('\u001b'));
    }
  });
});

describe('registry push: manifests', () => {
  it('PUTs a manifest under a tag and an index under its digest, with the media type as Content-Type', async () => {
    const f = scripted(({ body }) => created({ 'docker-content-digest': sha(body!) }));
    const c = client(f);
    assert.equal(await c.putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), MANIFEST_DIGEST);
    assert.equal(await c.putManifest(A, sha(indexBytes), indexBytes, OCI_INDEX), sha(indexBytes));
    assert.deepEqual(f.calls.map((x) => [x.method, x.url.pathname, x.headers['content-type']]), [
      ['PUT', '/v2/a/manifests/v1', OCI_MANIFEST],
      ['PUT', `/v2/a/manifests/${sha(indexBytes)}`, OCI_INDEX],
    ]);
    assert.deepEqual(f.calls[0]!.body, manifestBytes);
    assert.deepEqual(f.calls[1]!.body, indexBytes);
  });

  it('refuses, before any request, what it could not read back: not JSON, wrong shape, another media type, over 4 MiB', async () => {
    const f = scripted(() => created());
    const c = client(f);
    await rejectsWith(c.putManifest(A, 'v1', Buffer.from('{"schemaVersion":2,'), OCI_MANIFEST), 'INVALID_MANIFEST', /is not valid JSON; nothing was sent/);
    await rejectsWith(c.putManifest(A, 'v1', Buffer.from(JSON.stringify({ ...manifestDoc, config: 'x' })), OCI_MANIFEST), 'INVALID_MANIFEST', /not a usable .*: config is not an object/);
    await rejectsWith(c.putManifest(A, 'v1', manifestBytes, OCI_INDEX), 'INVALID_MANIFEST', /declares media type "application\/vnd\.oci\.image\.manifest\.v1\+json", not the application\/vnd\.oci\.image\.index\.v1\+json/);
    await rejectsWith(c.putManifest(A, 'v1', manifestBytes, 'application/json'), 'INVALID_MANIFEST', /not an OCI or Docker v2 manifest/);
    const huge = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20);
    manifestBytes.copy(huge);
    await rejectsWith(c.putManifest(A, 'v1', huge, OCI_MANIFEST), 'TOO_LARGE', /more than 4 MiB/);
    await rejectsWith(c.putManifest(A, sha('not these bytes'), manifestBytes, OCI_MANIFEST), 'BAD_REFERENCE', /has digest sha256:[0-9a-f]{12}…, not the/);
    await rejectsWith(c.putManifest(A, '../../x', manifestBytes, OCI_MANIFEST), 'BAD_REFERENCE');
    await rejectsWith(c.putManifest({ registry: 'r.example', repository: 'a/../../token', original: '' }, 'v1', manifestBytes, OCI_MANIFEST), 'BAD_REFERENCE');
    assert.equal(f.calls.length, 0);
    assert.equal(c.requestCount, 0);
  });

  it('says DIGEST_MISMATCH when the registry answers with another digest', async () => {
    const f = scripted(() => created({ 'docker-content-digest': sha('something else') }));
    await rejectsWith(client(f).putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), 'DIGEST_MISMATCH', /stored the manifest r\.example\/a:v1 as sha256:/);
  });

  it('names a manifest that references a missing blob, and an invalid one, in the registry\'s words', async () => {
    const unknown = scripted(() => registryError(400, 'MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry'));
    const e = await rejectsWith(client(unknown).putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), 'BAD_RESPONSE', /references a blob a does not have \(400: MANIFEST_BLOB_UNKNOWN blob unknown to registry\)/);
    assert.match(e.remedy ?? '', /Push the blobs the manifest references/);
    const invalid = scripted(() => registryError(400, 'MANIFEST_INVALID', 'manifest invalid'));
    await rejectsWith(client(invalid).putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), 'BAD_RESPONSE', /refused the manifest r\.example\/a:v1 \(400: MANIFEST_INVALID manifest invalid\)/);
  });
});

describe('registry push: authentication', () => {
  /** A token registry: the realm grants `grants[user]` of what is asked; the registry checks the token against each request's need. */
  function tokenRegistry(grants: Record<string, readonly string[]>) {
    const tokenRequests: Array<{ scope: string | null; user?: string }> = [];
    const f = scripted(({ url, method, headers }) => {
      if (url.host === 'auth.r.example') {
        const basic = headers.authorization?.replace(/^Basic /, '');
        const user = basic ? Buffer.from(basic, 'base64').toString().split(':')[0] : 'anonymous';
        tokenRequests.push({ scope: url.searchParams.get('scope'), user });
        const asked = (url.searchParams.get('scope') ?? '').split(':').at(-1)!.split(',');
        const granted = asked.filter((a) => (grants[user!] ?? []).includes(a));
        return json(200, { token: `${user}:${granted.join('+')}`, expires_in: 300 });
      }
      const needs = method === 'GET' || method === 'HEAD' ? 'pull' : 'push';
      const scope = needs === 'pull' ? 'repository:a:pull' : 'repository:a:pull,push';
      const token = headers.authorization?.replace(/^Bearer /, '');
      const actions = token?.split(':')[1]?.split('+') ?? [];
      if (!actions.includes(needs)) {
        return challenge(`Bearer realm="https://auth.r.example/token",service="s",scope="${scope}"${token ? ',error="insufficient_scope"' : ''}`);
      }
      if (method === 'HEAD') return new Response(null, { status: 404 });
      if (method === 'POST') return new Response(null, { status: 202, headers: { location: '/v2/a/blobs/uploads/u' } });
      if (method === 'PUT') return created();
      return new Response(manifestBytes, { headers: { 'content-type': OCI_MANIFEST } });
    });
    return { f, tokenRequests };
  }

  it('asks for scope repository:a:pull,push for writes, and keeps reads on pull', async () => {
    const { f, tokenRequests } = tokenRegistry({ u: ['pull', 'push'] });
    const c = client(f, { credentials: staticCredentials({ 'r.example': { username: 'u', password: 'p' } }) });
    await c.pushBlob(A, blob);
    await c.putManifest(A, 'v1', manifestBytes, OCI_MANIFEST);
    assert.deepEqual(tokenRequests, [{ scope: 'repository:a:pull,push', user: 'u' }], 'one push token serves HEAD, upload and manifest');
    const writes = f.calls.filter((x) => x.url.host === 'r.example' && (x.method === 'POST' || x.method === 'PUT'));
    assert.deepEqual(writes.map((x) => [x.method, x.headers.authorization]), [
      ['POST', 'Bearer u:pull+push'],
      ['PUT', 'Bearer u:pull+push'],
      ['PUT', 'Bearer u:pull+push'],
    ]);

    const mark = f.calls.length;
    assert.equal((await c.getManifest(A, 'v1')).digest, MANIFEST_DIGEST);
    assert.equal(await c.blobExists(A, BLOB_DIGEST), false);
    assert.deepEqual(tokenRequests.map((t) => t.scope), ['repository:a:pull,push', 'repository:a:pull'], 'reads get their own pull token');
    const reads = f.calls.slice(mark).filter((x) => x.url.host === 'r.example');
    assert.deepEqual(reads.map((x) => [x.method, x.headers.authorization]), [
      ['GET', 'Bearer u:pull'],
      ['HEAD', 'Bearer u:pull'],
    ]);
  });

  it('says DENIED, naming the repository, when the credentials may read but not push (read-only token)', async () => {
    const { f, tokenRequests } = tokenRegistry({ u: ['pull'] });
    const c = client(f, { credentials: staticCredentials({ 'r.example': { username: 'u', password: 'p' } }) });
    const e = await rejectsWith(c.pushBlob(A, blob), 'DENIED', /r\.example does not let u push to a \(insufficient_scope\): the credentials are accepted but may not write there \(they can at most read it: a read-only token or account, without the push scope\)/);
    assert.equal(e.remedy, 'Run docker login r.example with an account that may push to a (the extension uses the credentials of your Docker configuration), or ask the registry\'s owner for push access.');
    assert.ok(tokenRequests.every((t) => t.scope === 'repository:a:pull,push'));
    assert.equal(f.calls.filter((x) => x.method === 'PUT').length, 0, 'no upload after the refused POST');
    await rejectsWith(c.putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), 'DENIED', /does not let u push to a/);
    // The same credentials still read.
    assert.equal((await c.getManifest(A, 'v1')).digest, MANIFEST_DIGEST);
  });

  it('says DENIED for a 403 on a push, with and without credentials', async () => {
    const forbidden = (authorized: boolean) =>
      scripted(({ method, headers }) => {
        if (authorized && !headers.authorization) return challenge('Basic realm="r"');
        if (method === 'HEAD') return new Response(null, { status: 404 });
        return registryError(403, 'DENIED', 'requested access to the resource is denied');
      });
    const withCredentials = client(forbidden(true), { credentials: staticCredentials({ 'r.example': { username: 'u', password: 'p' } }) });
    const e = await rejectsWith(withCredentials.pushBlob(A, blob), 'DENIED', /r\.example refused to let u push to a \(403: DENIED requested access to the resource is denied\): the credentials are accepted but may not write there/);
    assert.match(e.remedy ?? '', /^Run docker login r\.example with an account that may push to a/);
    await rejectsWith(withCredentials.putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), 'DENIED', /refused to let u push to a/);
    await rejectsWith(client(forbidden(false)).putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), 'DENIED', /refused an anonymous push to a \(403/);
  });

  it('says AUTH_REQUIRED for an anonymous push, and for credentials the registry rejects', async () => {
    const { f } = tokenRegistry({ anonymous: ['pull'] });
    const e = await rejectsWith(client(f).putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), 'AUTH_REQUIRED', /r\.example\/a requires sign-in to push to it/);
    assert.match(e.remedy ?? '', /docker login r\.example with an account that may push to a/);
    const basic = scripted(() => challenge('Basic realm="r"'));
    await rejectsWith(client(basic, { credentials: staticCredentials({ 'r.example': { username: 'u', password: 'wrong' } }) }).pushBlob(A, blob), 'AUTH_REQUIRED', /rejected the username and password of u/);
  });

  it('says DENIED when the token service refuses the account a push token (403)', async () => {
    const f = scripted(({ url }) => (url.host === 'auth.r.example' ? json(403, {}) : challenge('Bearer realm="https://auth.r.example/token",service="s"')));
    await rejectsWith(client(f, { credentials: staticCredentials({ 'r.example': { username: 'u', password: 'p' } }) }).pushBlob(A, blob), 'DENIED', /auth\.r\.example refused u a token to push to r\.example\/a/);
  });

  it('never sends credentials for a push over plain HTTP off loopback, and refuses unlisted plain HTTP', async () => {
    const plain = (call: Call) => {
      if (call.url.protocol === 'https:') throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }) });
      return challenge('Basic realm="r"');
    };
    await rejectsWith(client(scripted(plain)).pushBlob(ref('plain.example/a'), blob), 'INSECURE_REGISTRY', /does not speak HTTPS/);
    const f = scripted(plain);
    await rejectsWith(client(f, { insecureRegistries: ['plain.example'], credentials: staticCredentials({ 'plain.example': { username: 'u', password: 'p' } }) }).putManifest(ref('plain.example/a'), 'v1', manifestBytes, OCI_MANIFEST), 'INSECURE_REGISTRY', /never sent over plain HTTP/);
    assert.ok(f.calls.every((x) => x.headers.authorization === undefined));
  });

  it('lets the first write to a new registry learn the scheme and challenge while the others wait', async () => {
    const f = scripted((call) => {
      if (call.url.protocol === 'https:') throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }) });
      if (!call.headers.authorization) return challenge('Basic realm="r"');
      return uploads(() => '/v2/a/blobs/uploads/u', (x) => created({ 'docker-content-digest': sha(x.body!) }))(call);
    });
    const c = client(f, { credentials: staticCredentials({ '127.0.0.1:5000': { username: 'u', password: 'p' } }) });
    const blobs = ['one', 'two', 'three'].map((s) => Buffer.from(s));
    const pushed = await Promise.all(blobs.map((b) => c.pushBlob(ref('127.0.0.1:5000/a'), b)));
    assert.deepEqual(pushed.map((p) => p.digest), blobs.map((b) => sha(b)));
    assert.equal(f.calls.filter((x) => x.url.protocol === 'https:').length, 1, 'one HTTPS probe');
    assert.equal(f.calls.filter((x) => !x.headers.authorization).length, 2, 'one probe and one challenge, then Basic at once');
  });
});

describe('registry push: cancellation and timeouts', () => {
  it('sends nothing for an already cancelled push', async () => {
    const f = scripted(() => created());
    const stop = new AbortController();
    stop.abort();
    const c = client(f);
    await rejectsWith(c.pushBlob(A, blob, stop.signal), 'CANCELLED');
    await rejectsWith(c.putManifest(A, 'v1', manifestBytes, OCI_MANIFEST, stop.signal), 'CANCELLED');
    await rejectsWith(c.blobExists(A, BLOB_DIGEST, stop.signal), 'CANCELLED');
    assert.equal(f.calls.length, 0);
  });

  it('stops an upload in flight when the caller cancels, and passes the signal to the body upload', async () => {
    const stop = new AbortController();
    const f = scripted(
      uploads(
        () => '/u',
        (call) => {
          // The registry is reading the bytes when the person presses Cancel.
          queueMicrotask(() => stop.abort());
          return hangs(call);
        },
      ),
    );
    await rejectsWith(client(f, { timeoutMs: 60_000 }).pushBlob(A, blob, stop.signal), 'CANCELLED');
    const last = f.calls.at(-1)!;
    assert.equal(last.method, 'PUT');
    assert.deepEqual(last.body, blob);
    assert.equal(last.signal?.aborted, true, 'the request carrying the bytes was aborted');
  });

  it('times out a manifest PUT the registry never answers', async () => {
    const f = scripted((call) => hangs(call));
    await rejectsWith(client(f, { timeoutMs: 50 }).putManifest(A, 'v1', manifestBytes, OCI_MANIFEST), 'TIMEOUT', /did not answer within 50 ms/);
    assert.equal(f.calls[0]!.signal?.aborted, true);
  });
});
