/**
 * Registry authentication: `WWW-Authenticate` challenges, Basic credentials, and Bearer
 * tokens from the challenge's realm (distribution's token and OAuth2 specs), cached per
 * registry and scope until shortly before they expire.
 */
import { OciError } from './errors';

export interface Challenge {
  /** Lowercase: `bearer`, `basic`, … */
  readonly scheme: string;
  /** Parameter names lowercase, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

/** The credentials for one registry, as Docker keeps them. */
export interface RegistryCredential {
  readonly username?: string;
  readonly password?: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`), exchanged at the realm by POST. */
  readonly identityToken?: string;
  /** A bearer token to send as is (Docker's `registrytoken`). */
  readonly registryToken?: string;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const SPACES = /[ \t]*/y;

/**
 * Parses a `WWW-Authenticate` header (RFC 9110 §11.6.1): one or more challenges, each a scheme
 * followed by `name=value` parameters (token or quoted string) or a token68. Never throws.
 */
export function parseAuthenticate(header: string | null | undefined): Challenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  if (!header) return challenges;
  let i = 0;
  const skip = () => {
    SPACES.lastIndex = i;
    SPACES.exec(header);
    i = SPACES.lastIndex;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(header);
    if (!m) return undefined;
    i = TOKEN.lastIndex;
    return m[0];
  };
  const quoted = (): string => {
    let out = '';
    i++; // opening quote
    while (i < header.length && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < header.length) i++;
      out += header[i++];
    }
    i++; // closing quote
    return out;
  };
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (i < header.length) {
    skip();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const name = token();
    if (!name) {
      i++; // junk: skip a character
      continue;
    }
    skip();
    if (header[i] === '=') {
      i++;
      skip();
      const value = header[i] === '"' ? quoted() : (token() ?? '');
      // (A parameter before any scheme is read and ignored.)
      if (current) current.params[name.toLowerCase()] ??= value;
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    challenges.push(current);
    // token68 (e.g. `Negotiate abc==`): consumed and ignored.
    const after = i;
    const t68 = /[A-Za-z0-9\-._~+/]+=*/y;
    t68.lastIndex = i;
    const m = t68.exec(header);
    if (m && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=[^=]/.test(header.slice(after))) {
      const end = t68.lastIndex;
      SPACES.lastIndex = end;
      SPACES.exec(header);
      if (SPACES.lastIndex >= header.length || header[SPACES.lastIndex] === ',') i = end;
    }
  }
  return challenges;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** What a request does to a repository: reads ask for `pull`, writes for `pull,push` (as Docker does). */
export type RepositoryAccess = 'pull' | 'push';

/** The scope of a repository for an access, as distribution's token spec writes it. */
export function repositoryScope(repository: string, access: RepositoryAccess): string {
  return access === 'push' ? pushScope(repository) : pullScope(repository);
}

/** The pull scope of a repository, as distribution's token spec writes it. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** The scope writes ask for: pushing needs pull too (HEAD before upload, manifests that name blobs). */
export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

export interface IssuedToken {
  readonly token: string;
  /** Epoch milliseconds after which the token is not used again. */
  readonly expiresAt: number;
  /** Whether the user's credentials obtained it, and whose (for messages). */
  readonly usedCredentials?: boolean;
  readonly user?: string;
}

const DEFAULT_EXPIRES_IN_S = 60; // distribution's token spec: "defaults to 60 seconds"
const EXPIRY_MARGIN_MS = 10_000;
const MAX_TOKEN_LENGTH = 64 * 1024;

/** Reads a token endpoint's JSON answer (`token` or `access_token`, `expires_in`, `issued_at`). */
export function parseTokenResponse(body: unknown, realmHost: string, now: number): IssuedToken {
  const bad = (why: string) => new OciError('BAD_RESPONSE', `The token service ${realmHost} sent an unusable answer: ${why}.`, 'The registry\'s token service is misbehaving; try again later.');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('not a JSON object');
  const o = body as Record<string, unknown>;
  const token = typeof o.token === 'string' && o.token ? o.token : typeof o.access_token === 'string' && o.access_token ? o.access_token : undefined;
  if (!token) throw bad('no token');
  // eslint-disable-next-line no-control-regex
  if (token.length > MAX_TOKEN_LENGTH || /[\s\0-\x1f\x7f]/.test(token)) throw bad('the token is too long or has control characters');
  const expiresIn = typeof o.expires_in === 'number' && Number.isFinite(o.expires_in) && o.expires_in > 0 ? o.expires_in : DEFAULT_EXPIRES_IN_S;
  let issuedAt = now;
  if (typeof o.issued_at === 'string') {
    const t = Date.parse(o.issued_at);
    // A clock far from ours would make the token look expired or eternal: only trust nearby times.
    if (Number.isFinite(t) && Math.abs(t - now) < 5 * 60_000) issuedAt = t;
  }
  return { token, expiresAt: issuedAt + expiresIn * 1000 - EXPIRY_MARGIN_MS };
}

/** Tokens per (registry, scope). */
export class TokenCache {
  private readonly tokens = new Map<string, IssuedToken>();

  private static key(registry: string, scope: string): string {
    return `${registry}\n${scope}`;
  }

  get(registry: string, scope: string, now: number): IssuedToken | undefined {
    const key = TokenCache.key(registry, scope);
    const t = this.tokens.get(key);
    if (!t) return undefined;
    if (t.expiresAt <= now) {
      this.tokens.delete(key);
      return undefined;
    }
    return t;
  }

  set(registry: string, scope: string, token: IssuedToken): void {
    this.tokens.set(TokenCache.key(registry, scope), token);
  }

  delete(registry: string, scope: string): void {
    this.tokens.delete(TokenCache.key(registry, scope));
  }

  clear(): void {
    this.tokens.clear();
  }
}
