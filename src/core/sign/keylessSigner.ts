/**
 * Keyless signing of a file: an ephemeral key, a short-lived certificate from Fulcio for
 * the identity token, an entry in Rekor, and a timestamp when a TSA is configured. The
 * result is a Sigstore bundle (v0.2 message signature, as @sigstore/sign writes it).
 */
import { generateKeyPairSync, sign as signWithKey, type KeyObject } from 'node:crypto';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness, type Signature, type Signer, type Witness } from '@sigstore/sign';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { abortable } from '../abortable';
import { PUBLIC_GOOD } from '../publicGood';
import { readLimited } from '../artifacts/artifact';
import { unverifiedClaims } from '../oidc/openidProvider';
import { certificateSigner } from '../verify/certificate';
import { SigstoreError } from '../errors';

export class SigningError extends SigstoreError {}

/** Where a Sigstore instance's services are. */
export interface SigstoreServices {
  readonly fulcioURL: string;
  readonly rekorURL: string;
  readonly tsaURL?: string;
}

export const PUBLIC_GOOD_SERVICES: SigstoreServices = { fulcioURL: PUBLIC_GOOD.fulcioURL, rekorURL: PUBLIC_GOOD.rekorURL };

/** @sigstore/sign holds the whole file in memory; past this, refuse rather than exhaust it. */
const MAX_SIGNED_FILE_BYTES = 1024 * 1024 * 1024;

export interface KeylessSignature {
  readonly bundle: object;
  /** The log index of the Rekor entry, for the output channel. */
  readonly logIndex?: string;
  /** The identity and issuer Fulcio certified, as verifiers will see them. */
  readonly identity?: string;
  readonly issuer?: string;
}

export async function signFileKeyless(path: string, idToken: string, services: SigstoreServices): Promise<KeylessSignature> {
  return createKeylessSession(idToken, services).signFile(path);
}

/** Signs an in-toto statement (the file's bytes) as a DSSE envelope. */
export async function signStatementKeyless(path: string, idToken: string, services: SigstoreServices): Promise<KeylessSignature> {
  return createKeylessSession(idToken, services).signStatement(path);
}

/**
 * Signs any number of files after one sign-in: one ephemeral key and one Fulcio certificate
 * for the whole batch (as one `cosign sign-blob` run would), one Rekor entry per file. The
 * key lives in memory only, for the session's lifetime.
 */
export interface KeylessSession {
  signFile(path: string, signal?: AbortSignal): Promise<KeylessSignature>;
  signStatement(path: string, signal?: AbortSignal): Promise<KeylessSignature>;
  /** Signs bytes as a message (hashedrekord entry), e.g. a cosign simple-signing payload. */
  signMessageBytes(data: Buffer, signal?: AbortSignal): Promise<KeylessSignature>;
  /** Signs an in-toto statement's bytes as a DSSE envelope (intoto entry). */
  signStatementBytes(data: Buffer, signal?: AbortSignal): Promise<KeylessSignature>;
}

export function createKeylessSession(idToken: string, services: SigstoreServices): KeylessSession {
  const signer = new CertifiedEphemeralKey(idToken, services);
  const run = async (path: string, kind: 'message' | 'statement', signal?: AbortSignal): Promise<KeylessSignature> => {
    signal?.throwIfAborted();
    const data = await readLimited(path, MAX_SIGNED_FILE_BYTES);
    return runBytes(data, kind, signal);
  };
  const runBytes = async (data: Buffer, kind: 'message' | 'statement', signal?: AbortSignal): Promise<KeylessSignature> => {
    signal?.throwIfAborted();
    if (kind === 'message') {
      return abortable(build(new MessageSignatureBundleBuilder({ signer, witnesses: witnesses(services, 'hashedrekord') }), data, services), signal);
    }
    // Logged as an "intoto" entry: every Rekor v1 accepts it and verifiers check it.
    return abortable(build(new DSSEBundleBuilder({ signer, witnesses: witnesses(services, 'intoto') }), data, services, IN_TOTO_PAYLOAD_TYPE), signal);
  };
  return {
    signFile: (path, signal) => run(path, 'message', signal),
    signStatement: (path, signal) => run(path, 'statement', signal),
    signMessageBytes: (data, signal) => runBytes(data, 'message', signal),
    signStatementBytes: (data, signal) => runBytes(data, 'statement', signal),
  };
}

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Fulcio certificates are valid for 10 minutes; ask again well before that. */
const CERTIFICATE_REUSE_MS = 5 * 60 * 1000;

/** An ephemeral P-256 key with a Fulcio certificate, requested on first use and reused. */
class CertifiedEphemeralKey implements Signer {
  private readonly keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private certificate?: { pem: string; at: number };
  private readonly fulcio: FulcioSigner;

  constructor(
    private readonly idToken: string,
    services: SigstoreServices,
  ) {
    const privateKey: KeyObject = this.keyPair.privateKey;
    const publicKey = this.keyPair.publicKey.export({ format: 'pem', type: 'spki' }).toString('ascii');
    this.fulcio = new FulcioSigner({
      fulcioBaseURL: services.fulcioURL,
      identityProvider: { getToken: async () => idToken },
      keyHolder: { sign: async (data: Buffer) => ({ signature: signWithKey('sha256', data, privateKey), key: { $case: 'publicKey', publicKey } }) },
    });
  }

