/**
 * Signing and attesting an image that has been resolved to a digest: what `cosign sign` and
 * `cosign attest` do, stored either as Sigstore bundle referrers (cosign v3) or in cosign's
 * `.sig` / `.att` tags (cosign ≤ v2, and what most deployed verifiers read).
 */
import { COSIGN_SIGN_PREDICATE } from '../images/predicateTypes';
import type { ResolvedImage } from '../images/attachments';
import type { Descriptor } from '../oci/manifest';
import { BUNDLE_V03_MEDIA_TYPE } from '../sign/keySigner';
import { appendToCosignTag, attachReferrer, type RegistryWriter, type Written } from './attachmentStore';
import { COSIGN_ANNOTATIONS, type ImageSigner } from './imageSigner';
import { imageStatement, signatureStatement, simpleSigningPayload } from './payloads';

export type SignatureStorage = 'referrers' | 'cosign-tag';
export const SIGNATURE_STORAGES: readonly SignatureStorage[] = ['referrers', 'cosign-tag'];

const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** What was signed and written, per manifest. */
export interface SignedManifest {
  readonly digest: string;
  /** `os/arch[/variant]` for a platform manifest of an index. */
  readonly platform?: string;
  readonly written: Written;
  readonly logIndex?: string;
  readonly identity?: string;
  readonly issuer?: string;
}

export interface ImageSigningOptions {
  readonly storage: SignatureStorage;
  readonly signal?: AbortSignal;
  /** Called before each manifest is signed, for progress messages. */
  readonly onManifest?: (digest: string, platform: string | undefined) => void;
}

/** The manifests to sign: the image (or index) itself, and with `recursive` each platform manifest of an index (as cosign `--recursive`). */
export function signingTargets(image: ResolvedImage, recursive: boolean): Array<Descriptor & { platformLabel?: string }> {
  const own = { mediaType: image.mediaType, digest: image.digest, size: image.size };
  if (!recursive || image.kind !== 'index') return [own];
  return [
    own,
    ...image.platforms.map((p) => ({
      mediaType: p.mediaType,
      digest: p.digest,
      size: p.size,
      ...(p.platform ? { platformLabel: [p.platform.os, p.platform.architecture, p.platform.variant].filter(Boolean).join('/') } : {}),
    })),
  ];
}

/** Signs each target of `image` and writes the signatures where `storage` says. One at a time, in order. */
export async function signImage(
  client: RegistryWriter,
  image: ResolvedImage,
  signer: ImageSigner,
  options: ImageSigningOptions & { annotations?: Readonly<Record<string, string>>; recursive?: boolean },
): Promise<SignedManifest[]> {
  const annotations = options.annotations ?? {};
  const out: SignedManifest[] = [];
  for (const target of signingTargets(image, options.recursive === true)) {
    options.signal?.throwIfAborted();
    options.onManifest?.(target.digest, target.platformLabel);
    const platform = target.platformLabel ? { platform: target.platformLabel } : {};
    if (options.storage === 'cosign-tag') {
      const payload = simpleSigningPayload(image.reference, target.digest, annotations);
      const signed = await signer.signPayload(payload, options.signal);
      const written = await appendToCosignTag(
        client,
        image.reference,
        target.digest,
        'sig',
        { bytes: payload, mediaType: SIMPLE_SIGNING_MEDIA_TYPE, annotations: { [COSIGN_ANNOTATIONS.signature]: signed.signature, ...signed.annotations } },
        options.signal,
      );
      out.push({ digest: target.digest, ...platform, written, ...who(signed) });
    } else {
      const statement = signatureStatement(image.reference, target.digest, annotations);
      const signed = await signer.signStatement(statement, options.signal);
      const written = await storeBundle(client, image, target, COSIGN_SIGN_PREDICATE, signed.bundle, options.signal);
      out.push({ digest: target.digest, ...platform, written, ...who(signed) });
    }
  }
  return out;
}

/** Attests `image` (the digest it resolved to) with a predicate: an in-toto statement signed as DSSE. */
export async function attestImage(
  client: RegistryWriter,
  image: ResolvedImage,
  signer: ImageSigner,
  options: ImageSigningOptions & { predicateType: string; predicate: unknown },
): Promise<SignedManifest> {
  options.signal?.throwIfAborted();
  options.onManifest?.(image.digest, undefined);
  const target = { mediaType: image.mediaType, digest: image.digest, size: image.size };
  const statement = imageStatement(image.reference, image.digest, options.predicateType, options.predicate);
  const signed = await signer.signStatement(statement, options.signal);
  let written: Written;
  if (options.storage === 'cosign-tag') {
    written = await appendToCosignTag(
      client,
      image.reference,
      image.digest,
      'att',
      {
        bytes: signed.attLayer,
        mediaType: DSSE_ENVELOPE_MEDIA_TYPE,
        // cosign leaves the signature annotation empty on .att layers: the signature is in the envelope.
        annotations: { [COSIGN_ANNOTATIONS.signature]: '', predicateType: options.predicateType, ...signed.annotations },
      },
      options.signal,
    );
  } else {
    written = await storeBundle(client, image, target, options.predicateType, signed.bundle, options.signal);
  }
  return { digest: image.digest, written, ...who(signed) };
}

function storeBundle(client: RegistryWriter, image: ResolvedImage, subject: Descriptor, predicateType: string, bundle: object, signal?: AbortSignal): Promise<Written> {
  return attachReferrer(
    client,
    image.reference,
    { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    BUNDLE_V03_MEDIA_TYPE,
    { bytes: Buffer.from(JSON.stringify(bundle)), mediaType: BUNDLE_V03_MEDIA_TYPE, annotations: {} },
    {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': predicateType,
      'org.opencontainers.image.created': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    signal,
  );
}

function who(signed: { logIndex?: string; identity?: string; issuer?: string }): Pick<SignedManifest, 'logIndex' | 'identity' | 'issuer'> {
  return { ...(signed.logIndex ? { logIndex: signed.logIndex } : {}), ...(signed.identity ? { identity: signed.identity } : {}), ...(signed.issuer ? { issuer: signed.issuer } : {}) };
}
