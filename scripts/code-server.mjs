// Starts the code-server that scripts/setup.sh installs (a real VS Code server and web
// workbench, see docs TESTING.md §1) and launches Debian's Chromium through playwright-core.
// Shared by the VS Code test runner and `npm start`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cp, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CODE_SERVER_CACHE = path.join(REPO_ROOT, '.vscode-test', `code-server-${CODE_SERVER_VERSION}`);
export const CODE_SERVER_ENTRY = path.join(CODE_SERVER_CACHE, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Fresh user settings: nothing reaches for the (unreachable) extension gallery, no welcome page.
export const DEFAULT_USER_SETTINGS = {
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  // .demo/workspace lies inside the repo: no "open the parent git repository?" prompt.
  'git.openRepositoryInParentFolders': 'never',
};

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

/** A free TCP port on 127.0.0.1 (the OS picks it; tiny race until code-server binds it). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Launches code-server on `workspace` and waits until it answers HTTP.
 * @param {{ workspace: string, extensionsDir?: string, userDataDir?: string, port?: number,
 *           env?: Record<string, string>, extraArgs?: string[], inheritOutput?: boolean }} opts
 *   extraArgs go before the workspace; inheritOutput shows the server's log instead of buffering it.
 * @returns {Promise<{ url: string, port: number, tmpDir: string, process: import('node:child_process').ChildProcess,
 *                     output: () => string, stop: () => Promise<void> }>}
 */
export async function startCodeServer({ workspace, extensionsDir, userDataDir, port, env, extraArgs = [], inheritOutput = false }) {
  if (!existsSync(CODE_SERVER_ENTRY)) {
    throw new Error(`code-server is not installed at ${CODE_SERVER_ENTRY}: run scripts/setup.sh first`);
  }
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'sigstore-vscode-cs-'));
  const home = path.join(tmpDir, 'home');
  userDataDir ??= path.join(tmpDir, 'user-data');
  extensionsDir ??= path.join(tmpDir, 'extensions');
  await Promise.all([home, userDataDir, extensionsDir].map((d) => mkdir(d, { recursive: true })));
  await writeDefaultSettings(userDataDir);
  port ??= await freePort();

  const args = [
    CODE_SERVER_ENTRY,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    ...extraArgs,
    workspace,
  ];
  const childEnv = isolatedEnv(home, env);
  // detached: own process group, so stop() can kill the server with its extension host and pty host.
  const child = spawn(process.execPath, args, {
    env: childEnv,
    detached: true,
    stdio: ['ignore', inheritOutput ? 'inherit' : 'pipe', inheritOutput ? 'inherit' : 'pipe'],
  });
  // Bounded log buffer, for error messages when the server or the tests fail.
  let log = '';
  const keep = (chunk) => {
    log = (log + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Terminals (node-pty) start their own sessions, outside the group: collect them first.
    const strays = descendants(child.pid);
    if (!exited) {
      killGroup(child.pid, 'SIGTERM');
      const timer = new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref());
      if ((await Promise.race([exitPromise, timer.then(() => 'timeout')])) === 'timeout') {
        killGroup(child.pid, 'SIGKILL');
        await exitPromise;
      }
    }
    // Children that ignored SIGTERM after the leader exited.
    killGroup(child.pid, 'SIGKILL');
    // Only if the pid still is the same process (pids get reused).
    for (const { pid, start } of strays) if (startTime(pid) === start) killPid(pid, 'SIGKILL');
    await rm(tmpDir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`, READY_TIMEOUT_MS, () => exited);
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n--- code-server output ---\n${log}`);
  }
  return { url, port, tmpDir, process: child, output: () => log, stop };
}

// Keep everything VS Code writes out of the real home.
function isolatedEnv(home, env) {
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    // No gallery (code-server's default is open-vsx.org, unreachable here): nothing looks it up.
    EXTENSIONS_GALLERY: '{}',
    ...env,
  };
}

async function writeDefaultSettings(userDataDir) {
  const file = path.join(userDataDir, 'User', 'settings.json');
  if (existsSync(file)) return; // a caller's own settings win
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(DEFAULT_USER_SETTINGS, null, 2) + '\n');
}

