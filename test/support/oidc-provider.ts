// A real OpenID Connect provider (panva's oidc-provider) on loopback, configured to
// behave like Sigstore's Dex for the device flow and code + PKCE (TESTING.md §4).
import crypto from 'node:crypto';
import http from 'node:http';

import { SignJWT, importJWK, type JWK } from 'jose';
import { listenOnLoopback, stopServer } from './loopback-server';

export const CLIENT_ID = 'sigstore';
export const DEFAULT_EMAIL = 'signer@example.test';
/** Any port is accepted on these (RFC 8252 §7.3); oidc-provider v9 ignores the port for native clients. */
export const LOOPBACK_REDIRECT_URIS = ['http://127.0.0.1/auth/callback', 'http://localhost/auth/callback'];

export interface OidcProviderOptions {
  /**
   * Loopback address to serve on (default 127.0.0.1). code-server rewrites links to
   * localhost/127.0.0.1 into its port proxy and drops their path, so a sign-in page opened
   * from the browser-based VS Code must live on another loopback address such as 127.0.0.2.
   */
  host?: string;
  email?: string;
  /** `email_verified` in the account's claims (default true; false to test Fulcio's check). */
  emailVerified?: boolean;
  /** Seconds, added to device authorization responses (oidc-provider sends none). Default 1. */
  interval?: number;
  /** Device code lifetime in seconds (default 600); short to test `expired_token`. */
  deviceCodeTtl?: number;
}

export interface OidcProvider {
  issuer: string;
  clientId: typeof CLIENT_ID;
  email: string;
  /** Signs arbitrary claims with the provider's own id_token key, for negative tests. */
  mintIdToken(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

// The module is ESM-only and ships no types; only the members used here are described.
interface OidcModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;
  interactionPolicy: { base(): { get(name: string): { checks: { remove(reason: string): void } } } };
}
interface ProviderInstance {
  proxy: boolean;
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  on(event: string, listener: (...args: never[]) => void): void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: Record<string, unknown>,
    options: { mergeWithLastSubmission: boolean },
  ): Promise<void>;
  Grant: GrantModel;
}
interface InteractionDetails {
  prompt: { name: string };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
}
interface GrantInstance {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface GrantModel {
  new (init: { accountId?: string; clientId: string }): GrantInstance;
  find(id: string): Promise<GrantInstance | undefined>;
}
interface Ctx {
  oidc: {
    client: { clientId: string };
    session: { accountId?: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
    provider: { Grant: GrantModel };
  };
}

const SCOPE = 'openid email';

// A variable specifier keeps TypeScript (node16, CommonJS output) from resolving the
// untyped ESM package and keeps the import() a real dynamic import under tsx.
const MODULE_NAME: string = 'oidc-provider';
let modulePromise: Promise<OidcModule> | undefined;
function loadModule(): Promise<OidcModule> {
  modulePromise ??= import(MODULE_NAME) as Promise<OidcModule>;
  return modulePromise;
}

export async function startOidcProvider(opts: OidcProviderOptions = {}): Promise<OidcProvider> {
  const email = opts.email ?? DEFAULT_EMAIL;
  const emailVerified = opts.emailVerified ?? true;
  const interval = opts.interval ?? 1;
  const { default: Provider, interactionPolicy } = await loadModule();

  // Our own key so tests can mint tokens the gate must still judge (wrong aud, unverified…).
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingJwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
  const signingKey = await importJWK(signingJwk, 'RS256');

  const server = http.createServer();
  const host = opts.host ?? '127.0.0.1';
  const issuer = `http://${await listenOnLoopback(server, host)}`;

  const policy = interactionPolicy.base();
  // Native clients otherwise always get a consent screen; Dex asks nothing for sigstore.
  policy.get('consent').checks.remove('native_client_prompt');

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code'],
        response_types: ['code'],
        redirect_uris: LOOPBACK_REDIRECT_URIS,
      },
    ],
    jwks: { keys: [signingJwk] },
    scopes: ['openid', 'email'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // Without this, scope-derived claims go to userinfo only, never into the id_token.
    conformIdTokenClaims: false,
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    features: {
      deviceFlow: { enabled: true },
      devInteractions: { enabled: false },
    },
    interactions: {
      policy,
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    // The memory adapter drops entries clockTolerance seconds after expiry; without the
    // slack an expired device code is gone (invalid_grant) instead of expired_token.
    clockTolerance: 5,
    // Explicit lifetimes (seconds) also keep oidc-provider from printing a notice per default.
    ttl: { DeviceCode: opts.deviceCodeTtl ?? 600, Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60 },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub, email, email_verified: emailVerified }),
    }),
    // Dex grants `openid email` to sigstore without asking; do the same.
    loadExistingGrant: async (ctx: Ctx) => {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
      if (grantId) {
        const existing = await oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new oidc.provider.Grant({ accountId: oidc.session.accountId, clientId: oidc.client.clientId });
      grant.addOIDCScope(SCOPE);
      await grant.save();
      return grant;
    },
  });

  provider.on('device_authorization.success', ((_ctx: unknown, body: Record<string, unknown>) => {
    body.interval = interval;
  }) as (...args: never[]) => void);

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const match = /^\/interaction\/([^/?]+)(\/abort)?$/.exec(new URL(req.url ?? '/', issuer).pathname);
    if (match && req.method === 'GET') {
      const outcome = match[2] ? abortInteraction(provider, req, res) : autoApprove(provider, email, req, res);
      outcome.catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    callback(req, res);
  });

  return {
    issuer,
    clientId: CLIENT_ID,
    email,
    mintIdToken: (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid, typ: 'JWT' }).sign(signingKey),
    close: () => stopServer(server),
  };
}

// The person "logs in" as the configured account as soon as the login page is opened:
// tests need the protocol around the login, not a login form.
async function autoApprove(provider: ProviderInstance, email: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: email } }, { mergeWithLastSubmission: false });
    return;
  }
  // Not reached with the policy above, but grant rather than hang if it ever is.
  const grant = new provider.Grant({ accountId: details.session?.accountId ?? email, clientId: CLIENT_ID });
  grant.addOIDCScope(SCOPE);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

// `/interaction/<uid>/abort`: the person refuses at the login page (code flow), which the
// provider reports to the client as `error=access_denied` on the redirect.
async function abortInteraction(provider: ProviderInstance, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
}
