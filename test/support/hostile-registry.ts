// A tiny registry (node:http on 127.0.0.1) that speaks just enough of the distribution API to
// misbehave on demand. The repository name picks the misbehaviour:
//
//   huge, huge-chunked   a manifest over 4 MiB (with / without Content-Length)
//   mismatch             other bytes than the digest asked for (manifests and blobs); by tag,
//                        a Docker-Content-Digest that is not the body's
//   paged                well-behaved tags/list pagination (?n=, last=, Link) over tag-00…tag-09
//   paged-trailing       the same, but a Link after the last page too (then an empty page)
//   endless-same         tags/list whose Link always names the same next URL (new tags each page)
//   endless-new          tags/list whose Link names a new URL each time (new tags each page)
//   redirect             Basic auth; blobs redirect to another host (127.0.0.2), which records
//                        whether an Authorization header reached it; manifests redirect too
//   loop                 401 Bearer whatever is sent; the token endpoint hands out tokens that never work
//   slow, slow-body      no headers at all / headers and a little body, then nothing
//   badjson, badshape    a manifest that is not JSON / JSON of the wrong shape (digests right)
//   ratelimited          429 with Retry-After: 42
//   forbidden, broken    403 / 500
//   referrers            a working referrers API (OCI index of two artifact types), ignoring the filter
//   referrers-text       the referrers API answered 200 text/plain; no fallback tag
//   good                 behaves: `latest` and the manifest's digest, and its blob
//   token-elsewhere      401 Bearer with a realm on another loopback port (`realm.host`), which
//                        records what reached it; its token then works
//   token-here           the same with the realm on the registry's own origin (/token-here)
//   fanout-index         `latest` is an index of `fanout.platforms` (default 20,000) platforms;
//                        the referrers API answers `fanout.referrers` (default 15,000) bundle
//                        referrers for the index and none for the platforms; nothing else exists
//   fanout-referrers     `latest` is the good manifest, with `fanout.referrers` bundle referrers
//
// Every request is counted while it is open (`inFlight`): the fan-out repositories answer after
// a timer's turn, so requests sent together are open together.
//
// GET /_recorded answers what both hosts recorded so far ({ requests, other }, itself not
// recorded), for tests that run in another process (the VS Code extension host).
//
// Also the test double for the referrers-API path: distribution 2.8 has no referrers API.
import crypto from 'node:crypto';
import http from 'node:http';
import { listenOnLoopback, stopServer } from './loopback-server';

export const HOSTILE_USER = { username: 'hostile-user', password: 'hostile-pass' };
export const MANIFEST_LIMIT = 4 * 1024 * 1024;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization?: string;
  readonly accept?: string;
}

/** The body of `GET /_recorded`. */
export interface RecordedRequests {
  readonly requests: readonly RecordedRequest[];
  readonly other: readonly RecordedRequest[];
}

export interface HostileRegistry {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  readonly requests: readonly RecordedRequest[];
  /** The other host blob redirects point at, and the requests that reached it. */
  readonly other: { readonly host: string; readonly requests: readonly RecordedRequest[] };
  /** A well-formed manifest and the blob it names, served where a test needs real content. */
  readonly manifest: { readonly digest: string; readonly bytes: Buffer };
  readonly blob: { readonly digest: string; readonly bytes: Buffer };
  /** The two descriptors the `referrers` repository's API answers with. */
  readonly referrerTypes: readonly [string, string];
  /** Token requests the `loop` repository's realm answered. */
  tokenRequests(): number;
  /** Requests whose path starts with `/v2/<repository>/`. */
  requestsTo(repository: string): RecordedRequest[];
  /** The token service on another port that `token-elsewhere` names, and what reached it. */
  readonly realm: { readonly host: string; readonly requests: readonly RealmRequest[] };
  /** What reached `token-here`'s realm on the registry's own origin. */
  readonly realmHere: readonly RealmRequest[];
  /** Requests open at the registry right now, and the most open at once since the last reset. */
  readonly inFlight: { now(): number; max(): number; reset(): void };
  /** The digest of `fanout-index:latest`. */
  fanoutIndexDigest(): string;
  close(): Promise<void>;
}

