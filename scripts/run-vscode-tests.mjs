// `npm run test:vscode`: runs the extension's mocha suites (dist/test/vscode/*.test.js) inside
// a real VS Code (code-server's workbench in headless Chromium, docs TESTING.md §1), then checks
// the Explorer's decoration badges against <workspace>/.expected-badges.json, Verify from the
// menus (scripts/ui-verify.mjs), signing (scripts/ui-signing.mjs) and the Images view.
// Ends with a plain 'vscode: N passed, N failed' line (each UI check counts as one test).
// Env: VSCODE_TEST_TIMEOUT_MS (build to UI check, default 10 min; scripts/setup.sh has its own
//      bound), MOCHA_GREP (passed to the suites),
//      VSCODE_TEST_BADGE_TIMEOUT_MS (how long the UI check waits for the badges, default 60 s),
//      VSCODE_TEST_KEEP=1 (keep the temp workspace and print its path).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { format } from 'node:util';

import { tsImport } from 'tsx/esm/api';

import { REPO_ROOT, launchBrowser, startCodeServer } from './code-server.mjs';
import { filesContaining, findSecrets } from './secret-scan.mjs';
import { showImagesView } from './ui-images.mjs';
import { signThroughWorkbench } from './ui-signing.mjs';
import { verifyThroughMenus } from './ui-verify.mjs';

const TOTAL_TIMEOUT_MS = Number(process.env.VSCODE_TEST_TIMEOUT_MS ?? 10 * 60_000);
const SETUP_TIMEOUT_MS = 20 * 60_000;
const BUILD_TIMEOUT_MS = 3 * 60_000;
const FIXTURE_TIMEOUT_MS = 2 * 60_000;
const BADGE_TIMEOUT_MS = Number(process.env.VSCODE_TEST_BADGE_TIMEOUT_MS ?? 60_000);
const FIXTURES_TS = path.join(REPO_ROOT, 'test', 'support', 'fixtures.ts');
const TEST_INDEX = path.join(REPO_ROOT, 'dist', 'test', 'vscode', 'index.js');
const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');
const EXPECTED_BADGES = '.expected-badges.json';
// test/vscode/index.ts logs this prefix + JSON mocha stats when the suites end.
const SUMMARY_PREFIX = 'sigstore-vscode-suites-summary ';
let summary = null;
// Everything the extension host printed, for the secrets check.
let consoleText = '';
// The suites sign with this key password; it must appear nowhere afterwards.
const TEST_KEY_PASSWORD = `pw-${crypto.randomUUID()}`;

const log = (msg) => console.log(`[vscode-tests] ${msg}`);

/** Runs a command with inherited output; rejects on non-zero exit or after timeoutMs. */
function run(cmd, args, { timeoutMs, ...opts }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', ...opts });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs / 1000}s`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (code ${code}, signal ${signal})`));
    });
  });
}

async function prepareWorkspace(dir) {
  await mkdir(dir, { recursive: true });
  log('writing the fixture workspace');
  // tsx loads the TypeScript generator (and the @sigstore test instance it starts) directly.
  const script =
    'require(process.argv[1]).writeFixtureWorkspace(process.argv[2])' +
    '.catch((e) => { console.error(e); process.exit(1); })';
  await run(process.execPath, ['--import', 'tsx', '-e', script, FIXTURES_TS, dir], {
    cwd: REPO_ROOT,
    timeoutMs: FIXTURE_TIMEOUT_MS,
  });
}

