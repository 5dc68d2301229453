import * as vscode from 'vscode';
import type { ImageNode } from '../../images/imagesTree';
import type { ExtensionServices } from '../../services';

export const COPY_DIGEST_COMMAND = 'sigstore.images.copyDigest';

/** Copy Digest: of an image (its resolved digest), a platform manifest or an attachment. */
export async function copyDigestCommand(services: ExtensionServices, node?: ImageNode): Promise<string | undefined> {
  let digest: string | undefined;
  if (node?.kind === 'image') digest = services.images.tree.resolvedDigest(node.image.reference)?.digest;
  else if (node?.kind === 'manifest') digest = node.digest;
  else if (node?.kind === 'attachment') digest = node.item.attachment.digest;
  if (!digest) return undefined;
  await vscode.env.clipboard.writeText(digest);
  return digest;
}
