import * as vscode from 'vscode';
import type { ImageNode } from '../../images/imagesTree';
import type { ExtensionServices } from '../../services';
import { withCancellableProgress } from '../../ui/cancellableProgress';

export const OPEN_ATTACHMENT_COMMAND = 'sigstore.images.openAttachment';

/** Opens a signature's payload, an attestation's statement or an SBOM as formatted, read-only JSON. */
export async function openAttachmentCommand(services: ExtensionServices, node?: ImageNode): Promise<vscode.Uri | undefined> {
  if (node?.kind !== 'attachment') return undefined;
  const { attachment } = node.item;
  try {
    // Usually already read for verifying; an SBOM may be large: the notification offers Cancel.
    const loaded = await withCancellableProgress(`Sigstore: fetching ${attachment.digest.slice(0, 19)}…`, (signal) => attachment.load(signal));
    const uri = services.images.documents.publish(attachment.digest, `${node.image.reference} ${attachment.kind}`, loaded.payload);
    let doc = await vscode.workspace.openTextDocument(uri);
    // JSON payloads (signatures, statements, SPDX/CycloneDX JSON) as JSON; other SBOM formats as they are.
    if (services.images.documents.isJson(uri)) doc = await vscode.languages.setTextDocumentLanguage(doc, 'json');
    await vscode.window.showTextDocument(doc, { preview: true });
    return uri;
  } catch (e) {
    const { message, remedy, code } = e as { message?: string; remedy?: string; code?: string };
    if (code === 'CANCELLED') return undefined;
    void vscode.window.showErrorMessage(`Sigstore: ${message ?? String(e)}${remedy ? ` ${remedy}` : ''}`);
    return undefined;
  }
}
