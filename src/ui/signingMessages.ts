import * as vscode from 'vscode';
import type { ExtensionServices } from '../services';

/**
 * Signing needs a trusted workspace: there the settings that say where identities and
 * certificates come from are the workspace's own, and a cloned repository could redirect them.
 */
export function requireTrustedWorkspace(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  const manage = 'Manage Workspace Trust';
  void vscode.window
    .showWarningMessage(`Sigstore: cannot ${what} in an untrusted workspace (Restricted Mode only verifies).`, manage)
    .then((a) => a === manage && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

/** A failure the person can act on: message and remedy, logged without secrets; a cancel is quiet. */
export function showSigningError(services: ExtensionServices, e: unknown): void {
  if (isCancellation(e)) {
    services.log.info('Signing cancelled; nothing was written.');
    void vscode.window.showInformationMessage('Sigstore: signing cancelled; nothing was written.');
    return;
  }
  const { message, remedy, code } = e as { message?: string; remedy?: string; code?: string };
  services.log.error(`Signing failed${code ? ` (${code})` : ''}: ${message ?? String(e)}`);
  void vscode.window
    .showErrorMessage(`Sigstore: ${message ?? String(e)}${remedy ? ` ${remedy}` : ''}`, 'Show Log')
    .then((a) => a && services.log.show());
}

function isCancellation(e: unknown): boolean {
  const err = e as { name?: string; code?: string };
  return e instanceof vscode.CancellationError || err?.name === 'AbortError' || err?.code === 'CANCELLED' || err?.code === 'ABORT_ERR';
}
