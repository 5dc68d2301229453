/**
 * What `sign-image` and `attest-image` share: their flags, resolving the reference to a digest
 * (said on stderr before anything is signed), the signer (keyless or cosign key), the registry
 * client, and the report of what was written where.
 */
import { abortable } from '../core/abortable';
import { resolveImage, type ResolvedImage } from '../core/images/attachments';
import { dockerCredentials } from '../core/oci/dockerCredentials';
import { parseImageReference, formatReference, type ImageReference } from '../core/oci/reference';
import { RegistryClient } from '../core/oci/registryClient';
import { keyImageSigner, keylessImageSigner, type ImageSigner } from '../core/imageSigning/imageSigner';
import { SIGNATURE_STORAGES, type SignatureStorage, type SignedManifest } from '../core/imageSigning/signImage';
import { createKeylessSession } from '../core/sign/keylessSigner';
import { checkURL, identityFor, KEYLESS_ONLY_FLAGS, messageOf, readKey, SERVICE_FLAGS, servicesOf, SetupError, type ServiceFlags } from './signingSetup';

export interface ImageSigningFlags extends ServiceFlags {
  key?: string;
  storage: SignatureStorage;
  tlogUpload: boolean;
  insecure: string[];
  reference?: string;
}

/** Parses the shared flags; `extra` takes the command's own flags (true when `arg` was one). */
export function parseImageSigningArgs<T extends ImageSigningFlags>(args: string[], o: T, extra: (arg: string, value: () => string) => boolean): T {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined || v === '') throw new SetupError(`${arg} needs a value`, true);
      return v;
    };
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const field = SERVICE_FLAGS[name];
    if (field && field !== 'browser') (o as unknown as Record<string, string>)[field] = inline ?? value();
    else if (name === '--key') o.key = inline ?? value();
    else if (name === '--storage') {
      const storage = inline ?? value();
      if (!SIGNATURE_STORAGES.includes(storage as SignatureStorage)) throw new SetupError(`--storage is ${SIGNATURE_STORAGES.join(' or ')}, not "${storage}"`, true);
      o.storage = storage as SignatureStorage;
    } else if (name === '--insecure-registry') o.insecure.push(inline ?? value());
    else if (arg === '--browser') o.browser = true;
    else if (arg === '--tlog-upload' || arg === '--tlog-upload=true') o.tlogUpload = true;
    else if (arg === '--tlog-upload=false') o.tlogUpload = false;
    else if (extra(arg, value)) continue;
    else if (arg.startsWith('-')) throw new SetupError(`unknown option ${arg}`, true);
    else if (o.reference !== undefined) throw new SetupError(`one image at a time: "${o.reference}" and "${arg}" given`, true);
    else o.reference = arg;
  }
  if (o.reference === undefined) throw new SetupError('no image reference given', true);
  if (o.key) {
    const keyless = KEYLESS_ONLY_FLAGS.filter((f) => args.some((a) => a === f || a.startsWith(`${f}=`)));
    if (keyless.length) throw new SetupError(`${keyless.join(', ')} ${keyless.length > 1 ? 'are' : 'is'} for keyless signing and cannot be combined with --key`, true);
  } else if (o.tlogUpload) {
    throw new SetupError('--tlog-upload is for --key signing: keyless signatures are always logged in Rekor', true);
  }
  return o;
}

function referenceOf(o: ImageSigningFlags): ImageReference {
  try {
    return parseImageReference(o.reference!);
  } catch (e) {
    throw new SetupError(`${o.reference} is not an image reference: ${messageOf(e)}`);
  }
}

function clientFor(o: ImageSigningFlags): RegistryClient {
  return new RegistryClient({ credentials: dockerCredentials(), insecureRegistries: o.insecure, userAgent: 'sigstore-cli' });
}

/** Resolves the reference to the digest that will be signed, and says so before anything is signed. */
async function resolveForSigning(client: RegistryClient, ref: ImageReference, signal: AbortSignal): Promise<ResolvedImage> {
  const image = await abortable(resolveImage(client, ref, { signal }), signal);
  const pinned = formatReference(ref, { digest: image.digest });
  if (ref.digest) process.stderr.write(`Signing ${pinned} (${image.kind === 'index' ? 'an index' : 'a manifest'}).\n`);
  else process.stderr.write(`${formatReference(ref)} is ${image.digest}; signing that digest: ${pinned} (${image.kind === 'index' ? 'an index' : 'a manifest'}).\n`);
  return image;
}

async function signerFor(o: ImageSigningFlags, signal: AbortSignal): Promise<ImageSigner> {
  const services = servicesOf(o);
  if (o.key) {
    const key = await readKey(o.key, signal);
    if (o.tlogUpload) checkURL('rekorURL', services.rekorURL);
    return keyImageSigner(key, o.tlogUpload ? { rekorURL: services.rekorURL } : {});
  }
  for (const [name, url] of Object.entries(services)) checkURL(name, url as string);
  const identity = await identityFor(o, signal);
  return keylessImageSigner(createKeylessSession(identity.token, services));
}

/**
 * Resolves the reference (before any sign-in: a mistyped reference should not cost one), gets
 * the signer, runs `work` and reports what it wrote. 0 done, 1 refused (by the registry or a
 * service); setup problems throw SetupError (2).
 */
export async function resolveSignAndPush(
  o: ImageSigningFlags,
  signal: AbortSignal,
  done: 'signed' | 'attested',
  work: (client: RegistryClient, image: ResolvedImage, signer: ImageSigner) => Promise<SignedManifest[]>,
): Promise<number> {
  const ref = referenceOf(o);
  const client = clientFor(o);
  try {
    const image = await resolveForSigning(client, ref, signal).catch((e: unknown) => {
      if (signal.aborted) throw e;
      throw new SetupError(messageOf(e));
    });
    const signer = await signerFor(o, signal);
    try {
      (await abortable(work(client, image, signer), signal)).forEach(report);
      return 0;
    } catch (e) {
      if (signal.aborted) throw e;
      process.stderr.write(`error: ${image.name}@${image.digest} was not ${done}: ${messageOf(e)}\n`);
      return 1;
    }
  } finally {
    await client.close();
  }
}

function report(signed: SignedManifest): void {
  const details = [
    `manifest ${signed.written.digest}`,
    ...(signed.written.fallbackTag ? [`fallback index ${signed.written.fallbackTag}`] : []),
    ...(signed.logIndex ? [`log index ${signed.logIndex}`] : []),
    ...(signed.identity ? [`identity ${signed.identity}`] : []),
    ...(signed.written.attempts > 1 ? [`${signed.written.attempts} attempts: someone else wrote at the same time`] : []),
  ];
  process.stdout.write(`${signed.platform ? `${signed.platform} ` : ''}${signed.digest} -> ${signed.written.location} (${details.join(', ')})\n`);
}
