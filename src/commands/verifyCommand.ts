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
  const present = await Promise.all(candidateCompanions(artifact).map(async (c) => ((await isRegularFile(c.path)) ? c : undefined)));
  for (const companion of present) if (companion) services.cache.changed(companion.path);
  if (!present.some(Boolean)) {
    void vscode.window.showInformationMessage(
      `Sigstore: ${vscode.workspace.asRelativePath(artifact)} has no signature next to it (expected ${vscode.workspace.asRelativePath(artifact)}.sigstore.json).`,
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
