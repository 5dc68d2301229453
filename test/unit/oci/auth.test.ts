import { strict as assert } from 'node:assert';

import { basicAuthorization, parseAuthenticate, parseTokenResponse, pullScope, TokenCache } from '../../../src/core/oci/auth';
import { OciError } from '../../../src/core/oci/errors';

describe('registry auth: WWW-Authenticate challenges', () => {
  it('reads a distribution Bearer challenge', () => {
    assert.deepEqual(parseAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } },
    ]);
  });

  it('reads error="insufficient_scope", unquoted values, odd spacing and case', () => {
    assert.deepEqual(parseAuthenticate('bearer  Realm = "https://r/t" ,service=svc,  scope="repository:a:pull,push",error="insufficient_scope"'), [
      { scheme: 'bearer', params: { realm: 'https://r/t', service: 'svc', scope: 'repository:a:pull,push', error: 'insufficient_scope' } },
    ]);
  });

  it('reads Basic, escaped quotes, and several challenges in one header', () => {
    assert.deepEqual(parseAuthenticate('Basic realm="say \\"hi\\", ok", Bearer realm="https://t/token",service="s"'), [
      { scheme: 'basic', params: { realm: 'say "hi", ok' } },
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
    ]);
  });

  it('skips token68 challenges and keeps going', () => {
    assert.deepEqual(parseAuthenticate('Negotiate abc123==, Basic realm="x"'), [
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
  });

  it('never throws on junk, and keeps the first of repeated parameters', () => {
    assert.deepEqual(parseAuthenticate(undefined), []);
    assert.deepEqual(parseAuthenticate(''), []);
    assert.deepEqual(parseAuthenticate('realm="orphan"'), []);
    assert.deepEqual(parseAuthenticate('Bearer realm="a",realm="b",scope="unterminated'), [{ scheme: 'bearer', params: { realm: 'a', scope: 'unterminated' } }]);
    for (const junk of ['"""', ',,,', '=', 'Bearer =', '\u0000\u0001', 'Bearer realm=']) assert.doesNotThrow(() => parseAuthenticate(junk));
  });

  it('encodes Basic credentials and pull scopes', () => {
    assert.equal(basicAuthorization('alice', 'p:ss wörd'), `Basic ${Buffer.from('alice:p:ss wörd').toString('base64')}`);
    assert.equal(pullScope('library/alpine'), 'repository:library/alpine:pull');
  });
});

describe('registry auth: token answers and the token cache', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('takes token or access_token, expires_in (default 60 s) and a nearby issued_at', () => {
    assert.deepEqual(parseTokenResponse({ token: 't1', expires_in: 300 }, 'auth', now), { token: 't1', expiresAt: now + 290_000 });
    assert.deepEqual(parseTokenResponse({ access_token: 't2' }, 'auth', now), { token: 't2', expiresAt: now + 50_000 });
    assert.deepEqual(parseTokenResponse({ token: 't3', expires_in: 100, issued_at: '2024-12-31T23:59:30Z' }, 'auth', now), { token: 't3', expiresAt: now - 30_000 + 90_000 });
    // A far-off issued_at (another clock) is not believed.
    assert.deepEqual(parseTokenResponse({ token: 't4', expires_in: 100, issued_at: '2020-01-01T00:00:00Z' }, 'auth', now), { token: 't4', expiresAt: now + 90_000 });
  });

  it('refuses answers without a usable token', () => {
    for (const body of [null, [], 'token', {}, { token: '' }, { token: 5 }, { token: 'a b' }, { token: 'x'.repeat(70_000) }]) {
      assert.throws(() => parseTokenResponse(body, 'auth.example', now), (e: unknown) => e instanceof OciError && e.code === 'BAD_RESPONSE' && /auth\.example/.test(e.message));
    }
  });

  it('caches per registry and scope until expiry', () => {
    const cache = new TokenCache();
    cache.set('r1', 'repository:a:pull', { token: 'A', expiresAt: now + 1000 });
    cache.set('r1', 'repository:b:pull', { token: 'B', expiresAt: now + 1000 });
    cache.set('r2', 'repository:a:pull', { token: 'C', expiresAt: now + 1000 });
    assert.equal(cache.get('r1', 'repository:a:pull', now)?.token, 'A');
    assert.equal(cache.get('r1', 'repository:b:pull', now)?.token, 'B');
    assert.equal(cache.get('r2', 'repository:a:pull', now)?.token, 'C');
    assert.equal(cache.get('r2', 'repository:b:pull', now), undefined);
    assert.equal(cache.get('r1', 'repository:a:pull', now + 1000), undefined);
    assert.equal(cache.get('r1', 'repository:a:pull', now), undefined, 'an expired token is dropped');
    cache.delete('r1', 'repository:b:pull');
    assert.equal(cache.get('r1', 'repository:b:pull', now), undefined);
  });
});
