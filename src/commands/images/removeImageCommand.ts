import type { ExtensionServices } from '../../services';
import type { ImageNode } from '../../images/imagesTree';

export const REMOVE_IMAGE_COMMAND = 'sigstore.images.remove';

/** Remove Image: unpins an image added with Add Image (images found in files stay). */
export async function removeImageCommand(services: ExtensionServices, node?: ImageNode): Promise<void> {
  if (node?.kind !== 'image') return;
  await services.images.workspaceImages.unpin(node.image.reference);
}
