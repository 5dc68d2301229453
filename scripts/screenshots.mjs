// Refreshes the README's screenshots from the real VS Code (code-server + Chromium):
// the packaged extension on the demo workspace (with the sandbox of npm start), a verified
// and a failed Verify report, keyless signing through the device-code dialog, the Images
// view on an image signed and attested by cosign, and Sign Image from its CodeLens.
//   npm run package && node scripts/screenshots.mjs
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tsImport } from 'tsx/esm/api';

import { REPO_ROOT, installExtension, launchBrowser, startCodeServer } from './code-server.mjs';
import { showImagesView } from './ui-images.mjs';
import { signThroughWorkbench } from './ui-signing.mjs';

const OUT = path.join(REPO_ROOT, 'media', 'screenshots');

/** The Dockerfile with its Sign Image / Attest Image CodeLens, then the dialog showing the digest to sign. */
async function signImageFromCodeLens(page) {
  await page.keyboard.press('Control+P');
  await page.keyboard.type('Dockerfile');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dockerfile' }).first().waitFor();
  await page.keyboard.press('Enter');
  const lens = page.locator('.codelens-decoration a', { hasText: 'Sign Image' }).first();
  await lens.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(OUT, 'sign-image-codelens.png') });
  await lens.click();
  const dialog = page.locator('.monaco-dialog-box', { hasText: 'Sign ' });
  await dialog.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(OUT, 'sign-image-digest.png') });
  await page.keyboard.press('Escape');
}
const VSIX = path.join(REPO_ROOT, 'dist', 'sigstore-vscode.vsix');

const tmp = await mkdtemp(path.join(os.tmpdir(), 'sigstore-shots-'));
const workspace = path.join(tmp, 'demo');
const gen = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/fixtures.ts', workspace], { cwd: REPO_ROOT, stdio: 'inherit' });
if (gen.status !== 0) process.exit(1);
await rm(path.join(workspace, '.expected-badges.json'));
await rm(path.join(workspace, '.fixture-manifest.json'));
const sandboxModule = await tsImport(path.join(REPO_ROOT, 'test', 'support', 'sandbox.ts'), import.meta.url);
const { startSandbox, pointWorkspaceAt } = sandboxModule.default ?? sandboxModule;
const sandbox = await startSandbox(path.join(tmp, 'sandbox'));
await pointWorkspaceAt(workspace, sandbox);
const imagesModule = await tsImport(path.join(REPO_ROOT, 'test', 'support', 'image-fixtures.ts'), import.meta.url);
const images = await (imagesModule.default ?? imagesModule).writeImageFixtures(workspace);
await rm(path.join(workspace, '.image-fixtures.json'));

const extensionsDir = path.join(tmp, 'extensions');
const userDataDir = path.join(tmp, 'user-data');
await installExtension(VSIX, { extensionsDir, userDataDir });
const server = await startCodeServer({ workspace, extensionsDir, userDataDir });
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
  const row = (name) => page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`);
  await row('hello.txt').waitFor({ timeout: 60_000 });
  await page.locator('.monaco-icon-label[class*="monaco-decoration-itemBadge"]').first().waitFor({ timeout: 30_000 });
  await row('nested').click();

  const verify = async (name) => {
    // Rows out of sight are not in the DOM: reveal the file through Quick Open instead.
    if (await row(name).count()) await row(name).click();
    else {
      await page.keyboard.press('Control+P');
      await page.keyboard.type(name);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
      await page.keyboard.press('Enter');
      await page.locator(`.tabs-container .tab[aria-label*=${JSON.stringify(name)}]`).first().waitFor();
    }
    await page.keyboard.press('F1');
    await page.keyboard.type('Sigstore: Verify');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Sigstore: Verify' }).first().waitFor();
    await page.keyboard.press('Enter');
    // The Markdown preview renders in a webview iframe.
    await page.locator('iframe.webview.ready').last().waitFor({ timeout: 30_000 });
    const frame = page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
    await frame.locator('h1').waitFor({ timeout: 30_000 });
  };
  await mkdir(OUT, { recursive: true });
  await verify('hello.txt');
  await page.screenshot({ path: path.join(OUT, 'verified-report.png') });
  await page.keyboard.press('Control+K');
  await page.keyboard.press('W');
  await verify('tampered.txt');
  await page.screenshot({ path: path.join(OUT, 'failed-report.png') });
  await page.keyboard.press('Control+K');
  await page.keyboard.press('W');
  await signThroughWorkbench(page, { file: 'to-sign/release-notes.md', screenshots: OUT });
  await page.keyboard.press('Escape');
  await showImagesView(page, { reference: images.fixtures.signed.reference, screenshot: path.join(OUT, 'images-view.png') });
  await signImageFromCodeLens(page);
  console.log(`screenshots written to ${path.relative(REPO_ROOT, OUT)}`);
} finally {
  await browser.close();
  await server.stop();
  await sandbox.close();
  await images.close();
  await rm(tmp, { recursive: true, force: true });
}
