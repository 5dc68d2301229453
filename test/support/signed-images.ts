// What the image tests sign with: the real cosign 2.5.0 and oras 1.2.0 (.tools/, see
// TESTING.md §3) writing to a real docker-registry (test/support/registry.ts), keyless against
// the sandbox (local OpenID provider + Fulcio/Rekor, test/support/sandbox.ts) or with cosign
// keys; and a referrers-API test double in front of docker-registry, which has no such API.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import crypto, { createPublicKey } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COSIGN, TOOLS, requireCosign } from './cosign';
import { startFulcioV1Adapter } from './fulcio-v1-adapter';
import { startSandbox, type Sandbox } from './sandbox';
import { listenOnLoopback, stopServer } from './loopback-server';

export const ORAS = join(TOOLS, 'usr/bin/oras');
export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Predicates for `cosign attest --type …` that cosign 2.5 accepts. */
export const PREDICATES = {
  slsaprovenance: { buildType: 'https://example.test/build/v1', builder: { id: 'https://example.test/builder' }, invocation: { configSource: {} } },
  slsaprovenance1: { buildDefinition: { buildType: 'https://example.test/build/v1', externalParameters: {} }, runDetails: { builder: { id: 'https://example.test/builder' } } },
  spdxjson: { spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'app', documentNamespace: 'https://example.test/spdx/app', creationInfo: { created: '2024-01-01T00:00:00Z', creators: ['Tool: test'] }, packages: [] },
  cyclonedx: { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, components: [] },
} as const;

