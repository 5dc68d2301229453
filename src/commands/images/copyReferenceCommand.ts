import * as vscode from 'vscode';
import type { ImageNode } from '../../images/imagesTree';
import type { ExtensionServices } from '../../services';

export const COPY_REFERENCE_COMMAND = 'sigstore.images.copyReference';

/** Copy Reference by Digest: `registry/repository@sha256:…`, what to pin in a deployment. */
export async function copyReferenceCommand(services: ExtensionServices, node?: ImageNode): Promise<string | undefined> {
  if (node?.kind !== 'image' && node?.kind !== 'manifest') return undefined;
  const resolved = node.kind === 'manifest' ? node.resolved : services.images.tree.resolvedDigest(node.image.reference);
  if (!resolved) return undefined;
  const reference = `${resolved.name}@${node.kind === 'manifest' ? node.digest : resolved.digest}`;
  await vscode.env.clipboard.writeText(reference);
  return reference;
}
