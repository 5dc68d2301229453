import { loadCore } from '../../coreLoader';
import type { ExtensionServices } from '../../services';
import { signOrAttestImage, type ImageSigningOutcome } from '../../images/imageSigning';
import { imageOf, type ImageNode } from '../../images/imagesTree';

export const SIGN_IMAGE_COMMAND = 'sigstore.images.sign';

/**
 * Sign Image: from an image in the Images view, a CodeLens on a reference ({ reference }), or
 * the palette (asks for a reference). Signs the digest the reference resolves to.
 */
export function signImageCommand(services: ExtensionServices, target?: ImageNode | { reference: string }): Promise<ImageSigningOutcome | undefined> {
  return signOrAttestImage(services, 'sign', referenceOf(target));
}

/** The reference to sign: a platform manifest's node names its own digest, other nodes their image. */
export function referenceOf(target?: ImageNode | { reference: string }): string | undefined {
  if (!target) return undefined;
  if (!('kind' in target)) return typeof target.reference === 'string' ? target.reference : undefined;
  const reference = imageOf(target)?.reference;
  if (!reference || target.kind !== 'manifest') return reference;
  const core = loadCore();
  return core.formatReference(core.parseImageReference(reference), { digest: target.digest });
}
