// Bundles the extension, the command-line entry points and the VS Code test suites with esbuild.
import * as esbuild from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode'],
  // jsonc-parser's default UMD build hides its modules from the bundler: use its ESM build.
  // openpgp's ESM build needs import.meta, which a CommonJS bundle lacks: use its CJS build.
  // make-fetch-happen's agents break under VS Code's proxy patches: the Sigstore libraries
  // get Node's built-in fetch instead (src/core/http/builtinFetch.ts says why).
  alias: {
    'make-fetch-happen': './src/core/http/builtinFetch.ts',
    'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js',
    openpgp: './node_modules/openpgp/dist/node/openpgp.min.cjs',
  },
};

const builds = [
  // The core is its own bundle, loaded on first use: activation evaluates no Sigstore code.
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', './core.js'] },
  { entryPoints: ['src/core/api.ts'], outfile: 'dist/core.js' },
  { entryPoints: ['src/cli/sigstore.ts'], outfile: 'dist/cli/sigstore.js' },
  { entryPoints: ['src/cli/conformance.ts'], outfile: 'dist/cli/conformance.js' },
];

// VS Code suites are bundled too, so the extension host loads plain JS.
const suiteDir = 'test/vscode';
if (!production && existsSync(suiteDir)) {
  const suites = readdirSync(suiteDir).filter((f) => f.endsWith('.ts')).map((f) => join(suiteDir, f));
  if (suites.length > 0) {
    builds.push({ entryPoints: suites, outdir: 'dist/test/vscode', external: ['vscode', 'mocha'] });
  }
}

await Promise.all(
  builds.filter((b) => b.entryPoints.every((e) => existsSync(e))).map((b) => esbuild.build({ ...common, ...b })),
);
