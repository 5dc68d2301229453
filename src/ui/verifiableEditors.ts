import * as vscode from 'vscode';
import { artifactOf } from '../core/artifacts/companions';

/** The context key of the editor title's Verify button (package.json: `resource in …`). */
export const VERIFIABLE_EDITORS_CONTEXT = 'sigstore.verifiableEditors';

/** The file a tab shows, if it shows one (not a diff, webview or terminal). */
export function tabFile(tab: vscode.Tab | undefined): vscode.Uri | undefined {
  const input = tab?.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputNotebook) return input.uri;
  return undefined;
}

/**
 * Keeps `sigstore.verifiableEditors` listing the files in view (the active tab of each
 * editor group) that Verify has evidence for, or that are companions of such a file. At most
 * one entry per group, so the key stays small however many files the workspace has, and it
 * is sent only when it changes. Tabs rather than text editors: a signed binary opens in a
 * tab that is no text editor.
 *
 * The key holds URIs, not strings: on the way to the workbench VS Code maps the extension
 * host's `file:` URIs to the workbench's own (`vscode-remote:` in code-server, Remote-SSH,
 * WSL, Codespaces) and compares their string form with `resource`.
 */
export class VerifiableEditors implements vscode.Disposable {
  private sent: string | undefined;
  private current: readonly vscode.Uri[] = [];
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly hasEvidence: (artifact: string) => boolean) {
    this.subscriptions = [vscode.window.tabGroups.onDidChangeTabs(() => this.update()), vscode.window.tabGroups.onDidChangeTabGroups(() => this.update())];
    this.update();
  }

  /** What the key was last set to. */
  get files(): readonly vscode.Uri[] {
    return this.current;
  }

  /** Recomputes the key (cheap: one lookup per editor group). */
  update(): void {
    const files: vscode.Uri[] = [];
    for (const group of vscode.window.tabGroups.all) {
      const uri = tabFile(group.activeTab);
      if (uri?.scheme === 'file' && this.hasEvidence(artifactOf(uri.fsPath))) files.push(uri);
    }
    const key = files.map((u) => u.toString()).join('\n');
    if (key === this.sent) return;
    this.sent = key;
    this.current = files;
    void vscode.commands.executeCommand('setContext', VERIFIABLE_EDITORS_CONTEXT, files);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
