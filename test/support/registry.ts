// A real OCI registry for the tests: Debian's docker-registry (distribution 2.8.2) on
// 127.0.0.1 with a temporary config and storage (TESTING.md §2), in four variants: plain HTTP,
// htpasswd Basic, token auth (a small token server of ours issuing ES256 JWTs with an x5c
// header and an `access` claim), and TLS with a self-signed CA. Images are written through the
// registry API by the harness itself (never by the client under test), so digests stay
// reproducible.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { promises as fs, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { Agent } from 'undici';
import YAML from 'yaml';
import { listenOnLoopback, stopServer } from './loopback-server';

export type RegistryAuth = 'none' | 'htpasswd' | 'token';

export interface StartRegistryOptions {
  /** Default 'none'. */
  auth?: RegistryAuth;
  /** Serve HTTPS with a certificate from a fresh self-signed CA. */
  tls?: boolean;
}

export interface TestUser {
  readonly username: string;
  readonly password: string;
}

/** Pulls and pushes everything. */
export const ALICE: TestUser = { username: 'alice', password: 'wonderland-7' };
/** Valid credentials (token variant) with access to nothing. */
export const MALLORY: TestUser = { username: 'mallory', password: 'no-access-3' };
/** Valid credentials (token variant) that may pull every repository and push to none: a read-only account. */
export const READER: TestUser = { username: 'reader', password: 'read-only-5' };
/** Docker's `identitytoken` for alice: an OAuth2 refresh token the token server accepts by POST. */
export const ALICE_IDENTITY_TOKEN = 'refresh-token-of-alice';
/** Token variant: anonymous users may pull repositories under this prefix. */
export const PUBLIC_PREFIX = 'public/';

export const TOKEN_SERVICE = 'test-registry';
export const TOKEN_ISSUER = 'test-token-issuer';

export interface TokenRequest {
  readonly method: string;
  /** The authenticated user, or undefined for anonymous. */
  readonly user?: string;
  readonly grantType?: string;
  readonly service?: string;
  readonly scopes: readonly string[];
  readonly status: number;
}

