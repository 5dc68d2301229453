/**
 * `sigstore sign-image`: signs the digest an image reference names, as `cosign sign` does,
 * storing the signature as a Sigstore bundle referrer (cosign v3) or in the `.sig` tag.
 * Exit status: 0 signed, 1 signed nothing (the registry or a service refused), 2 usage or
 * setup error, 130 interrupted.
 */
import { parseAnnotations } from '../core/imageSigning/payloads';
import { signImage } from '../core/imageSigning/signImage';
import { parseImageSigningArgs, resolveSignAndPush, type ImageSigningFlags } from './imageSigningRun';
import { interruptible, messageOf, SetupError } from './signingSetup';

export const SIGN_IMAGE_USAGE = `usage: sigstore sign-image [--key FILE] [--identity-token TOKEN] [--storage referrers|cosign-tag]
                           [-a KEY=VALUE]... [--recursive] [--tlog-upload] [--insecure-registry HOST]...
                           [--fulcio-url URL] [--rekor-url URL] [--tsa-url URL] [--oidc-issuer URL] [--oidc-client-id ID] [--browser] REF
  Resolves REF to a digest (printed first) and signs that digest, keylessly (a sign-in, as for
  sign) or with a cosign key (--key; --tlog-upload also logs it in Rekor).
  --storage referrers (default): a Sigstore bundle as an OCI 1.1 referrer, as cosign v3 writes,
  plus the sha256-<hex> fallback index where the registry has no referrers API.
  --storage cosign-tag: a layer of the sha256-<hex>.sig tag, as cosign v2 writes; signatures
  already there are kept. -a adds annotations to what is signed (cosign -a).
  --recursive: for a multi-platform index, also sign each platform manifest (cosign --recursive).
  Registry credentials come from the Docker configuration ($DOCKER_CONFIG or ~/.docker).
  Exit status: 0 signed, 1 not signed, 2 usage or setup error, 130 interrupted.`;

interface SignImageFlags extends ImageSigningFlags {
  annotations: string[];
  recursive: boolean;
}

export function signImageCommand(args: string[]): Promise<number> {
  return interruptible(SIGN_IMAGE_USAGE, 'signed or pushed', (signal) => run(args, signal));
}

async function run(args: string[], signal: AbortSignal): Promise<number> {
  const o: SignImageFlags = { storage: 'referrers', tlogUpload: false, browser: false, insecure: [], annotations: [], recursive: false };
  parseImageSigningArgs(args, o, (arg, value) => {
    if (arg === '-a' || arg === '--annotations') o.annotations.push(value());
    else if (arg.startsWith('--annotations=')) o.annotations.push(arg.slice('--annotations='.length));
    else if (arg === '--recursive' || arg === '--recursive=true') o.recursive = true;
    else return false;
    return true;
  });
  let annotations: Record<string, string>;
  try {
    annotations = parseAnnotations(o.annotations);
  } catch (e) {
    throw new SetupError(messageOf(e));
  }
  return resolveSignAndPush(o, signal, 'signed', (client, image, signer) => signImage(client, image, signer, { storage: o.storage, annotations, recursive: o.recursive, signal }));
}
