/**
 * What both sign-in flows need from an OpenID provider: its discovery document and JSON
 * over HTTP. Every answer is untrusted: size-capped, time-limited, shape-checked, and the
 * caller's cancellation is honoured. Nothing here logs, and no error quotes a token.
 */
import { SigstoreError } from '../errors';
import { pause } from '../abortable';
import { printable } from '../text/printable';

export class OidcError extends SigstoreError {}

export interface ProviderMetadata {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly authorizationEndpoint?: string;
  readonly deviceAuthorizationEndpoint?: string;
  /** `code_challenge_methods_supported`, when the provider lists it. */
  readonly codeChallengeMethods?: readonly string[];
  /** The provider promises `iss` on authorization responses (RFC 9207). */
  readonly issInAuthorizationResponse: boolean;
}

export interface JsonAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const MAX_RESPONSE_BYTES = 256 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
const CHECK_ISSUER = 'Check the OIDC issuer setting.';

/** Reads and checks the provider's discovery document (OpenID Connect Discovery 1.0 §4). */
export async function discoverProvider(http: OidcHttp, issuer: string): Promise<ProviderMetadata> {
  const base = issuer.replace(/\/$/, '');
  const discovery = await http.json('GET', `${base}/.well-known/openid-configuration`);
  if (discovery.status !== 200) throw new OidcError('DISCOVERY_FAILED', `The OpenID provider ${issuer} answered ${discovery.status} to discovery.`, CHECK_ISSUER);
  const config = discovery.body;
  const claimed = stringField(config, 'issuer');
  // A document naming another issuer would have us send the person to someone else's login.
  if (claimed !== base && claimed !== issuer) {
    throw new OidcError('DISCOVERY_FAILED', `The provider at ${issuer} says it is ${claimed ?? 'nobody'}.`, CHECK_ISSUER);
  }
  const tokenEndpoint = stringField(config, 'token_endpoint');
  if (!tokenEndpoint) throw new OidcError('DISCOVERY_FAILED', `The OpenID provider ${issuer} names no token endpoint.`, CHECK_ISSUER);
  const methods = config.code_challenge_methods_supported;
  return {
    issuer: claimed,
    tokenEndpoint,
    authorizationEndpoint: stringField(config, 'authorization_endpoint'),
    deviceAuthorizationEndpoint: stringField(config, 'device_authorization_endpoint'),
    codeChallengeMethods: Array.isArray(methods) ? methods.filter((m): m is string => typeof m === 'string') : undefined,
    issInAuthorizationResponse: config.authorization_response_iss_parameter_supported === true,
  };
}

/** JSON over HTTP with a timeout, the caller's cancellation and a size cap. */
export class OidcHttp {
  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly signal?: AbortSignal,
  ) {}

  async json(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<JsonAnswer> {
    if (this.signal?.aborted) throw cancelledError();
    const origin = originOf(url);
    const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...(this.signal ? [this.signal] : [])];
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: { accept: 'application/json', ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        body: form ? new URLSearchParams(form).toString() : undefined,
        redirect: 'error',
        signal: AbortSignal.any(signals),
      });
      text = await readCapped(response);
    } catch (e) {
      if (this.signal?.aborted) throw cancelledError();
      if (e instanceof OidcError) throw e;
      throw new OidcError('NETWORK', `Cannot reach ${origin}: ${networkReason(e)}.`, 'Check the network and the OIDC issuer setting.');
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OidcError('BAD_RESPONSE', `${origin} answered ${response.status} with something that is not JSON.`, CHECK_ISSUER);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new OidcError('BAD_RESPONSE', `${origin} answered with JSON that is not an object.`, CHECK_ISSUER);
    }
    return { status: response.status, body: body as Record<string, unknown> };
  }
}

/** An OAuth error answer (RFC 6749 §5.2) as an OidcError; the description is the provider's, shortened. */
export function providerError(body: Record<string, unknown>, what: string): OidcError {
  const code = stringField(body, 'error') ?? 'unknown_error';
  const description = stringField(body, 'error_description');
  return new OidcError('PROVIDER_ERROR', `${what}: ${printable(code, 60)}${description ? ` (${printable(description, 200)})` : ''}.`, 'Check the OIDC issuer and client settings.');
}

export function cancelledError(): OidcError {
  return new OidcError('CANCELLED', 'The sign-in was cancelled.', 'Start again when you are ready.');
}

export function stringField(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function numberField(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The claims of a JWT, read WITHOUT checking its signature (Fulcio does that): only for
 * early, friendly failures and messages. Undefined when it is not a JWT with a JSON object payload.
 */
export function unverifiedClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits `ms`, or rejects with CANCELLED as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return pause(ms, signal).catch(() => {
    throw cancelledError();
  });
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
      throw new OidcError('BAD_RESPONSE', 'The OpenID provider sent an oversized response.', CHECK_ISSUER);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the OpenID provider';
  }
}

/** fetch() says only "fetch failed"; the system error code underneath is what helps. */
function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (e instanceof Error && e.name === 'TimeoutError') return 'no answer in time';
  return e instanceof Error ? e.message : String(e);
}

