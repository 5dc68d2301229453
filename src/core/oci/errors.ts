/** Errors of the registry client: a stable code for tools and tree nodes, a message and a remedy for people. */
import { SigstoreError } from '../errors';

export type OciErrorCode =
  /** The registry wants credentials we do not have, or rejected the ones we sent. */
  | 'AUTH_REQUIRED'
  /**
   * Authenticated, but not allowed to read this repository, or to push to it (403, or a fresh
   * token that still does not grant access: a read-only token or account).
   */
  | 'DENIED'
  | 'NOT_FOUND'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'RATE_LIMITED'
  | 'TOO_LARGE'
  | 'DIGEST_MISMATCH'
  /** A status, header or body that does not follow the distribution spec. */
  | 'BAD_RESPONSE'
  /** Plain HTTP where HTTPS is required, or credentials that would travel over plain HTTP. */
  | 'INSECURE_REGISTRY'
  /** The registry's TLS certificate is not trusted. */
  | 'TLS'
  | 'BAD_REFERENCE'
  /** A manifest we were asked to push that we could not read back ourselves: not JSON, wrong shape, or not of its media type. Nothing was sent. */
  | 'INVALID_MANIFEST'
  /** The Docker configuration or a credential helper failed. */
  | 'CREDENTIALS'
  | 'CANCELLED';

export class OciError extends SigstoreError {
  declare readonly code: OciErrorCode;

  constructor(
    code: OciErrorCode,
    message: string,
    remedy?: string,
    /** The HTTP status that caused it, when one did (a 5xx is the registry's own trouble, often passing). */
    readonly status?: number,
  ) {
    super(code, message, remedy);
  }
}

export function isOciError(e: unknown, code?: OciErrorCode): e is OciError {
  return e instanceof OciError && (code === undefined || e.code === code);
}

export function cancelled(): OciError {
  return new OciError('CANCELLED', 'The registry request was cancelled.');
}
