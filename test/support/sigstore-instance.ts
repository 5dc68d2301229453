// A local Sigstore instance (Fulcio CA + CT log, Rekor, TSA) on 127.0.0.1, built
// from @sigstore/mock, and helpers that sign through @sigstore/sign's real
// client code against it. See docs/TESTING.md §5.
import crypto from 'node:crypto';
import http from 'node:http';

import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
  type HandlerFn,
} from '@sigstore/mock';
import {
  HashAlgorithm,
  PublicKeyDetails,
  TrustedRoot,
  type TransparencyLogInstance,
} from '@sigstore/protobuf-specs';
import {
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
  TSAWitness,
  type Artifact,
  type BundleBuilder,
  type Witness,
} from '@sigstore/sign';

import type { FulcioGate } from './fulcio-gate';
import { listenOnLoopback, stopServer } from './loopback-server';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
// Made-up predicate: the fixtures only need a well-formed Statement, and a
// real predicate type (e.g. SLSA) would promise content we do not provide.
export const FIXTURE_PREDICATE_TYPE = 'https://sigstore-vscode.test/fixture/v1';

export const DEFAULT_IDENTITY = 'alice@example.test';
export const DEFAULT_ISSUER = 'https://issuer.example.test';

/** TrustedRoot in its protobuf-specs JSON form (what a trusted_root.json holds). */
export interface TrustedRootJSON {
  mediaType: string;
  [field: string]: unknown;
}

export interface SigstoreInstance {
  fulcioURL: string;
  rekorURL: string;
  tsaURL: string;
  trustedRoot: TrustedRootJSON;
  /** The fixed time every service stamps (certificate notBefore, integratedTime, SCT, TSA genTime). */
  clock: Date;
  close(): Promise<void>;
}

export interface SignOptions {
  /** E-mail identity put in the certificate's SAN. */
  identity?: string;
  /** OIDC issuer written to the certificate's issuer extensions. */
  issuer?: string;
  /** Also get an RFC 3161 timestamp from the instance's TSA. */
  useTSA?: boolean;
  /**
   * Extra token claims. The mock turns known GitHub claims (repository, ref,
   * sha, workflow, event_name, job_workflow_ref, ...) into Fulcio extensions.
   */
  claims?: Record<string, string>;
}

export interface SignFileOptions extends SignOptions {
  /** Statement subject name for kind 'dsse'; default 'artifact'. */
  subjectName?: string;
}

const MS_PER_DAY = 24 * 60 * 60 * 1000;

export interface SigstoreInstanceOptions {
  clock?: Date;
  /**
   * Fulcio's identity-token checks (test/support/fulcio-gate.ts), run before the mock CA
   * issues anything. Without one the mock certifies any decodable token.
   */
  fulcioGate?: FulcioGate;
}

