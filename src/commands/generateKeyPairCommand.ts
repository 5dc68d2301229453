import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { loadCore } from '../coreLoader';
import type { ExtensionServices } from '../services';
import { requireTrustedWorkspace, showSigningError } from '../ui/signingMessages';

export const GENERATE_KEY_PAIR_COMMAND = 'sigstore.generateKeyPair';

/**
 * Generate Key Pair: writes cosign.key (encrypted exactly as `cosign generate-key-pair`
 * does, readable only by the owner) and cosign.pub into a folder. The password is asked
 * twice and kept only if the person says so.
 */
export async function generateKeyPairCommand(services: ExtensionServices, target?: vscode.Uri): Promise<{ privateKey: string; publicKey: string } | undefined> {
  if (!requireTrustedWorkspace('generate signing keys')) return undefined;
  const { prompts, passwords } = services.signing;
  const folder = await targetFolder(services, target);
  if (!folder) return undefined;
  const privateKey = join(folder, 'cosign.key');
  const publicKey = join(folder, 'cosign.pub');
  const existing = [];
  for (const p of [privateKey, publicKey]) if (await stat(p).then(() => true, () => false)) existing.push(p);
  if (existing.length && !(await prompts.confirmReplaceKey(existing))) return undefined;

  const password = await prompts.newKeyPassword();
  if (password === undefined) return undefined;
  try {
    const core = loadCore();
    const pair = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Sigstore: generating a key pair…' }, () =>
      core.generateCosignKeyPair(password),
    );
    const overwrite = existing.length > 0;
    await core.writeCompanions(
      [
        { path: privateKey, bytes: pair.privateKeyPem, mode: 0o600 },
        { path: publicKey, bytes: pair.publicKeyPem },
      ],
      { overwrite },
    );
    services.log.info(`Generated a key pair: ${privateKey} (encrypted) and ${publicKey}`);
    if (await prompts.rememberPassword(privateKey)) await passwords.remember(privateKey, password);
    else await passwords.forget(privateKey);
    const open = 'Open cosign.pub';
    void vscode.window
      .showInformationMessage(
        `Sigstore: wrote ${vscode.workspace.asRelativePath(privateKey)} (keep it secret; never commit it) and ${vscode.workspace.asRelativePath(publicKey)} (share it; list it in the trust policy to trust its signatures).`,
        open,
      )
      .then(async (a) => {
        if (a === open) await vscode.window.showTextDocument(vscode.Uri.file(publicKey));
      });
    return { privateKey, publicKey };
  } catch (e) {
    showSigningError(services, e);
    return undefined;
  }
}

async function targetFolder(services: ExtensionServices, target?: vscode.Uri): Promise<string | undefined> {
  if (target?.scheme === 'file') {
    const info = await stat(target.fsPath).catch(() => undefined);
    if (info?.isDirectory()) return target.fsPath;
  }
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  if (folders.length === 1) return folders[0]!.uri.fsPath;
  if (folders.length > 1) return (await services.signing.prompts.chooseFolder(folders))?.fsPath;
  const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Save Key Pair Here' });
  return picked?.[0]?.fsPath;
}
