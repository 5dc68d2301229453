import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import { PUBLIC_GOOD } from './core/publicGood';

/** Where signing goes: the public-good instance unless the user set up a private one. */
export interface SigningSettings {
  readonly fulcioURL: string;
  readonly rekorURL: string;
  readonly tsaURL?: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly flow: 'device' | 'browser';
  readonly redirectPort: number;
  /** The configured cosign.key, resolved; undefined to look for one in the workspace. */
  readonly keyFile?: string;
  readonly uploadKeySignatures: boolean;
}



export function signingSettings(): SigningSettings {
  const config = vscode.workspace.getConfiguration('sigstore');
  const text = (key: string, fallback: string) => config.get<string>(key)?.trim() || fallback;
  const tsa = config.get<string>('tsaURL')?.trim();
  return {
    fulcioURL: text('fulcioURL', PUBLIC_GOOD.fulcioURL),
    rekorURL: text('rekorURL', PUBLIC_GOOD.rekorURL),
    ...(tsa ? { tsaURL: tsa } : {}),
    issuer: text('oidcIssuer', PUBLIC_GOOD.oidcIssuer),
    clientId: text('oidcClientId', PUBLIC_GOOD.oidcClientId),
    flow: config.get<string>('signInFlow') === 'browser' ? 'browser' : 'device',
    redirectPort: config.get<number>('signInRedirectPort', 0),
    keyFile: resolvePath(config.get<string>('keyFile')),
    uploadKeySignatures: config.get<boolean>('keySigning.uploadToRekor', false),
  };
}

function resolvePath(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const expanded = value.replace(/\$\{workspaceFolder\}/g, folder ?? '').replace(/^~(?=\/|$)/, homedir());
  return isAbsolute(expanded) || !folder ? expanded : join(folder, expanded);
}
