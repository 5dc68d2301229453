import * as vscode from 'vscode';
import { PUBLIC_GOOD } from './core/publicGood';
import { resolveSettingPath } from './settings/settingPath';

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
  /** Path settings that are not used, and why (to log). */
  readonly ignored: readonly string[];
  readonly uploadKeySignatures: boolean;
}

export function signingSettings(): SigningSettings {
  const config = vscode.workspace.getConfiguration('sigstore');
  const text = (key: string, fallback: string) => config.get<string>(key)?.trim() || fallback;
  const tsa = config.get<string>('tsaURL')?.trim();
  const keyFile = resolveSettingPath('sigstore.keyFile', config.get<string>('keyFile'), vscode.workspace);
  return {
    fulcioURL: text('fulcioURL', PUBLIC_GOOD.fulcioURL),
    rekorURL: text('rekorURL', PUBLIC_GOOD.rekorURL),
    ...(tsa ? { tsaURL: tsa } : {}),
    issuer: text('oidcIssuer', PUBLIC_GOOD.oidcIssuer),
    clientId: text('oidcClientId', PUBLIC_GOOD.oidcClientId),
    flow: config.get<string>('signInFlow') === 'browser' ? 'browser' : 'device',
    redirectPort: config.get<number>('signInRedirectPort', 0),
    ...(keyFile && 'path' in keyFile ? { keyFile: keyFile.path } : {}),
    ignored: keyFile && 'ignored' in keyFile ? [keyFile.ignored] : [],
    uploadKeySignatures: config.get<boolean>('keySigning.uploadToRekor', false),
  };
}
