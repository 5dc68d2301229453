import * as vscode from 'vscode';
import { isRegularFile } from '../core/artifacts/artifact';
import { artifactOf, candidateCompanions } from '../core/artifacts/companions';
import type { VerificationResult } from '../core/verify/result';
import type { ExtensionServices } from '../services';
import { SIGN_ARTIFACT_COMMAND } from './signArtifactCommand';
import { noEvidence } from '../ui/signingPrompts';
import { tabFile } from '../ui/verifiableEditors';

export const VERIFY_COMMAND = 'sigstore.verify';

/**
 * Verify (Explorer and editor tab context menus, editor title, palette): verifies the file
 * (or the file a companion is about) now and opens its report. Without a file it asks for
 * one; a file without evidence gets the offer to sign it. Returns the result, so other
 * commands and tests can use it.
 */
export async function verifyCommand(services: ExtensionServices, target?: vscode.Uri): Promise<VerificationResult | undefined> {
  const uri = target ?? activeFile() ?? (await services.signing.prompts.chooseFileToVerify());
  if (!uri) return undefined;
  if (uri.scheme !== 'file') {
    void vscode.window.showWarningMessage(`Sigstore: only files on disk can be verified (${uri.scheme}: is not supported).`);
    return undefined;
  }
  const artifact = artifactOf(uri.fsPath);
  for (const companion of candidateCompanions(artifact)) {
    if (await isRegularFile(companion.path)) services.cache.changed(companion.path);
  }
  await services.cache.settled();
  if (!services.cache.hasEvidence(artifact)) {
    await offerSigning(services, artifact);
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

/** The file in the active editor group (a text editor or not: a signed binary is no text). */
function activeFile(): vscode.Uri | undefined {
  return tabFile(vscode.window.tabGroups.activeTabGroup.activeTab) ?? vscode.window.activeTextEditor?.document.uri;
}

/** Nothing to verify: say so, and in a trusted workspace offer Sign Artifact for a regular file. */
async function offerSigning(services: ExtensionServices, artifact: string): Promise<void> {
  const name = vscode.workspace.asRelativePath(artifact);
  if (!vscode.workspace.isTrusted || !(await isRegularFile(artifact))) {
    void vscode.window.showInformationMessage(`Sigstore: ${noEvidence(name)}`);
    return;
  }
  if (await services.signing.prompts.offerSigning(name)) {
    await vscode.commands.executeCommand(SIGN_ARTIFACT_COMMAND, vscode.Uri.file(artifact));
  }
}
