/**
 * `sigstore attest-image`: attests the digest an image reference names with a predicate, as
 * `cosign attest` does: an in-toto statement signed as DSSE, stored as a Sigstore bundle
 * referrer or in the `.att` tag. Exit status as sign-image.
 */
import { resolve } from 'node:path';
import { readLimited } from '../core/artifacts/artifact';
import { parsePredicate, predicateTypeOf } from '../core/imageSigning/payloads';
import { attestImage } from '../core/imageSigning/signImage';
import { parseImageSigningArgs, resolveSignAndPush, type ImageSigningFlags } from './imageSigningRun';
import { display, interruptible, messageOf, SetupError } from './signingSetup';

export const ATTEST_IMAGE_USAGE = `usage: sigstore attest-image [--key FILE] [--identity-token TOKEN] --predicate FILE --type TYPE
                             [--storage referrers|cosign-tag] [--tlog-upload] [--insecure-registry HOST]...
                             [--fulcio-url URL] [--rekor-url URL] [--tsa-url URL] [--oidc-issuer URL] [--oidc-client-id ID] [--browser] REF
  Resolves REF to a digest (printed first) and signs an in-toto statement about it whose
  predicate is the JSON in FILE. TYPE: slsaprovenance (v0.2), slsaprovenance1, spdxjson,
  cyclonedx, openvex, vuln, custom, or a predicate type URI (cosign attest --type).
  --storage referrers (default): a Sigstore bundle as an OCI 1.1 referrer (cosign v3);
  --storage cosign-tag: a layer of the sha256-<hex>.att tag (cosign v2), keeping those there.
  Exit status: 0 attested, 1 not attested, 2 usage or setup error, 130 interrupted.`;

/** Predicates are documents (SBOMs can be large), but not unbounded. */
const MAX_PREDICATE_BYTES = 64 * 1024 * 1024;

interface AttestImageFlags extends ImageSigningFlags {
  predicate?: string;
  type?: string;
}

export function attestImageCommand(args: string[]): Promise<number> {
  return interruptible(ATTEST_IMAGE_USAGE, 'signed or pushed', (signal) => run(args, signal));
}

async function run(args: string[], signal: AbortSignal): Promise<number> {
  const o: AttestImageFlags = { storage: 'referrers', tlogUpload: false, browser: false, insecure: [] };
  parseImageSigningArgs(args, o, (arg, value) => {
    if (arg === '--predicate') o.predicate = value();
    else if (arg === '--type') o.type = value();
    else return false;
    return true;
  });
  if (!o.predicate) throw new SetupError('--predicate FILE is required', true);
  if (!o.type) throw new SetupError('--type TYPE is required (for example slsaprovenance1, spdxjson, cyclonedx, or a URI)', true);
  let predicateType: string;
  let predicate: Record<string, unknown>;
  try {
    predicateType = predicateTypeOf(o.type);
    const path = resolve(o.predicate);
    predicate = parsePredicate(await readLimited(path, MAX_PREDICATE_BYTES), display(path));
  } catch (e) {
    throw new SetupError(messageOf(e));
  }
  return resolveSignAndPush(o, signal, 'attested', async (client, image, signer) => [await attestImage(client, image, signer, { storage: o.storage, predicateType, predicate, signal })]);
}
