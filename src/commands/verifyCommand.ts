import * as vscode from 'vscode';
import { isRegularFile } from '../core/artifacts/artifact';
import { candidateCompanions, companionOf } from '../core/artifacts/companions';
import type { VerificationResult } from '../core/verify/result';
import type { ExtensionServices } from '../services';

export const VERIFY_COMMAND = 'sigstore.verify';

/**
 * Verify (Explorer context menu, editor title, palette): verifies the file now and opens
 * its report. Returns the result, so other commands and tests can use it.
 */
export async function verifyCommand(services: ExtensionServices, target?: vscode.Uri): Promise<VerificationResult | undefined> {
  const uri = target ?? vscode.window.activeTextEditor?.document.uri;
  if (!uri) {
    void vscode.window.showInformationMessage('Sigstore: open or select a file to verify.');
    return undefined;
  }
  if (uri.scheme !== 'file') {
    void vscode.window.showWarningMessage(`Sigstore: only files on disk can be verified (${uri.scheme}: is not supported).`);
    return undefined;
  }
  // Verifying a companion means verifying the file it is about.
  const artifact = companionOf(uri.fsPath)?.artifact ?? uri.fsPath;
  for (const companion of candidateCompanions(artifact)) {
    if (await isRegularFile(companion.path)) services.cache.changed(companion.path);
  }
  await services.cache.settled();
  if (!services.cache.companionsOf(artifact).some((c) => c.kind !== 'certificate')) {
    const name = vscode.workspace.asRelativePath(artifact);
    void vscode.window.showInformationMessage(
      `Sigstore: ${name} has no signature, bundle, attestation or checksum next to it (such as ${name}.sigstore.json, ${name}.sig or a SHA256SUMS listing it).`,
    );
    return undefined;
  }
  if (!(await isRegularFile(artifact))) {
    void vscode.window.showWarningMessage(`Sigstore: ${vscode.workspace.asRelativePath(artifact)}, the file this signature is about, does not exist.`);
    return undefined;
  }
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: `Verifying ${vscode.workspace.asRelativePath(artifact)}` },
    () => services.cache.verifyNow(artifact),
  );
  if (!result) return undefined;
  services.log.info(`Verify ${artifact}: ${result.state}: ${result.summary}`);
  const report = services.reports.publish(result);
  await vscode.commands.executeCommand('markdown.showPreview', report);
  return result;
}
