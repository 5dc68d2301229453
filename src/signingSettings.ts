import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';

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

export const PUBLIC_GOOD_ISSUER = 'https://oauth2.sigstore.dev/auth';

/** Every setting that redirects signing or identity: ignored (restricted) in untrusted workspaces. */
export const SIGNING_SETTINGS = [
  'sigstore.fulcioURL',
  'sigstore.rekorURL',
  'sigstore.tsaURL',
  'sigstore.oidcIssuer',
  'sigstore.oidcClientId',
  'sigstore.signInFlow',
  'sigstore.signInRedirectPort',
  'sigstore.keyFile',
  'sigstore.keySigning.uploadToRekor',
];

export function signingSettings(): SigningSettings {
  const config = vscode.workspace.getConfiguration('sigstore');
  const text = (key: string, fallback: string) => config.get<string>(key)?.trim() || fallback;
  const tsa = config.get<string>('tsaURL')?.trim();
  return {
    fulcioURL: text('fulcioURL', 'https://fulcio.sigstore.dev'),
    rekorURL: text('rekorURL', 'https://rekor.sigstore.dev'),
    ...(tsa ? { tsaURL: tsa } : {}),
    issuer: text('oidcIssuer', PUBLIC_GOOD_ISSUER),
    clientId: text('oidcClientId', 'sigstore'),
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
