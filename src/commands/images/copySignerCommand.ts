import * as vscode from 'vscode';
import type { ImageNode } from '../../images/imagesTree';
import { loadCore } from '../../coreLoader';

export const COPY_SIGNER_COMMAND = 'sigstore.images.copySigner';

/** Copy Signer: the certificate identity (or key) that signed an attachment. */
export async function copySignerCommand(node?: ImageNode): Promise<string | undefined> {
  if (node?.kind !== 'attachment' || !node.item.evidence?.signer) return undefined;
  const signer = node.item.evidence.signer;
  const text = signer.kind === 'certificate' ? signer.identity : loadCore().signerLabel(signer);
  await vscode.env.clipboard.writeText(text);
  return text;
}
