import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deviceFlowIdToken, OidcError, type DeviceCode } from '../../../src/core/oidc/deviceFlow';

/** A provider whose token endpoint answers from a script, one entry per poll. */
async function scriptedProvider(script: Array<[number, object | string]>, overrides: { discovery?: object | string; device?: object } = {}) {
  const polls: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const send = (status: number, payload: object | string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
      };
      if (req.url === '/.well-known/openid-configuration') {
        return send(200, overrides.discovery ?? { issuer: base, device_authorization_endpoint: `${base}/device`, token_endpoint: `${base}/token` });
      }
      if (req.url === '/device') {
        assert.equal(new URLSearchParams(body).get('client_id'), 'sigstore');
        assert.equal(new URLSearchParams(body).get('scope'), 'openid email');
        return send(200, overrides.device ?? { device_code: 'dev-123', user_code: 'ABCD-EFGH', verification_uri: `${base}/activate`, verification_uri_complete: `${base}/activate?user_code=ABCD-EFGH`, expires_in: 600, interval: 2 });
      }
      if (req.url === '/token') {
        polls.push(new URLSearchParams(body));
        const [status, payload] = script.shift() ?? [500, { error: 'script_exhausted' }];
        return send(status, payload);
      }
      send(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, polls, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('OIDC device flow (RFC 8628)', () => {
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
  };
  beforeEach(() => (waits.length = 0));

  it('shows the code, polls at the given interval, slows down on slow_down, and returns the ID token', async () => {
    const p = await scriptedProvider([
      [400, { error: 'authorization_pending' }],
      [400, { error: 'slow_down' }],
      [400, { error: 'authorization_pending' }],
      [200, { id_token: 'header.payload.signature', access_token: 'x' }],
    ]);
    try {
      let shown: DeviceCode | undefined;
      const token = await deviceFlowIdToken({ issuer: p.issuer, clientId: 'sigstore', onCode: (c) => void (shown = c), sleep });
      assert.equal(token, 'header.payload.signature');
      assert.equal(shown?.userCode, 'ABCD-EFGH');
      assert.match(shown!.verificationUriComplete!, /user_code=ABCD-EFGH$/);
      assert.deepEqual(waits, [2000, 2000, 7000, 7000], 'interval 2 s, then +5 s after slow_down');
      assert.equal(p.polls.length, 4);
      assert.equal(p.polls[0]!.get('grant_type'), 'urn:ietf:params:oauth:grant-type:device_code');
      assert.equal(p.polls[0]!.get('device_code'), 'dev-123');
    } finally {
      await p.close();
    }
  });

  it('waits 5 s between polls when the provider names no interval', async () => {
    const p = await scriptedProvider([[200, { id_token: 't' }]], { device: { device_code: 'd', user_code: 'u', verification_uri: 'http://127.0.0.1/x', expires_in: 60 } });
    try {
      await deviceFlowIdToken({ issuer: p.issuer, clientId: 'sigstore', onCode: () => undefined, sleep });
      assert.deepEqual(waits, [5000]);
    } finally {
      await p.close();
    }
  });

  it('never polls faster than once a second: an interval of 0 counts as absent (5 s)', async () => {
    const p = await scriptedProvider([[400, { error: 'authorization_pending' }], [200, { id_token: 't' }]], {
      device: { device_code: 'd', user_code: 'u', verification_uri: 'http://127.0.0.1/x', expires_in: 60, interval: 0 },
    });
    try {
      await deviceFlowIdToken({ issuer: p.issuer, clientId: 'sigstore', onCode: () => undefined, sleep });
      assert.deepEqual(waits, [5000, 5000]);
    } finally {
      await p.close();
    }
  });

  it('gives up on the real clock too, when the waits take no time', async () => {
    const pending = Array.from({ length: 1000 }, (): [number, object] => [400, { error: 'authorization_pending' }]);
    // expires_in 0: the deadline has passed by the first poll, whatever the injected sleep does.
    const p = await scriptedProvider(pending, { device: { device_code: 'd', user_code: 'u', verification_uri: 'http://127.0.0.1/x', expires_in: 0, interval: 1 } });
    try {
      await assert.rejects(
        deviceFlowIdToken({ issuer: p.issuer, clientId: 'sigstore', onCode: () => new Promise((r) => setTimeout(r, 5)), sleep }),
        (e: unknown) => (e as OidcError).code === 'EXPIRED',
      );
      assert.equal(p.polls.length, 0);
    } finally {
      await p.close();
    }
  });

  for (const [error, code] of [
    ['access_denied', 'ACCESS_DENIED'],
    ['expired_token', 'EXPIRED'],
    ['invalid_grant', 'PROVIDER_ERROR'],
  ] as const) {
    it(`${error} ends the flow with ${code}`, async () => {
      const p = await scriptedProvider([[400, { error }]]);
      try {
        await assert.rejects(deviceFlowIdToken({ issuer: p.issuer, clientId: 'sigstore', onCode: () => undefined, sleep }), (e: unknown) => e instanceof OidcError && e.code === code);
      } finally {
        await p.close();
      }
    });
  }

  it('gives up when the code expires while still pending', async () => {
    const pending = Array.from({ length: 50 }, (): [number, object] => [400, { error: 'authorization_pending' }]);
    const p = await scriptedProvider(pending, { device: { device_code: 'd', user_code: 'u', verification_uri: 'http://127.0.0.1/x', expires_in: 10, interval: 3 } });
    try {
      await assert.rejects(deviceFlowIdToken({ issuer: p.issuer, clientId: 'sigstore', onCode: () => undefined, sleep }), (e: unknown) => (e as OidcError).code === 'EXPIRED');
      assert.ok(p.polls.length <= 4, `stopped polling after expiry (${p.polls.length} polls)`);
    } finally {
      await p.close();
    }
  });

  it('refuses a provider without a device endpoint, one claiming another issuer, or answering junk', async () => {
    const noDevice = await scriptedProvider([], { discovery: { issuer: 'x', token_endpoint: 'http://127.0.0.1/token' } });
    try {
      await assert.rejects(deviceFlowIdToken({ issuer: noDevice.issuer, clientId: 'sigstore', onCode: () => undefined, sleep }), (e: unknown) => (e as OidcError).code === 'DISCOVERY_FAILED' || (e as OidcError).code === 'NO_DEVICE_FLOW');
    } finally {
      await noDevice.close();
    }
    const junk = await scriptedProvider([], { discovery: '<html>not json</html>' });
    try {
      await assert.rejects(deviceFlowIdToken({ issuer: junk.issuer, clientId: 'sigstore', onCode: () => undefined, sleep }), (e: unknown) => (e as OidcError).code === 'BAD_RESPONSE');
    } finally {
      await junk.close();
    }
    await assert.rejects(deviceFlowIdToken({ issuer: 'http://127.0.0.1:9', clientId: 'sigstore', onCode: () => undefined, sleep }), (e: unknown) => (e as OidcError).code === 'NETWORK');
  });

  it('stops when cancelled while waiting, without another poll', async () => {
    const p = await scriptedProvider([[400, { error: 'authorization_pending' }], [200, { id_token: 't' }]]);
    const controller = new AbortController();
    try {
      const flow = deviceFlowIdToken({
        issuer: p.issuer,
        clientId: 'sigstore',
        signal: controller.signal,
        onCode: () => undefined,
        // The real sleep, cancelled at once: nothing waits for real time.
        onPoll: () => controller.abort(),
      });
      await assert.rejects(flow, (e: unknown) => (e as OidcError).code === 'CANCELLED');
      assert.equal(p.polls.length, 0);
    } finally {
      await p.close();
    }
  });
});
