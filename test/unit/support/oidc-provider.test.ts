// Proves the OIDC sandbox behaves like Sigstore's Dex for keyless signing: device flow
// (pending, approval, refusal, expiry, slow_down via the proxy), code + PKCE on a loopback
// redirect, and a Fulcio gate that rejects what real Fulcio rejects.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { SignJWT, createRemoteJWKSet, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';

import { approveDeviceCode, authorizeInBrowser } from '../../support/device-flow-person';
import { createFulcioGate, type FulcioSigningCertRequest } from '../../support/fulcio-gate';
import { startOidcProvider, type OidcProvider } from '../../support/oidc-provider';
import { startSlowDownProxy } from '../../support/slow-down-proxy';

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  device_authorization_endpoint: string;
}
interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}
interface TokenAnswer {
  status: number;
  body: { error?: string; interval?: number; id_token?: string; access_token?: string; token_type?: string };
}

async function discover(base: string): Promise<Discovery> {
  const res = await fetch(`${base}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  return (await res.json()) as Discovery;
}

async function postForm(url: string, form: Record<string, string>): Promise<TokenAnswer> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as TokenAnswer['body'] };
}

async function deviceAuthorize(d: Discovery): Promise<DeviceAuthorization> {
  const res = await fetch(d.device_authorization_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ client_id: 'sigstore', scope: 'openid email' }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as DeviceAuthorization;
}

function pollOnce(tokenEndpoint: string, deviceCode: string): Promise<TokenAnswer> {
  return postForm(tokenEndpoint, { client_id: 'sigstore', grant_type: DEVICE_CODE_GRANT, device_code: deviceCode });
}

/** RFC 8628 §3.5 polling: wait `interval` between polls, +5 s on slow_down unless the server says otherwise. */
async function pollUntilDone(tokenEndpoint: string, deviceCode: string, interval: number, deadlineMs: number): Promise<TokenAnswer> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const answer = await pollOnce(tokenEndpoint, deviceCode);
    if (answer.body.error === 'slow_down') interval = answer.body.interval ?? interval + 5;
    else if (answer.body.error !== 'authorization_pending') return answer;
    if (Date.now() + interval * 1000 > deadline) throw new Error('device flow did not finish before the deadline');
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
  }
}

async function verifyIdToken(d: Discovery, idToken: string, extra: { nonce?: string } = {}): Promise<JWTPayload> {
  const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(d.jwks_uri)), { issuer: d.issuer, audience: 'sigstore' });
  if (extra.nonce !== undefined) assert.equal(payload.nonce, extra.nonce);
  return payload;
}

/** A signingCert request built as @sigstore/sign does: ephemeral P-256 key, PoP over the subject. */
function fulcioRequest(token: string, subject: string, opts: { popKey?: crypto.KeyObject } = {}): FulcioSigningCertRequest {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const proof = crypto.sign('sha256', Buffer.from(subject), opts.popKey ?? privateKey);
  return {
    credentials: { oidcIdentityToken: token },
    publicKeyRequest: {
      publicKey: { algorithm: 'ECDSA', content: publicKey.export({ format: 'pem', type: 'spki' }).toString() },
      proofOfPossession: proof.toString('base64'),
    },
  };
}

async function deviceFlowToken(d: Discovery): Promise<string> {
  const da = await deviceAuthorize(d);
  await approveDeviceCode(da.verification_uri_complete);
  const answer = await pollOnce(d.token_endpoint, da.device_code);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.id_token as string;
}

describe('test sandbox: OIDC provider (device flow, code + PKCE) and Fulcio gate', () => {
  let op: OidcProvider;
  let d: Discovery;

  before(async () => {
    op = await startOidcProvider({ email: 'alice@example.test' });
    d = await discover(op.issuer);
  });
  after(() => op.close());

  it('advertises the device authorization endpoint in discovery', () => {
    assert.equal(d.issuer, op.issuer);
    assert.match(d.device_authorization_endpoint, /^http:\/\/127\.0\.0\.1:\d+\/device\/auth$/);
    assert.ok(d.token_endpoint.startsWith(op.issuer));
  });

  it('runs the device flow: pending until the person approves, then a sigstore id_token', async () => {
    const da = await deviceAuthorize(d);
    assert.equal(da.interval, 1);
    assert.ok(da.verification_uri_complete.includes(encodeURIComponent(da.user_code)) || da.verification_uri_complete.includes(da.user_code));

    const pending = await pollOnce(d.token_endpoint, da.device_code);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, 'authorization_pending');

    await approveDeviceCode(da.verification_uri_complete);
    const done = await pollUntilDone(d.token_endpoint, da.device_code, da.interval, 5000);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const claims = await verifyIdToken(d, done.body.id_token as string);
    assert.equal(claims.email, 'alice@example.test');
    assert.equal(claims.email_verified, true);
    assert.equal(claims.aud, 'sigstore');

    // A device code is single use.
    const again = await pollOnce(d.token_endpoint, da.device_code);
    assert.equal(again.body.error, 'invalid_grant');
  });

  it('answers access_denied once the person aborts', async () => {
    const da = await deviceAuthorize(d);
    await approveDeviceCode(da.verification_uri_complete, { deny: true });
    const answer = await pollUntilDone(d.token_endpoint, da.device_code, da.interval, 5000);
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'access_denied');
  });

  it('answers expired_token once the device code expires', async () => {
    const short = await startOidcProvider({ deviceCodeTtl: 1 });
    try {
      const sd = await discover(short.issuer);
      const da = await deviceAuthorize(sd);
      assert.equal(da.expires_in, 1);
      const answer = await pollUntilDone(sd.token_endpoint, da.device_code, da.interval, 6000);
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error, 'expired_token');
    } finally {
      await short.close();
    }
  });

  it('slow_down proxy: answers slow_down N times, then passes polls through', async () => {
    const proxy = await startSlowDownProxy({ issuer: op.issuer, slowDowns: 2, interval: 1 });
    try {
      const viaProxy = await discover(proxy.url);
      assert.equal(viaProxy.token_endpoint, proxy.tokenEndpoint);
      assert.equal(viaProxy.issuer, op.issuer);
      const da = await deviceAuthorize(viaProxy);
      await approveDeviceCode(da.verification_uri_complete);

      const first = await pollOnce(proxy.tokenEndpoint, da.device_code);
      assert.deepEqual([first.status, first.body.error, first.body.interval], [400, 'slow_down', 1]);
      const done = await pollUntilDone(proxy.tokenEndpoint, da.device_code, first.body.interval ?? da.interval + 5, 5000);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      await verifyIdToken(d, done.body.id_token as string);
      assert.deepEqual(proxy.polls.map((p) => p.slowedDown), [true, true, false]);
      // The polling above honoured the interval the proxy asked for.
      assert.ok(proxy.polls[2].at - proxy.polls[1].at >= 1000);
      // Other grants are never slowed down.
      const other = await postForm(proxy.tokenEndpoint, { client_id: 'sigstore', grant_type: 'authorization_code', code: 'x', redirect_uri: 'http://127.0.0.1/auth/callback', code_verifier: 'x'.repeat(43) });
      assert.equal(other.body.error, 'invalid_grant');
    } finally {
      await proxy.close();
    }
  });

  it('runs code + PKCE with a loopback redirect on any port, echoing the nonce', async () => {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    const nonce = crypto.randomBytes(12).toString('base64url');
    const state = crypto.randomBytes(12).toString('base64url');
    // Registered without a port; RFC 8252 §7.3 lets the app pick one at run time.
    const redirectUri = 'http://127.0.0.1:49321/auth/callback';
    const auth = new URL(d.authorization_endpoint);
    auth.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'sigstore',
      redirect_uri: redirectUri,
      scope: 'openid email',
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();

    const callback = await authorizeInBrowser(auth, redirectUri);
    assert.equal(callback.searchParams.get('state'), state);
    const code = callback.searchParams.get('code');
    assert.ok(code, callback.href);

    const wrongVerifier = await postForm(d.token_endpoint, { client_id: 'sigstore', grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: crypto.randomBytes(32).toString('base64url') });
    assert.equal(wrongVerifier.body.error, 'invalid_grant');

    // Whether a code survives a wrong verifier is not the point here; use a fresh one.
    const callback2 = await authorizeInBrowser(auth, redirectUri);
    const tokens = await postForm(d.token_endpoint, { client_id: 'sigstore', grant_type: 'authorization_code', code: callback2.searchParams.get('code') ?? '', redirect_uri: redirectUri, code_verifier: verifier });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    const claims = await verifyIdToken(d, tokens.body.id_token as string, { nonce });
    assert.equal(claims.email, 'alice@example.test');
    assert.equal(claims.email_verified, true);
  });

  it('rejects a redirect URI that is not a registered loopback path', async () => {
    const auth = new URL(d.authorization_endpoint);
    auth.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'sigstore',
      redirect_uri: 'http://127.0.0.1:49321/elsewhere',
      scope: 'openid email',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const res = await fetch(auth, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /redirect_uri/);
  });

  describe('Fulcio gate', () => {
    const base = (): JWTPayload => {
      const now = Math.floor(Date.now() / 1000);
      return { iss: op.issuer, sub: 'alice@example.test', aud: 'sigstore', iat: now, exp: now + 300, email: 'alice@example.test', email_verified: true };
    };

    it('accepts a device-flow token with a proper proof of possession', async () => {
      const gate = createFulcioGate({ issuer: op.issuer });
      const token = await deviceFlowToken(d);
      assert.deepEqual(await gate(fulcioRequest(token, 'alice@example.test')), { ok: true, email: 'alice@example.test' });
      // Also as the raw JSON body a handler receives, with an explicit jwks_uri.
      const byUri = createFulcioGate({ issuer: op.issuer, jwksUri: d.jwks_uri });
      assert.equal((await byUri(JSON.stringify(fulcioRequest(token, 'alice@example.test')))).ok, true);
    });

    it('accepts an aud array containing sigstore and a sub-only token', async () => {
      const gate = createFulcioGate({ issuer: op.issuer });
      const multi = await op.mintIdToken({ ...base(), aud: ['other', 'sigstore'] });
      assert.equal((await gate(fulcioRequest(multi, 'alice@example.test'))).ok, true);
      const { email: _e, email_verified: _v, ...subOnly } = base();
      const subToken = await op.mintIdToken({ ...subOnly, sub: 'repo:example/app' });
      assert.deepEqual(await gate(fulcioRequest(subToken, 'repo:example/app')), { ok: true, email: 'repo:example/app' });
    });

    it('rejects a wrong audience, another issuer and an expired token', async () => {
      const gate = createFulcioGate({ issuer: op.issuer });
      for (const claims of [{ aud: 'not-sigstore' }, { iss: 'https://evil.example' }, { exp: Math.floor(Date.now() / 1000) - 600 }]) {
        const result = await gate(fulcioRequest(await op.mintIdToken({ ...base(), ...claims }), 'alice@example.test'));
        assert.equal(result.ok, false, JSON.stringify(claims));
        assert.equal(result.ok === false && result.status, 401);
      }
    });

    it('rejects an unverified e-mail, from the provider itself', async () => {
      const unverified = await startOidcProvider({ emailVerified: false });
      try {
        const ud = await discover(unverified.issuer);
        const token = await deviceFlowToken(ud);
        const result = await createFulcioGate({ issuer: unverified.issuer })(fulcioRequest(token, unverified.email));
        assert.deepEqual(result, { ok: false, status: 401, message: 'email_verified claim was false' });
      } finally {
        await unverified.close();
      }
    });

    it('rejects a token signed by another key and a tampered token', async () => {
      const gate = createFulcioGate({ issuer: op.issuer });
      const real = await op.mintIdToken(base());
      const kid = (JSON.parse(Buffer.from(real.split('.')[0], 'base64url').toString()) as { kid: string }).kid;
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forged = await new SignJWT(base())
        .setProtectedHeader({ alg: 'RS256', kid })
        .sign(await importJWK(privateKey.export({ format: 'jwk' }) as JWK, 'RS256'));
      const [h, , s] = real.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...base(), email: 'mallory@example.test' })).toString('base64url')}.${s}`;
      for (const [token, subject] of [[forged, 'alice@example.test'], [tampered, 'mallory@example.test']]) {
        const result = await gate(fulcioRequest(token, subject));
        assert.equal(result.ok, false);
        assert.equal(result.ok === false && result.status, 401);
      }
    });

    it('rejects a bad proof of possession', async () => {
      const gate = createFulcioGate({ issuer: op.issuer });
      const token = await op.mintIdToken(base());
      const otherKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const cases = [
        fulcioRequest(token, 'mallory@example.test'), // signed over another identity
        fulcioRequest(token, 'alice@example.test', { popKey: otherKey }), // not the submitted key
      ];
      for (const request of cases) {
        assert.deepEqual(await gate(request), { ok: false, status: 400, message: 'The signature supplied in the request could not be verified' });
      }
      assert.equal((await gate({ credentials: {} })).ok, false);
    });
  });
});
