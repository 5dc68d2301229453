// The identity-token checks real Fulcio makes before issuing a certificate, to put in front
// of @sigstore/mock's fulcioHandler, which checks nothing (TESTING.md §5, FORMATS.md §5).
import crypto from 'node:crypto';

import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

export const FULCIO_AUDIENCE = 'sigstore';

export type FulcioGateResult = { ok: true; email: string } | { ok: false; status: number; message: string };
export type FulcioGate = (body: unknown) => Promise<FulcioGateResult>;

/** The Fulcio v2 `signingCert` request as @sigstore/sign sends it (signer/fulcio/ca.js). */
export interface FulcioSigningCertRequest {
  credentials: { oidcIdentityToken: string };
  publicKeyRequest: { publicKey: { algorithm?: string; content: string }; proofOfPossession: string };
}

export function createFulcioGate(opts: { issuer: string; jwksUri?: string }): FulcioGate {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const keySet = async (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    if (!jwks) {
      let uri = opts.jwksUri;
      if (!uri) {
        const res = await fetch(`${opts.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
        if (!res.ok) throw new Error(`discovery failed: HTTP ${res.status}`);
        uri = ((await res.json()) as { jwks_uri: string }).jwks_uri;
      }
      jwks = createRemoteJWKSet(new URL(uri));
    }
    return jwks;
  };

  return async (body) => {
    const request = parseRequest(body);
    if (typeof request === 'string') return { ok: false, status: 400, message: request };

    // Fulcio answers 401 for any token problem (codes.Unauthenticated).
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(request.credentials.oidcIdentityToken, await keySet(), {
        issuer: opts.issuer,
        audience: FULCIO_AUDIENCE,
      }));
    } catch (err) {
      const reason = err instanceof joseErrors.JOSEError ? `${err.code}: ${err.message}` : String(err);
      return { ok: false, status: 401, message: `There was an error processing the identity token: ${reason}` };
    }

    // An e-mail identity is only an identity once the issuer vouches for it.
    let subject: string;
    if (typeof claims.email === 'string') {
      if (claims.email_verified !== true) return { ok: false, status: 401, message: 'email_verified claim was false' };
      subject = claims.email;
    } else if (typeof claims.sub === 'string' && claims.sub) {
      subject = claims.sub;
    } else {
      return { ok: false, status: 401, message: 'token has neither email nor sub' };
    }

    // Proof of possession: the requester holds the private key of the submitted public key.
    let key: crypto.KeyObject;
    try {
      key = crypto.createPublicKey(request.publicKeyRequest.publicKey.content);
    } catch {
      return { ok: false, status: 400, message: 'The public key supplied in the request could not be parsed' };
    }
    const signature = Buffer.from(request.publicKeyRequest.proofOfPossession, 'base64');
    // Ed25519 signs the message itself; ECDSA and RSA keys sign its SHA-256 digest.
    const algorithm = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    let valid = false;
    try {
      valid = crypto.verify(algorithm, Buffer.from(subject), key, signature);
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, status: 400, message: 'The signature supplied in the request could not be verified' };
    return { ok: true, email: subject };
  };
}

function parseRequest(body: unknown): FulcioSigningCertRequest | string {
  const parsed: unknown = typeof body === 'string' || Buffer.isBuffer(body) ? safeJson(body.toString()) : body;
  const r = parsed as Partial<FulcioSigningCertRequest> | undefined;
  if (typeof r?.credentials?.oidcIdentityToken !== 'string') return 'missing credentials.oidcIdentityToken';
  if (typeof r.publicKeyRequest?.publicKey?.content !== 'string') return 'missing publicKeyRequest.publicKey.content';
  if (typeof r.publicKeyRequest.proofOfPossession !== 'string') return 'missing publicKeyRequest.proofOfPossession';
  return r as FulcioSigningCertRequest;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
