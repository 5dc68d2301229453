import * as vscode from 'vscode';
import type { ExtensionServices } from '../services';

export const FORGET_KEY_PASSWORDS_COMMAND = 'sigstore.forgetKeyPasswords';

/** Forget Key Passwords: removes every key password kept in secret storage. */
export async function forgetKeyPasswordsCommand(services: ExtensionServices): Promise<number> {
  const count = await services.signing.passwords.forgetAll();
  services.log.info(`Forgot ${count} kept key password(s)`);
  void vscode.window.showInformationMessage(count ? `Sigstore: forgot ${count} key password(s).` : 'Sigstore: no key passwords were kept.');
  return count;
}