function workbenchUrl(server, workspace, withTests) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [['extensionDevelopmentPath', remote(REPO_ROOT)]];
  if (withTests) payload.push(['extensionTestsPath', remote(TEST_INDEX)]);
  payload.push(['skipWelcome', 'true']);
  return `${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

// ---- UI-level check -------------------------------------------------------------------
// VS Code's DOM is not API; these are the selectors of code-server 4.100.3 / VS Code 1.100:
//   row:    .explorer-folders-view .monaco-list-row[role=treeitem]: aria-label = the name,
//           aria-level (1 = top of the folder), aria-expanded (folders only);
//   label:  its .monaco-icon-label: aria-label = "<absolute path>" or, when decorated,
//           "<absolute path> • <decoration tooltip>";
//   badge:  the decoration adds a class monaco-decoration-itemBadge-<id> to that label whose
//           ::after CSS content is the badge letters: they exist nowhere else in the DOM.
const ROWS = '.explorer-folders-view .monaco-list-row[role="treeitem"]';
/* global getComputedStyle -- the $$eval callback below runs in the page */

/** Rendered Explorer rows as {path, level, expanded, badge, tooltip}, path relative to workspace. */
async function readExplorer(page, workspace) {
  return page.$$eval(
    ROWS,
    (rows, root) => {
      const stack = [];
      return rows.map((row) => {
        const name = row.getAttribute('aria-label') ?? '';
        const level = Number(row.getAttribute('aria-level') ?? '1');
        const label = row.querySelector('.monaco-icon-label');
        const [abs, ...tip] = (label?.getAttribute('aria-label') ?? '').split(' \u2022 ');
        // The absolute path is exact; the aria-level stack is the fallback (it assumes
        // the rendered rows are contiguous from the top).
        stack.length = level - 1;
        stack.push(name);
        const path = abs.startsWith(root + '/') ? abs.slice(root.length + 1) : stack.join('/');
        const after = label ? getComputedStyle(label, '::after').content : 'none';
        // content is a CSS string ("\"V\"") or none/normal when there is no badge.
        const badge = /^".*"$/.test(after) ? JSON.parse(after) : '';
        return { path, level, expanded: row.getAttribute('aria-expanded'), badge, tooltip: tip.join(' \u2022 ') };
      });
    },
    workspace,
  );
}

async function showExplorer(page, expectRows) {
  const view = page.locator('.explorer-folders-view');
  // The Explorer is the default view. Only if it does not show up, ask for it with its
  // keybinding ("View: Show Explorer" focuses; clicking the activity bar would toggle).
  try {
    await view.waitFor({ state: 'visible', timeout: 20_000 });
  } catch {
    await page.locator('.monaco-workbench').click({ position: { x: 600, y: 400 } });
    await page.keyboard.press('Control+Shift+E');
    await view.waitFor({ state: 'visible', timeout: 20_000 });
  }
  // An empty workspace has no rows to wait for.
  if (expectRows) await page.locator(ROWS).first().waitFor({ timeout: 30_000 });
}

/** Expands every collapsed folder that is an ancestor of an expected path. */
async function expandFolders(page, workspace, paths) {
  const folders = new Set();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  // Shallow first, so each folder's row exists by the time we get to it.
  for (const folder of [...folders].sort((a, b) => a.split('/').length - b.split('/').length)) {
    const row = (await readExplorer(page, workspace)).find((r) => r.path === folder);
    if (!row || row.expanded !== 'false') continue;
    const level = folder.split('/').length;
    const name = folder.split('/').pop();
    await page
      .locator(`${ROWS}[aria-level="${level}"][aria-label=${JSON.stringify(name)}]`)
      .first()
      .click();
    await page
      .locator(`${ROWS}[aria-level="${level}"][aria-label=${JSON.stringify(name)}][aria-expanded="true"]`)
      .first()
      .waitFor({ timeout: 10_000 });
  }
}

/** Returns a list of problems (empty = pass). */
async function explorerCheck(page, workspace) {
  let expected = null;
  try {
    expected = JSON.parse(await readFile(path.join(workspace, EXPECTED_BADGES), 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT') return [`cannot read ${EXPECTED_BADGES}: ${err.message}`];
  }
  await showExplorer(page, expected !== null && Object.keys(expected).length > 0);
  if (expected) await expandFolders(page, workspace, Object.keys(expected));

  // Badges arrive after activation and verification: wait (bounded) until they all match.
  let rows = [];
  let problems = [];
  const deadline = Date.now() + BADGE_TIMEOUT_MS;
  for (;;) {
    rows = await readExplorer(page, workspace);
    problems = [];
    for (const [file, badge] of Object.entries(expected ?? {})) {
      const row = rows.find((r) => r.path === file);
      if (!row) problems.push(`${file}: no Explorer row (expected badge ${JSON.stringify(badge)})`);
      else if (row.badge !== badge) problems.push(`${file}: badge ${JSON.stringify(row.badge)}, expected ${JSON.stringify(badge)}`);
    }
    if (problems.length === 0 || Date.now() > deadline) break;
    await page.waitForTimeout(250); // poll interval of a bounded wait, not a fixed delay
  }

  log('Explorer rows (path  [badge]):');
  for (const r of rows) {
    const badge = r.badge ? `  [${r.badge}]` : '';
    const tip = r.tooltip ? `  (${r.tooltip})` : '';
    console.log(`    ${'  '.repeat(r.level - 1)}${r.path}${badge}${tip}`);
  }
  await mkdir(RESULTS_DIR, { recursive: true });
  const shot = path.join(RESULTS_DIR, 'explorer.png');
  await page.screenshot({ path: shot });
  log(`screenshot: ${path.relative(REPO_ROOT, shot)}`);
  if (!expected) log(`no ${EXPECTED_BADGES} in the workspace: badges printed, not checked`);
  return problems;
}

// ---- main -----------------------------------------------------------------------------
const cleanups = [];
async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      console.error(`[vscode-tests] cleanup: ${err.message}`);
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}

async function main() {
  // Idempotent and quick once done; on a fresh machine it installs Chromium and code-server
  // (minutes, so it has its own bound and is not counted in the run's).
  await run('bash', ['scripts/setup.sh'], { cwd: REPO_ROOT, timeoutMs: SETUP_TIMEOUT_MS });

  const started = Date.now();
  let overallTimer;
  const overall = new Promise((_, reject) => {
    overallTimer = setTimeout(
      () => reject(new Error(`timed out after ${TOTAL_TIMEOUT_MS / 1000}s (set VSCODE_TEST_TIMEOUT_MS to change)`)),
      TOTAL_TIMEOUT_MS,
    );
  });
  cleanups.push(() => clearTimeout(overallTimer));
  const bounded = (p) => Promise.race([p, overall]);

  log('building (node scripts/build.mjs)');
  await bounded(run(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, timeoutMs: BUILD_TIMEOUT_MS }));
  if (!existsSync(TEST_INDEX)) throw new Error(`${TEST_INDEX} was not built (is test/vscode/index.ts there?)`);

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'sigstore-vscode-test-'));
  if (process.env.VSCODE_TEST_KEEP === '1') log(`keeping ${tmp}`);
  else cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const workspace = path.join(tmp, 'workspace');
  await bounded(prepareWorkspace(workspace));
  const sandbox = await bounded(startSandbox(path.join(tmp, 'sandbox'), workspace));
  cleanups.push(() => sandbox.close());
  log('starting a registry with images signed by cosign');
  const imagesModule = await tsImport(path.join(REPO_ROOT, 'test', 'support', 'image-fixtures.ts'), import.meta.url);
  const images = await bounded((imagesModule.default ?? imagesModule).writeImageFixtures(workspace));
  cleanups.push(() => images.close());

  log('starting code-server');
  const server = await bounded(
    startCodeServer({
      workspace,
      env: {
        SIGSTORE_VSCODE_TEST_WORKSPACE: workspace,
        SIGSTORE_SANDBOX: JSON.stringify(sandbox.description),
        SIGSTORE_TEST_KEY_PASSWORD: TEST_KEY_PASSWORD,
      },
    }),
  );
  cleanups.push(() => server.stop());
  log(`code-server ready at ${server.url}`);

  const browser = await bounded(launchBrowser());
  cleanups.push(() => browser.close());
  // Tall enough that every fixture row is rendered: the Explorer only puts visible rows in the DOM.
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  // The extension host's console (mocha's report) reaches the page console: pass it through.
  let consoleQueue = Promise.resolve();
  page.on('console', (msg) => {
    consoleQueue = consoleQueue.then(() => forwardConsole(msg));
  });
  page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
  let onCrash;
  const crashed = new Promise((_, reject) => (onCrash = reject));
  crashed.catch(() => {}); // observed through the race below
  page.on('crash', () => onCrash(new Error('the browser page crashed')));
  // Lets the last report lines print before ours (bounded: a closed page never answers).
  const drainConsole = () => Promise.race([consoleQueue, new Promise((r) => setTimeout(r, 5_000).unref())]);

  let onExit;
  const exited = new Promise((resolve) => (onExit = resolve));
  // The workbench calls this with the test run's exit code once run() settles.
  await page.exposeFunction('codeAutomationExit', (code) => onExit(Number(code)));

  log('opening the workbench with the suites');
  await bounded(page.goto(workbenchUrl(server, workspace, true)));
  let code;
  try {
    code = await bounded(Promise.race([exited, crashed]));
  } catch (err) {
    await saveFailureShot(page);
    throw new Error(`${err.message}: the suites did not finish.\n--- code-server output (tail) ---\n${server.output().slice(-4000)}`);
  }
  await drainConsole();
  log(`suites finished with exit code ${code} (${((Date.now() - started) / 1000).toFixed(1)}s)`);

  // The workbench stops the extension hosts before it reports the exit code, which takes
  // the decorations away: reopen the same page with the extension alone (as a person has it).
  log('UI check: reopening the workbench with the extension only');
  await bounded(page.goto(workbenchUrl(server, workspace, false)));
  let problems;
  try {
    problems = await bounded(explorerCheck(page, workspace));
  } catch (err) {
    await saveFailureShot(page);
    problems = [`could not read the Explorer: ${err.message.split('\n')[0]}`];
  }
  if (problems.length) {
    console.log(`[vscode-tests] UI check FAILED (Explorer vs ${EXPECTED_BADGES}):`);
    for (const p of problems) console.log(`    - ${p}`);
  } else {
    log('UI check passed');
  }
  const verifyProblems = await bounded(uiVerifyCheck(page, workspace));
  const signProblems = await bounded(uiSignCheck(page, workspace, sandbox));
  const imagesProblems = await bounded(uiImagesCheck(page, images.fixtures));
  const leaks = await secretsCheck({ server, workspace, sandbox });
  log(`total ${((Date.now() - started) / 1000).toFixed(1)}s`);
  // Closing line: the suites' counts plus the UI, UI Verify, UI signing, Images view and secrets checks as one test each.
  const checks = [problems, verifyProblems, signProblems, imagesProblems, leaks];
  const passes = (summary?.passes ?? 0) + checks.filter((c) => c.length === 0).length;
  const failures = (summary?.failures ?? (code !== 0 ? 1 : 0)) + checks.filter((c) => c.length > 0).length;
  const skipped = summary?.pending ? `, ${summary.pending} skipped` : '';
  console.log(`vscode: ${passes} passed, ${failures} failed${skipped}`);
  return code !== 0 ? code : checks.some((c) => c.length) ? 1 : 0;
}

/**
 * The sandbox (local OpenID provider + Sigstore instance with Fulcio's token checks) the
 * suites sign against. The workspace then trusts both the fixtures' instance and the
 * sandbox's (one trusted root listing both), and its settings point signing at the sandbox.
 */
async function startSandbox(dir, workspace) {
  log('starting the sandbox (OpenID provider, Fulcio, Rekor, TSA)');
  const sandboxModule = await tsImport(path.join(REPO_ROOT, 'test', 'support', 'sandbox.ts'), import.meta.url);
  const { startSandbox: start, pointWorkspaceAt, describeSandbox } = sandboxModule.default ?? sandboxModule;
  const sandbox = await start(dir);
  await pointWorkspaceAt(workspace, sandbox);
  return { ...sandbox, description: describeSandbox(sandbox) };
}

/**
 * Verify from the Explorer's context menu (a verified file, a tampered one, a companion), an
 * editor tab's context menu and the editor title button, as a person clicks them
 * (scripts/ui-verify.mjs); no title button for a file without evidence. Saves
 * test-results/verify-*.png. Returns problems.
 */
async function uiVerifyCheck(page, workspace) {
  const files = { verified: 'hello.txt', failed: 'tampered.txt', companion: 'hello.txt.sigstore.json', unsigned: 'vendor/plain.txt' };
  const problems = [];
  try {
    const fixtures = JSON.parse(await readFile(path.join(workspace, '.fixture-manifest.json'), 'utf8'));
    const expectedState = (file) => fixtures.files.find((f) => f.path === file)?.expected;
    if (expectedState(files.verified) !== 'verified' || expectedState(files.failed) !== 'failed' || !fixtures.unsigned.includes(files.unsigned)) {
      throw new Error(`the fixtures no longer have ${files.verified} verified, ${files.failed} failed and ${files.unsigned} without companions`);
    }
    await mkdir(RESULTS_DIR, { recursive: true });
    const seen = await verifyThroughMenus(page, { ...files, screenshots: RESULTS_DIR });
    const expected = [
      ['explorer', files.verified, files.verified, 'Verified'],
      ['explorer', files.failed, files.failed, 'Failed'],
      // Verify on a companion reports on the file it is about.
      ['explorer', files.companion, files.verified, 'Verified'],
      ['tab', files.verified, files.verified, 'Verified'],
      ['editor title', files.failed, files.failed, 'Failed'],
    ];
    for (const [where, clicked, about, state] of expected) {
      const report = seen.reports.find((r) => r.where === where && r.clicked === clicked);
      const what = `Verify from the ${where} on ${clicked}`;
      if (!report) problems.push(`${what}: no report`);
      else {
        if (report.tab !== `Preview ${about} (Sigstore report).md`) problems.push(`${what}: the tab is "${report.tab}"`);
        if (report.heading !== `Sigstore verification: ${about}`) problems.push(`${what}: the report is "${report.heading}"`);
        if (report.result !== `Result: ${state}`) problems.push(`${what}: "${report.result}", expected "Result: ${state}"`);
      }
    }
    if (!seen.titleButtonLeftForUnsigned) problems.push(`the editor title still offers Verify for ${files.unsigned}, which has no evidence`);
    if (!problems.length) log(`UI Verify check passed: ${seen.reports.map((r) => `${r.where} ${r.clicked} → ${r.result}`).join('; ')}`);
  } catch (err) {
    await saveFailureShot(page);
    problems.push(`Verify through the menus failed: ${err.message.split('\n')[0]}`);
  }
  if (problems.length) {
    console.log('[vscode-tests] UI Verify check FAILED:');
    for (const p of problems) console.log(`    - ${p}`);
  }
  return problems;
}

/**
 * Signs a file as a person would (scripts/ui-signing.mjs): the real device-code dialog,
 * "Copy & Open", the provider's page in a new tab. Returns problems.
 */
async function uiSignCheck(page, workspace, sandbox) {
  const file = 'to-sign/release-notes.md';
  const problems = [];
  try {
    const verifiedBadge = JSON.parse(await readFile(path.join(workspace, EXPECTED_BADGES), 'utf8'))['hello.txt'];
    const seen = await signThroughWorkbench(page, { file });
    if (!seen.code || seen.code !== seen.codeOnProviderPage) problems.push(`the dialog's code ${seen.code} is not the provider page's ${seen.codeOnProviderPage}`);
    if (seen.providerTitle !== 'Sign-in Success') problems.push(`the provider ended on "${seen.providerTitle}"`);
    if (!seen.message.includes(`signed ${file} as ${sandbox.email}`) || !seen.message.includes('verifies against the trust policy')) {
      problems.push(`unexpected notification: ${seen.message}`);
    }
    if (seen.badge !== verifiedBadge) problems.push(`${file} shows badge "${seen.badge}", not "${verifiedBadge}"`);
    if (!existsSync(path.join(workspace, `${file}.sigstore.json`))) problems.push(`${file}.sigstore.json was not written`);
    if (!problems.length) log(`UI signing check passed: ${seen.message}`);
  } catch (err) {
    await saveFailureShot(page);
    problems.push(`signing through the workbench failed: ${err.message.split('\n')[0]}`);
  }
  if (problems.length) {
    console.log('[vscode-tests] UI signing check FAILED:');
    for (const p of problems) console.log(`    - ${p}`);
  }
  return problems;
}

/**
 * The Images view in the real workbench: the signed image expands to its verified cosign
 * signature and attestation. Saves test-results/images-view.png. Returns problems.
 */
async function uiImagesCheck(page, fixtures) {
  const problems = [];
  try {
    await mkdir(RESULTS_DIR, { recursive: true });
    const rows = await showImagesView(page, { reference: fixtures.signed.reference, screenshot: path.join(RESULTS_DIR, 'images-view.png') });
    const find = (re) => rows.find((r) => re.test(r.label));
    if (!find(new RegExp(`^${fixtures.signed.reference.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} sha256:[0-9a-f]{12} · 1 use$`))) problems.push('the image row does not show its digest and use');
    if (!find(/^Signature verified · the key in .*cosign\.pub · cosign tag$/)) problems.push('no verified cosign signature row');
    if (!find(/^SLSA provenance v0\.2 verified · .* · cosign tag$/)) problems.push('no verified SLSA provenance row');
    if (!find(/^SBOMs none$/)) problems.push('no SBOMs row');
    if (problems.length) problems.push(`rows: ${rows.map((r) => `${'  '.repeat(r.level - 1)}${r.label}`).join(' / ')}`);
    else log('Images view check passed: test-results/images-view.png');
  } catch (err) {
    await saveFailureShot(page);
    problems.push(`the Images view could not be read: ${err.message.split('\n')[0]}`);
  }
  if (problems.length) {
    console.log('[vscode-tests] Images view check FAILED:');
    for (const p of problems) console.log(`    - ${p}`);
  }
  return problems;
}

/**
 * No identity token Fulcio saw and no key password the suites used may appear in the
 * extension host's output, code-server's logs and state, or the workspace. Returns problems.
 */
async function secretsCheck({ server, workspace, sandbox }) {
  const problems = [];
  if (sandbox.tokensSeen.length === 0) problems.push('no identity token reached Fulcio: the keyless signing suites did not sign');
  const secrets = [
    ...sandbox.tokensSeen.map((value, i) => ({ label: `identity token #${i + 1}`, value })),
    { label: 'key password', value: TEST_KEY_PASSWORD },
  ];
  const { leaks, files } = await findSecrets({
    roots: [server.tmpDir, workspace],
    texts: [
      { name: 'extension host console', text: consoleText },
      { name: 'code-server output', text: server.output() },
    ],
    secrets,
  });
  for (const leak of leaks) problems.push(`${leak.label} found in ${leak.where}`);
  // The scan must have read the Sigstore output channel's log, or it proves nothing.
  const channelLogs = await filesContaining(server.tmpDir, /Sigstore\.log$/, 'Rekor log index');
  if (channelLogs.length === 0) problems.push(`no Sigstore output channel log recording a signing was found under ${server.tmpDir}`);
  if (problems.length) {
    console.log('[vscode-tests] secrets check FAILED:');
    for (const p of problems) console.log(`    - ${p}`);
  } else {
    log(`secrets check passed: ${secrets.length} secret(s) absent from ${files} file(s) and the captured output`);
  }
  return problems;
}

