/**
 * Browser sign-in for a native app (RFC 8252): the OAuth 2.0 authorization code flow with
 * PKCE (S256), `state` and `nonce`, redirected back to a one-shot HTTP server on 127.0.0.1.
 *
 * Choices:
 * - Only GET /auth/callback is the callback; anything else (favicon, a stray tab) gets 404
 *   and the flow keeps waiting.
 * - A callback whose `state` is not ours ends the flow with STATE_MISMATCH (RFC 6749 §10.12):
 *   the browser came back from a sign-in we did not start, and the person should know now
 *   rather than wait for a timeout.
 * - The callback's answer waits for the token exchange, so the tab shows the real outcome.
 * - The server is closed on every path: success, error, cancel and timeout.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { cancelledError, discoverProvider, OidcError, OidcHttp, providerError, stringField, unverifiedClaims, type ProviderMetadata } from './openidProvider';

export interface BrowserFlowOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes?: readonly string[];
  /** Opens the authorization URL in the person's browser. */
  readonly openBrowser: (url: string) => void | Promise<void>;
  /** Port of the loopback redirect; 0 or undefined = any free port. */
  readonly port?: number;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /** How long to wait for the browser to come back (default 5 min). */
  readonly timeoutMs?: number;
}

const CALLBACK_PATH = '/auth/callback';
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const CHECK_ISSUER = 'Check the OIDC issuer setting.';

/** Runs the browser sign-in to its end and returns the ID token. */
export async function browserIdToken(options: BrowserFlowOptions): Promise<string> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new OidcError('BAD_PORT', `${port} is not a port for the sign-in redirect.`, 'Use a port between 1 and 65535, or 0 for any free port.');
  }
  const client = new OidcHttp(options.fetch ?? fetch, options.signal);
  const provider = await discoverProvider(client, options.issuer);
  const authorizationEndpoint = provider.authorizationEndpoint;
  if (!authorizationEndpoint) {
    throw new OidcError('NO_BROWSER_FLOW', `The OpenID provider ${options.issuer} offers no authorization endpoint.`, 'Use the device flow (sign-in code) instead, or another issuer.');
  }
  if (provider.codeChallengeMethods && !provider.codeChallengeMethods.includes('S256')) {
    throw new OidcError('NO_BROWSER_FLOW', `The OpenID provider ${options.issuer} does not support PKCE with S256.`, 'Use the device flow (sign-in code) instead, or another issuer.');
  }

  const loopback = await listenOnLoopback(port);
  let callback: Callback | undefined;
  try {
    const verifier = randomToken();
    const state = randomToken();
    const nonce = randomToken();
    const redirectUri = `http://127.0.0.1:${loopback.port}${CALLBACK_PATH}`;
    const url = new URL(authorizationEndpoint);
    for (const [key, value] of Object.entries({
      response_type: 'code',
      client_id: options.clientId,
      redirect_uri: redirectUri,
      scope: (options.scopes ?? ['openid', 'email']).join(' '),
      state,
      nonce,
      code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })) {
      url.searchParams.set(key, value);
    }

    if (options.signal?.aborted) throw cancelledError();
    callback = await waitForBrowser(loopback.callback, openBrowser(options.openBrowser, url.href), options.signal, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const code = authorizationCode(callback.params, state, provider);
    const answer = await client.json('POST', provider.tokenEndpoint, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: options.clientId,
      code_verifier: verifier,
    });
    if (answer.status !== 200) throw providerError(answer.body, 'The provider refused to issue a token');
    const idToken = stringField(answer.body, 'id_token');
    if (!idToken) throw new OidcError('BAD_RESPONSE', 'The provider issued no ID token (was the "openid" scope granted?).', 'Check the OIDC client settings.');
    checkIdToken(idToken, nonce, options.clientId);
    await callback.reply(200, page('Signed in', 'Signed in; you can close this tab.'));
    return idToken;
  } catch (e) {
    await callback?.reply(400, page('Sign-in failed', e instanceof OidcError ? e.message : 'The sign-in failed.'));
    throw e;
  } finally {
    await loopback.close();
  }
}