export interface SigningKit {
  readonly dir: string;
  readonly sandbox: Sandbox;
  /** The identity keyless signatures are made as (unless another is asked for). */
  readonly email: string;
  /** Runs cosign (cwd: dir); resolves with its exit code and output. */
  cosign(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<ToolRun>;
  /** Like cosign, but fails the test unless it exits 0. */
  cosignOK(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<ToolRun>;
  orasOK(args: string[]): Promise<ToolRun>;
  /** `cosign generate-key-pair --output-key-prefix <prefix>`: `<dir>/<prefix>.key|.pub`. */
  keyPair(prefix: string): Promise<{ key: string; pub: string }>;
  /** The flags of a keyless cosign sign/attest against the sandbox, with a fresh token for `email`. */
  keylessFlags(email?: string): Promise<string[]>;
  /** Writes `<dir>/<name>` and returns its path. */
  file(name: string, content: string | object): Promise<string>;
  /** The password (COSIGN_PASSWORD) keyPair encrypts keys with: give it to other signers of those keys. */
  readonly keyPassword: string;
  /** A fresh identity token from the sandbox's provider for `email` (as keylessFlags holds), for --identity-token of our CLI. */
  identityToken(email?: string): Promise<string>;
  /**
   * The environment that lets cosign 2.5 `verify` / `verify-attestation` check keyless
   * signatures of the sandbox offline (TUF is unreachable): the Fulcio CA as SIGSTORE_ROOT_FILE
   * and the Rekor key as SIGSTORE_REKOR_PUBLIC_KEY, written from the sandbox's trusted root (the
   * CT log key is in the kit's environment already).
   */
  cosignKeylessTrust(): Promise<NodeJS.ProcessEnv>;
  close(): Promise<void>;
}

function runTool(tool: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ToolRun> {
  return new Promise((done) => {
    execFile(tool, args, { cwd, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The sandbox, a Fulcio v1 adapter for cosign 2.5, and a folder for keys and predicates. */
export async function startSigningKit(): Promise<SigningKit> {
  await requireCosign();
  const dir = await mkdtemp(join(tmpdir(), 'sigstore-images-'));
  await mkdir(join(dir, 'home'));
  const sandbox = await startSandbox(join(dir, 'sandbox'));
  const adapter = await startFulcioV1Adapter(sandbox.fulcioURL);
  const rekor = await startRekorFront(sandbox.rekorURL);
  // cosign checks the SCT of its certificate with this key (TUF is unreachable offline).
  const ctlog = (sandbox.sigstore.trustedRoot as unknown as { ctlogs: Array<{ publicKey: { rawBytes: string } }> }).ctlogs[0]!.publicKey.rawBytes;
  await writeFile(join(dir, 'ctlog.pub'), createPublicKey({ key: Buffer.from(ctlog, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: join(dir, 'home'), NO_PROXY: '127.0.0.1', COSIGN_PASSWORD: 'image test password', SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: join(dir, 'ctlog.pub') };
  const email = 'release@example.test';

  const cosign = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runTool(COSIGN, args, dir, { ...env, ...extraEnv });
  const cosignOK = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const r = await cosign(args, extraEnv);
    assert.equal(r.code, 0, `cosign ${args.filter((a) => !a.startsWith('eyJ')).join(' ')} exited ${r.code}:\n${r.stderr}`);
    return r;
  };
  const orasOK = async (args: string[]) => {
    const r = await runTool(ORAS, args, dir, env);
    assert.equal(r.code, 0, `oras ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
    return r;
  };
  return {
    dir,
    sandbox,
    email,
    cosign,
    cosignOK,
    orasOK,
    async keyPair(prefix) {
      await cosignOK(['generate-key-pair', '--output-key-prefix', prefix]);
      return { key: join(dir, `${prefix}.key`), pub: join(dir, `${prefix}.pub`) };
    },
    async keylessFlags(who = email) {
      const now = Math.floor(Date.now() / 1000);
      const token = await sandbox.oidc.mintIdToken({ iss: sandbox.issuer, aud: 'sigstore', sub: who, email: who, email_verified: true, iat: now, exp: now + 600 });
      return ['--fulcio-url', adapter.url, '--rekor-url', rekor.url, '--identity-token', token, '--allow-http-registry', '-y'];
    },
    async file(name, content) {
      const path = join(dir, name);
      await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
      return path;
    },
    keyPassword: env.COSIGN_PASSWORD!,
    async identityToken(who = email) {
      const now = Math.floor(Date.now() / 1000);
      return sandbox.oidc.mintIdToken({ iss: sandbox.issuer, aud: 'sigstore', sub: who, email: who, email_verified: true, iat: now, exp: now + 600 });
    },
    async cosignKeylessTrust() {
      const root = sandbox.sigstore.trustedRoot as unknown as {
        tlogs: Array<{ publicKey: { rawBytes: string } }>;
        certificateAuthorities: Array<{ certChain: { certificates: Array<{ rawBytes: string }> } }>;
      };
      const pem = (der: string) => `-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
      const rekorKey = createPublicKey({ key: Buffer.from(root.tlogs[0]!.publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' });
      await writeFile(join(dir, 'sandbox-rekor.pub'), rekorKey);
      await writeFile(join(dir, 'sandbox-fulcio.pem'), root.certificateAuthorities.flatMap((ca) => ca.certChain.certificates.map((c) => pem(c.rawBytes))).join(''));
      return { SIGSTORE_REKOR_PUBLIC_KEY: join(dir, 'sandbox-rekor.pub'), SIGSTORE_ROOT_FILE: join(dir, 'sandbox-fulcio.pem') };
    },
    async close() {
      await Promise.allSettled([adapter.close(), rekor.close(), sandbox.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}


/**
 * The sandbox's Rekor (@sigstore/mock) logs a proposed entry as it is; real Rekor logs the
 * canonical form of a `dsse` v0.0.1 entry (envelopeHash, payloadHash, signatures with their
 * verifier), and that is what verifiers read. cosign 2.5's `attest` proposes `dsse` entries,
 * so this front rewrites them into the canonical form before the mock logs (and signs) them;
 * everything else passes through. Without it, the log entries of keyless attestations are
 * not what a real log would hold, and @sigstore/verify rightly rejects them.
 */
async function startRekorFront(rekorURL: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(rekorURL);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Buffer = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url === '/api/v1/log/entries') body = canonicalDsse(body);
      const headers = { ...req.headers, 'content-length': String(body.length) };
      const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', (e) => res.writeHead(502).end(String(e)));
      forward.end(body);
    });
  });
  const host = await listenOnLoopback(server);
  return { url: `http://${host}`, close: () => stopServer(server) };
}

/** Rekor's canonical `dsse` v0.0.1 entry for a proposed one (rekor pkg/types/dsse/v0.0.1). */
function canonicalDsse(body: Buffer): Buffer {
  const proposed = JSON.parse(body.toString('utf8')) as { kind?: string; apiVersion?: string; spec?: { proposedContent?: { envelope: string; verifiers: string[] } } };
  const content = proposed.spec?.proposedContent;
  if (proposed.kind !== 'dsse' || proposed.apiVersion !== '0.0.1' || !content) return body;
  const envelope = JSON.parse(content.envelope) as { payload: string; signatures: Array<{ sig: string }> };
  const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');
  const canonical = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(content.envelope) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')) },
      signatures: envelope.signatures.map((s, i) => ({ signature: s.sig, verifier: content.verifiers[i] ?? content.verifiers[0] })),
    },
  };
  return Buffer.from(JSON.stringify(canonical));
}

export interface ReferrersDouble {
  /** `127.0.0.1:<port>`: push and read through this host. */
  readonly host: string;
  /** Requests to /v2/<name>/referrers/<digest> it answered. */
  readonly referrersRequests: readonly string[];
  close(): Promise<void>;
}

/**
 * A test double of an OCI 1.1 registry's referrers API in front of docker-registry 2.8 (which
 * has none): it forwards everything, remembers each manifest pushed through it that has a
 * `subject` (answering the push with `OCI-Subject`, as registries with the API do, so clients
 * write no fallback tag), and serves `GET /v2/<name>/referrers/<digest>` from what it saw,
 * with `artifactType` (the manifest's, else its config's media type) and annotations.
 */
export async function startReferrersDouble(upstreamUrl: string): Promise<ReferrersDouble> {
  const upstream = new URL(upstreamUrl);
  const referrers = new Map<string, Array<Record<string, unknown>>>();
  const referrersRequests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://double');
    const asked = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (asked && (req.method === 'GET' || req.method === 'HEAD')) {
      referrersRequests.push(req.url ?? '');
      const wanted = url.searchParams.get('artifactType');
      const all = referrers.get(`${asked[1]}@${asked[2]}`) ?? [];
      const manifests = wanted ? all.filter((d) => d.artifactType === wanted) : all;
      const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', ...(wanted ? { 'oci-filters-applied': 'artifactType' } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const pushed = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const headers = { ...answer.headers };
          if (pushed && req.method === 'PUT' && answer.statusCode === 201) {
            const subject = remember(pushed[1]!, body, req.headers['content-type']);
            if (subject) headers['oci-subject'] = subject;
          }
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (e) => res.writeHead(502).end(String(e)));
      forward.end(body);
    });
  });
  const remember = (name: string, body: Buffer, contentType: string | undefined): string | undefined => {
    let doc: { mediaType?: string; artifactType?: string; config?: { mediaType?: string }; subject?: { digest?: string }; annotations?: Record<string, string> };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      return undefined;
    }
    const subject = doc.subject?.digest;
    if (!subject) return undefined;
    const digest = `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
    const list = referrers.get(`${name}@${subject}`) ?? [];
    if (!list.some((d) => d.digest === digest)) {
      list.push({
        mediaType: doc.mediaType ?? contentType ?? 'application/vnd.oci.image.manifest.v1+json',
        digest,
        size: body.length,
        artifactType: doc.artifactType ?? doc.config?.mediaType,
        ...(doc.annotations ? { annotations: doc.annotations } : {}),
      });
    }
    referrers.set(`${name}@${subject}`, list);
    return subject;
  };
  return { host: await listenOnLoopback(server), referrersRequests, close: () => stopServer(server) };
}

/** A manifest (any kind) straight from the registry, for tests that inspect what a tool wrote. */
export async function rawManifest(registryUrl: string, repository: string, reference: string): Promise<{ status: number; json?: Record<string, unknown> }> {
  const accept = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');
  const r = await fetch(`${registryUrl}/v2/${repository}/manifests/${reference}`, { headers: { accept } });
  if (r.status !== 200) {
    await r.arrayBuffer();
    return { status: r.status };
  }
  return { status: 200, json: (await r.json()) as Record<string, unknown> };
}

/** The repository's tags, straight from the registry. */
export async function rawTags(registryUrl: string, repository: string): Promise<string[]> {
  const r = await fetch(`${registryUrl}/v2/${repository}/tags/list`);
  return (((await r.json()) as { tags?: string[] }).tags ?? []).sort();
}