export interface PlatformSpec {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface PushedImage {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly bytes: Buffer;
  readonly configDigest: string;
  readonly layerDigest: string;
  readonly layer: Buffer;
  readonly platform: PlatformSpec;
}

export interface PushedIndex {
  readonly digest: string;
  readonly size: number;
  readonly bytes: Buffer;
  readonly manifests: readonly PushedImage[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: PlatformSpec;
}

export interface TestRegistry {
  /** `127.0.0.1:<port>`, the registry part of image references. */
  readonly host: string;
  /** `http(s)://127.0.0.1:<port>`. */
  readonly url: string;
  readonly auth: RegistryAuth;
  /** The CA certificate (PEM) of the TLS variant. */
  readonly caPem?: string;
  /** Token variant: the token server's URL and every request it answered. */
  readonly tokenServer?: { readonly url: string; readonly requests: readonly TokenRequest[] };
  pushBlob(repository: string, bytes: Buffer): Promise<Descriptor>;
  /** PUTs a manifest or index under a tag or its digest; returns its descriptor (digest from the bytes, checked against the registry's). */
  pushManifest(repository: string, reference: string | undefined, document: object | Buffer, mediaType: string): Promise<Descriptor & { bytes: Buffer }>;
  /** Config blob, one layer, an image manifest (OCI by default). `seed` makes distinct images. */
  pushImage(repository: string, opts?: { tag?: string; seed?: string; platform?: PlatformSpec; docker?: boolean }): Promise<PushedImage>;
  /** One image per platform (pushed by digest), then an OCI index under `tag`. */
  pushIndex(repository: string, tag: string, platforms?: readonly PlatformSpec[], opts?: { seed?: string }): Promise<PushedIndex>;
  /** An OCI 1.1 artifact manifest (empty config, one layer) whose `subject` is `subject`, pushed by digest. */
  pushArtifact(repository: string, subject: Descriptor, artifactType: string, payload: Buffer, annotations?: Record<string, string>): Promise<Descriptor>;
  /** Tags an existing manifest again (GET by digest, PUT under the tag). */
  tag(repository: string, digest: string, tag: string): Promise<void>;
  /**
   * GET /v2/<repository>/manifests/<reference> straight from the registry, with every manifest
   * media type in Accept and, on the auth variants, alice's credentials: the status and the JSON
   * (on 200). For tests that check what a client under test wrote, or did not write.
   */
  readManifest(repository: string, reference: string): Promise<{ status: number; json?: Record<string, unknown> }>;
  /** The repository's tags, sorted, read as alice (an empty list for a repository that does not exist). */
  listTags(repository: string): Promise<string[]>;
  /** What docker-registry wrote to stderr so far (for failure messages). */
  logs(): string;
  close(): Promise<void>;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const ALL_MANIFESTS = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

export const DEFAULT_PLATFORMS: readonly PlatformSpec[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
];

export function sha256(bytes: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA and a server certificate for 127.0.0.1/localhost signed by it. */
function makeTlsMaterial(dir: string): { caPem: string; cert: string; key: string } {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=Test Registry CA', '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  const ext = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n';
  writeFileSync(path.join(dir, 'server.ext'), ext);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem'], dir);
  return { caPem: readFileSync(path.join(dir, 'ca.pem'), 'utf8'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/**
 * The token server of the token variant: Basic or refresh-token authentication, ES256 JWTs
 * with x5c. It is also the registry's front door: everything but /token is passed through to
 * docker-registry (`serve(backend)`), so the realm is on the registry's own origin, where a
 * client sends credentials (it sends them to no other port).
 */
async function startTokenServer(
  dir: string,
): Promise<{ host: string; url: string; requests: TokenRequest[]; certFile: string; mint(subject: string, access: Access[]): string; serve(backend: string): void; close(): Promise<void> }> {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=Test Token Signer', '-keyout', 'token.key', '-out', 'token.pem'], dir);
  const key = crypto.createPrivateKey(readFileSync(path.join(dir, 'token.key')));
  const certDer = new crypto.X509Certificate(readFileSync(path.join(dir, 'token.pem'))).raw;
  const requests: TokenRequest[] = [];

  const mint = (subject: string, access: Access[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] };
    const claims = { iss: TOKEN_ISSUER, sub: subject, aud: TOKEN_SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access };
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  };

  /** alice: everything; reader: pull only; mallory: nothing; anonymous: pull under public/. */
  const grant = (user: string | undefined, scopes: string[]): Access[] =>
    scopes.flatMap((scope) => {
      const [type, name, actions] = [scope.split(':')[0]!, scope.split(':').slice(1, -1).join(':'), scope.split(':').at(-1)!.split(',')];
      if (type !== 'repository' || !name) return [];
      const allowed =
        user === ALICE.username ? actions : user === READER.username || (user === undefined && name.startsWith(PUBLIC_PREFIX)) ? actions.filter((a) => a === 'pull') : [];
      return allowed.length ? [{ type, name, actions: allowed }] : [];
    });

  let backend: string | undefined;
  const server = http.createServer((req, res) => {
    if (backend && new URL(req.url ?? '/', 'http://token').pathname !== '/token') {
      // Headers as they came (Host too: the registry's Location headers then name this door).
      const upstream = http.request({ host: backend.split(':')[0], port: Number(backend.split(':')[1]), method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://token');
      const answer = (status: number, payload: object, user?: string, grantType?: string, scopes: string[] = [], service?: string) => {
        requests.push({ method: req.method ?? 'GET', user, grantType, service, scopes, status });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (url.pathname !== '/token') return answer(404, { error: 'not_found' });
      let user: string | undefined;
      let params: URLSearchParams;
      let grantType: string | undefined;
      if (req.method === 'POST') {
        params = new URLSearchParams(body);
        grantType = params.get('grant_type') ?? undefined;
        if (grantType === 'refresh_token' && params.get('refresh_token') === ALICE_IDENTITY_TOKEN) user = ALICE.username;
        else if (grantType === 'password' && params.get('username') === ALICE.username && params.get('password') === ALICE.password) user = ALICE.username;
        else return answer(401, { error: 'invalid_grant' }, undefined, grantType, params.getAll('scope'), params.get('service') ?? undefined);
      } else {
        params = url.searchParams;
        const authz = req.headers.authorization;
        if (authz) {
          const [scheme, value] = authz.split(' ');
          const [u, ...p] = Buffer.from(value ?? '', 'base64').toString().split(':');
          const known = [ALICE, MALLORY, READER].find((x) => x.username === u && x.password === p.join(':'));
          if (scheme?.toLowerCase() !== 'basic' || !known) return answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }, undefined, undefined, params.getAll('scope'), params.get('service') ?? undefined);
          user = known.username;
        }
      }
      const scopes = params.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      const service = params.get('service') ?? undefined;
      if (service !== TOKEN_SERVICE) return answer(400, { error: 'invalid_request', error_description: 'unknown service' }, user, grantType, scopes, service);
      const token = mint(user ?? '', grant(user, scopes));
      const payload = req.method === 'POST' ? { access_token: token, expires_in: 300, scope: scopes.join(' ') } : { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() };
      answer(200, payload, user, grantType, scopes, service);
    });
  });
  const host = await listenOnLoopback(server);
  return {
    host,
    url: `http://${host}/token`,
    serve: (address) => (backend = address),
    requests,
    certFile: path.join(dir, 'token.pem'),
    mint,
    close: () => stopServer(server),
  };
}

/** Starts docker-registry; resolves once `/v2/` answers. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'registry-'));
  const storage = path.join(dir, 'storage');
  await fs.mkdir(storage);
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', accesslog: { disabled: true }, formatter: 'text' },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true }, cache: { blobdescriptor: 'inmemory' } },
    http: { addr: '127.0.0.1:0', secret: crypto.randomBytes(16).toString('hex'), headers: { 'X-Content-Type-Options': ['nosniff'] } },
    health: { storagedriver: { enabled: false } },
  };
  let caPem: string | undefined;
  let dispatcher: Agent | undefined;
  if (options.tls) {
    const tls = makeTlsMaterial(dir);
    caPem = tls.caPem;
    (config.http as Record<string, unknown>).tls = { certificate: tls.cert, key: tls.key };
    dispatcher = new Agent({ connect: { ca: caPem } });
  }
  let tokenServer: Awaited<ReturnType<typeof startTokenServer>> | undefined;
  if (auth === 'htpasswd') {
    const lines = [ALICE].map((u) => execFileSync('htpasswd', ['-Bbn', u.username, u.password], { encoding: 'utf8' }).trim());
    await fs.writeFile(path.join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    config.auth = { htpasswd: { realm: 'test-registry', path: path.join(dir, 'htpasswd') } };
  } else if (auth === 'token') {
    tokenServer = await startTokenServer(dir);
    config.auth = { token: { realm: tokenServer.url, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, rootcertbundle: tokenServer.certFile } };
  }
  const configFile = path.join(dir, 'config.yml');
  await fs.writeFile(configFile, YAML.stringify(config));

  const child: ChildProcess = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`docker-registry exited (${code}) before listening:\n${output}`)));
  });
  const scheme = options.tls ? 'https' : 'http';
  if (tokenServer && options.tls) throw new Error('the token variant has no TLS front door');
  tokenServer?.serve(address);
  const url = `${scheme}://${tokenServer?.host ?? address}`;

  const request = (target: string, init: RequestInit = {}): Promise<Response> => fetch(target, { ...init, ...(dispatcher ? { dispatcher } : {}) } as RequestInit);

  // Readiness: poll /v2/ until it answers (200, or 401 with auth).
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await request(`${url}/v2/`);
      await r.arrayBuffer();
      if (r.status === 200 || r.status === 401) break;
    } catch (e) {
      if (attempt > 200) throw new Error(`docker-registry on ${address} never became ready: ${(e as Error).message}\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  const authorization = (repository: string): string | undefined => {
    if (auth === 'htpasswd') return `Basic ${Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64')}`;
    if (auth === 'token') return `Bearer ${tokenServer!.mint(ALICE.username, [{ type: 'repository', name: repository, actions: ['pull', 'push', 'delete'] }])}`;
    return undefined;
  };
  const headers = (repository: string, extra: Record<string, string> = {}): Record<string, string> => {
    const a = authorization(repository);
    return { ...extra, ...(a ? { authorization: a } : {}) };
  };
  const expect = async (r: Response, status: number, what: string): Promise<void> => {
    if (r.status !== status) throw new Error(`${what}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer().catch(() => undefined);
  };

  const pushBlob = async (repository: string, bytes: Buffer): Promise<Descriptor> => {
    const digest = sha256(bytes);
    const start = await request(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: headers(repository) });
    const location = start.headers.get('location');
    await expect(start, 202, `start upload to ${repository}`);
    const target = new URL(location!, url);
    target.searchParams.set('digest', digest);
    const put = await request(target.toString(), { method: 'PUT', headers: headers(repository, { 'content-type': 'application/octet-stream' }), body: bytes });
    await expect(put, 201, `upload blob to ${repository}`);
    return { mediaType: 'application/octet-stream', digest, size: bytes.length };
  };

  const pushManifest = async (repository: string, reference: string | undefined, document: object | Buffer, mediaType: string) => {
    const bytes = Buffer.isBuffer(document) ? document : Buffer.from(JSON.stringify(document));
    const digest = sha256(bytes);
    const put = await request(`${url}/v2/${repository}/manifests/${reference ?? digest}`, { method: 'PUT', headers: headers(repository, { 'content-type': mediaType }), body: bytes });
    const said = put.headers.get('docker-content-digest');
    await expect(put, 201, `put manifest ${repository}:${reference ?? digest}`);
    if (said !== digest) throw new Error(`the registry says ${said} for a manifest of digest ${digest}`);
    return { mediaType, digest, size: bytes.length, bytes };
  };

  const pushImage = async (repository: string, opts: { tag?: string; seed?: string; platform?: PlatformSpec; docker?: boolean } = {}): Promise<PushedImage> => {
    const platform = opts.platform ?? DEFAULT_PLATFORMS[0]!;
    const seed = opts.seed ?? `${repository}:${opts.tag ?? ''}`;
    const layer = Buffer.from(`layer of ${seed} for ${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}\n`);
    const layerDesc = await pushBlob(repository, layer);
    const configDoc = { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}), rootfs: { type: 'layers', diff_ids: [layerDesc.digest] }, config: {} };
    const configBytes = Buffer.from(JSON.stringify(configDoc));
    const configDesc = await pushBlob(repository, configBytes);
    const mediaType = opts.docker ? DOCKER_MANIFEST : OCI_MANIFEST;
    const manifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: opts.docker ? DOCKER_CONFIG : OCI_CONFIG, digest: configDesc.digest, size: configDesc.size },
      layers: [{ mediaType: opts.docker ? DOCKER_LAYER : OCI_LAYER, digest: layerDesc.digest, size: layerDesc.size }],
    };
    const pushed = await pushManifest(repository, opts.tag, manifest, mediaType);
    return { digest: pushed.digest, mediaType, size: pushed.size, bytes: pushed.bytes, configDigest: configDesc.digest, layerDigest: layerDesc.digest, layer, platform };
  };

  const pushIndex = async (repository: string, tag: string, platforms: readonly PlatformSpec[] = DEFAULT_PLATFORMS, opts: { seed?: string } = {}): Promise<PushedIndex> => {
    const manifests: PushedImage[] = [];
    for (const platform of platforms) manifests.push(await pushImage(repository, { platform, seed: opts.seed ?? `${repository}:${tag}` }));
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: manifests.map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: m.platform })),
    };
    const pushed = await pushManifest(repository, tag, index, OCI_INDEX);
    return { digest: pushed.digest, size: pushed.size, bytes: pushed.bytes, manifests };
  };

  const pushArtifact = async (repository: string, subject: Descriptor, artifactType: string, payload: Buffer, annotations?: Record<string, string>): Promise<Descriptor> => {
    const empty = await pushBlob(repository, Buffer.from('{}'));
    const layer = await pushBlob(repository, payload);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: OCI_EMPTY, digest: empty.digest, size: empty.size, data: 'e30=' },
      layers: [{ mediaType: artifactType, digest: layer.digest, size: layer.size }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      ...(annotations ? { annotations } : {}),
    };
    const pushed = await pushManifest(repository, undefined, manifest, OCI_MANIFEST);
    return { mediaType: OCI_MANIFEST, digest: pushed.digest, size: pushed.size, artifactType, ...(annotations ? { annotations } : {}) };
  };

  const tag = async (repository: string, digest: string, newTag: string): Promise<void> => {
    const r = await request(`${url}/v2/${repository}/manifests/${digest}`, { headers: headers(repository, { accept: ALL_MANIFESTS }) });
    if (r.status !== 200) throw new Error(`get ${repository}@${digest}: ${r.status} ${await r.text()}`);
    const bytes = Buffer.from(await r.arrayBuffer());
    await pushManifest(repository, newTag, bytes, r.headers.get('content-type') ?? OCI_MANIFEST);
  };

  const readManifest = async (repository: string, reference: string): Promise<{ status: number; json?: Record<string, unknown> }> => {
    const r = await request(`${url}/v2/${repository}/manifests/${reference}`, { headers: headers(repository, { accept: ALL_MANIFESTS }) });
    if (r.status !== 200) {
      await r.arrayBuffer().catch(() => undefined);
      return { status: r.status };
    }
    return { status: 200, json: (await r.json()) as Record<string, unknown> };
  };

  const listTags = async (repository: string): Promise<string[]> => {
    const r = await request(`${url}/v2/${repository}/tags/list`, { headers: headers(repository) });
    if (r.status === 404) {
      await r.arrayBuffer().catch(() => undefined);
      return [];
    }
    if (r.status !== 200) throw new Error(`tags of ${repository}: ${r.status} ${await r.text()}`);
    return (((await r.json()) as { tags?: string[] | null }).tags ?? []).sort();
  };

  return {
    host: tokenServer?.host ?? address,
    url,
    auth,
    ...(caPem ? { caPem } : {}),
    ...(tokenServer ? { tokenServer: { url: tokenServer.url, requests: tokenServer.requests } } : {}),
    pushBlob,
    pushManifest,
    pushImage,
    pushIndex,
    pushArtifact,
    tag,
    readManifest,
    listTags,
    logs: () => output,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      await dispatcher?.close();
      await tokenServer?.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
