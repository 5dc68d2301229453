import type { ExtensionServices } from '../../services';
import type { ImageNode } from '../../images/imagesTree';

export const REFRESH_IMAGES_COMMAND = 'sigstore.images.refresh';

/** Refresh: asks the registry again, for one image (inline, and Retry on an error) or for all. */
export function refreshImagesCommand(services: ExtensionServices, node?: ImageNode): void {
  services.images.tree.refresh(node);
}
