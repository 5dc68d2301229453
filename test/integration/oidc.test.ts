/**
 * The core's sign-in clients against a real OpenID provider (oidc-provider): the device flow
 * and the browser (loopback) flow, a person approving or refusing in a "browser", and
 * Fulcio's token checks on the result.
 */
import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign } from 'node:crypto';
import net from 'node:net';
import { deviceFlowIdToken, OidcError } from '../../src/core/oidc/deviceFlow';
import { obtainIdentityToken } from '../../src/core/oidc/identityToken';
import { browserIdToken } from '../../src/core/oidc/loopbackFlow';
import { approveDeviceCode, signInWithBrowser, type LoopbackVisit } from '../support/device-flow-person';
import { createFulcioGate } from '../support/fulcio-gate';
import { startOidcProvider, type OidcProvider } from '../support/oidc-provider';
import { startSlowDownProxy } from '../support/slow-down-proxy';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

/** Fulcio's checks: token signature, audience, verified e-mail, proof of possession. */
async function fulcioAccepts(provider: OidcProvider, token: string): Promise<unknown> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return createFulcioGate({ issuer: provider.issuer })({
    credentials: { oidcIdentityToken: token },
    publicKeyRequest: {
      publicKey: { algorithm: 'ECDSA', content: publicKey.export({ type: 'spki', format: 'pem' }) },
      proofOfPossession: sign('sha256', Buffer.from(provider.email), privateKey).toString('base64'),
    },
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' ? resolve(false) : reject(e)));
  });
}

function redirectPort(authorizationUrl: string): number {
  const redirect = new URL(new URL(authorizationUrl).searchParams.get('redirect_uri')!);
  return Number(redirect.port);
}

const isOidcError = (code: string) => (e: unknown) => e instanceof OidcError && e.code === code;

describe('OIDC device flow against a real OpenID provider', function () {
  this.timeout(30_000);
  let provider: OidcProvider;
  before(async () => {
    provider = await startOidcProvider();
  });
  after(() => provider.close());

  it('gets an ID token that Fulcio accepts, once the person approves the code', async () => {
    let approval: Promise<void> | undefined;
    const token = await deviceFlowIdToken({
      issuer: provider.issuer,
      clientId: 'sigstore',
      // The person approves in another tab while the client polls.
      onCode: (code) => {
        assert.ok(code.verificationUriComplete, 'oidc-provider offers the complete URI');
        approval = approveDeviceCode(code.verificationUriComplete!);
      },
    });
    await approval;
    const claims = claimsOf(token);
    assert.equal(claims.email, provider.email);
    assert.equal(claims.email_verified, true);
    assert.equal(claims.aud, 'sigstore');
    assert.deepEqual(await fulcioAccepts(provider, token), { ok: true, email: provider.email });
  });

  it('ends with ACCESS_DENIED when the person refuses', async () => {
    await assert.rejects(
      deviceFlowIdToken({ issuer: provider.issuer, clientId: 'sigstore', onCode: (code) => void approveDeviceCode(code.verificationUriComplete!, { deny: true }) }),
      isOidcError('ACCESS_DENIED'),
    );
  });

  it('ends with EXPIRED when the provider answers expired_token', async () => {
    const short = await startOidcProvider({ deviceCodeTtl: 1 });
    const answers: unknown[] = [];
    try {
      let expiresIn: number | undefined;
      await assert.rejects(
        deviceFlowIdToken({
          issuer: short.issuer,
          clientId: 'sigstore',
          onCode: (code) => void (expiresIn = code.expiresInSeconds),
          // Real waits (1 s, the provider's interval): the code has to expire on the provider's clock.
          fetch: async (input, init) => {
            const res = await fetch(input, init);
            if (String(input).endsWith('/token')) answers.push(((await res.clone().json()) as { error?: string }).error);
            return res;
          },
        }),
        isOidcError('EXPIRED'),
      );
      assert.equal(expiresIn, 1);
      // One poll, after the code's lifetime: the provider's answer ended the flow, not our own deadline.
      assert.deepEqual(answers, ['expired_token']);
    } finally {
      await short.close();
    }
  });

  it('stops with CANCELLED when cancelled while a poll is under way', async () => {
    const controller = new AbortController();
    const polls: string[] = [];
    await assert.rejects(
      deviceFlowIdToken({
        issuer: provider.issuer,
        clientId: 'sigstore',
        signal: controller.signal,
        onCode: () => undefined,
        sleep: async () => undefined,
        fetch: (input, init) => {
          if (String(input).endsWith('/token')) {
            polls.push(String(input));
            // The person gives up while the second poll is on its way to the provider.
            if (polls.length === 2) controller.abort();
          }
          return fetch(input, init);
        },
      }),
      isOidcError('CANCELLED'),
    );
    assert.equal(polls.length, 2, 'no poll after the cancellation');
  });

  it('slows down by 5 s when the token endpoint says slow_down', async () => {
    const proxy = await startSlowDownProxy({ issuer: provider.issuer, slowDowns: 1 });
    const waits: number[] = [];
    try {
      let approval: Promise<void> | undefined;
      const token = await deviceFlowIdToken({
        issuer: provider.issuer,
        clientId: 'sigstore',
        // Discovery through the proxy; waits recorded, not slept (the provider does not mind).
        fetch: (input, init) => fetch(String(input).replace(provider.issuer, proxy.url), init),
        sleep: async (ms) => {
          waits.push(ms);
          await approval;
        },
        onCode: (code) => void (approval = approveDeviceCode(code.verificationUriComplete!)),
      });
      assert.ok(token.split('.').length === 3);
      assert.equal(proxy.polls.filter((p) => p.slowedDown).length, 1);
      assert.deepEqual(waits.slice(0, 2), [1000, 6000], 'interval 1 s from the provider, then +5 s');
    } finally {
      await proxy.close();
    }
  });
});

