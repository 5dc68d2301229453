/**
 * Identity tokens a CI job already has, tried before asking a person to sign in:
 * `SIGSTORE_ID_TOKEN` (GitLab and others set it to a token for audience "sigstore"), and
 * GitHub Actions' token service (`ACTIONS_ID_TOKEN_REQUEST_URL` + `_TOKEN`).
 */
import { OidcError } from './openidProvider';

const AUDIENCE = 'sigstore';
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface AmbientTokenOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
}

/** An ambient identity token and where it came from, or undefined when there is none. */
export async function ambientIdToken(options: AmbientTokenOptions = {}): Promise<{ token: string; source: string } | undefined> {
  const env = options.env ?? process.env;
  const explicit = env.SIGSTORE_ID_TOKEN?.trim();
  if (explicit) return { token: explicit, source: 'SIGSTORE_ID_TOKEN' };
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) return undefined;

  const request = new URL(url);
  request.searchParams.set('audience', AUDIENCE);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(request, {
      headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.any([AbortSignal.timeout(30_000), ...(options.signal ? [options.signal] : [])]),
    });
  } catch (e) {
    throw new OidcError('NETWORK', `Cannot reach the GitHub Actions token service: ${(e as Error).message}.`, 'Check that the job has "id-token: write" permission.');
  }
  const text = await response.text();
  if (text.length > MAX_RESPONSE_BYTES) throw new OidcError('BAD_RESPONSE', 'The GitHub Actions token service sent an oversized response.', 'Retry the job.');
  if (!response.ok) {
    throw new OidcError('PROVIDER_ERROR', `The GitHub Actions token service answered ${response.status}.`, 'Give the job the "id-token: write" permission.');
  }
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || !value) throw new OidcError('BAD_RESPONSE', 'The GitHub Actions token service returned no token.', 'Retry the job.');
  return { token: value, source: 'GitHub Actions' };
}
