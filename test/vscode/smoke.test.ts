// Placeholder suite: proves the host the suites run in is the one the runner set up.
import assert from 'node:assert/strict';

import * as vscode from 'vscode';

const EXTENSION_ID = 'sigstore-vscode.sigstore-vscode';

describe('VS Code host (smoke)', () => {
  it('has the fixture workspace open', async () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 1, `workspace folders: ${folders.map((f) => f.uri.toString()).join(', ')}`);
    // Both runners (scripts/run-vscode-tests.mjs, .vscode-test.mjs) say which folder they opened.
    const expected = process.env.SIGSTORE_VSCODE_TEST_WORKSPACE;
    if (expected) assert.equal(folders[0].uri.fsPath, expected);
    // Readable through VS Code's file system, not just present on disk.
    const entries = await vscode.workspace.fs.readDirectory(folders[0].uri);
    assert.ok(Array.isArray(entries));
  });

  it('loads and activates this extension', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not among the loaded extensions`);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });
});