describe('OIDC browser sign-in (code + PKCE, loopback redirect) against a real OpenID provider', function () {
  this.timeout(30_000);
  let provider: OidcProvider;
  before(async () => {
    provider = await startOidcProvider();
  });
  after(() => provider.close());

  it('gets an ID token that Fulcio accepts, with our nonce; the tab says signed in; the port is closed after', async () => {
    let opened: string | undefined;
    let visit: Promise<LoopbackVisit> | undefined;
    const token = await browserIdToken({
      issuer: provider.issuer,
      clientId: 'sigstore',
      openBrowser: (url) => {
        opened = url;
        visit = signInWithBrowser(url);
      },
    });
    const url = new URL(opened!);
    assert.equal(`${url.origin}${url.pathname}`, `${provider.issuer}/auth`);
    assert.match(url.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/auth\/callback$/);
    assert.equal(url.searchParams.get('response_type'), 'code');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(url.searchParams.get('scope'), 'openid email');
    const claims = claimsOf(token);
    assert.equal(claims.nonce, url.searchParams.get('nonce'));
    assert.equal(claims.email, provider.email);
    assert.equal(claims.email_verified, true);
    assert.equal(claims.aud, 'sigstore');
    assert.deepEqual(await fulcioAccepts(provider, token), { ok: true, email: provider.email });

    const page = await visit!;
    assert.equal(page.status, 200);
    assert.match(page.body, /Signed in; you can close this tab/);
    assert.ok(!page.body.includes(token), 'the page never shows the token');
    assert.equal(await listening(redirectPort(opened!)), false);
  });

  it('answers 404 to other requests on its port and keeps waiting for the callback', async () => {
    let strays: number[] = [];
    let visit: Promise<LoopbackVisit> | undefined;
    const token = await browserIdToken({
      issuer: provider.issuer,
      clientId: 'sigstore',
      openBrowser: async (url) => {
        const origin = new URL(new URL(url).searchParams.get('redirect_uri')!).origin;
        strays = await Promise.all([
          fetch(`${origin}/favicon.ico`).then((r) => r.status),
          fetch(`${origin}/auth/callback/extra?code=x&state=y`).then((r) => r.status),
          fetch(`${origin}/auth/callback?code=x&state=y`, { method: 'POST' }).then((r) => r.status),
        ]);
        visit = signInWithBrowser(url);
      },
    });
    assert.deepEqual(strays, [404, 404, 404]);
    assert.equal((await visit!).status, 200);
    assert.equal(claimsOf(token).email, provider.email);
  });

  it('ends with ACCESS_DENIED when the person refuses at the provider, and the tab says so', async () => {
    let opened: string | undefined;
    let visit: Promise<LoopbackVisit> | undefined;
    await assert.rejects(
      browserIdToken({
        issuer: provider.issuer,
        clientId: 'sigstore',
        openBrowser: (url) => {
          opened = url;
          visit = signInWithBrowser(url, { deny: true });
        },
      }),
      isOidcError('ACCESS_DENIED'),
    );
    const page = await visit!;
    assert.equal(page.callback.searchParams.get('error'), 'access_denied', 'the provider itself said access_denied');
    assert.equal(page.status, 400);
    assert.match(page.body, /refused/);
    assert.equal(await listening(redirectPort(opened!)), false);
  });

  it('ends with STATE_MISMATCH (400) when the browser comes back with another state, without redeeming the code', async () => {
    const tokenRequests: string[] = [];
    let visit: Promise<LoopbackVisit> | undefined;
    await assert.rejects(
      browserIdToken({
        issuer: provider.issuer,
        clientId: 'sigstore',
        fetch: (input, init) => {
          if (init?.method === 'POST') tokenRequests.push(String(input));
          return fetch(input, init);
        },
        openBrowser: (url) => void (visit = signInWithBrowser(url, { state: 'forged' })),
      }),
      isOidcError('STATE_MISMATCH'),
    );
    const page = await visit!;
    assert.ok(page.callback.searchParams.get('code'), 'the provider did issue a code');
    assert.equal(page.status, 400);
    assert.match(page.body, /state mismatch/);
    assert.deepEqual(tokenRequests, []);
  });

  it('stops with CANCELLED when cancelled while waiting for the browser, and leaves no port listening', async () => {
    const controller = new AbortController();
    let opened: (url: string) => void = () => undefined;
    const openedUrl = new Promise<string>((resolve) => (opened = resolve));
    const flow = browserIdToken({ issuer: provider.issuer, clientId: 'sigstore', signal: controller.signal, openBrowser: (url) => opened(url) });
    const port = redirectPort(await openedUrl);
    assert.equal(await listening(port), true, 'waiting on the redirect port');
    controller.abort();
    await assert.rejects(flow, isOidcError('CANCELLED'));
    assert.equal(await listening(port), false);
  });

  it('gives up with TIMEOUT when the browser does not come back in time, and leaves no port listening', async () => {
    let port: number | undefined;
    const started = Date.now();
    await assert.rejects(
      browserIdToken({ issuer: provider.issuer, clientId: 'sigstore', timeoutMs: 300, openBrowser: (url) => void (port = redirectPort(url)) }),
      isOidcError('TIMEOUT'),
    );
    assert.ok(Date.now() - started >= 300);
    assert.equal(await listening(port!), false);
  });

  it('fails with NETWORK when the issuer is down, before opening a browser', async () => {
    const gone = await startOidcProvider();
    await gone.close();
    let opened = false;
    await assert.rejects(
      browserIdToken({ issuer: gone.issuer, clientId: 'sigstore', openBrowser: () => void (opened = true) }),
      (e: unknown) => isOidcError('NETWORK')(e) && /ECONNREFUSED/.test((e as Error).message),
    );
    assert.equal(opened, false);
  });
});

