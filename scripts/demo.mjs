// `npm start`'s last step (scripts/start.sh): the sandbox of DESIGN.md. Starts the local
// OpenID provider and Sigstore instance (test/support/sandbox.ts), writes the demo
// workspace (signed, tampered, untrusted, checksum and OpenPGP files, a trust policy, files
// waiting to be signed, and a Dockerfile and compose file referring to images in a local
// registry signed and attested by cosign) configured for them, and serves it in code-server.
// node scripts/demo.mjs <workspace> [--port N] --vsix FILE
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { tsImport } from 'tsx/esm/api';

import { REPO_ROOT, serve } from './code-server.mjs';

const args = process.argv.slice(2);
const workspace = path.resolve(args[0] ?? '.demo/workspace');
const port = Number(args[args.indexOf('--port') + 1] || 8080);
const vsix = args.includes('--vsix') ? args[args.indexOf('--vsix') + 1] : undefined;

const load = async (file) => {
  const mod = await tsImport(path.join(REPO_ROOT, 'test', 'support', file), import.meta.url);
  return mod.default ?? mod;
};
const { startSandbox, pointWorkspaceAt } = await load('sandbox.ts');

await rm(workspace, { recursive: true, force: true });
await mkdir(workspace, { recursive: true });
// Its own process: the generator's dynamic imports do not resolve under tsImport's loader.
execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test', 'support', 'fixtures.ts'), workspace], { cwd: REPO_ROOT, stdio: 'inherit' });
// What the tests read is not part of the demo.
await Promise.all(['.expected-badges.json', '.fixture-manifest.json'].map((f) => rm(path.join(workspace, f), { force: true })));

const sandbox = await startSandbox(path.join(path.dirname(workspace), 'sandbox'));
await pointWorkspaceAt(workspace, sandbox);
// A registry with an image signed and attested by cosign, which the Dockerfile refers to.
const { writeImageFixtures } = await load('image-fixtures.ts');
const images = await writeImageFixtures(workspace);
await rm(path.join(workspace, '.image-fixtures.json'), { force: true });

await serve({
  workspace,
  port,
  vsix,
  notes: [
    `Sandbox: OpenID provider ${sandbox.issuer} (signs you in as ${sandbox.email}),`,
    `         Fulcio, Rekor and TSA at ${sandbox.fulcioURL}.`,
    `Registry: ${images.fixtures.registry} holds ${images.fixtures.signed.reference}, signed and attested by cosign.`,
    'Try: right-click to-sign/release-notes.md → "Sigstore: Sign Artifact" → Sigstore keyless,',
    '     then "Copy & Open" and confirm the code in the browser tab that opens;',
    '     and the Sigstore view in the activity bar → Images → expand the image.',
  ],
  onStop: async () => {
    await Promise.allSettled([sandbox.close(), images.close()]);
  },
});