  async sign(data: Buffer): Promise<Signature> {
    if (this.certificate && Date.now() - this.certificate.at < CERTIFICATE_REUSE_MS) {
      return { signature: signWithKey('sha256', data, this.keyPair.privateKey), key: { $case: 'x509Certificate', certificate: this.certificate.pem } };
    }
    // A batch can outlive its sign-in: say so, rather than let Fulcio refuse a stale token.
    const exp = unverifiedClaims(this.idToken)?.exp;
    if (this.certificate && typeof exp === 'number' && exp * 1000 <= Date.now()) {
      throw new SigningError('IDENTITY_TOKEN', 'The sign-in expired while files were being signed.', 'Sign the remaining files again; you will be asked to sign in.');
    }
    const signature = await this.fulcio.sign(data);
    if (signature.key.$case === 'x509Certificate') this.certificate = { pem: signature.key.certificate, at: Date.now() };
    return signature;
  }
}

function witnesses(services: SigstoreServices, entryType: 'hashedrekord' | 'intoto'): Witness[] {
  const list: Witness[] = [new RekorWitness({ rekorBaseURL: services.rekorURL, entryType: entryType === 'intoto' ? 'intoto' : undefined })];
  if (services.tsaURL) list.push(new TSAWitness({ tsaBaseURL: services.tsaURL }));
  return list;
}

async function build(
  builder: MessageSignatureBundleBuilder | DSSEBundleBuilder,
  data: Buffer,
  services: SigstoreServices,
  type?: string,
): Promise<KeylessSignature> {
  try {
    const bundle = await builder.create({ data, type });
    const signature = bundle.content.$case === 'messageSignature' ? bundle.content.messageSignature.signature : bundle.content.dsseEnvelope.signatures[0]?.sig;
    for (const t of bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []) checkTimestamp(t.signedTimestamp, signature, services);
    const content = bundle.verificationMaterial.content;
    const der = content.$case === 'x509CertificateChain' ? content.x509CertificateChain.certificates[0]?.rawBytes : content.$case === 'certificate' ? content.certificate.rawBytes : undefined;
    const signer = der ? certificateSigner(X509Certificate.parse(Buffer.from(der))) : undefined;
    return {
      bundle: bundleToJSON(bundle),
      logIndex: bundle.verificationMaterial.tlogEntries[0]?.logIndex,
      ...(signer?.kind === 'certificate' ? { identity: signer.identity, issuer: signer.issuer } : {}),
    };
  } catch (e) {
    if (e instanceof SigningError) throw e;
    throw signingError(e, services);
  }
}

/**
 * @sigstore/sign puts whatever the TSA answered into the bundle: an answer that is not a
 * timestamp over this signature must fail signing now, not every verification later.
 */
function checkTimestamp(der: Buffer, signature: Buffer | undefined, services: SigstoreServices): void {
  try {
    if (!signature) throw new Error('no signature to timestamp');
    RFC3161Timestamp.parse(Buffer.from(der)).tstInfo.verify(signature);
  } catch (e) {
    throw new SigningError(
      'TSA',
      `The timestamp authority (${services.tsaURL}) gave no timestamp: the answer is not an RFC 3161 timestamp of this signature (${(e as Error).message}).`,
      'Check the TSA URL setting, or clear it.',
    );
  }
}

/** What went wrong, in the user's terms; the token never appears in a message. */
function signingError(e: unknown, services: SigstoreServices): SigningError {
  const code = (e as { code?: string }).code;
  const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
  const detail = redact(cause ?? 'unknown error');
  switch (code) {
    case 'IDENTITY_TOKEN_PARSE_ERROR':
    case 'IDENTITY_TOKEN_READ_ERROR':
      return new SigningError(
        'IDENTITY_TOKEN',
        `The identity token cannot be used: ${detail}.`,
        /not verified/i.test(detail) ? 'Verify your e-mail address with the identity provider, or sign in with an account whose e-mail is verified.' : 'Sign in again.',
      );
    case 'CA_CREATE_SIGNING_CERTIFICATE_ERROR':
      return new SigningError('FULCIO', `Fulcio (${services.fulcioURL}) issued no certificate: ${detail}.`, 'Check the Fulcio URL setting, and that the identity token is for audience "sigstore" with a verified e-mail.');
    case 'TLOG_CREATE_ENTRY_ERROR':
      return new SigningError('REKOR', `Rekor (${services.rekorURL}) did not log the signature: ${detail}.`, 'Check the Rekor URL setting and the network; nothing was written.');
    case 'TSA_CREATE_TIMESTAMP_ERROR':
      return new SigningError('TSA', `The timestamp authority (${services.tsaURL}) gave no timestamp: ${detail}.`, 'Check the TSA URL setting, or clear it.');
    default:
      return new SigningError('SIGNING_FAILED', `Signing failed: ${detail}.`, 'Check the Sigstore service settings and the network.');
  }
}

/** Anything shaped like a JWT is removed from messages that may reach logs. */
function redact(text: string): string {
  return text.replace(/eyJ[\w-]+\.[\w-]*\.[\w-]*/g, '<token>').replace(/\.$/, '');
}
