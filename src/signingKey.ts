import type { KeyObject } from 'node:crypto';
import * as vscode from 'vscode';
import { readLimited } from './core/artifacts/artifact';
import { SigstoreError } from './core/errors';
import { loadCore } from './coreLoader';
import type { ExtensionServices } from './services';
import { signingSettings } from './signingSettings';

const MAX_KEY_FILE_BYTES = 64 * 1024;
const PASSWORD_ATTEMPTS = 3;

export interface UnlockedKey {
  readonly path: string;
  readonly key: KeyObject;
  readonly publicKeyPem: string;
}

/**
 * Finds the cosign.key to sign with (setting, else the workspace's) and decrypts it, with
 * COSIGN_PASSWORD as cosign does, else a remembered password, else by asking. Undefined
 * when the person cancels.
 */
export async function unlockSigningKey(services: ExtensionServices, signal?: AbortSignal): Promise<UnlockedKey | undefined> {
  const { prompts, passwords } = services.signing;
  const path = await keyFilePath(services);
  if (!path) return undefined;
  const pem = (await readLimited(path, MAX_KEY_FILE_BYTES)).toString('utf8');
  const core = loadCore();
  const open = async (password: string) => {
    const key = await core.readCosignPrivateKey(pem, password);
    return { path, key, publicKeyPem: core.publicKeyPemOf(key) };
  };

  const fromEnv = process.env.COSIGN_PASSWORD;
  if (fromEnv !== undefined) {
    try {
      return await open(fromEnv);
    } catch (e) {
      throw new SigstoreError('KEY_PASSWORD', `COSIGN_PASSWORD does not open ${vscode.workspace.asRelativePath(path)}: ${(e as Error).message}`, 'Unset COSIGN_PASSWORD in the environment VS Code was started from, or set it to this key\'s password.');
    }
  }
  const remembered = await passwords.get(path);
  if (remembered !== undefined) {
    try {
      return await open(remembered);
    } catch {
      // The key was replaced since; the kept password is useless now.
      await passwords.forget(path);
    }
  }
  let problem: string | undefined;
  for (let attempt = 0; attempt < PASSWORD_ATTEMPTS; attempt++) {
    signal?.throwIfAborted();
    const password = await prompts.keyPassword(path, problem);
    if (password === undefined) return undefined;
    try {
      const unlocked = await open(password);
      if (await prompts.rememberPassword(path)) await passwords.remember(path, password);
      return unlocked;
    } catch (e) {
      if ((e as { code?: string }).code !== 'WRONG_PASSWORD') throw e;
      problem = 'Wrong password; try again.';
    }
  }
  throw new SigstoreError('KEY_PASSWORD', `Three wrong passwords for ${vscode.workspace.asRelativePath(path)}.`, 'Find the password the key was made with, or generate a new key pair.');
}

async function keyFilePath(services: ExtensionServices): Promise<string | undefined> {
  const settings = signingSettings();
  for (const note of settings.ignored) services.log.warn(note);
  const configured = settings.keyFile;
  if (configured) return configured;
  const found = await vscode.workspace.findFiles('**/cosign.key', '**/node_modules/**', 20);
  if (found.length === 1) return found[0]!.fsPath;
  if (found.length > 1) return (await services.signing.prompts.chooseKeyFile(found))?.fsPath;
  const generate = 'Generate Key Pair';
  const answer = await vscode.window.showErrorMessage(
    'Sigstore: there is no cosign.key in the workspace.',
    { detail: 'Generate one, or point the "sigstore.keyFile" setting at the key you have.' },
    generate,
  );
  if (answer === generate) await vscode.commands.executeCommand('sigstore.generateKeyPair');
  return undefined;
}
