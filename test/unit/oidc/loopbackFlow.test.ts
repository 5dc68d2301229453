import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OidcError } from '../../../src/core/oidc/deviceFlow';
import { browserIdToken, type BrowserFlowOptions } from '../../../src/core/oidc/loopbackFlow';

/** An unsigned JWT: the flow reads claims, it does not verify signatures (Fulcio does). */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.c2ln`;
}

/**
 * A provider whose token endpoint answers with `answer(form, authorizationUrl)`; the
 * authorization URL is the one the flow opened in the "browser".
 */
async function scriptedProvider(answer: (form: URLSearchParams, authorization: URL) => [number, object], discovery: Record<string, unknown> = {}) {
  const tokenRequests: URLSearchParams[] = [];
  let authorization: URL | undefined;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const send = (status: number, payload: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.url === '/.well-known/openid-configuration') {
        return send(200, { issuer: base, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`, code_challenge_methods_supported: ['S256'], ...discovery });
      }
      if (req.url === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(body);
        tokenRequests.push(form);
        return send(...answer(form, authorization!));
      }
      send(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    tokenRequests,
    /** The person's browser: remembers the URL and comes back to the redirect URI with `params` (state added unless given). */
    browser(params: Record<string, string> = { code: 'the-code' }) {
      let page: Promise<{ status: number; body: string }> | undefined;
      const open = (url: string) => {
        authorization = new URL(url);
        const back = new URL(authorization.searchParams.get('redirect_uri')!);
        back.search = new URLSearchParams({ state: authorization.searchParams.get('state')!, ...params }).toString();
        page = fetch(back).then(async (r) => ({ status: r.status, body: await r.text() }));
      };
      return { open, page: () => page!, authorization: () => authorization! };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const sameNonce = (_form: URLSearchParams, authorization: URL): [number, object] => [
  200,
  { id_token: jwt({ iss: 'x', sub: 'alice', aud: 'sigstore', nonce: authorization.searchParams.get('nonce') }), access_token: 'a' },
];

function options(issuer: string, openBrowser: BrowserFlowOptions['openBrowser'], extra: Partial<BrowserFlowOptions> = {}): BrowserFlowOptions {
  return { issuer, clientId: 'sigstore', openBrowser, timeoutMs: 10_000, ...extra };
}

describe('OIDC browser sign-in (code + PKCE, RFC 8252 loopback)', () => {
  it('redeems the code with the verifier of the S256 challenge it sent, at the redirect URI it sent', async () => {
    const p = await scriptedProvider(sameNonce);
    try {
      const b = p.browser();
      const token = await browserIdToken(options(p.issuer, b.open));
      const auth = b.authorization();
      assert.equal(auth.pathname, '/authorize');
      assert.equal(auth.searchParams.get('client_id'), 'sigstore');
      assert.notEqual(auth.searchParams.get('state'), auth.searchParams.get('nonce'));
      const form = p.tokenRequests[0]!;
      assert.equal(form.get('grant_type'), 'authorization_code');
      assert.equal(form.get('code'), 'the-code');
      assert.equal(form.get('client_id'), 'sigstore');
      assert.equal(form.get('redirect_uri'), auth.searchParams.get('redirect_uri'));
      assert.equal(createHash('sha256').update(form.get('code_verifier')!).digest('base64url'), auth.searchParams.get('code_challenge'));
      assert.equal(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).nonce, auth.searchParams.get('nonce'));
      assert.match((await b.page()).body, /Signed in; you can close this tab/);
    } finally {
      await p.close();
    }
  });

  it('refuses an ID token that does not carry our nonce, and never shows the token', async () => {
    for (const nonce of ['someone-elses', undefined]) {
      const token = jwt({ iss: 'x', sub: 'alice', aud: 'sigstore', nonce });
      const p = await scriptedProvider(() => [200, { id_token: token }]);
      try {
        const b = p.browser();
        await assert.rejects(browserIdToken(options(p.issuer, b.open)), (e: unknown) => e instanceof OidcError && e.code === 'NONCE_MISMATCH' && !e.message.includes(token));
        const page = await b.page();
        assert.equal(page.status, 400);
        assert.match(page.body, /nonce mismatch/);
        assert.ok(!page.body.includes(token));
      } finally {
        await p.close();
      }
    }
  });

  it('refuses an ID token for another audience, and accepts an audience list naming the client', async () => {
    const p = await scriptedProvider((_f, auth) => [200, { id_token: jwt({ aud: 'other', nonce: auth.searchParams.get('nonce') }) }]);
    try {
      await assert.rejects(browserIdToken(options(p.issuer, p.browser().open)), (e: unknown) => (e as OidcError).code === 'WRONG_AUDIENCE');
    } finally {
      await p.close();
    }
    const list = await scriptedProvider((_f, auth) => [200, { id_token: jwt({ aud: ['other', 'sigstore'], nonce: auth.searchParams.get('nonce') }) }]);
    try {
      assert.ok(await browserIdToken(options(list.issuer, list.browser().open)));
    } finally {
      await list.close();
    }
  });

  it('reports an error redirect other than access_denied as PROVIDER_ERROR, escaped in the tab', async () => {
    const p = await scriptedProvider(sameNonce);
    try {
      const b = p.browser({ error: 'server_error', error_description: '<script>alert(1)</script>' });
      await assert.rejects(browserIdToken(options(p.issuer, b.open)), (e: unknown) => (e as OidcError).code === 'PROVIDER_ERROR' && /server_error/.test((e as Error).message));
      const page = await b.page();
      assert.equal(page.status, 400);
      assert.ok(!page.body.includes('<script>'), page.body);
      assert.match(page.body, /&#60;script&#62;/);
      assert.equal(p.tokenRequests.length, 0);
    } finally {
      await p.close();
    }
  });

  it('refuses an answer naming another issuer, or none when the provider promised one (RFC 9207)', async () => {
    const p = await scriptedProvider(sameNonce);
    try {
      const b = p.browser({ code: 'the-code', iss: 'https://attacker.example' });
      await assert.rejects(browserIdToken(options(p.issuer, b.open)), (e: unknown) => (e as OidcError).code === 'ISSUER_MISMATCH');
      assert.equal((await b.page()).status, 400);
      const right = p.browser({ code: 'the-code', iss: p.issuer });
      assert.ok(await browserIdToken(options(p.issuer, right.open)));
      assert.equal(p.tokenRequests.length, 1, 'only the answer from the right issuer was redeemed');
    } finally {
      await p.close();
    }
    const promising = await scriptedProvider(sameNonce, { authorization_response_iss_parameter_supported: true });
    try {
      await assert.rejects(browserIdToken(options(promising.issuer, promising.browser().open)), (e: unknown) => (e as OidcError).code === 'ISSUER_MISMATCH');
      assert.equal(promising.tokenRequests.length, 0);
    } finally {
      await promising.close();
    }
  });

  it('reports a refusal at the token endpoint as PROVIDER_ERROR', async () => {
    const p = await scriptedProvider(() => [400, { error: 'invalid_grant', error_description: 'grant request is invalid' }]);
    try {
      await assert.rejects(browserIdToken(options(p.issuer, p.browser().open)), (e: unknown) => (e as OidcError).code === 'PROVIDER_ERROR' && /invalid_grant/.test((e as Error).message));
    } finally {
      await p.close();
    }
  });

  it('refuses a provider without an authorization endpoint or without S256, before opening a browser', async () => {
    for (const discovery of [{ authorization_endpoint: undefined }, { code_challenge_methods_supported: ['plain'] }]) {
      const p = await scriptedProvider(sameNonce, discovery);
      try {
        let opened = false;
        await assert.rejects(browserIdToken(options(p.issuer, () => void (opened = true))), (e: unknown) => (e as OidcError).code === 'NO_BROWSER_FLOW');
        assert.equal(opened, false);
      } finally {
        await p.close();
      }
    }
  });

  it('fails with BROWSER when the browser cannot be opened', async () => {
    const p = await scriptedProvider(sameNonce);
    try {
      await assert.rejects(
        browserIdToken(
          options(p.issuer, async () => {
            throw new Error('xdg-open not found');
          }),
        ),
        (e: unknown) => (e as OidcError).code === 'BROWSER' && /xdg-open not found/.test((e as Error).message),
      );
    } finally {
      await p.close();
    }
  });

  it('listens on the port asked for, and says PORT_IN_USE when it is taken', async () => {
    const p = await scriptedProvider(sameNonce);
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const taken = (squatter.address() as AddressInfo).port;
    try {
      await assert.rejects(browserIdToken(options(p.issuer, p.browser().open, { port: taken })), (e: unknown) => (e as OidcError).code === 'PORT_IN_USE');
      await new Promise<void>((r) => squatter.close(() => r()));
      const b = p.browser();
      await browserIdToken(options(p.issuer, b.open, { port: taken }));
      assert.equal(b.authorization().searchParams.get('redirect_uri'), `http://127.0.0.1:${taken}/auth/callback`);
    } finally {
      if (squatter.listening) squatter.close();
      await p.close();
    }
  });

  it('does not open a browser when cancelled before it starts', async () => {
    const p = await scriptedProvider(sameNonce);
    try {
      let opened = false;
      await assert.rejects(browserIdToken(options(p.issuer, () => void (opened = true), { signal: AbortSignal.abort() })), (e: unknown) => (e as OidcError).code === 'CANCELLED');
      assert.equal(opened, false);
    } finally {
      await p.close();
    }
  });
});
