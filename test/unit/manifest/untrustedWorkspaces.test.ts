// The extension manifest's promises about untrusted workspaces (Restricted Mode): there a
// workspace's own settings could send signing and sign-in elsewhere or make forged
// signatures look valid, so VS Code must ignore every one of ours the workspace sets, and
// signing must not be offered.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Manifest {
  capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
  contributes: {
    configuration: { properties: Record<string, unknown> };
    menus: Record<string, Array<{ command: string; when?: string }>>;
  };
}

const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as Manifest;

describe('package.json: untrusted workspaces', () => {
  it('restricts every setting the extension contributes', () => {
    const settings = Object.keys(manifest.contributes.configuration.properties);
    assert.ok(settings.includes('sigstore.fulcioURL') && settings.includes('sigstore.oidcIssuer'));
    const restricted = new Set(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations);
    assert.deepEqual(settings.filter((s) => !restricted.has(s)), []);
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  });

  it('offers signing and key generation in menus and the palette only in trusted workspaces', () => {
    const signing = ['sigstore.signArtifact', 'sigstore.generateKeyPair'];
    const entries = Object.values(manifest.contributes.menus).flat().filter((m) => signing.includes(m.command));
    assert.ok(entries.length >= 4, 'explorer, editor title and palette entries');
    for (const m of entries) assert.match(m.when ?? '', /(^|&& )isWorkspaceTrusted( &&|$)/, `${m.command}: ${m.when}`);
    for (const command of signing) assert.ok(manifest.contributes.menus.commandPalette?.some((m) => m.command === command), `${command} has a palette entry`);
  });
});
