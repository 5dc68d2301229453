// @vscode/test-cli configuration (`npx vscode-test`) for a desktop with internet: test-electron
// downloads VS Code and runs the same suites as scripts/run-vscode-tests.mjs (which is what
// runs here and in CI, on code-server). Run `node scripts/build.mjs` first: the suites run
// from dist/. The fixture workspace is (re)generated below, fresh for every run, into
// .vscode-test/fixture-workspace — by hand: `node --import tsx test/support/fixtures.ts <dir>`.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { defineConfig } from '@vscode/test-cli';

const root = path.dirname(fileURLToPath(import.meta.url));
const workspace = path.join(root, '.vscode-test', 'fixture-workspace');

// Suites may change files in the workspace: start each run from the generator's output.
rmSync(workspace, { recursive: true, force: true });
const gen = spawnSync(
  process.execPath,
  ['--import', 'tsx', path.join(root, 'test', 'support', 'fixtures.ts'), workspace],
  { cwd: root, stdio: 'inherit' },
);
if (gen.status !== 0) throw new Error(`could not write the fixture workspace ${workspace}`);

export default defineConfig({
  label: 'vscode',
  files: 'dist/test/vscode/*.test.js',
  version: '1.100.3', // the engines.vscode minimum, and what code-server 4.100.3 embeds
  workspaceFolder: workspace,
  // Trust prompts and other installed extensions would change what the suites see.
  launchArgs: ['--disable-workspace-trust', '--disable-extensions'],
  env: { SIGSTORE_VSCODE_TEST_WORKSPACE: workspace },
  mocha: { ui: 'bdd', color: true, timeout: 30_000 },
});
