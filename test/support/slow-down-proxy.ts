// oidc-provider never answers `slow_down` (TESTING.md §4); this proxy does, so a device-flow
// client's back-off can be tested. Everything else passes through to the provider.
import http from 'node:http';
import { listenOnLoopback, stopServer } from './loopback-server';

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface SlowDownProxyOptions {
  /** The provider's issuer URL (its origin is where requests go). */
  issuer: string;
  /** How many device-code token polls get `slow_down` before polls pass through. Default 1. */
  slowDowns?: number;
  /**
   * If set, added as `interval` (seconds) to each slow_down body, for clients that accept a
   * server override of RFC 8628's +5 s (keeps their tests fast). Omitted by default, as Dex does.
   */
  interval?: number;
}

export interface SlowDownProxy {
  /** Proxy origin. Its discovery document points `token_endpoint` through the proxy. */
  url: string;
  tokenEndpoint: string;
  /** Every device-code poll seen, in order: when (ms epoch) and whether it was slowed down. */
  polls: { at: number; slowedDown: boolean }[];
  close(): Promise<void>;
}

export async function startSlowDownProxy(opts: SlowDownProxyOptions): Promise<SlowDownProxy> {
  const target = new URL(opts.issuer);
  const slowDowns = opts.slowDowns ?? 1;
  const polls: SlowDownProxy['polls'] = [];
  let tokenPath = '/token';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks), res).catch((err: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err));
      });
    });
  });
  const url = `http://${await listenOnLoopback(server)}`;

  async function handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    if (req.method === 'POST' && path === tokenPath) {
      const grantType = new URLSearchParams(body.toString()).get('grant_type');
      if (grantType === DEVICE_CODE_GRANT) {
        const slowedDown = polls.filter((p) => p.slowedDown).length < slowDowns;
        polls.push({ at: Date.now(), slowedDown });
        if (slowedDown) {
          const answer: Record<string, unknown> = { error: 'slow_down', error_description: 'polling too frequently' };
          if (opts.interval !== undefined) answer.interval = opts.interval;
          res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(answer));
          return;
        }
      }
    }

    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || k === 'host' || k === 'content-length' || k === 'connection') continue;
      headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const upstream = await fetch(new URL(path, target), {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      redirect: 'manual',
    });
    let out = Buffer.from(await upstream.arrayBuffer());
    if (path.startsWith('/.well-known/openid-configuration') && upstream.ok) {
      // Clients pointed at the proxy discover a token endpoint behind it; the rest (issuer,
      // jwks, device endpoint) stays the provider's so tokens still verify.
      const doc = JSON.parse(out.toString()) as { token_endpoint: string };
      const real = new URL(doc.token_endpoint);
      tokenPath = real.pathname;
      doc.token_endpoint = new URL(real.pathname, url).href;
      out = Buffer.from(JSON.stringify(doc));
    }
    const outHeaders: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'set-cookie'].includes(k)) outHeaders[k] = v;
    });
    const cookies = upstream.headers.getSetCookie();
    res.writeHead(upstream.status, cookies.length ? { ...outHeaders, 'set-cookie': cookies } : outHeaders).end(out);
  }

  return {
    url,
    tokenEndpoint: `${url}${tokenPath}`,
    polls,
    close: () => stopServer(server),
  };
}
