/**
 * The core's device-flow client against a real OpenID provider (oidc-provider), a person
 * approving in a "browser", and Fulcio's token checks on the result.
 */
import { strict as assert } from 'node:assert';
import { deviceFlowIdToken, OidcError } from '../../src/core/oidc/deviceFlow';
import { approveDeviceCode } from '../support/device-flow-person';
import { createFulcioGate } from '../support/fulcio-gate';
import { startOidcProvider, type OidcProvider } from '../support/oidc-provider';
import { startSlowDownProxy } from '../support/slow-down-proxy';
import { generateKeyPairSync, sign } from 'node:crypto';

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
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims.email, provider.email);
    assert.equal(claims.email_verified, true);
    assert.equal(claims.aud, 'sigstore');
    // Fulcio's checks: token signature, audience, verified e-mail, proof of possession.
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const gate = createFulcioGate({ issuer: provider.issuer });
    const verdict = await gate({
      credentials: { oidcIdentityToken: token },
      publicKeyRequest: {
        publicKey: { algorithm: 'ECDSA', content: publicKey.export({ type: 'spki', format: 'pem' }) },
        proofOfPossession: sign('sha256', Buffer.from(provider.email), privateKey).toString('base64'),
      },
    });
    assert.deepEqual(verdict, { ok: true, email: provider.email });
  });

  it('ends with ACCESS_DENIED when the person refuses', async () => {
    await assert.rejects(
      deviceFlowIdToken({ issuer: provider.issuer, clientId: 'sigstore', onCode: (code) => void approveDeviceCode(code.verificationUriComplete!, { deny: true }) }),
      (e: unknown) => e instanceof OidcError && e.code === 'ACCESS_DENIED',
    );
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