/** Installs a .vsix into extensionsDir with code-server's own CLI (no gallery needed). */
export async function installExtension(vsix, { extensionsDir, userDataDir }) {
  const home = await mkdtemp(path.join(os.tmpdir(), 'sigstore-vscode-install-'));
  try {
    const args = [CODE_SERVER_ENTRY, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'];
    const child = spawn(process.execPath, args, { env: isolatedEnv(home), stdio: 'inherit' });
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) throw new Error(`code-server --install-extension ${vsix} failed (exit ${code})`);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function killGroup(pid, signal) {
  killPid(-pid, signal);
}

function killPid(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces); null if gone. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Start time of a process (stat field 22), to tell a pid from a later reuse of it. */
function startTime(pid) {
  return statFields(pid)?.[19] ?? null;
}

/** All live descendants of pid with their start times, from /proc (Linux; empty elsewhere). */
function descendants(pid) {
  const children = new Map();
  let entries = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    const f = statFields(e);
    if (!f) continue; // exited meanwhile
    const ppid = Number(f[1]); // stat field 4
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push({ pid: Number(e), start: f[19] });
  }
  const out = [];
  const todo = [pid];
  while (todo.length) {
    for (const c of children.get(todo.pop()) ?? []) {
      out.push(c);
      todo.push(c.pid);
    }
  }
  return out;
}

/** Polls `url` until it answers any HTTP status, the process exits, or the timeout passes. */
async function waitForHttp(url, timeoutMs, hasExited) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ex = hasExited();
    if (ex) throw new Error(`code-server exited before it was ready (code ${ex.code}, signal ${ex.signal})`);
    if (await answers(url)) return;
    if (Date.now() > deadline) throw new Error(`code-server did not answer ${url} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function answers(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Headless Debian Chromium through playwright-core. Playwright gives every launch() a
 * fresh temporary profile (user-data-dir) and deletes it on close().
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/**
 * Puts an unpacked copy of the extension (package.json, dist/, media/ and the docs) where
 * installed extensions live: the fallback when no .vsix can be packaged. VS Code picks up
 * folders named <publisher>.<name>-<version> in the extensions dir on start.
 */
export async function copyExtension(extensionRoot, extensionsDir) {
  const pkg = JSON.parse(readFileSync(path.join(extensionRoot, 'package.json'), 'utf8'));
  const dest = path.join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`.toLowerCase());
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  for (const item of ['package.json', 'dist', 'media', 'README.md', 'CHANGELOG.md', 'LICENSE', 'LICENSE.txt']) {
    const from = path.join(extensionRoot, item);
    if (!existsSync(from)) continue;
    // The suites are not part of the extension.
    await cp(from, path.join(dest, item), { recursive: true, filter: (src) => !src.includes(`${path.sep}dist${path.sep}test`) });
  }
  return dest;
}

// ---- CLI: `npm start` (scripts/start.sh, scripts/demo.mjs) serves the product to a person --
// node scripts/code-server.mjs <workspace> [--port N] [--vsix FILE | --copy-extension DIR]
async function cli(argv) {
  const opts = { port: 8080 };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') opts.port = Number(argv[++i]);
    else if (a === '--vsix') opts.vsix = argv[++i];
    else if (a === '--copy-extension') opts.copyFrom = argv[++i];
    else rest.push(a);
  }
  if (rest.length !== 1 || !Number.isInteger(opts.port)) {
    console.error('usage: node scripts/code-server.mjs <workspace> [--port N] [--vsix FILE | --copy-extension DIR]');
    process.exit(2);
  }
  await serve({ workspace: path.resolve(rest[0]), ...opts });
}

/**
 * Serves `workspace` in code-server with the extension installed from `vsix` (or copied from
 * `copyFrom`) until Ctrl-C; `notes` are printed under the URL, `onStop` runs at shutdown.
 * @param {{ workspace: string, port: number, vsix?: string, copyFrom?: string, notes?: string[], onStop?: () => Promise<void> }} opts
 */
export async function serve(opts) {
  const { workspace } = opts;
  // Fresh state every start: the demo always shows the extension as just installed.
  const state = await mkdtemp(path.join(os.tmpdir(), 'sigstore-vscode-start-'));
  const userDataDir = path.join(state, 'user-data');
  const extensionsDir = path.join(state, 'extensions');
  await mkdir(extensionsDir, { recursive: true });
  await writeDefaultSettings(userDataDir);
  let server;
  let stopping = false;
  const shutdown = async (code) => {
    if (stopping) return;
    stopping = true;
    await server?.stop();
    await opts.onStop?.().catch(() => undefined);
    await rm(state, { recursive: true, force: true });
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => shutdown(0));
  try {
    if (opts.vsix) await installExtension(path.resolve(opts.vsix), { extensionsDir, userDataDir });
    else if (opts.copyFrom) console.log(`[start] extension copied to ${await copyExtension(path.resolve(opts.copyFrom), extensionsDir)}`);
    server = await startCodeServer({ workspace, extensionsDir, userDataDir, port: opts.port, inheritOutput: true });
  } catch (err) {
    console.error(`[start] ${err.message}`);
    await shutdown(1);
  }
  const open = `${server.url}/?folder=${encodeURIComponent(workspace).replace(/%2F/g, '/')}`;
  const notes = (opts.notes ?? []).map((n) => `  ${n}\n`).join('');
  console.log(`\n  Sigstore for VS Code is running. Open:\n\n    ${open}\n\n  Workspace: ${workspace}\n${notes}  Ctrl-C stops it.\n`);
  server.process.on('exit', (code) => {
    if (stopping) return;
    console.error(`[start] code-server exited (code ${code})`);
    shutdown(code ?? 1);
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await cli(process.argv.slice(2));
}
