/**
 * The registry client's rules, against a scripted `fetch`: schemes, where credentials may go,
 * token caching, redirects, pagination guards, digests, and how failures are reported.
 * (test/integration/registry-client.test.ts runs it against real servers.)
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';

import type { CredentialSource } from '../../../src/core/oci/dockerCredentials';
import { staticCredentials } from '../../../src/core/oci/dockerCredentials';
import { OciError } from '../../../src/core/oci/errors';
import { OCI_INDEX, OCI_MANIFEST } from '../../../src/core/oci/mediaTypes';
import { parseImageReference } from '../../../src/core/oci/reference';
import { RegistryClient, type RegistryClientOptions } from '../../../src/core/oci/registryClient';
import { rejectsWith } from '../../support/oci-errors';
import { failure, json, scripted } from './scriptedFetch';

const sha = (b: Buffer | string, alg: 'sha256' | 'sha512' = 'sha256') => `${alg}:${createHash(alg).update(b).digest('hex')}`;
const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 }, layers: [] }));
const MANIFEST_DIGEST = sha(manifestBytes);
const manifest = (headers: Record<string, string> = { 'docker-content-digest': MANIFEST_DIGEST }) => new Response(manifestBytes, { status: 200, headers: { 'content-type': OCI_MANIFEST, ...headers } });
const challenge = (value: string) => json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': value });

const client = (f: typeof fetch, options: RegistryClientOptions = {}) => new RegistryClient({ fetch: f, ...options });
const ref = (text: string) => parseImageReference(text);

describe('registry client: schemes and where credentials may go', () => {
  it('tries HTTPS first, and plain HTTP only for loopback or listed registries', async () => {
    const f = scripted(({ url }) => {
      if (url.protocol === 'https:') throw failure('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number');
      return manifest();
    });
    assert.equal((await client(f).getManifest(ref('localhost:5000/a'), 'v1')).digest, MANIFEST_DIGEST);
    assert.deepEqual(f.calls.map((c) => c.url.origin), ['https://localhost:5000', 'http://localhost:5000']);

    await rejectsWith(client(f).getManifest(ref('registry.example/a'), 'v1'), 'INSECURE_REGISTRY', /registry\.example does not speak HTTPS/);
    const listed = client(f, { insecureRegistries: ['http://registry.example/'] });
    assert.equal((await listed.getManifest(ref('registry.example:8080/a'), 'v1')).digest, MANIFEST_DIGEST, 'an entry without a port covers every port');
    // The decision is remembered: one HTTPS attempt per registry.
    const before = f.calls.length;
    await listed.getManifest(ref('registry.example:8080/a'), 'v1');
    assert.equal(f.calls.length - before, 1);
  });

  it('sends Docker Hub requests to registry-1.docker.io, with credentials looked up as docker.io', async () => {
    const asked: string[] = [];
    const credentials: CredentialSource = { get: async (r) => (asked.push(r), { username: 'u', password: 'p' }) };
    const f = scripted(({ url, headers }) => {
      if (url.host === 'auth.docker.io') {
        assert.equal(headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
        assert.equal(url.searchParams.get('scope'), 'repository:library/alpine:pull');
        return json(200, { token: 'hub-token', expires_in: 300 });
      }
      assert.equal(url.host, 'registry-1.docker.io');
      if (headers.authorization !== 'Bearer hub-token') return challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"');
      return manifest();
    });
    const c = client(f, { credentials });
    await c.getManifest(ref('alpine'), 'latest');
    assert.deepEqual(asked, ['docker.io']);
    assert.equal(c.requestCount, 3);
  });

  it('never sends credentials over plain HTTP off loopback, not even to the token realm', async () => {
    const f = scripted(({ url, headers }) => {
      if (url.pathname === '/token') {
        assert.equal(headers.authorization, undefined, 'no Basic credentials to an http realm');
        return json(200, { token: 'anonymous' });
      }
      if (url.protocol === 'https:') throw failure('ERR_SSL_PACKET_LENGTH_TOO_LONG', 'packet length too long');
      return headers.authorization === 'Bearer anonymous' ? json(401, {}, { 'www-authenticate': 'Bearer realm="http://plain.example/token",service="s"' }) : challenge('Bearer realm="http://plain.example/token",service="s"');
    });
    const c = client(f, { insecureRegistries: ['plain.example'], credentials: staticCredentials({ 'plain.example': { username: 'u', password: 'p' } }) });
    await rejectsWith(c.getManifest(ref('plain.example/a'), 'v1'), 'INSECURE_REGISTRY', /never sent over plain HTTP/);
    assert.ok(f.calls.every((call) => call.headers.authorization === undefined || call.headers.authorization === 'Bearer anonymous'));
  });

  it('sends credentials to a token service of the same site only (auth.docker.io for Docker Hub), never to another host', async () => {
    const seen: Array<{ host: string; authorization?: string }> = [];
    const f = scripted(({ url, headers }) => {
      if (url.pathname === '/token') {
        seen.push({ host: url.hostname, authorization: headers.authorization });
        return json(200, { token: `t-${url.hostname}` });
      }
      if (headers.authorization?.startsWith('Bearer t-')) return manifest();
      const realm = url.hostname === 'registry.example' ? 'https://tokens.elsewhere.test/token' : 'https://auth.docker.io/token';
      return challenge(`Bearer realm="${realm}",service="s",scope="repository:a:pull"`);
    });
    const credentials = staticCredentials({ 'registry.example': { username: 'u', password: 'p' }, 'docker.io': { username: 'd', password: 'q' } });
    await client(f, { credentials }).getManifest(ref('registry.example/a'), MANIFEST_DIGEST);
    await client(f, { credentials }).getManifest(ref('docker.io/octo/a'), MANIFEST_DIGEST);
    assert.deepEqual(seen, [
      { host: 'tokens.elsewhere.test', authorization: undefined },
      { host: 'auth.docker.io', authorization: `Basic ${Buffer.from('d:q').toString('base64')}` },
    ]);
  });

  it('sends credentials to a token realm only on the registry\'s own origin: another port or scheme gets an anonymous token request', async () => {
    const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
    const run = async (registry: string, realm: string, https: boolean) => {
      const seen: Array<{ method: string; authorization?: string; refresh?: string | null }> = [];
      const f = scripted(({ url, method, headers, body }) => {
        if (url.protocol === 'https:' && !https) throw failure('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number');
        if (url.pathname === '/token') {
          seen.push({ method, authorization: headers.authorization, refresh: body ? new URLSearchParams(body.toString()).get('refresh_token') : null });
          return json(200, { token: 'tok' });
        }
        return headers.authorization === 'Bearer tok' ? manifest() : challenge(`Bearer realm="${realm}",service="s"`);
      });
      const credentials = staticCredentials({ [registry]: { username: 'u', password: 'p', identityToken: 'refresh-me' } });
      await client(f, { credentials }).getManifest(ref(`${registry}/a`), MANIFEST_DIGEST);
      return seen;
    };
    // Another port of the same loopback address: another server, perhaps someone else's.
    assert.deepEqual(await run('127.0.0.1:15001', 'http://127.0.0.1:15002/token', false), [{ method: 'GET', authorization: undefined, refresh: null }]);
    assert.deepEqual(await run('r.example', 'https://r.example:8443/token', true), [{ method: 'GET', authorization: undefined, refresh: null }]);
    // An HTTPS registry naming a plain-HTTP realm on its own host and port: a downgrade.
    assert.deepEqual(await run('127.0.0.1:15001', 'http://127.0.0.1:15001/token', true), [{ method: 'GET', authorization: undefined, refresh: null }]);
    // The registry's own origin: the identity token by POST.
    assert.deepEqual(await run('127.0.0.1:15001', 'http://127.0.0.1:15001/token', false), [{ method: 'POST', authorization: undefined, refresh: 'refresh-me' }]);
    // A GitLab registry on :5050 sends us to its GitLab on the default HTTPS port: kept.
    const gitlab = await run('gitlab.example:5050', 'https://gitlab.example/token', true);
    assert.deepEqual(gitlab, [{ method: 'POST', authorization: undefined, refresh: 'refresh-me' }]);
    const basicOnly = scripted(({ url, headers }) => {
      if (url.pathname === '/token') return json(200, { token: headers.authorization === basic ? 'tok' : 'anon' });
      return headers.authorization === 'Bearer tok' ? manifest() : challenge('Bearer realm="https://auth.r.example:444/token",service="s"');
    });
    await rejectsWith(client(basicOnly, { credentials: staticCredentials({ 'r.example': { username: 'u', password: 'p' } }) }).getManifest(ref('r.example/a'), MANIFEST_DIGEST), 'AUTH_REQUIRED');
    assert.ok(basicOnly.calls.every((c) => c.headers.authorization !== basic), 'the Basic credential never left for :444');
  });

  it('refuses a token realm on plain HTTP off loopback for an HTTPS registry', async () => {
    const f = scripted(() => challenge('Bearer realm="http://evil.example/token",service="s"'));
    await rejectsWith(client(f).getManifest(ref('r.example/a'), 'v1'), 'INSECURE_REGISTRY', /evil\.example over plain HTTP/);
    assert.equal(f.calls.length, 1);
  });

  it('uses a registrytoken as the bearer token, without asking the realm', async () => {
    const f = scripted(({ headers }) => (headers.authorization === 'Bearer given' ? manifest() : challenge('Bearer realm="https://auth.r.example/token",service="s"')));
    await client(f, { credentials: staticCredentials({ 'r.example': { registryToken: 'given' } }) }).getManifest(ref('r.example/a'), 'v1');
    assert.ok(f.calls.every((c) => c.url.host === 'r.example'));
  });

  it('says AUTH_REQUIRED for a 401 without a usable challenge', async () => {
    await rejectsWith(client(scripted(() => json(401, {}))).getManifest(ref('r.example/a'), 'v1'), 'AUTH_REQUIRED', /without saying how/);
    await rejectsWith(client(scripted(() => challenge('Negotiate abc=='))).getManifest(ref('r.example/a'), 'v1'), 'AUTH_REQUIRED', /does not support \(negotiate\)/);
  });

  it('reports unreadable credentials only when the registry asks for sign-in', async () => {
    const broken: CredentialSource = {
      get: async () => {
        throw new OciError('CREDENTIALS', 'docker-credential-x get failed.', 'Check docker-credential-x.');
      },
    };
    const open = scripted(() => manifest());
    assert.equal((await client(open, { credentials: broken }).getManifest(ref('r.example/a'), 'v1')).digest, MANIFEST_DIGEST);
    const closed = scripted(() => challenge('Basic realm="r"'));
    const e = await rejectsWith(client(closed, { credentials: broken }).getManifest(ref('r.example/a'), 'v1'), 'CREDENTIALS', /requires sign-in, and the credentials could not be read: docker-credential-x get failed/);
    assert.equal(e.remedy, 'Check docker-credential-x.');
  });
});

describe('registry client: tokens', () => {
  it('exchanges an identity token by POST, and falls back to GET where the realm has no OAuth2 endpoint', async () => {
    const f = scripted(({ url, method, body, headers }) => {
      if (url.pathname === '/token' && method === 'POST') {
        const form = new URLSearchParams(body?.toString());
        assert.deepEqual([form.get('grant_type'), form.get('refresh_token'), form.get('service'), form.get('scope'), form.get('client_id')], ['refresh_token', 'refresh', 's', 'repository:a:pull', 'sigstore-vscode']);
        return json(404, {});
      }
      if (url.pathname === '/token') return json(200, { token: 'via-get' });
      return headers.authorization === 'Bearer via-get' ? manifest() : challenge('Bearer realm="https://r.example/token",service="s"');
    });
    await client(f, { credentials: staticCredentials({ 'r.example': { username: 'u', password: '', identityToken: 'refresh' } }) }).getManifest(ref('r.example/a'), 'v1');
    assert.deepEqual(f.calls.map((c) => `${c.method} ${c.url.pathname}`), ['GET /v2/a/manifests/v1', 'POST /token', 'GET /token', 'GET /v2/a/manifests/v1']);
  });

  it('does not reuse a token past its expires_in', async () => {
    let issued = 0;
    const lifetime = { value: 300 };
    const f = scripted(({ url, headers }) => {
      if (url.pathname === '/token') return json(200, { token: `t${++issued}`, expires_in: lifetime.value });
      return headers.authorization?.startsWith('Bearer t') ? manifest() : challenge('Bearer realm="https://r.example/token",service="s"');
    });
    const long = client(f);
    for (let i = 0; i < 3; i++) await long.getManifest(ref('r.example/a'), 'v1');
    assert.equal(issued, 1);
    lifetime.value = 5; // shorter than the client's safety margin: never cached
    const short = client(f);
    for (let i = 0; i < 3; i++) await short.getManifest(ref('r.example/a'), 'v1');
    assert.equal(issued, 4);
  });

  it('maps token service failures: 401 with credentials → AUTH_REQUIRED, 429 → RATE_LIMITED, junk → BAD_RESPONSE', async () => {
    const answers: Record<string, Response | (() => Response)> = {};
    const f = scripted(({ url }) => (url.pathname === '/token' ? (answers.token as () => Response)() : challenge('Bearer realm="https://auth.r.example/token",service="s"')));
    const creds = staticCredentials({ 'r.example': { username: 'u', password: 'p' } });
    answers.token = () => json(401, {});
    await rejectsWith(client(f, { credentials: creds }).getManifest(ref('r.example/a'), 'v1'), 'AUTH_REQUIRED', /auth\.r\.example rejected the credentials of u/);
    answers.token = () => json(401, {});
    await rejectsWith(client(f).getManifest(ref('r.example/a'), 'v1'), 'AUTH_REQUIRED', /requires sign-in/);
    answers.token = () => json(429, {}, { 'retry-after': '7' });
    await rejectsWith(client(f).getManifest(ref('r.example/a'), 'v1'), 'RATE_LIMITED', /Retry-After: 7 s/);
    answers.token = () => new Response('<html>', { status: 200 });
    await rejectsWith(client(f).getManifest(ref('r.example/a'), 'v1'), 'BAD_RESPONSE', /not JSON/);
    answers.token = () => json(200, { nothing: true });
    await rejectsWith(client(f).getManifest(ref('r.example/a'), 'v1'), 'BAD_RESPONSE', /no token/);
  });
});

describe('registry client: redirects and digests', () => {
  const blob = Buffer.from('layer bytes');
  const blobDigest = sha(blob);

  it('keeps Authorization on a same-origin blob redirect and drops it for another origin', async () => {
    const f = scripted(({ url, headers }) => {
      if (url.host === 'r.example' && !headers.authorization) return challenge('Basic realm="r"');
      if (url.pathname === `/v2/a/blobs/${blobDigest}`) return new Response(null, { status: 307, headers: { location: '/internal/blob' } });
      if (url.pathname === '/internal/blob') return new Response(null, { status: 302, headers: { location: 'https://cdn.example/x?sig=1' } });
      return new Response(blob, { status: 200 });
    });
    const got = await client(f, { credentials: staticCredentials({ 'r.example': { username: 'u', password: 'p' } }) }).getBlob(ref('r.example/a'), blobDigest);
    assert.deepEqual(got, blob);
    const [, first, same, other] = f.calls;
    assert.match(first!.headers.authorization ?? '', /^Basic /);
    assert.equal(same!.url.toString(), 'https://r.example/internal/blob');
    assert.equal(same!.headers.authorization, first!.headers.authorization);
    assert.equal(other!.url.host, 'cdn.example');
    assert.equal(other!.headers.authorization, undefined);
  });

  it('drops Authorization on a blob redirect to another port or scheme of the same host', async () => {
    for (const location of ['https://r.example:8443/blob', 'http://127.0.0.1:5000/blob', 'https://127.0.0.1:5001/blob']) {
      const registry = location.includes('127.0.0.1') ? '127.0.0.1:5000' : 'r.example';
      const f = scripted(({ url, headers }) => {
        if (url.pathname.startsWith('/v2/') && !headers.authorization) return challenge('Basic realm="r"');
        if (url.pathname.startsWith('/v2/')) return new Response(null, { status: 307, headers: { location } });
        return new Response(blob, { status: 200 });
      });
      await client(f, { credentials: staticCredentials({ [registry]: { username: 'u', password: 'p' } }) }).getBlob(ref(`${registry}/a`), blobDigest);
      const last = f.calls.at(-1)!;
      assert.equal(last.url.toString(), location);
      assert.equal(last.headers.authorization, undefined, location);
    }
  });

  it('refuses redirects to plain HTTP off loopback, to odd schemes, and more than 5 hops', async () => {
    const to = (location: string) => scripted(() => new Response(null, { status: 302, headers: { location } }));
    await rejectsWith(client(to('http://cdn.example/x')).getBlob(ref('r.example/a'), blobDigest), 'INSECURE_REGISTRY', /plain HTTP on cdn\.example/);
    await rejectsWith(client(to('file:///etc/passwd')).getBlob(ref('r.example/a'), blobDigest), 'BAD_RESPONSE', /unusable location/);
    const loop = to('https://r.example/again');
    await rejectsWith(client(loop).getBlob(ref('r.example/a'), blobDigest), 'BAD_RESPONSE', /more than 5 times/);
    assert.equal(loop.calls.length, 6);
  });

  it('checks sha512 digests too, and the Docker-Content-Digest of a tag', async () => {
    const d512 = sha(blob, 'sha512');
    assert.deepEqual(await client(scripted(() => new Response(blob))).getBlob(ref('r.example/a'), d512), blob);
    await rejectsWith(client(scripted(() => new Response(Buffer.from('other')))).getBlob(ref('r.example/a'), d512), 'DIGEST_MISMATCH');
    // By tag without the header: the digest is computed; with an unreadable one: refused.
    assert.equal((await client(scripted(() => manifest({}))).getManifest(ref('r.example/a'), 'v1')).digest, MANIFEST_DIGEST);
    await rejectsWith(client(scripted(() => manifest({ 'docker-content-digest': 'md5:abc' }))).getManifest(ref('r.example/a'), 'v1'), 'BAD_RESPONSE', /unreadable Docker-Content-Digest/);
  });

  it('refuses tags, digests and hand-built references that are not, before any request', async () => {
    const f = scripted(() => manifest());
    await rejectsWith(client(f).getManifest({ registry: 'r.example', repository: 'a/../../token', original: '' }, 'v1'), 'BAD_REFERENCE');
    await rejectsWith(client(f).getManifest(ref('r.example/a'), '../../etc'), 'BAD_REFERENCE');
    await rejectsWith(client(f).getBlob(ref('r.example/a'), 'sha256:xyz'), 'BAD_REFERENCE');
    await rejectsWith(client(f).referrers(ref('r.example/a'), 'latest'), 'BAD_REFERENCE');
    assert.equal(f.calls.length, 0);
  });
});

describe('registry client: failures', () => {
  it('reports connection and certificate failures by kind', async () => {
    await rejectsWith(client(scripted(() => Promise.reject(failure('ECONNREFUSED')))).getManifest(ref('r.example/a'), 'v1'), 'NETWORK', /Cannot reach r\.example: ECONNREFUSED/);
    await rejectsWith(client(scripted(() => Promise.reject(failure('ENOTFOUND')))).getManifest(ref('r.example/a'), 'v1'), 'NETWORK', /ENOTFOUND/);
    await rejectsWith(client(scripted(() => Promise.reject(failure('CERT_HAS_EXPIRED')))).getManifest(ref('r.example/a'), 'v1'), 'TLS', /not trusted \(CERT_HAS_EXPIRED\)/);
    await rejectsWith(client(scripted(() => Promise.reject(failure('ERR_TLS_CERT_ALTNAME_INVALID')))).getManifest(ref('r.example/a'), 'v1'), 'TLS');
  });

  it('counts every request, failed ones included', async () => {
    const c = client(scripted(() => Promise.reject(failure('ECONNRESET'))));
    await rejectsWith(c.getManifest(ref('r.example/a'), 'v1'), 'NETWORK');
    await rejectsWith(c.getBlob(ref('r.example/a'), MANIFEST_DIGEST), 'NETWORK');
    assert.equal(c.requestCount, 2);
  });

  it('reads the registry\'s own words into messages, without control characters', async () => {
    const f = scripted(() => json(403, { errors: [{ code: 'DENIED', message: 'no\u001b[31m way' }] }));
    const e = await rejectsWith(client(f).getManifest(ref('r.example/a'), 'v1'), 'DENIED', /403: DENIED no \[31m way/);
    assert.ok(!e.message.includes('\u001b'));
  });
});

describe('registry client: tag pagination guards', () => {
  const pages = (answer: (url: URL, n: number) => Response) => {
    let n = 0;
    return scripted(({ url }) => answer(url, n++));
  };
  const tags = (list: string[] | null, link?: string) => json(200, { name: 'a', tags: list }, link ? { link } : {});

  it('stops on an empty page, on a page with no new tag, and on a foreign or different-path next URL', async () => {
    const cases: Array<[string, (url: URL, n: number) => Response, string[], number]> = [
      ['empty page', (_u, n) => (n === 0 ? tags(['a'], '</v2/a/tags/list?last=a>; rel="next"') : tags([], '</v2/a/tags/list?last=z>; rel="next"')), ['a'], 2],
      ['null tags', (_u, n) => (n === 0 ? tags(['a'], '</v2/a/tags/list?last=a>; rel="next"') : tags(null, '</v2/a/tags/list?x>; rel="next"')), ['a'], 2],
      ['same tags again', (_u, n) => tags(['a', 'b'], `</v2/a/tags/list?last=${n}>; rel="next"`), ['a', 'b'], 2],
      ['another origin', () => tags(['a'], '<https://elsewhere.example/v2/a/tags/list?last=a>; rel="next"'), ['a'], 1],
      ['another path', () => tags(['a'], '</v2/other/tags/list?last=a>; rel="next"'), ['a'], 1],
      ['invalid tags skipped', () => tags(['ok', '../x', '', 'also-ok']), ['ok', 'also-ok'], 1],
    ];
    for (const [name, answer, expected, requests] of cases) {
      const f = pages(answer);
      assert.deepEqual(await client(f).listTags(ref('r.example/a')), expected, name);
      assert.equal(f.calls.length, requests, name);
    }
  });

  it('stops after maxTagPages pages of ever-new URLs', async () => {
    const f = pages((_u, n) => tags([`t${n}`], `</v2/a/tags/list?last=t${n}>; rel="next"`));
    assert.equal((await client(f, { maxTagPages: 4 }).listTags(ref('r.example/a'))).length, 4);
    assert.equal(f.calls.length, 4);
    assert.equal(f.calls[0]!.url.search, '?n=1000');
  });

  it('stops once it has maxTags tags (default 10,000), whatever the pages still hold', async () => {
    const f = pages((_u, n) => tags(Array.from({ length: 3 }, (_, i) => `t${n}-${i}`), `</v2/a/tags/list?last=t${n}>; rel="next"`));
    assert.deepEqual(await client(f, { maxTags: 7 }).listTags(ref('r.example/a')), ['t0-0', 't0-1', 't0-2', 't1-0', 't1-1', 't1-2', 't2-0']);
    assert.equal(f.calls.length, 3);
    const big = pages((_u, n) => tags(Array.from({ length: 1000 }, (_, i) => `t${n}-${i}`), `</v2/a/tags/list?last=t${n}>; rel="next"`));
    assert.equal((await client(big).listTags(ref('r.example/a'))).length, 10_000);
    assert.equal(big.calls.length, 10);
  });

  it('refuses a page that is not a tag list', async () => {
    await rejectsWith(client(pages(() => new Response('nope', { status: 200 }))).listTags(ref('r.example/a')), 'BAD_RESPONSE', /not valid JSON/);
    await rejectsWith(client(pages(() => json(200, { tags: 'a' }))).listTags(ref('r.example/a')), 'BAD_RESPONSE', /not a list/);
    await rejectsWith(client(pages(() => json(404, { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }))).listTags(ref('r.example/a')), 'NOT_FOUND', /NAME_UNKNOWN/);
  });
});

describe('registry client: referrers', () => {
  const digest = MANIFEST_DIGEST;
  const fallbackIndex = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha('r1'), size: 1, artifactType: 'x' }] }));

  it('falls back on 400 and 404, remembering a registry without the API (but not for NAME_UNKNOWN)', async () => {
    for (const [status, body, remembered] of [
      [400, 'bad request', true],
      [404, '404 page not found', true],
      [404, JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN' }] }), false],
    ] as const) {
      const f = scripted(({ url }) => (url.pathname.includes('/referrers/') ? new Response(body, { status }) : new Response(fallbackIndex, { headers: { 'content-type': OCI_INDEX } })));
      const c = client(f);
      for (let i = 0; i < 2; i++) {
        const got = await c.referrers(ref('r.example/a'), digest);
        assert.equal(got.source, 'fallback-tag');
        assert.deepEqual(got.manifests.map((m) => m.digest), [sha('r1')]);
      }
      const apiCalls = f.calls.filter((call) => call.url.pathname.includes('/referrers/')).length;
      assert.equal(apiCalls, remembered ? 1 : 2, `${status} ${body}`);
      assert.equal(f.calls.find((call) => call.url.pathname.includes('/manifests/'))!.url.pathname, `/v2/a/manifests/sha256-${digest.slice(7)}`);
    }
  });

  it('refuses a fallback tag holding an image manifest, and a referrers answer that is not an index', async () => {
    const manifestAtTag = scripted(({ url }) => (url.pathname.includes('/referrers/') ? new Response('', { status: 404 }) : manifest({})));
    await rejectsWith(client(manifestAtTag).referrers(ref('r.example/a'), digest), 'BAD_RESPONSE', /holds an image manifest/);
    const notIndex = scripted(() => new Response(manifestBytes, { headers: { 'content-type': OCI_INDEX } }));
    await rejectsWith(client(notIndex).referrers(ref('r.example/a'), digest), 'BAD_RESPONSE');
  });
});

describe('registry client: referrers API pages', () => {
  const digest = MANIFEST_DIGEST;
  const page = (digests: string[], next?: string) =>
    new Response(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: digests.map((d) => ({ mediaType: OCI_MANIFEST, digest: d, size: 1, artifactType: 'x' })) }), {
      headers: { 'content-type': OCI_INDEX, ...(next ? { link: `<${next}>; rel="next"` } : {}) },
    });

  it('follows Link rel="next" on the same path, and stops at a repeated URL, a foreign one, or a page adding nothing', async () => {
    const base = `/v2/a/referrers/${digest}`;
    const pages = scripted(({ url }) => {
      const n = Number(url.searchParams.get('page') ?? 0);
      if (n === 0) return page([sha('r0'), sha('r1')], `${base}?page=1`);
      if (n === 1) return page([sha('r2')], `${base}?page=2`);
      return page([sha('r2')], `${base}?page=3`); // nothing new: stop here
    });
    const got = await client(pages).referrers(ref('r.example/a'), digest);
    assert.equal(got.source, 'referrers');
    assert.deepEqual(got.manifests.map((m) => m.digest), [sha('r0'), sha('r1'), sha('r2')]);
    assert.equal(pages.calls.length, 3);

    const foreign = scripted(() => page([sha('r0')], 'https://elsewhere.example/v2/a/referrers/x?page=1'));
    assert.equal((await client(foreign).referrers(ref('r.example/a'), digest)).manifests.length, 1);
    assert.equal(foreign.calls.length, 1, 'a next URL on another host is not followed');

    const same = scripted(() => page([sha(`r${Math.random()}`)], `${base}?page=1`));
    await client(same).referrers(ref('r.example/a'), digest);
    assert.equal(same.calls.length, 2, 'a repeated next URL ends the walk');
  });

  it('stops after 20 pages of ever-new entries', async () => {
    let n = 0;
    const endless = scripted(() => {
      n++;
      return page([sha(`r${n}`)], `/v2/a/referrers/${digest}?page=${n}`);
    });
    const got = await client(endless).referrers(ref('r.example/a'), digest);
    assert.equal(got.manifests.length, 20);
    assert.equal(endless.calls.length, 20);
    assert.equal(got.more, true, 'a next page was left unread');
  });

  it('stops following pages once it knows `enough` referrers, and says more were left', async () => {
    let n = 0;
    const endless = scripted(() => {
      n++;
      return page([sha(`r${n}a`), sha(`r${n}b`), sha(`r${n}c`)], `/v2/a/referrers/${digest}?page=${n}`);
    });
    const got = await client(endless).referrers(ref('r.example/a'), digest, { enough: 5 });
    assert.equal(endless.calls.length, 2);
    assert.equal(got.manifests.length, 6);
    assert.equal(got.more, true);
    const last = scripted(() => page([sha('only')]));
    assert.equal((await client(last).referrers(ref('r.example/a'), digest, { enough: 1 })).more, undefined, 'no next page: nothing more');
  });

  it('maps a failing later page to the registry\'s error', async () => {
    const f = scripted(({ url }) => (url.searchParams.has('page') ? json(429, { errors: [{ code: 'TOOMANYREQUESTS' }] }) : page([sha('r0')], `/v2/a/referrers/${digest}?page=1`)));
    await rejectsWith(client(f).referrers(ref('r.example/a'), digest), 'RATE_LIMITED');
  });
});

describe('registry client: requests made together', () => {
  /**
   * A fetch that counts requests open at once: from the call until its body is read or
   * cancelled. Answers after a timer's turn, so requests sent together overlap.
   */
  const counting = () => {
    const open = { now: 0, max: 0 };
    const f = scripted(async ({ url }) => {
      open.now++;
      open.max = Math.max(open.max, open.now);
      await new Promise((resolve) => setImmediate(resolve));
      let done = false;
      const close = () => {
        if (!done) open.now--;
        done = true;
      };
      if (url.pathname.includes('/blobs/')) close(); // a 404 without a body
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(manifestBytes));
          controller.close();
        },
      });
      const counted = body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: close }));
      return url.pathname.includes('/blobs/') ? json(404, {}) : new Response(counted, { status: 200, headers: { 'content-type': OCI_MANIFEST, 'docker-content-digest': MANIFEST_DIGEST } });
    });
    return { f, open };
  };

  it('keeps at most 6 requests in flight per registry, whatever is asked at once', async () => {
    const { f, open } = counting();
    const c = client(f);
    const got = await Promise.all(Array.from({ length: 200 }, () => c.getManifest(ref('r.example/a'), MANIFEST_DIGEST)));
    assert.equal(got.length, 200);
    assert.equal(f.calls.length, 200);
    assert.ok(open.max <= 6, `${open.max} requests were open at once`);
    assert.equal(open.max, 6, 'six do go together');
    assert.equal(open.now, 0);
    // Another registry has its own six; a smaller bound is honoured.
    const other = counting();
    const two = client(other.f, { maxRequestsPerRegistry: 2 });
    await Promise.all([...Array.from({ length: 20 }, () => two.getManifest(ref('r.example/a'), MANIFEST_DIGEST)), ...Array.from({ length: 20 }, () => two.getManifest(ref('q.example/a'), MANIFEST_DIGEST))]);
    assert.equal(other.open.max, 4, 'two per registry, two registries');
  });

  it('gives the turn back when a request fails, and a request waiting its turn can be cancelled', async () => {
    const { f, open } = counting();
    const c = client(f, { maxRequestsPerRegistry: 1 });
    await Promise.all(Array.from({ length: 5 }, () => c.findManifest(ref('r.example/a'), MANIFEST_DIGEST)));
    await Promise.all(Array.from({ length: 5 }, () => rejectsWith(c.getBlob(ref('r.example/a'), sha('missing')), 'NOT_FOUND')));
    const stop = new AbortController();
    const first = c.getManifest(ref('r.example/a'), MANIFEST_DIGEST);
    const waiting = c.getManifest(ref('r.example/a'), MANIFEST_DIGEST, stop.signal);
    stop.abort();
    await rejectsWith(waiting, 'CANCELLED');
    await first;
    const before = f.calls.length;
    await c.getManifest(ref('r.example/a'), MANIFEST_DIGEST);
    assert.equal(f.calls.length, before + 1, 'the turn was not lost');
    assert.equal(open.max, 1);
  });

  it('cancels every request waiting on one signal at once, while the one in flight is still out, with one listener for them all', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let n = 0;
    const f = scripted(async () => {
      if (n++ > 0) await held;
      return manifest();
    });
    const c = client(f, { maxRequestsPerRegistry: 1 });
    // The first contact is over (the scheme is known): the rest wait for turns only.
    await c.getManifest(ref('r.example/a'), MANIFEST_DIGEST);
    const first = c.getManifest(ref('r.example/a'), MANIFEST_DIGEST);
    await new Promise((resolve) => setImmediate(resolve));
    const stop = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const waiting = Array.from({ length: 50 }, () => c.getManifest(ref('r.example/a'), MANIFEST_DIGEST, stop.signal));
      stop.abort();
      await Promise.all(waiting.map((w) => rejectsWith(w, 'CANCELLED')));
      assert.equal(f.calls.length, 2, 'none of them was sent');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.map((w) => w.name), [], 'no MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
    release();
    await first;
  });
  it('lets the first request to a new registry learn the scheme and the challenge while the others wait', async () => {
    let tokens = 0;
    const f = scripted(({ url, headers }) => {
      if (url.protocol === 'https:') throw failure('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number');
      if (url.pathname === '/token') return json(200, { token: `t${++tokens}`, expires_in: 300 });
      if (headers.authorization !== 'Bearer t1') return challenge(`Bearer realm="http://${url.host}/token",service="s"`);
      return manifest();
    });
    const c = client(f);
    await Promise.all(Array.from({ length: 4 }, () => c.getManifest(ref('127.0.0.1:5000/a'), 'latest')));
    assert.equal(f.calls.filter((call) => call.url.protocol === 'https:').length, 1, 'one HTTPS probe');
    assert.equal(tokens, 1, 'one token for the four');
    assert.equal(f.calls.filter((call) => call.url.pathname.includes('/manifests/')).length, 1 + 1 + 4, 'the probe, one 401, then the four with the token');
  });

  it('a waiting request can be cancelled while the first contact is still out', async () => {
    let answer!: () => void;
    const f = scripted(async ({ url }) => {
      if (url.protocol === 'https:') await new Promise<void>((resolve) => (answer = resolve));
      return manifest();
    });
    const c = client(f);
    const first = c.getManifest(ref('r.example/a'), 'latest');
    const stop = new AbortController();
    const second = c.getManifest(ref('r.example/a'), 'latest', stop.signal);
    stop.abort();
    await rejectsWith(second, 'CANCELLED');
    answer();
    await first;
  });
});