// VS Code forwards the extension host's console as ('%c INFO', '<css>', format, ...args):
// format it as the terminal would, so mocha's report reads as usual.
async function forwardConsole(msg) {
  let text;
  try {
    const args = await Promise.all(msg.args().map((a) => a.jsonValue()));
    if (args.length === 0) {
      text = msg.text(); // e.g. "Failed to load resource" carries no arguments
    } else if (typeof args[0] === 'string' && /^%c\s*[A-Z]+$/.test(args[0]) && typeof args[1] === 'string') {
      const level = args[0].slice(2).trim();
      const line = format(...args.slice(2));
      text = level === 'INFO' ? line : `[${level}] ${line}`;
    } else {
      text = format(...args);
    }
  } catch {
    text = msg.text(); // arguments gone (page navigated) or not serialisable
  }
  consoleText += `${text}\n`;
  if (text.startsWith(SUMMARY_PREFIX)) {
    try {
      summary = JSON.parse(text.slice(SUMMARY_PREFIX.length));
      return;
    } catch {
      // not ours after all: print it
    }
  }
  console.log(text);
}

async function saveFailureShot(page) {
  try {
    await mkdir(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS_DIR, 'failure.png'), timeout: 10_000 });
    log('screenshot of the stuck workbench: test-results/failure.png');
  } catch {
    // best effort
  }
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  console.error(`[vscode-tests] FAILED: ${err.stack ?? err}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
