/**
 * One way to get an identity token for Fulcio, for the editor and the CLI alike: a token the
 * CI job already has wins (nobody is there to sign in), else the person signs in with the
 * flow chosen. The token is read, not verified, to name the identity and fail early.
 */
import { ambientIdToken } from './ambientToken';
import { deviceFlowIdToken, type DeviceCode } from './deviceFlow';
import { browserIdToken } from './loopbackFlow';
import { OidcError, unverifiedClaims } from './openidProvider';

export type SignInFlow = 'device' | 'browser';

export interface IdentityTokenOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly flow: SignInFlow;
  readonly scopes?: readonly string[];
  /** Where ambient CI tokens are looked up (default process.env); pass {} to skip them. */
  readonly env?: NodeJS.ProcessEnv;
  /** Device flow: show the code; awaited before polling starts; throwing aborts the flow. */
  readonly onDeviceCode: (code: DeviceCode) => void | Promise<void>;
  readonly onPoll?: (waitMs: number) => void;
  /** Browser flow: open the authorization URL. */
  readonly openBrowser: (url: string) => void | Promise<void>;
  readonly redirectPort?: number;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface IdentityToken {
  readonly token: string;
  /** Where it came from, for messages: 'SIGSTORE_ID_TOKEN' | 'GitHub Actions' | 'device flow' | 'browser sign-in' | 'given'. */
  readonly source: string;
  /** The identity Fulcio will certify: the e-mail claim when present, else `sub`. */
  readonly identity: string;
  readonly issuer: string;
}

export async function obtainIdentityToken(options: IdentityTokenOptions): Promise<IdentityToken> {
  // Checked at run time too: the flow comes from settings and command lines.
  if (options.flow !== 'device' && options.flow !== 'browser') {
    throw new OidcError('BAD_FLOW', `"${String(options.flow)}" is not a sign-in flow.`, 'Choose "device" (a code to enter in any browser) or "browser" (this machine\'s browser).');
  }
  const ambient = await ambientIdToken({ env: options.env, fetch: options.fetch, signal: options.signal });
  if (ambient) return describeIdentityToken(ambient.token, ambient.source);

  const common = { issuer: options.issuer, clientId: options.clientId, scopes: options.scopes, signal: options.signal, fetch: options.fetch };
  if (options.flow === 'device') {
    const token = await deviceFlowIdToken({ ...common, onCode: options.onDeviceCode, onPoll: options.onPoll, sleep: options.sleep });
    return describeIdentityToken(token, 'device flow');
  }
  const token = await browserIdToken({ ...common, openBrowser: options.openBrowser, port: options.redirectPort });
  return describeIdentityToken(token, 'browser sign-in');
}

/** Reads a token's claims WITHOUT verifying (for messages and to fail early); throws OidcError code 'IDENTITY_TOKEN' with an actionable message when it is not a JWT with iss and (email or sub), or when `exp` is in the past. */
export function describeIdentityToken(token: string, source = 'given'): IdentityToken {
  const fail = (problem: string) => new OidcError('IDENTITY_TOKEN', `${tokenFrom(source)} ${problem}.`, remedyFor(source));
  const claims = unverifiedClaims(token);
  if (!claims) throw fail('is not a JWT (three base64url parts with a JSON payload)');
  const issuer = nonEmpty(claims.iss);
  if (!issuer) throw fail('names no issuer (iss)');
  const identity = nonEmpty(claims.email) ?? nonEmpty(claims.sub);
  if (!identity) throw fail('names no identity (neither email nor sub)');
  const exp = claims.exp;
  if (typeof exp === 'number' && exp * 1000 <= Date.now()) {
    const minutes = Math.max(1, Math.round((Date.now() - exp * 1000) / 60_000));
    throw fail(`expired ${minutes} min ago (${new Date(exp * 1000).toISOString()})`);
  }
  return { token, source, identity, issuer };
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function tokenFrom(source: string): string {
  if (source === 'given') return 'The given identity token';
  if (source === 'device flow' || source === 'browser sign-in') return `The identity token from the ${source}`;
  return `The identity token from ${source}`;
}

function remedyFor(source: string): string {
  switch (source) {
    case 'SIGSTORE_ID_TOKEN':
      return 'Set SIGSTORE_ID_TOKEN to a current OpenID Connect ID token, or unset it to sign in interactively.';
    case 'GitHub Actions':
      return 'Run the job again; it needs the "id-token: write" permission.';
    case 'device flow':
    case 'browser sign-in':
      return 'Sign in again; if it happens again, check the OIDC issuer setting.';
    default:
      return 'Pass a current OpenID Connect ID token (a JWT) issued for audience "sigstore".';
  }
}
