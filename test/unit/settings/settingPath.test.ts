import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { resolveSettingPath, type WorkspaceForPaths } from '../../../src/settings/settingPath';

const HOME = '/home/me';
const FOLDER = '/work/repo';
const trusted: WorkspaceForPaths = { isTrusted: true, workspaceFolders: [{ uri: { fsPath: FOLDER } }] };
const untrusted: WorkspaceForPaths = { ...trusted, isTrusted: false };
const noFolder: WorkspaceForPaths = { isTrusted: true, workspaceFolders: [] };
const resolve = (value: string | undefined, workspace: WorkspaceForPaths) => resolveSettingPath('sigstore.trustedRoot', value, workspace, HOME);

describe('path settings', () => {
  it('resolves ~, ${workspaceFolder} and relative paths in a trusted workspace', () => {
    assert.deepEqual(resolve('/etc/sigstore/root.json', trusted), { path: '/etc/sigstore/root.json' });
    assert.deepEqual(resolve('  ~/roots/root.json ', trusted), { path: join(HOME, 'roots/root.json') });
    assert.deepEqual(resolve('${workspaceFolder}/.sigstore/root.json', trusted), { path: join(FOLDER, '.sigstore/root.json') });
    assert.deepEqual(resolve('.sigstore/root.json', trusted), { path: join(FOLDER, '.sigstore/root.json') });
    assert.equal(resolve('', trusted), undefined);
    assert.equal(resolve('   ', trusted), undefined);
    assert.equal(resolve(undefined, trusted), undefined);
  });

  it('in an untrusted workspace, uses no path into the workspace, whoever set it, and says why', () => {
    for (const value of ['root.json', './root.json', '${workspaceFolder}/root.json', '${workspaceFolder}', '../elsewhere/root.json']) {
      const r = resolve(value, untrusted);
      assert.ok(r && 'ignored' in r, `${value}: ${JSON.stringify(r)}`);
      assert.match(r.ignored, /^"sigstore\.trustedRoot" \(".*"\) (is a relative path|uses \$\{workspaceFolder\}), and the workspace is not trusted/);
      assert.match(r.ignored, /Give an absolute path in your user settings, or trust the workspace\./);
    }
    // Absolute paths, the home folder's included, are the user's own choice.
    assert.deepEqual(resolve('/etc/sigstore/root.json', untrusted), { path: '/etc/sigstore/root.json' });
    assert.deepEqual(resolve('~/root.json', untrusted), { path: join(HOME, 'root.json') });
  });

  it('without a folder, a path relative to it is not used (it used to become "/root.json")', () => {
    const r = resolve('${workspaceFolder}/root.json', noFolder);
    assert.ok(r && 'ignored' in r);
    assert.match(r.ignored, /no folder is open/);
    assert.ok(resolve('root.json', { isTrusted: true }) && 'ignored' in resolve('root.json', { isTrusted: true })!);
  });

  it('keeps a folder path holding "$" as it is', () => {
    const odd: WorkspaceForPaths = { isTrusted: true, workspaceFolders: [{ uri: { fsPath: '/w/$&$1' } }] };
    assert.deepEqual(resolve('${workspaceFolder}/r.json', odd), { path: '/w/$&$1/r.json' });
  });
});