describe('registry client: blobs asked for twice', () => {
  const blob = Buffer.from('one simple-signing payload, signed by two keys');
  const blobDigest = sha(blob);

  it('downloads a blob once for requests made together and for later ones', async () => {
    const f = scripted(() => new Response(blob));
    const c = client(f);
    const got = await Promise.all([c.getBlob(ref('r.example/a'), blobDigest), c.getBlob(ref('r.example/a'), blobDigest)]);
    assert.deepEqual(got, [blob, blob]);
    assert.deepEqual(await c.getBlob(ref('r.example/a'), blobDigest), blob);
    assert.equal(f.calls.length, 1);
    await c.getBlob(ref('r.example/b'), blobDigest);
    assert.equal(f.calls.length, 2, 'another repository is asked itself (it may not hold the blob)');
  });

  it('does not keep a failed download, and one caller\'s Cancel does not cancel another', async () => {
    let n = 0;
    const f = scripted(() => new Response(n++ === 0 ? 'not it' : blob));
    const c = client(f);
    await rejectsWith(c.getBlob(ref('r.example/a'), blobDigest), 'DIGEST_MISMATCH');
    assert.deepEqual(await c.getBlob(ref('r.example/a'), blobDigest), blob, 'asked again after a mismatch');

    let release!: () => void;
    const slow = scripted(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return new Response(blob);
    });
    const c2 = client(slow);
    const stop = new AbortController();
    const cancelled = c2.getBlob(ref('r.example/a'), blobDigest, { signal: stop.signal });
    const other = c2.getBlob(ref('r.example/a'), blobDigest);
    stop.abort();
    await rejectsWith(cancelled, 'CANCELLED');
    release();
    assert.deepEqual(await other, blob, 'the other caller still gets the blob');
  });
});

describe('registry client: after docker login', () => {
  it('keeps the answer of the Docker configuration, until told to forget it (Refresh after a sign-in)', async () => {
    let login: { username: string; password: string } | undefined = undefined;
    let lookups = 0;
    const credentials: CredentialSource = {
      get: async () => {
        lookups++;
        return login;
      },
    };
    const f = scripted(({ headers }) => (headers.authorization === `Basic ${Buffer.from('u:p').toString('base64')}` ? manifest() : challenge('Basic realm="r"')));
    const c = client(f, { credentials });
    await rejectsWith(c.getManifest(ref('r.example/a'), 'v1'), 'AUTH_REQUIRED');
    login = { username: 'u', password: 'p' };
    await rejectsWith(c.getManifest(ref('r.example/a'), 'v1'), 'AUTH_REQUIRED', undefined);
    assert.equal(lookups, 1, 'the configuration is read once per client');
    c.forgetCredentials();
    await c.getManifest(ref('r.example/a'), 'v1');
    assert.equal(lookups, 2);
  });
});