/** The `code` of a callback that answers our request, or why there is none. */
function authorizationCode(params: URLSearchParams, state: string, provider: ProviderMetadata): string {
  if (params.get('state') !== state) {
    throw new OidcError('STATE_MISMATCH', 'The browser came back from a sign-in this editor did not start (state mismatch).', 'Start the sign-in again and finish it in the tab it opens.');
  }
  // RFC 9207: an answer from another provider (a mix-up attack) must not be redeemed here.
  const iss = params.get('iss');
  if (iss !== null ? iss !== provider.issuer : provider.issInAuthorizationResponse) {
    throw new OidcError('ISSUER_MISMATCH', `The browser came back with an answer that is not from ${provider.issuer} (issuer mismatch).`, 'Start the sign-in again; if it happens again, check the OIDC issuer setting.');
  }
  const error = params.get('error');
  if (error === 'access_denied') throw new OidcError('ACCESS_DENIED', 'The sign-in was refused in the browser.', 'Start again and approve the request, if it was yours.');
  if (error) {
    const description = params.get('error_description');
    throw providerError({ error, ...(description ? { error_description: description } : {}) }, 'The provider refused the sign-in');
  }
  const code = params.get('code');
  if (!code) throw new OidcError('BAD_RESPONSE', 'The browser came back without an authorization code.', CHECK_ISSUER);
  return code;
}

/** The token must be the answer to this sign-in (nonce) and for this client (aud). */
function checkIdToken(idToken: string, nonce: string, clientId: string): void {
  const claims = unverifiedClaims(idToken);
  if (!claims) throw new OidcError('BAD_RESPONSE', 'The provider returned an ID token that is not a JWT.', CHECK_ISSUER);
  if (claims.nonce !== nonce) {
    throw new OidcError('NONCE_MISMATCH', 'The ID token the provider returned was not issued for this sign-in (nonce mismatch).', 'Start again; if it happens again, check the OIDC issuer setting.');
  }
  const aud = claims.aud;
  if (!(aud === clientId || (Array.isArray(aud) && aud.includes(clientId)))) {
    throw new OidcError('WRONG_AUDIENCE', `The ID token the provider returned is not meant for the client "${clientId}".`, 'Check the OIDC client ID setting.');
  }
}

function randomToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Opens the browser; the promise only ever settles by rejecting, when that fails. */
function openBrowser(open: (url: string) => void | Promise<void>, url: string): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    Promise.resolve()
      .then(() => open(url))
      .catch((e: unknown) => {
        reject(e instanceof OidcError ? e : new OidcError('BROWSER', `Cannot open the browser: ${e instanceof Error ? e.message : String(e)}.`, 'Use the device flow (sign-in code) instead.'));
      });
  });
}

/** The first callback, unless the browser cannot be opened, the caller cancels or time runs out. */
async function waitForBrowser(callback: Promise<Callback>, browserFailed: Promise<never>, signal: AbortSignal | undefined, timeoutMs: number): Promise<Callback> {
  // Once the callback has arrived a late failure to open the browser no longer matters.
  browserFailed.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    if (signal?.aborted) return reject(cancelledError());
    onAbort = () => reject(cancelledError());
    signal?.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => {
      reject(new OidcError('TIMEOUT', `The browser did not come back within ${Math.round(timeoutMs / 1000)} s.`, 'Start again and finish the sign-in in the browser tab it opens.'));
    }, timeoutMs);
  });
  try {
    return await Promise.race([callback, browserFailed, stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

interface Callback {
  readonly params: URLSearchParams;
  /** Answers the browser once; resolves when the page is sent (or the tab has gone). */
  reply(status: number, html: string): Promise<void>;
}

interface Loopback {
  readonly port: number;
  /** The first GET /auth/callback; its response is held until `reply`. */
  readonly callback: Promise<Callback>;
  close(): Promise<void>;
}

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // The page loads nothing, so the callback URL (with its code) goes nowhere else.
  'content-security-policy': "default-src 'none'",
  'referrer-policy': 'no-referrer',
  connection: 'close',
};

async function listenOnLoopback(port: number): Promise<Loopback> {
  let deliver: (callback: Callback) => void = () => undefined;
  const callback = new Promise<Callback>((resolve) => (deliver = resolve));
  let delivered = false;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (delivered || req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      res.writeHead(404, HEADERS).end(page('Not found', 'Nothing here.'));
      return;
    }
    delivered = true;
    deliver({ params: url.searchParams, reply: (status, html) => reply(res, status, html) });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'EADDRINUSE'
          ? new OidcError('PORT_IN_USE', `Port ${port} on 127.0.0.1 is already in use, so the browser cannot come back to it.`, 'Choose another redirect port, or 0 for any free port.')
          : new OidcError('LOOPBACK', `Cannot listen on 127.0.0.1:${port} for the browser to come back: ${e.code ?? e.message}.`, 'Choose another redirect port, or use the device flow (sign-in code).'),
      );
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    callback,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function reply(res: http.ServerResponse, status: number, html: string): Promise<void> {
  return new Promise<void>((resolve) => {
    if (res.writableEnded || res.destroyed) return resolve();
    res.once('close', () => resolve());
    res.writeHead(status, HEADERS).end(html, () => resolve());
  });
}

function page(heading: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sigstore sign-in</title></head><body><h1>${escapeHtml(heading)}</h1><p>${escapeHtml(text)}</p></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
