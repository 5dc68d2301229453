// Where package.json offers Verify. Each entry must show in a remote workspace too
// (code-server, Remote-SSH, WSL, Codespaces: the workbench's resources are vscode-remote:
// URIs there), and no when clause may lean on a context key that lists the workspace's files:
// VS Code re-sends such a key whole on every change.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type MenuEntry = { command: string; when?: string; group?: string };
const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { contributes: { menus: Record<string, MenuEntry[]> } };
const menus = manifest.contributes.menus;
const verifyIn = (menu: string) => (menus[menu] ?? []).filter((m) => m.command === 'sigstore.verify');

/** Our context keys whose size is bounded (by the editor groups), not by the workspace. */
const BOUNDED_KEYS = new Set(['sigstore.verifiableEditors']);

describe('package.json: Verify in menus', () => {
  it('offers Verify on every file in the Explorer, not on folders, in trusted and untrusted workspaces', () => {
    const [entry, ...more] = verifyIn('explorer/context');
    assert.ok(entry, 'an explorer/context entry');
    assert.equal(more.length, 0);
    // resourceScheme == file is what VS Code's remote server rewrites to its own scheme;
    // verifying needs no trust (it runs nothing from the workspace).
    assert.equal(entry.when, 'resourceScheme == file && !explorerResourceIsFolder');
    assert.match(entry.group ?? '', /^7_sigstore@1$/);
  });

  it('offers Verify in the editor tab context menu of every file', () => {
    const entries = verifyIn('editor/title/context');
    assert.deepEqual(entries.map((m) => m.when), ['resourceScheme == file']);
  });

  it('shows the editor title button for files in view with evidence, by a key bounded by the editor groups', () => {
    const entries = verifyIn('editor/title');
    assert.deepEqual(entries.map((m) => [m.when, m.group]), [['resource in sigstore.verifiableEditors', 'navigation@90']]);
  });

  it('no menu entry refers to a context key that grows with the workspace', () => {
    for (const [menu, entries] of Object.entries(menus)) {
      for (const m of entries) {
        // View ids compared with `view ==` are names, not keys.
        const keys = (m.when ?? '').replace(/\bview [!=]= \S+/g, '').match(/\bsigstore\.[A-Za-z.]+/g) ?? [];
        for (const key of keys) assert.ok(BOUNDED_KEYS.has(key), `${menu} ${m.command}: ${key} in "${m.when}"`);
      }
    }
    assert.ok(!JSON.stringify(menus).includes('sigstore.verifiableResources'));
  });
});