function sha256(bytes: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}


export interface RealmRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization?: string;
  /** The form a POST sent (an identity token is exchanged by POST). */
  readonly body: string;
}

export interface HostileOptions {
  /** Called as each request to the registry arrives, before it is answered. */
  onRequest?: (request: RecordedRequest) => void;
  /** Sizes of the fan-out repositories. */
  fanout?: { platforms?: number; referrers?: number };
}

export async function startHostileRegistry(options: HostileOptions = {}): Promise<HostileRegistry> {
  const requests: RecordedRequest[] = [];
  const otherRequests: RecordedRequest[] = [];
  let tokens = 0;
  let pageCounter = 0;

  const blobBytes = Buffer.from('the real layer\n');
  const blob = { digest: sha256(blobBytes), bytes: blobBytes };
  const configBytes = Buffer.from('{}');
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(configBytes), size: configBytes.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blob.digest, size: blobBytes.length }],
    }),
  );
  const manifest = { digest: sha256(manifestBytes), bytes: manifestBytes };
  const otherManifestBytes = Buffer.from(JSON.stringify({ ...JSON.parse(manifestBytes.toString()), annotations: { swapped: 'yes' } }));
  const referrerTypes = ['application/vnd.dev.sigstore.bundle.v0.3+json', 'application/spdx+json'] as const;

  const fanoutPlatforms = options.fanout?.platforms ?? 20_000;
  const fanoutReferrers = options.fanout?.referrers ?? 15_000;
  let fanoutIndex: { bytes: Buffer; digest: string } | undefined;
  const fanoutIndexOf = () => {
    if (!fanoutIndex) {
      const manifests = Array.from({ length: fanoutPlatforms }, (_, i) => ({ mediaType: OCI_MANIFEST, digest: sha256(`platform ${i}`), size: 100, platform: { os: 'linux', architecture: `a${i}` } }));
      const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
      fanoutIndex = { bytes, digest: sha256(bytes) };
    }
    return fanoutIndex;
  };
  let referrersIndex: Buffer | undefined;
  const referrersIndexOf = () =>
    (referrersIndex ??= Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: Array.from({ length: fanoutReferrers }, (_, i) => ({ mediaType: OCI_MANIFEST, digest: sha256(`bundle referrer ${i}`), size: 100, artifactType: referrerTypes[0] })),
      }),
    ));
  const emptyIndex = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));

  let open = 0;
  let maxOpen = 0;
  const realmRequests: RealmRequest[] = [];
  const realmHere: RealmRequest[] = [];
  const readBody = (req: http.IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const realm = http.createServer((req, res) => {
    void readBody(req).then((body) => {
      realmRequests.push({ method: req.method ?? 'GET', url: req.url ?? '', authorization: req.headers.authorization, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'elsewhere-token', expires_in: 300 }));
    });
  });
  const realmHost = await listenOnLoopback(realm, '127.0.0.1');

  const other = http.createServer((req, res) => {
    otherRequests.push({ method: req.method ?? 'GET', url: req.url ?? '', authorization: req.headers.authorization, accept: req.headers.accept });
    if (req.url === `/storage/${blob.digest}`) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blobBytes.length });
      return res.end(blobBytes);
    }
    if (req.url?.startsWith('/storage/manifest')) {
      res.writeHead(200, { 'content-type': OCI_MANIFEST });
      return res.end(manifestBytes);
    }
    res.writeHead(404).end();
  });
  const otherHost = await listenOnLoopback(other, '127.0.0.2');

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hostile');
    if (url.pathname === '/_recorded') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ requests, other: otherRequests } satisfies RecordedRequests));
    }
    const recorded = { method: req.method ?? 'GET', url: req.url ?? '', authorization: req.headers.authorization, accept: req.headers.accept };
    requests.push(recorded);
    open++;
    maxOpen = Math.max(maxOpen, open);
    // Open until the answer is all sent, or the connection drops.
    let counted = true;
    const done = () => {
      if (counted) open--;
      counted = false;
    };
    res.once('finish', done);
    res.once('close', done);
    options.onRequest?.(recorded);
    const base = `http://${host}`;
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) => json(status, { errors: [{ code, message }] }, headers);

    if (url.pathname === '/token-here') {
      void readBody(req).then((body) => {
        realmHere.push({ method: req.method ?? 'GET', url: req.url ?? '', authorization: req.headers.authorization, body });
        json(200, { token: 'here-token', expires_in: 300 });
      });
      return;
    }
    if (url.pathname === '/token') {
      tokens++;
      return json(200, { token: `never-works-${tokens}`, expires_in: 300 });
    }
    if (url.pathname === '/v2/' || url.pathname === '/v2') return json(200, {});
    const m = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/(.+)$/.exec(url.pathname);
    if (!m) return error(404, 'NOT_FOUND', 'no route');
    const [, repo, kind, reference] = m as unknown as [string, string, string, string];

    switch (repo) {
      case 'huge':
      case 'huge-chunked': {
        const size = MANIFEST_LIMIT + 1024 * 1024;
        res.writeHead(200, { 'content-type': OCI_MANIFEST, ...(repo === 'huge' ? { 'content-length': String(size) } : {}) });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => (sent = size));
        return pump();
      }
      case 'mismatch': {
        if (kind === 'blobs') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          return res.end(Buffer.from('not the layer you asked for\n'));
        }
        // By digest: other bytes under the digest asked for. By tag: a header that lies about the body.
        const said = reference.startsWith('sha256:') ? reference : manifest.digest;
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': said });
        return res.end(otherManifestBytes);
      }
      case 'paged':
      case 'paged-trailing': {
        const all = Array.from({ length: 10 }, (_, i) => `tag-${String(i).padStart(2, '0')}`);
        const n = Number(url.searchParams.get('n') ?? 1000);
        const last = url.searchParams.get('last');
        const rest = last ? all.filter((t) => t > last) : all;
        const page = rest.slice(0, n);
        const more = rest.length > page.length || (repo === 'paged-trailing' && page.length > 0);
        const next = `/v2/${repo}/tags/list?n=${n}&last=${page.at(-1) ?? last ?? ''}`;
        return json(200, { name: repo, tags: page }, more ? { link: `<${next}>; rel="next"` } : {});
      }
      case 'endless-same':
      case 'endless-new': {
        pageCounter++;
        const next = repo === 'endless-same' ? `/v2/${repo}/tags/list?n=2&last=same` : `/v2/${repo}/tags/list?n=2&last=tag-${pageCounter}`;
        return json(200, { name: repo, tags: [`tag-${pageCounter}-a`, `tag-${pageCounter}-b`] }, { link: `<${next}>; rel="next"` });
      }
      case 'redirect': {
        const expected = `Basic ${Buffer.from(`${HOSTILE_USER.username}:${HOSTILE_USER.password}`).toString('base64')}`;
        if (req.headers.authorization !== expected) return error(401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': 'Basic realm="hostile"' });
        if (kind === 'blobs') {
          res.writeHead(307, { location: `http://${otherHost}/storage/${reference}` });
          return res.end();
        }
        res.writeHead(302, { location: `http://${otherHost}/storage/manifest` });
        return res.end();
      }
      case 'loop':
        return error(401, 'UNAUTHORIZED', 'authentication required', {
          'www-authenticate': `Bearer realm="${base}/token",service="hostile",scope="repository:loop:pull"`,
        });
      case 'slow':
        return; // never answers; close() drops the connection
      case 'slow-body':
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': manifest.digest });
        res.write(manifestBytes.subarray(0, 20));
        return; // the rest never comes
      case 'badjson': {
        const bytes = Buffer.from('{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": ');
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha256(bytes) });
        return res.end(bytes);
      }
      case 'badshape': {
        const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: 'nope', layers: {} }));
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha256(bytes) });
        return res.end(bytes);
      }
      case 'ratelimited':
        return error(429, 'TOOMANYREQUESTS', 'You have reached your pull rate limit.', { 'retry-after': '42' });
      case 'forbidden':
        return error(403, 'DENIED', 'requested access to the resource is denied');
      case 'broken':
        return error(500, 'UNKNOWN', 'something broke');
      case 'referrers':
        if (kind === 'referrers') {
          const index = {
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            manifests: referrerTypes.map((artifactType, i) => ({ mediaType: OCI_MANIFEST, digest: sha256(`referrer ${i}`), size: 100 + i, artifactType, annotations: { n: String(i) } })),
          };
          return json(200, index, { 'content-type': OCI_INDEX });
        }
        return error(404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      case 'referrers-text':
        if (kind === 'referrers') {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          return res.end('referrers? never heard of them\n');
        }
        return error(404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      case 'token-elsewhere':
      case 'token-here': {
        const [token, realmUrl] = repo === 'token-here' ? ['here-token', `${base}/token-here`] : ['elsewhere-token', `http://${realmHost}/token`];
        if (req.headers.authorization !== `Bearer ${token}`) return error(401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': `Bearer realm="${realmUrl}",service="hostile",scope="repository:${repo}:pull"` });
        if (kind === 'manifests' && reference === 'latest') {
          res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': manifest.digest, 'content-length': manifestBytes.length });
          return res.end(manifestBytes);
        }
        return error(404, 'MANIFEST_UNKNOWN', 'unknown');
      }
      case 'fanout-index':
      case 'fanout-referrers': {
        // A timer's turn before answering: requests sent together are open together.
        setTimeout(() => {
          const top = repo === 'fanout-index' ? { bytes: fanoutIndexOf().bytes, digest: fanoutIndexOf().digest, type: OCI_INDEX } : { bytes: manifestBytes, digest: manifest.digest, type: OCI_MANIFEST };
          if (kind === 'manifests' && (reference === 'latest' || reference === top.digest)) {
            res.writeHead(200, { 'content-type': top.type, 'docker-content-digest': top.digest, 'content-length': top.bytes.length });
            return res.end(top.bytes);
          }
          if (kind === 'referrers') {
            const body = reference === top.digest ? referrersIndexOf() : emptyIndex;
            res.writeHead(200, { 'content-type': OCI_INDEX, 'content-length': body.length });
            return res.end(body);
          }
          error(404, kind === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', 'unknown');
        }, 1);
        return;
      }
      case 'good':
        if (kind === 'manifests' && (reference === 'latest' || reference === manifest.digest)) {
          res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': manifest.digest, 'content-length': manifestBytes.length });
          return res.end(manifestBytes);
        }
        if (kind === 'blobs' && reference === blob.digest) {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blobBytes.length });
          return res.end(blobBytes);
        }
        return error(404, kind === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', 'unknown');
      default:
        return error(404, 'NAME_UNKNOWN', 'repository name not known to registry');
    }
  });
  const host = await listenOnLoopback(server, '127.0.0.1');

  return {
    host,
    requests,
    other: { host: otherHost, requests: otherRequests },
    manifest,
    blob,
    referrerTypes,
    tokenRequests: () => tokens,
    requestsTo: (repository) => requests.filter((r) => r.url.startsWith(`/v2/${repository}/`)),
    realm: { host: realmHost, requests: realmRequests },
    realmHere,
    inFlight: {
      now: () => open,
      max: () => maxOpen,
      reset: () => {
        maxOpen = open;
      },
    },
    fanoutIndexDigest: () => fanoutIndexOf().digest,
    async close() {
      await Promise.all([stopServer(server), stopServer(other), stopServer(realm)]);
    },
  };
}
