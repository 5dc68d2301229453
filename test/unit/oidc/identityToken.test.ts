import { strict as assert } from 'node:assert';
import { OidcError } from '../../../src/core/oidc/deviceFlow';
import { describeIdentityToken, obtainIdentityToken, type IdentityTokenOptions } from '../../../src/core/oidc/identityToken';

function jwt(claims: Record<string, unknown> | string): string {
  const payload = typeof claims === 'string' ? claims : JSON.stringify(claims);
  return `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}.c2lnbmF0dXJl`;
}

const now = () => Math.floor(Date.now() / 1000);
const ISSUER = 'https://oauth2.sigstore.dev/auth';

describe('describeIdentityToken', () => {
  it('names the e-mail when there is one, else sub, and the issuer', () => {
    const withEmail = jwt({ iss: ISSUER, sub: 'CgR1c2Vy', email: 'alice@example.test', exp: now() + 60 });
    assert.deepEqual(describeIdentityToken(withEmail), { token: withEmail, source: 'given', identity: 'alice@example.test', issuer: ISSUER });
    const subOnly = jwt({ iss: 'https://token.actions.githubusercontent.com', sub: 'repo:octo/app:ref:refs/heads/main' });
    assert.deepEqual(describeIdentityToken(subOnly, 'GitHub Actions'), {
      token: subOnly,
      source: 'GitHub Actions',
      identity: 'repo:octo/app:ref:refs/heads/main',
      issuer: 'https://token.actions.githubusercontent.com',
    });
  });

  // Tokens are made when each test runs: a table built at load time ages while other suites run.
  const rejected: Array<[string, () => string, RegExp]> = [
    ['garbage', () => 'not a token at all', /not a JWT/],
    ['two parts', () => 'eyJhIjoxfQ.eyJhIjoxfQ', /not a JWT/],
    ['a payload that is not JSON', () => `${jwt({}).split('.')[0]}.bm90IGpzb24.c2ln`, /not a JWT/],
    ['a payload that is a JSON array', () => jwt('["iss"]'), /not a JWT/],
    ['no issuer', () => jwt({ sub: 'alice', email: 'alice@example.test' }), /no issuer/],
    ['no e-mail and no sub', () => jwt({ iss: ISSUER, email: '' }), /neither email nor sub/],
    ['expired', () => jwt({ iss: ISSUER, email: 'alice@example.test', exp: now() - 120 }), /expired 2 min ago/],
  ];
  for (const [what, makeToken, message] of rejected) {
    it(`refuses ${what}, without quoting the token`, () => {
      const token = makeToken();
      assert.throws(
        () => describeIdentityToken(token, 'SIGSTORE_ID_TOKEN'),
        (e: unknown) => {
          assert.ok(e instanceof OidcError);
          assert.equal(e.code, 'IDENTITY_TOKEN');
          assert.match(e.message, message);
          assert.match(e.message, /SIGSTORE_ID_TOKEN/);
          assert.match(e.remedy ?? '', /unset it to sign in/);
          assert.ok(!e.message.includes(token) && !(e.remedy ?? '').includes(token));
          return true;
        },
      );
    });
  }
});

describe('obtainIdentityToken', () => {
  const never = () => assert.fail('no sign-in flow may start');
  const base: IdentityTokenOptions = {
    issuer: 'http://127.0.0.1:9',
    clientId: 'sigstore',
    flow: 'device',
    onDeviceCode: never,
    openBrowser: never,
    sleep: never,
    fetch: async () => assert.fail('nothing may be fetched'),
  };

  it('takes SIGSTORE_ID_TOKEN before either flow, and names its identity', async () => {
    const token = jwt({ iss: 'https://gitlab.com', sub: 'project_path:octo/app:ref_type:branch:ref:main', exp: now() + 300 });
    for (const flow of ['device', 'browser'] as const) {
      assert.deepEqual(await obtainIdentityToken({ ...base, flow, env: { SIGSTORE_ID_TOKEN: token } }), {
        token,
        source: 'SIGSTORE_ID_TOKEN',
        identity: 'project_path:octo/app:ref_type:branch:ref:main',
        issuer: 'https://gitlab.com',
      });
    }
  });

  it('takes the GitHub Actions token when the job can ask for one', async () => {
    const token = jwt({ iss: 'https://token.actions.githubusercontent.com', sub: 'repo:octo/app:ref:refs/tags/v1' });
    const asked: string[] = [];
    const result = await obtainIdentityToken({
      ...base,
      env: { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/token', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runtime' },
      fetch: async (input) => {
        asked.push(String(input));
        return new Response(JSON.stringify({ value: token }));
      },
    });
    assert.equal(result.source, 'GitHub Actions');
    assert.equal(result.identity, 'repo:octo/app:ref:refs/tags/v1');
    assert.match(asked[0]!, /audience=sigstore/);
  });

  it('fails early on an expired ambient token instead of signing in', async () => {
    const token = jwt({ iss: 'https://gitlab.com', sub: 'x', exp: now() - 3600 });
    await assert.rejects(obtainIdentityToken({ ...base, env: { SIGSTORE_ID_TOKEN: token } }), (e: unknown) => e instanceof OidcError && e.code === 'IDENTITY_TOKEN' && /expired/.test(e.message));
  });

  it('refuses an unknown flow', async () => {
    await assert.rejects(obtainIdentityToken({ ...base, env: {}, flow: 'carrier-pigeon' as 'device' }), (e: unknown) => (e as OidcError).code === 'BAD_FLOW');
  });

  it('starts the chosen flow, and only that one, when there is no ambient token', async () => {
    const issuer = 'http://127.0.0.1:9';
    const stub = (requests: string[]) => async (input: string | URL | Request, init?: RequestInit) => {
      requests.push(`${init?.method ?? 'GET'} ${String(input)}`);
      if (String(input).endsWith('/.well-known/openid-configuration')) {
        return new Response(JSON.stringify({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, device_authorization_endpoint: `${issuer}/device` }));
      }
      return new Response(JSON.stringify({ error: 'unauthorized_client' }), { status: 400 });
    };

    const deviceRequests: string[] = [];
    await assert.rejects(obtainIdentityToken({ ...base, issuer, env: {}, flow: 'device', fetch: stub(deviceRequests) }), (e: unknown) => (e as OidcError).code === 'PROVIDER_ERROR');
    assert.deepEqual(deviceRequests, [`GET ${issuer}/.well-known/openid-configuration`, `POST ${issuer}/device`]);

    const browserRequests: string[] = [];
    const opened: string[] = [];
    await assert.rejects(
      obtainIdentityToken({
        ...base,
        issuer,
        env: {},
        flow: 'browser',
        fetch: stub(browserRequests),
        openBrowser: (url) => {
          opened.push(url);
          throw new Error('no display');
        },
      }),
      (e: unknown) => (e as OidcError).code === 'BROWSER',
    );
    assert.deepEqual(browserRequests, [`GET ${issuer}/.well-known/openid-configuration`]);
    assert.equal(opened.length, 1);
    assert.ok(opened[0]!.startsWith(`${issuer}/auth?`), opened[0]);
  });
});
