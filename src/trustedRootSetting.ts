import { readLimited } from './core/artifacts/artifact';
import * as vscode from 'vscode';
import { PUBLIC_GOOD } from './core/publicGood';
import type { TrustedRootChoice, TrustInputs } from './core/verify/trustInputs';
import { loadCore } from './coreLoader';
import { resolveSettingPath, type SettingPath } from './settings/settingPath';

export const TRUSTED_ROOT_SETTING = 'sigstore.trustedRoot';
export const NETWORK_SETTINGS = ['sigstore.network.enabled', 'sigstore.rekorURL'];
const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;

/** The configured trusted_root.json, resolved (or why it is not used); undefined for the embedded public-good root. */
function configuredTrustedRoot(): SettingPath | undefined {
  return resolveSettingPath(TRUSTED_ROOT_SETTING, vscode.workspace.getConfiguration('sigstore').get<string>('trustedRoot'), vscode.workspace);
}

/** The configured trusted_root.json path, resolved; undefined for the embedded public-good root (or a path not used). */
export function configuredTrustedRootPath(): string | undefined {
  const configured = configuredTrustedRoot();
  return configured && 'path' in configured ? configured.path : undefined;
}

/**
 * Loads the trusted root the settings ask for; a broken setting makes everything "cannot be
 * checked", never "verified". A path setting not used in an untrusted workspace leaves the
 * public-good root, with the reason among its notes (and in `log`).
 */
export async function loadTrustedRoot(log?: (note: string) => void): Promise<TrustedRootChoice> {
  const configured = configuredTrustedRoot();
  const core = loadCore();
  if (configured && 'ignored' in configured) {
    log?.(configured.ignored);
    const root = core.publicGoodTrustedRoot();
    return { ...root, ignored: [...root.ignored, configured.ignored] };
  }
  const path = configured?.path;
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
