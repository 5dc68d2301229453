/**
 * The OAuth 2.0 device authorization grant (RFC 8628) against an OpenID provider, for an
 * identity token: works where no browser can be redirected back (remote and web sessions).
 * Endpoints come from discovery; responses are untrusted (see openidProvider.ts). The token
 * is returned, never logged.
 */
import { abortableSleep, discoverProvider, numberField, OidcError, OidcHttp, providerError, stringField } from './openidProvider';

export { OidcError } from './openidProvider';

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

const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_STEP_S = 5;
const MIN_INTERVAL_S = 1;
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Runs the device flow to its end and returns the ID token. */
export async function deviceFlowIdToken(options: DeviceFlowOptions): Promise<string> {
  const http = new OidcHttp(options.fetch ?? fetch, options.signal);
  const provider = await discoverProvider(http, options.issuer);
  const deviceEndpoint = provider.deviceAuthorizationEndpoint;
  if (!deviceEndpoint) {
    throw new OidcError('NO_DEVICE_FLOW', `The OpenID provider ${options.issuer} offers no device authorization endpoint.`, 'Use the browser (loopback) sign-in instead, or another issuer.');
  }

  const authorization = await http.json('POST', deviceEndpoint, { client_id: options.clientId, scope: (options.scopes ?? ['openid', 'email']).join(' ') });
  if (authorization.status !== 200) throw providerError(authorization.body, 'The provider refused to start the sign-in');
  const a = authorization.body;
  const deviceCode = stringField(a, 'device_code');
  const userCode = stringField(a, 'user_code');
  const verificationUri = stringField(a, 'verification_uri') ?? stringField(a, 'verification_url');
  const expiresIn = numberField(a, 'expires_in') ?? 600;
  if (!deviceCode || !userCode || !verificationUri) {
    throw new OidcError('BAD_RESPONSE', 'The provider did not return a device code, user code and verification URI.', 'Check the OIDC issuer setting.');
  }
  // A missing, zero or negative interval would make us hammer the provider: RFC 8628's 5 s then.
  const offered = numberField(a, 'interval');
  let intervalS = offered !== undefined && offered >= MIN_INTERVAL_S ? offered : DEFAULT_INTERVAL_S;
  const deadline = Date.now() + expiresIn * 1000;
  await options.onCode({ userCode, verificationUri, verificationUriComplete: stringField(a, 'verification_uri_complete'), expiresInSeconds: expiresIn });

  const sleep = options.sleep ?? abortableSleep;
  // Both clocks: the real one, and the waits asked for (an injected sleep may not take time).
  let waitedMs = 0;
  for (;;) {
    if (waitedMs > expiresIn * 1000 || Date.now() > deadline) throw expired();
    const wait = intervalS * 1000;
    options.onPoll?.(wait);
    await sleep(wait, options.signal);
    waitedMs += wait;
    const token = await http.json('POST', provider.tokenEndpoint, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: options.clientId });
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
    throw providerError(token.body, 'The provider refused the sign-in');
  }
}

function expired(): OidcError {
  return new OidcError('EXPIRED', 'The sign-in code expired before it was approved.', 'Start again and approve the code in time.');
}
