import type { ExtensionServices } from '../../services';
import { signOrAttestImage, type ImageSigningOutcome } from '../../images/imageSigning';
import type { ImageNode } from '../../images/imagesTree';
import { referenceOf } from './signImageCommand';

export const ATTEST_IMAGE_COMMAND = 'sigstore.images.attest';

/** Attest Image: as Sign Image, with a predicate file from the workspace and its type. */
export function attestImageCommand(services: ExtensionServices, target?: ImageNode | { reference: string }): Promise<ImageSigningOutcome | undefined> {
  return signOrAttestImage(services, 'attest', referenceOf(target));
}