export async function startSigstoreInstance(opts: SigstoreInstanceOptions = {}): Promise<SigstoreInstance> {
  // Whole seconds: with a fractional clock the mock TSA writes a GeneralizedTime
  // with fractions that @sigstore/core sometimes rejects, and Rekor truncates
  // integratedTime to seconds anyway.
  const clock = floorToSecond(opts.clock ?? new Date(Date.now() - 60 * 60 * 1000));
  // The mock's root and TSA certificates start at "now"; they must already be
  // valid at `clock` (chains are checked at the signing time), so they are made
  // as if a day earlier. The trusted root's validFor.start uses the same time.
  const validFrom = new Date(clock.getTime() - MS_PER_DAY);

  const routes = new Map<string, HandlerFn>();
  const server = http.createServer((req, res) => route(routes, req, res));
  const host = await listenOnLoopback(server);
  // One origin serves all three APIs: their paths do not overlap, and the sign
  // clients append the API path to a bare origin (a TSA URL with a path would be
  // taken as the full endpoint).
  const baseURL = `http://${host}`;
  const close = () => stopServer(server);

  try {
    // Separate keys, as in a real deployment (log IDs are key hashes).
    const [caKeys, ctKeys, tlogKeys, tsaKeys] = [0, 1, 2, 3].map(() =>
      crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }),
    );
    const ctlog = await initializeCTLog(ctKeys, clock);
    const tlog = await initializeTLog(baseURL, tlogKeys, clock);
    const [ca, tsa] = await withDateAt(validFrom, () =>
      Promise.all([initializeCA(caKeys, ctlog, clock), initializeTSA(tsaKeys, clock)]),
    );

    // subjectClaim 'email': the SAN comes from the token's e-mail, as Fulcio
    // does for e-mail identities. The mock checks nothing else in the token.
    const fulcio = fulcioHandler(ca, { subjectClaim: 'email' });
    for (const h of [fulcio, rekorHandler(tlog), tsaHandler(tsa)]) {
      routes.set(h.path, h.fn);
    }
    const gate = opts.fulcioGate;
    if (gate) {
      routes.set(fulcio.path, async (body) => {
        const verdict = await gate(body);
        if (verdict.ok) return fulcio.fn(body);
        // Fulcio's error body: a gRPC-gateway status with code and message.
        return { statusCode: verdict.status, contentType: 'application/json', response: JSON.stringify({ code: verdict.status === 401 ? 16 : 3, message: verdict.message }) };
      });
    }

    // Empty operators are left out of the JSON: cosign 2.5 predates the field and refuses a
    // whole trusted root that has one.
    const root: TrustedRoot = {
      mediaType: TRUSTED_ROOT_MEDIA_TYPE,
      certificateAuthorities: [
        {
          subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
          uri: baseURL,
          certChain: { certificates: [{ rawBytes: toBuffer(ca.rootCertificate) }] },
          validFor: { start: validFrom },
          operator: '',
        },
      ],
      ctlogs: [logInstance(baseURL, ctlog.publicKey, validFrom)],
      tlogs: [logInstance(baseURL, tlog.publicKey, validFrom)],
      timestampAuthorities: [
        {
          subject: { organization: 'sigstore.mock', commonName: 'tsa' },
          uri: baseURL,
          // Signing certificate first, then its root: @sigstore/verify takes
          // certChain[0] as the TSA's signer.
          certChain: {
            certificates: [{ rawBytes: toBuffer(tsa.intCertificate) }, { rawBytes: toBuffer(tsa.rootCertificate) }],
          },
          validFor: { start: validFrom },
          operator: '',
        },
      ],
    };

    return {
      fulcioURL: baseURL,
      rekorURL: baseURL,
      tsaURL: baseURL,
      trustedRoot: TrustedRoot.toJSON(root) as TrustedRootJSON,
      clock,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Signs `bytes` as a message signature (bundle v0.2) or as an in-toto DSSE attestation (v0.3) naming them. */
export async function signFile(
  inst: SigstoreInstance,
  bytes: Buffer,
  kind: 'message' | 'dsse',
  opts: SignFileOptions = {},
): Promise<SerializedBundle> {
  if (kind === 'message') {
    return build(new MessageSignatureBundleBuilder({ signer: signer(inst, opts), witnesses: witnesses(inst, kind, opts) }), {
      data: bytes,
    });
  }
  const statement = inTotoStatement([{ name: opts.subjectName ?? 'artifact', sha256: sha256Hex(bytes) }]);
  return signStatement(inst, statement, opts);
}

/** DSSE bundle over arbitrary statement bytes, e.g. one whose subject does not match the file. */
export async function signStatement(
  inst: SigstoreInstance,
  statementBytes: Buffer,
  opts: SignOptions = {},
): Promise<SerializedBundle> {
  return build(new DSSEBundleBuilder({ signer: signer(inst, opts), witnesses: witnesses(inst, 'dsse', opts) }), {
    data: statementBytes,
    type: IN_TOTO_PAYLOAD_TYPE,
  });
}

/** An in-toto Statement v1 (canonical bytes are not required by DSSE; plain JSON). */
export function inTotoStatement(subjects: Array<{ name: string; sha256: string }>): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_V1,
      subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
      predicateType: FIXTURE_PREDICATE_TYPE,
      predicate: {},
    }),
  );
}

