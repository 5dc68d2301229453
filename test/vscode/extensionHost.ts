// What the suites share inside the extension host: the extension's API, the workspace, and
// waiting for what the extension reaches asynchronously.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { SigstoreApi } from '../../src/extension';

export const EXTENSION_ID = 'sigstore-vscode.sigstore-vscode';

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  return folder.uri.fsPath;
}

export const uriOf = (relative: string) => vscode.Uri.file(join(workspaceRoot(), relative));

/** Waits for a condition the extension reaches asynchronously (file watcher events), with a deadline. */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function api(): Promise<SigstoreApi> {
  const ext = vscode.extensions.getExtension<SigstoreApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  return ext.activate();
}
