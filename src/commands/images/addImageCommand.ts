import * as vscode from 'vscode';
import { loadCore } from '../../coreLoader';
import type { ExtensionServices } from '../../services';

export const ADD_IMAGE_COMMAND = 'sigstore.images.add';

/** Add Image…: pins an image reference to the view (stored per workspace). */
export async function addImageCommand(services: ExtensionServices, given?: string): Promise<string | undefined> {
  const reference =
    given ??
    (await vscode.window.showInputBox({
      title: 'Sigstore: Add Image',
      prompt: 'An image reference, e.g. ghcr.io/org/app:1.2 or docker.io/library/alpine@sha256:…',
      ignoreFocusOut: true,
      validateInput: (value) => {
        if (!value.trim()) return 'Enter an image reference.';
        try {
          loadCore().parseImageReference(value.trim());
          return undefined;
        } catch (e) {
          return (e as Error).message;
        }
      },
    }));
  if (!reference?.trim()) return undefined;
  try {
    loadCore().parseImageReference(reference.trim());
  } catch (e) {
    void vscode.window.showErrorMessage(`Sigstore: ${(e as Error).message}`);
    return undefined;
  }
  await services.images.workspaceImages.pin(reference.trim());
  return reference.trim();
}
