/**
 * Signing an image's payloads: keyless (one Fulcio certificate for the batch, a Rekor entry per
 * signature) or with a cosign key. Each signature comes back in both shapes a registry may
 * store: a v0.3 Sigstore bundle (referrers), and cosign's layer annotations (`.sig`/`.att` tags).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { logKeySignature } from '../sign/rekorUpload';
import { signBytesWithKey, BUNDLE_V03_MEDIA_TYPE, publicKeyPemOf } from '../sign/keySigner';
import type { KeylessSession } from '../sign/keylessSigner';
import { ImageSigningError, IN_TOTO_PAYLOAD_TYPE } from './payloads';

/** A signature over a simple-signing payload. */
export interface PayloadSignature {
  /** Base64 DER ECDSA: the `dev.cosignproject.cosign/signature` annotation. */
  readonly signature: string;
  /** The cosign layer annotations besides the signature: certificate, bundle, timestamp. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly logIndex?: string;
  readonly identity?: string;
  readonly issuer?: string;
}

/** A DSSE signature over an in-toto statement. */
export interface StatementSignature {
  /** The v0.3 bundle (referrer layer). */
  readonly bundle: object;
  /** The DSSE envelope. */
  readonly envelope: { payloadType: string; payload: string; signatures: Array<{ keyid: string; sig: string }> };
  /**
   * The `.att` layer: the envelope as bytes whose sha256 is the hash its Rekor entry logs
   * (cosign compares the two), or the plain envelope when nothing was logged.
   */
  readonly attLayer: Buffer;
  /** cosign `.att` layer annotations besides predicateType: certificate, bundle. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly logIndex?: string;
  readonly identity?: string;
  readonly issuer?: string;
}

export interface ImageSigner {
  readonly kind: 'keyless' | 'key';
  signPayload(payload: Buffer, signal?: AbortSignal): Promise<PayloadSignature>;
  signStatement(statement: Buffer, signal?: AbortSignal): Promise<StatementSignature>;
}

/** cosign's annotation keys on `.sig` and `.att` layers. */
export const COSIGN_ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const;

/** The JSON fields of a v0.3 bundle read here. */
interface BundleJSON {
  verificationMaterial?: {
    certificate?: { rawBytes?: string };
    x509CertificateChain?: { certificates?: Array<{ rawBytes?: string }> };
    tlogEntries?: Array<{
      logIndex?: string;
      logId?: { keyId?: string };
      integratedTime?: string;
      inclusionPromise?: { signedEntryTimestamp?: string };
      canonicalizedBody?: string;
    }>;
    timestampVerificationData?: { rfc3161Timestamps?: Array<{ signedTimestamp?: string }> };
  };
  messageSignature?: { signature?: string };
  dsseEnvelope?: { payload?: string; payloadType?: string; signatures?: Array<{ sig?: string; keyid?: string }> };
}

export function keylessImageSigner(session: KeylessSession): ImageSigner {
  return {
    kind: 'keyless',
    async signPayload(payload, signal) {
      const signed = await session.signMessageBytes(payload, signal);
      const bundle = signed.bundle as BundleJSON;
      const signature = bundle.messageSignature?.signature;
      if (!signature) throw new ImageSigningError('SIGNING_FAILED', 'The signing service returned a bundle without a message signature.', 'Check the Sigstore service settings.');
      return { signature, annotations: cosignAnnotations(bundle), ...who(signed) };
    },
    async signStatement(statement, signal) {
      const signed = await session.signStatementBytes(statement, signal);
      const bundle = signed.bundle as BundleJSON;
      const envelope = envelopeOf(bundle);
      return { bundle: signed.bundle, envelope, attLayer: loggedEnvelope(bundle, envelope) ?? Buffer.from(JSON.stringify(envelope)), annotations: cosignAnnotations(bundle), ...who(signed) };
    },
  };
}

/**
 * With a cosign key. `rekorURL`: log payload signatures there first (hashedrekord, as
 * `cosign sign --tlog-upload`); statements are not logged (cosign `--tlog-upload=false`).
 */
export function keyImageSigner(key: KeyObject, options: { rekorURL?: string } = {}): ImageSigner {
  const publicKeyPem = publicKeyPemOf(key);
  return {
    kind: 'key',
    async signPayload(payload, signal) {
      const signed = signBytesWithKey(payload, key);
      if (!options.rekorURL) return { signature: signed.sigBase64, annotations: {} };
      const logged = await logKeySignature({ bundle: signed.bundle, publicKeyPem }, options.rekorURL, signal);
      return { signature: signed.sigBase64, annotations: cosignAnnotations(logged.bundle as BundleJSON), ...(logged.logIndex ? { logIndex: logged.logIndex } : {}) };
    },
    async signStatement(statement, signal) {
      signal?.throwIfAborted();
      const signed = signBytesWithKey(pae(IN_TOTO_PAYLOAD_TYPE, statement), key);
      const envelope = { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: statement.toString('base64'), signatures: [{ keyid: '', sig: signed.sigBase64 }] };
      const bundle = {
        mediaType: BUNDLE_V03_MEDIA_TYPE,
        // An empty hint, as for files: cosign rejects a hint it does not expect.
        verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
        dsseEnvelope: envelope,
      };
      return { bundle, envelope, attLayer: Buffer.from(JSON.stringify(envelope)), annotations: {} };
    },
  };
}

/** DSSE's pre-authentication encoding: what a DSSE signature signs. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

function who(signed: { logIndex?: string; identity?: string; issuer?: string }): Pick<PayloadSignature, 'logIndex' | 'identity' | 'issuer'> {
  return { ...(signed.logIndex ? { logIndex: signed.logIndex } : {}), ...(signed.identity ? { identity: signed.identity } : {}), ...(signed.issuer ? { issuer: signed.issuer } : {}) };
}

function envelopeOf(bundle: BundleJSON): StatementSignature['envelope'] {
  const e = bundle.dsseEnvelope;
  if (!e?.payload || !e.payloadType || !e.signatures?.length) throw new ImageSigningError('SIGNING_FAILED', 'The signing service returned a bundle without a DSSE envelope.', 'Check the Sigstore service settings.');
  return { payloadType: e.payloadType, payload: e.payload, signatures: e.signatures.map((s) => ({ keyid: s.keyid ?? '', sig: s.sig ?? '' })) };
}

/**
 * The envelope exactly as its Rekor `intoto` v0.0.2 entry hashed it: canonical JSON of the
 * payload, payload type and first signature with the signer's PEM (`publicKey`), keyid only
 * when not empty. cosign 2 checks an `.att` layer's sha256 against that hash. Undefined unless
 * the bytes rebuilt here give the logged hash (then the plain envelope is stored).
 */
function loggedEnvelope(bundle: BundleJSON, envelope: StatementSignature['envelope']): Buffer | undefined {
  const entry = bundle.verificationMaterial?.tlogEntries?.[0];
  if (!entry?.canonicalizedBody) return undefined;
  let body: { kind?: string; spec?: { content?: { hash?: { value?: string }; envelope?: { signatures?: Array<{ publicKey?: string }> } } } };
  try {
    body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString('utf8')) as typeof body;
  } catch {
    return undefined;
  }
  const logged = body.spec?.content;
  const encodedKey = logged?.envelope?.signatures?.[0]?.publicKey;
  const first = envelope.signatures[0];
  if (body.kind !== 'intoto' || !logged?.hash?.value || !encodedKey || !first) return undefined;
  const signature: Record<string, string> = { publicKey: Buffer.from(encodedKey, 'base64').toString('utf8'), sig: first.sig };
  if (first.keyid) signature.keyid = first.keyid;
  const bytes = Buffer.from(canonicalJSON({ payload: envelope.payload, payloadType: envelope.payloadType, signatures: [signature] }));
  return createHash('sha256').update(bytes).digest('hex') === logged.hash.value ? bytes : undefined;
}

/** JSON with object keys sorted and no whitespace (RFC 8785 for strings, arrays and objects). */
function canonicalJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJSON).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJSON(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * cosign's layer annotations from a bundle: the certificate (PEM), the log entry as cosign's
 * legacy bundle (SignedEntryTimestamp + Payload), the RFC 3161 timestamp.
 */
export function cosignAnnotations(bundle: BundleJSON): Record<string, string> {
  const out: Record<string, string> = {};
  const material = bundle.verificationMaterial;
  const der = material?.certificate?.rawBytes ?? material?.x509CertificateChain?.certificates?.[0]?.rawBytes;
  if (der) out[COSIGN_ANNOTATIONS.certificate] = pem(der);
  const entry = material?.tlogEntries?.[0];
  if (entry?.inclusionPromise?.signedEntryTimestamp && entry.canonicalizedBody && entry.logId?.keyId) {
    out[COSIGN_ANNOTATIONS.bundle] = JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      Payload: {
        body: entry.canonicalizedBody,
        integratedTime: Number(entry.integratedTime ?? 0),
        logIndex: Number(entry.logIndex ?? 0),
        logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
      },
    });
  }
  const timestamp = material?.timestampVerificationData?.rfc3161Timestamps?.[0]?.signedTimestamp;
  if (timestamp) out[COSIGN_ANNOTATIONS.rfc3161Timestamp] = JSON.stringify({ SignedRFC3161Timestamp: timestamp });
  return out;
}

function pem(derBase64: string): string {
  const body = Buffer.from(derBase64, 'base64').toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}
