import type { ImageNode } from '../../images/imagesTree';
import type { ExtensionServices } from '../../services';

export const VERIFY_AGAIN_COMMAND = 'sigstore.images.verifyAgain';

/** Verify Again: reads a manifest's signatures, attestations and SBOMs again and verifies them. */
export function verifyAgainCommand(services: ExtensionServices, node?: ImageNode): void {
  if (node) services.images.tree.verifyAgain(node);
}
