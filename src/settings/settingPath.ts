/**
 * The one way a path setting (sigstore.trustedRoot, sigstore.keyFile,
 * sigstore.images.caCertificates) becomes a file: `~` is the home folder, `${workspaceFolder}`
 * and relative paths are the first workspace folder. In an untrusted workspace a path into
 * the workspace is not used, whichever scope set it: a user-level "trusted_root.json" would
 * otherwise read the file an untrusted repository put there. Absolute paths are used as written.
 * No `vscode` import: the editor passes `vscode.workspace` in (testable on plain Node).
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** What of the editor's workspace a path depends on (`vscode.workspace` fits). */
export interface WorkspaceForPaths {
  readonly workspaceFolders?: readonly { readonly uri: { readonly fsPath: string } }[];
  readonly isTrusted: boolean;
}

/** A usable path, or why the setting is not used (for the log and the report's notes). */
export type SettingPath = { readonly path: string } | { readonly ignored: string };

const WORKSPACE_FOLDER_VARIABLE = '${workspaceFolder}';

/** The file `value` of `setting` names; undefined when the setting is empty. */
export function resolveSettingPath(setting: string, value: string | undefined, workspace: WorkspaceForPaths, home = homedir()): SettingPath | undefined {
  const raw = value?.trim();
  if (!raw) return undefined;
  const named = `"${setting}" (${JSON.stringify(raw)})`;
  const folder = workspace.workspaceFolders?.[0]?.uri.fsPath;
  const withHome = raw.replace(/^~(?=[/\\]|$)/, home);
  const variable = withHome.includes(WORKSPACE_FOLDER_VARIABLE);
  if (!variable && isAbsolute(withHome)) return { path: withHome };
  const how = variable ? `uses ${WORKSPACE_FOLDER_VARIABLE}` : 'is a relative path';
  if (!workspace.isTrusted) {
    return {
      ignored: `${named} ${how}, and the workspace is not trusted: a file the workspace holds is not used for it. Give an absolute path in your user settings, or trust the workspace.`,
    };
  }
  if (folder === undefined) return { ignored: `${named} ${how}, and no folder is open: it is not used. Give an absolute path, or open the folder it is relative to.` };
  const expanded = withHome.split(WORKSPACE_FOLDER_VARIABLE).join(folder);
  return { path: isAbsolute(expanded) ? expanded : join(folder, expanded) };
}
