import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { TrustedRootError } from './core/errors';
import { parseTrustedRoot, publicGoodTrustedRoot, type LoadedTrustedRoot } from './core/trust/trustedRoot';

export type TrustedRootChoice = LoadedTrustedRoot | { readonly error: string; readonly remedy: string };

export const TRUSTED_ROOT_SETTING = 'sigstore.trustedRoot';

/** The configured trusted_root.json path, resolved; undefined for the embedded public-good root. */
export function configuredTrustedRootPath(): string | undefined {
  const raw = vscode.workspace.getConfiguration('sigstore').get<string>('trustedRoot')?.trim();
  if (!raw) return undefined;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const expanded = raw.replace(/\$\{workspaceFolder\}/g, folder ?? '').replace(/^~(?=\/|$)/, homedir());
  return isAbsolute(expanded) || !folder ? expanded : join(folder, expanded);
}

/** Loads the trusted root the settings ask for; a broken setting makes everything "cannot be checked", never "verified". */
export async function loadTrustedRoot(): Promise<TrustedRootChoice> {
  const path = configuredTrustedRootPath();
  try {
    if (!path) return publicGoodTrustedRoot();
    return parseTrustedRoot(await readFile(path), path);
  } catch (e) {
    if (e instanceof TrustedRootError) return { error: e.message, remedy: e.remedy ?? 'Fix or clear the "sigstore.trustedRoot" setting.' };
    return {
      error: `The trusted root ${path} could not be read: ${(e as Error).message}`,
      remedy: 'Fix or clear the "sigstore.trustedRoot" setting (empty means the Sigstore public-good root).',
    };
  }
}
