/**
 * The OAuth 2.0 device authorization grant (RFC 8628) against an OpenID provider, for an
 * identity token: works where no browser can be redirected back (remote and web sessions).
 * Endpoints come from discovery; responses are untrusted (size-capped, shape-checked,
 * time-limited). The token is returned, never logged.
 */
import { SigstoreError } from '../errors';

export class OidcError extends SigstoreError {}

export interface DeviceCode {
  readonly userCode: string;
  readonly verificationUri: string;
  /** The URI with the code filled in, when the provider offers one. */
  readonly verificationUriComplete?: string;
  readonly expiresInSeconds: number;
}

export interface DeviceFlowOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes?: readonly string[];
  /** Shows the code to the person (a modal, a terminal line); the flow polls meanwhile. */
  readonly onCode: (code: DeviceCode) => void | Promise<void>;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /** Waits between polls; injectable so tests need not wait for real time. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called with each wait, for progress ("checking again in 5 s"). */
  readonly onPoll?: (waitMs: number) => void;
}

const MAX_RESPONSE_BYTES = 256 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_STEP_S = 5;
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Runs the device flow to its end and returns the ID token. */
export async function deviceFlowIdToken(options: DeviceFlowOptions): Promise<string> {
  const http = new Http(options.fetch ?? fetch, options.signal);
  const discovery = await http.json('GET', `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (discovery.status !== 200) throw new OidcError('DISCOVERY_FAILED', `The OpenID provider ${options.issuer} answered ${discovery.status} to discovery.`, 'Check the OIDC issuer setting.');
  const config = discovery.body;
  const deviceEndpoint = stringField(config, 'device_authorization_endpoint');
  const tokenEndpoint = stringField(config, 'token_endpoint');
  if (stringField(config, 'issuer') !== options.issuer.replace(/\/$/, '') && stringField(config, 'issuer') !== options.issuer) {
    throw new OidcError('DISCOVERY_FAILED', `The provider at ${options.issuer} says it is ${stringField(config, 'issuer') ?? 'nobody'}.`, 'Check the OIDC issuer setting.');
  }
  if (!deviceEndpoint || !tokenEndpoint) {
    throw new OidcError('NO_DEVICE_FLOW', `The OpenID provider ${options.issuer} offers no device authorization endpoint.`, 'Use the browser (loopback) sign-in instead, or another issuer.');
  }

  const authorization = await http.json('POST', deviceEndpoint, { client_id: options.clientId, scope: (options.scopes ?? ['openid', 'email']).join(' ') });
  if (authorization.status !== 200) throw errorFrom(authorization.body, 'The provider refused to start the sign-in');
  const a = authorization.body;
  const deviceCode = stringField(a, 'device_code');
  const userCode = stringField(a, 'user_code');
  const verificationUri = stringField(a, 'verification_uri') ?? stringField(a, 'verification_url');
  const expiresIn = numberField(a, 'expires_in') ?? 600;
  if (!deviceCode || !userCode || !verificationUri) {
    throw new OidcError('BAD_RESPONSE', 'The provider did not return a device code, user code and verification URI.', 'Check the OIDC issuer setting.');
  }
  let intervalS = Math.max(0, numberField(a, 'interval') ?? DEFAULT_INTERVAL_S);
  await options.onCode({ userCode, verificationUri, verificationUriComplete: stringField(a, 'verification_uri_complete'), expiresInSeconds: expiresIn });

  const sleep = options.sleep ?? abortableSleep;
  let waitedMs = 0;
  for (;;) {
    if (waitedMs > expiresIn * 1000) throw expired();
    const wait = intervalS * 1000;
    options.onPoll?.(wait);
    await sleep(wait, options.signal);
    waitedMs += wait;
    const token = await http.json('POST', tokenEndpoint, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: options.clientId });
    if (token.status === 200) {
      const idToken = stringField(token.body, 'id_token');
      if (!idToken) throw new OidcError('BAD_RESPONSE', 'The provider issued no ID token (was the "openid" scope granted?).', 'Check the OIDC client settings.');
      return idToken;
    }
    const code = stringField(token.body, 'error');
    if (code === 'authorization_pending') continue;
    if (code === 'slow_down') {
      intervalS += SLOW_DOWN_STEP_S;
      continue;
    }
    if (code === 'access_denied') throw new OidcError('ACCESS_DENIED', 'The sign-in was refused in the browser.', 'Start again and approve the request, if it was yours.');
    if (code === 'expired_token') throw expired();
    throw errorFrom(token.body, 'The provider refused the sign-in');
  }
}

function expired(): OidcError {
  return new OidcError('EXPIRED', 'The sign-in code expired before it was approved.', 'Start again and approve the code in time.');
}

function errorFrom(body: Record<string, unknown>, what: string): OidcError {
  const code = stringField(body, 'error') ?? 'unknown_error';
  const description = stringField(body, 'error_description');
  return new OidcError('PROVIDER_ERROR', `${what}: ${code}${description ? ` (${description.slice(0, 200)})` : ''}.`, 'Check the OIDC issuer and client settings.');
}

function stringField(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function numberField(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelled(): OidcError {
  return new OidcError('CANCELLED', 'The sign-in was cancelled.', 'Start again when you are ready.');
}

/** JSON over HTTP with a timeout, the caller's cancellation and a size cap. */
class Http {
  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly signal?: AbortSignal,
  ) {}

  async json(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    if (this.signal?.aborted) throw cancelled();
    const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...(this.signal ? [this.signal] : [])];
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: { accept: 'application/json', ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        body: form ? new URLSearchParams(form).toString() : undefined,
        redirect: 'error',
        signal: AbortSignal.any(signals),
      });
    } catch (e) {
      if (this.signal?.aborted) throw cancelled();
      throw new OidcError('NETWORK', `Cannot reach ${new URL(url).origin}: ${(e as Error).message}.`, 'Check the network and the OIDC issuer setting.');
    }
    const text = await readCapped(response);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OidcError('BAD_RESPONSE', `${new URL(url).origin} answered ${response.status} with something that is not JSON.`, 'Check the OIDC issuer setting.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new OidcError('BAD_RESPONSE', `${new URL(url).origin} answered with JSON that is not an object.`, 'Check the OIDC issuer setting.');
    }
    return { status: response.status, body: body as Record<string, unknown> };
  }
}

async function readCapped(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new OidcError('BAD_RESPONSE', 'The OpenID provider sent an oversized response.', 'Check the OIDC issuer setting.');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
