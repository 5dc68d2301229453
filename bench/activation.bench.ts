/**
 * What activation costs: loading dist/extension.js and running activate(), in a fresh
 * process with a stand-in for the `vscode` module, against loading the verification core
 * (dist/core.js) that activation must not load. Also checks that it did not, and reports
 * the .vsix size.
 *   npm run bench
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const DIST = resolve(__dirname, '../dist');

// A `vscode` whose every member is a callable, constructible no-op, except what activate() reads as data.
const STUB = `
  const Module = require('module');
  const noop = new Proxy(function () {}, {
    get: (_t, p) => (p === 'then' ? undefined : p === Symbol.iterator ? undefined : noop),
    apply: () => noop,
    construct: () => noop,
  });
  const vscode = {};
  // Bundlers copy the module's own members, so name them.
  for (const name of ['window', 'commands', 'languages', 'extensions', 'env', 'Uri', 'EventEmitter', 'ThemeColor', 'FileDecoration',
    'RelativePattern', 'ProgressLocation', 'DiagnosticSeverity', 'Diagnostic', 'Range', 'Position', 'TabInputWebview']) vscode[name] = noop;
  vscode.workspace = new Proxy({}, {
    get: (_w, q) => q === 'workspaceFolders' ? undefined : q === 'getConfiguration' ? () => ({ get: () => undefined }) : q === 'isTrusted' ? true : noop,
  });
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) { return request === 'vscode' ? 'vscode' : resolveFilename.call(this, request, ...rest); };
  require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscode };
`;

function child(script: string): { ms: number; loaded: string[] } {
  const run = spawnSync(process.execPath, ['-e', STUB + script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

function best(script: string, rounds = 7): { ms: number; loaded: string[] } {
  let result = child(script);
  for (let i = 1; i < rounds; i++) {
    const r = child(script);
    if (r.ms < result.ms) result = r;
  }
  return result;
}

async function main(): Promise<void> {
  const activation = best(`
    const t = performance.now();
    const ext = require(${JSON.stringify(join(DIST, 'extension.js'))});
    ext.activate({ subscriptions: [] });
    const ms = performance.now() - t;
    process.stdout.write(JSON.stringify({ ms, loaded: Object.keys(require.cache).filter((k) => /core\\.js$|sigstore|openpgp/.test(k)) }));
    process.exit(0);`);
  const core = best(`
    const t = performance.now();
    require(${JSON.stringify(join(DIST, 'core.js'))}).publicGoodTrustedRoot();
    process.stdout.write(JSON.stringify({ ms: performance.now() - t, loaded: [] }));`);
  if (activation.loaded.length) throw new Error(`activation loaded: ${activation.loaded.join(', ')}`);

  const out = await mkdtemp(join(tmpdir(), 'sigstore-vsix-'));
  try {
    const vsix = join(out, 'x.vsix');
    const pack = spawnSync('npx', ['--no-install', 'vsce', 'package', '--no-dependencies', '--out', vsix], { cwd: resolve(__dirname, '..'), encoding: 'utf8' });
    if (pack.status !== 0) throw new Error(pack.stderr);
    const size = (await stat(vsix)).size;
    const sizes = await Promise.all(['extension.js', 'core.js'].map(async (f) => (await stat(join(DIST, f))).size));
    console.log('activation, in a fresh process (best of 7):');
    console.log(`  baseline: load the verification core and the public-good root  ${core.ms.toFixed(1)} ms  = 1.00`);
    console.log(`  load dist/extension.js and activate()                         ${activation.ms.toFixed(1)} ms  = ${(activation.ms / core.ms).toFixed(2)} × baseline`);
    console.log(`  Sigstore/OpenPGP code loaded by activation: none`);
    console.log(`  .vsix ${(size / 1024).toFixed(0)} KiB; dist/extension.js ${(sizes[0]! / 1024).toFixed(0)} KiB, dist/core.js ${(sizes[1]! / 1024).toFixed(0)} KiB (as built by this run)`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

void main();
