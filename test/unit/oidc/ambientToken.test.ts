import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ambientIdToken } from '../../../src/core/oidc/ambientToken';
import { OidcError } from '../../../src/core/oidc/deviceFlow';

describe('ambient identity tokens', () => {
  it('takes SIGSTORE_ID_TOKEN first', async () => {
    assert.deepEqual(await ambientIdToken({ env: { SIGSTORE_ID_TOKEN: ' abc.def.ghi\n', ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9' } }), {
      token: 'abc.def.ghi',
      source: 'SIGSTORE_ID_TOKEN',
    });
  });

  it('has none outside CI', async () => {
    assert.equal(await ambientIdToken({ env: {} }), undefined);
    assert.equal(await ambientIdToken({ env: { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9' } }), undefined, 'the URL alone is not enough');
  });

  it('asks the GitHub Actions token service for audience "sigstore" with its bearer token', async () => {
    const seen: Array<{ url: string; auth?: string }> = [];
    let status = 200;
    const server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { value: 'gh.id.token' } : { message: 'no permission' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token?api-version=2.0`;
    try {
      const env = { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runtime-secret' };
      assert.deepEqual(await ambientIdToken({ env }), { token: 'gh.id.token', source: 'GitHub Actions' });
      assert.equal(seen[0]!.auth, 'Bearer runtime-secret');
      assert.match(seen[0]!.url, /api-version=2\.0/);
      assert.match(seen[0]!.url, /audience=sigstore/);
      status = 403;
      await assert.rejects(ambientIdToken({ env }), (e: unknown) => e instanceof OidcError && /id-token: write/.test(e.remedy ?? ''));
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
