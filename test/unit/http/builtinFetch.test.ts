// The fetch the Sigstore libraries get in our bundles (scripts/build.mjs aliases
// make-fetch-happen to it): the editor and the command line talk to Fulcio, Rekor and the
// TSA through it, so its refusals are tested here against a real local server.
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import builtinFetch from '../../../src/core/http/builtinFetch';

describe('builtinFetch (make-fetch-happen stand-in)', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? ''}`);
      if (req.url === '/json') return void res.writeHead(201, { 'content-type': 'application/json', location: '/x' }).end('{"ok":true}');
      if (req.url === '/redirect') return void res.writeHead(307, { location: `${base}/json` }).end();
      if (req.url === '/declared-huge') return void res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) }).end();
      if (req.url === '/streamed-huge') {
        res.writeHead(200);
        const chunk = Buffer.alloc(1024 * 1024, 1);
        let sent = 0;
        const pump = () => {
          while (sent < 40 && res.write(chunk)) sent++;
          if (sent < 40) res.once('drain', pump);
          else res.end();
        };
        return pump();
      }
      if (req.url === '/slow') return; // never answers
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('answers as make-fetch-happen does: status, headers, json, text and a Node stream body', async () => {
    const r = await builtinFetch(`${base}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 201);
    assert.equal(r.ok, true);
    assert.equal(r.headers.get('location'), '/x');
    assert.deepEqual(await r.json(), { ok: true });
    assert.equal(await r.text(), '{"ok":true}');
    const chunks: Buffer[] = [];
    for await (const c of r.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), '{"ok":true}');
    assert.ok(seen.includes('POST /json application/json'));
  });

  it('refuses redirects: a request carrying an identity token is never replayed elsewhere', async () => {
    const before = seen.filter((s) => s.startsWith('POST /json')).length;
    await assert.rejects(builtinFetch(`${base}/redirect`, { method: 'POST', body: 'token' }), /cannot reach http:\/\/127\.0\.0\.1:\d+: .*redirect/i);
    assert.equal(seen.filter((s) => s.startsWith('POST /json')).length, before, 'the redirect target was not asked');
  });

  it('refuses bodies over 32 MiB, declared or streamed', async () => {
    await assert.rejects(builtinFetch(`${base}/declared-huge`), /sent 67108864 bytes, more than the 33554432 accepted/);
    await assert.rejects(builtinFetch(`${base}/streamed-huge`), /more than the 33554432 bytes accepted/);
  });

  it('names the problem: no answer in time, or nobody listening', async () => {
    await assert.rejects(builtinFetch(`${base}/slow`, { timeout: 200 }), /cannot reach http:\/\/127\.0\.0\.1:\d+: no answer within 0\.2 s/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(builtinFetch(`http://127.0.0.1:${port}/`), new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  });
});