describe('obtainIdentityToken against a real OpenID provider', function () {
  this.timeout(30_000);
  let provider: OidcProvider;
  before(async () => {
    provider = await startOidcProvider();
  });
  after(() => provider.close());

  const never = () => assert.fail('the other flow must not start');

  it('runs the device flow when there is no ambient token, and names the identity', async () => {
    let approval: Promise<void> | undefined;
    const result = await obtainIdentityToken({
      issuer: provider.issuer,
      clientId: 'sigstore',
      flow: 'device',
      env: {},
      onDeviceCode: (code) => void (approval = approveDeviceCode(code.verificationUriComplete!)),
      openBrowser: never,
      sleep: async () => approval,
    });
    assert.deepEqual({ ...result, token: undefined }, { token: undefined, source: 'device flow', identity: provider.email, issuer: provider.issuer });
    assert.equal(claimsOf(result.token).email, provider.email);
  });

  it('runs the browser sign-in when asked to', async () => {
    let visit: Promise<LoopbackVisit> | undefined;
    const result = await obtainIdentityToken({
      issuer: provider.issuer,
      clientId: 'sigstore',
      flow: 'browser',
      env: {},
      onDeviceCode: never,
      openBrowser: (url) => void (visit = signInWithBrowser(url)),
    });
    assert.equal((await visit!).status, 200);
    assert.deepEqual({ ...result, token: undefined }, { token: undefined, source: 'browser sign-in', identity: provider.email, issuer: provider.issuer });
  });

  it('takes SIGSTORE_ID_TOKEN over either flow', async () => {
    const now = Math.floor(Date.now() / 1000);
    const ambient = await provider.mintIdToken({ iss: provider.issuer, sub: 'ci-job', aud: 'sigstore', iat: now, exp: now + 300 });
    for (const flow of ['device', 'browser'] as const) {
      const result = await obtainIdentityToken({ issuer: provider.issuer, clientId: 'sigstore', flow, env: { SIGSTORE_ID_TOKEN: ambient }, onDeviceCode: never, openBrowser: never });
      assert.deepEqual(result, { token: ambient, source: 'SIGSTORE_ID_TOKEN', identity: 'ci-job', issuer: provider.issuer });
    }
  });
});
