import * as vscode from 'vscode';
import type { ImageNode } from '../../images/imagesTree';

export const REGISTRY_SIGN_IN_COMMAND = 'sigstore.images.signIn';

/**
 * Sign In to Registry: credentials come from the Docker configuration the person already has,
 * so signing in is `docker login` in a terminal; then Refresh.
 */
export function registrySignInCommand(node?: ImageNode): void {
  const registry = node?.kind === 'problem' ? node.registry : undefined;
  const terminal = vscode.window.createTerminal({ name: 'Sigstore: registry sign-in' });
  terminal.show();
  // Typed, not run: the person sees the command and presses Enter (and may prefer podman or oras).
  terminal.sendText(`docker login ${registry && registry !== 'docker.io' ? registry : ''}`.trim(), false);
}
