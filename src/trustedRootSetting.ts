import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { readLimited } from './core/artifacts/artifact';
import * as vscode from 'vscode';
import { PUBLIC_GOOD } from './core/publicGood';
import type { TrustedRootChoice, TrustInputs } from './core/verify/trustInputs';
import { loadCore } from './coreLoader';

export const TRUSTED_ROOT_SETTING = 'sigstore.trustedRoot';
export const NETWORK_SETTINGS = ['sigstore.network.enabled', 'sigstore.rekorURL'];
const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;

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
  const core = loadCore();
  try {
    if (!path) return core.publicGoodTrustedRoot();
    return core.parseTrustedRoot(await readLimited(path, MAX_TRUSTED_ROOT_BYTES), path);
  } catch (e) {
    const remedy = (e as { remedy?: string }).remedy ?? 'Fix or clear the "sigstore.trustedRoot" setting (empty means the Sigstore public-good root).';
    const message = (e as { code?: string }).code === 'NOT_FOUND' ? `The trusted root ${path} does not exist.` : (e as Error).message;
    return { error: message, remedy };
  }
}

/** Whether verifiers may look things up online: only when the user enabled it, never in an untrusted workspace. */
export function networkSettings(): TrustInputs['network'] {
  const config = vscode.workspace.getConfiguration('sigstore');
  return {
    allowed: vscode.workspace.isTrusted && config.get<boolean>('network.enabled', false),
    rekorURL: config.get<string>('rekorURL')?.trim() || PUBLIC_GOOD.rekorURL,
  };
}
