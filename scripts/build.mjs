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
};

const builds = [
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
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