export function sha256Hex(bytes: Buffer): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

async function build(builder: BundleBuilder, artifact: Artifact): Promise<SerializedBundle> {
  return bundleToJSON(await builder.create(artifact));
}

function signer(inst: SigstoreInstance, opts: SignOptions): FulcioSigner {
  const identity = opts.identity ?? DEFAULT_IDENTITY;
  const issuer = opts.issuer ?? DEFAULT_ISSUER;
  const iat = Math.floor(inst.clock.getTime() / 1000);
  const token = unsignedJWT({
    ...opts.claims,
    iss: issuer,
    sub: identity,
    aud: 'sigstore',
    // FulcioSigner refuses an e-mail token without email_verified.
    email: identity,
    email_verified: true,
    iat,
    exp: iat + 600,
  });
  return new FulcioSigner({ fulcioBaseURL: inst.fulcioURL, identityProvider: { getToken: async () => token } });
}

function witnesses(inst: SigstoreInstance, kind: 'message' | 'dsse', opts: SignOptions): Witness[] {
  // The mock Rekor logs the proposed entry as is; a 'dsse' entry body then does
  // not match what @sigstore/verify expects, an 'intoto' one does.
  const list: Witness[] = [
    new RekorWitness({ rekorBaseURL: inst.rekorURL, entryType: kind === 'dsse' ? 'intoto' : undefined }),
  ];
  if (opts.useTSA) {
    list.push(new TSAWitness({ tsaBaseURL: inst.tsaURL }));
  }
  return list;
}

// Not signed: the mock Fulcio only decodes the token. Real token checks belong
// in front of it (a later issue).
function unsignedJWT(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

function logInstance(baseUrl: string, spki: Buffer, validFrom: Date): TransparencyLogInstance {
  return {
    baseUrl,
    hashAlgorithm: HashAlgorithm.SHA2_256,
    publicKey: {
      rawBytes: spki,
      keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
      validFor: { start: validFrom },
    },
    logId: { keyId: crypto.createHash('sha256').update(spki).digest() },
    checkpointKeyId: undefined,
    operator: '',
  };
}

function route(routes: Map<string, HandlerFn>, req: http.IncomingMessage, res: http.ServerResponse): void {
  const fn = req.method === 'POST' ? routes.get(new URL(req.url ?? '/', 'http://localhost').pathname) : undefined;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (!fn) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    fn(Buffer.concat(chunks).toString('utf8')).then(
      (r) => {
        const body = typeof r.response === 'string' ? r.response : toBuffer(r.response);
        res.writeHead(r.statusCode, { 'Content-Type': r.contentType ?? 'text/plain' }).end(body);
      },
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err)),
    );
  });
}


// Runs `fn` with the global Date reading `at` for "now" (new Date(), Date.now()).
// The mock takes the validity start of its root and TSA certificates from the
// real clock, with no option; this is the only way to back-date them.
// Everything else in the process sees the shifted clock while `fn` runs, so keep
// `fn` to the mock's initialisation. Calls are queued: two overlapping patches
// would restore each other's fake Date and leave it in place for good.
let dateLock: Promise<unknown> = Promise.resolve();
function withDateAt<T>(at: Date, fn: () => Promise<T>): Promise<T> {
  const run = async () => {
    const RealDate = globalThis.Date;
    const fixed = at.getTime();
    globalThis.Date = new Proxy(RealDate, {
      construct: (target, args, newTarget) =>
        Reflect.construct(target, args.length === 0 ? [fixed] : args, newTarget) as object,
      get: (target, prop, receiver) => (prop === 'now' ? () => fixed : Reflect.get(target, prop, receiver)),
    });
    try {
      return await fn();
    } finally {
      globalThis.Date = RealDate;
    }
  };
  const result = dateLock.then(run, run);
  dateLock = result.catch(() => undefined);
  return result;
}

function floorToSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function toBuffer(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
