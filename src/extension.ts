import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import { isRegularFile } from './core/artifacts/artifact';
import { COMPANION_GLOBS } from './core/artifacts/companions';
import type { VerificationResult } from './core/verify/result';
import { VerificationCache } from './core/verify/verificationCache';
import { refreshCommand, REFRESH_COMMAND } from './commands/refreshCommand';
import { verifyCommand, VERIFY_COMMAND } from './commands/verifyCommand';
import { VerificationDecorationProvider } from './decorations/verificationDecorations';
import type { ExtensionServices } from './services';
import { configuredTrustedRootPath, loadTrustedRoot, TRUSTED_ROOT_SETTING, type TrustedRootChoice } from './trustedRootSetting';
import { REPORT_SCHEME, ReportDocuments } from './ui/reportDocument';

/** What the extension exposes to its tests (and to other extensions). */
export interface SigstoreApi {
  /** The current result for a file, if it has companions. */
  resultFor(uri: vscode.Uri): VerificationResult | undefined;
  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined;
  /** Resolves when every queued verification has finished. */
  whenIdle(): Promise<void>;
}

const VERIFIABLE_CONTEXT = 'sigstore.verifiableResources';

export function activate(context: vscode.ExtensionContext): SigstoreApi {
  const log = vscode.window.createOutputChannel('Sigstore', { log: true });
  let trustedRoot: Promise<TrustedRootChoice> = loadTrustedRoot();
  const reports = new ReportDocuments();

  const decorations = new VerificationDecorationProvider((path) => cache.get(path));
  const cache: VerificationCache = new VerificationCache({
    verify: async (artifact, companions, signal) => {
      // Evaluated on first use: the verifier pulls in the Sigstore libraries.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { verifyArtifact } = require('./core/verify/artifactVerifier') as typeof import('./core/verify/artifactVerifier');
      const allowedRoots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
      return verifyArtifact(artifact, companions, { trustedRoot: await trustedRoot, allowedRoots, signal });
    },
    exists: isRegularFile,
    onDidChange: (artifacts) => {
      decorations.refresh(artifacts);
      scheduleContextUpdate();
    },
    onError: (artifact, error) => log.error(`Verifying ${artifact} failed unexpectedly`, error),
  });

  let contextTimer: NodeJS.Timeout | undefined;
  const scheduleContextUpdate = () => {
    // Batched: a scan changes thousands of entries at once.
    clearTimeout(contextTimer);
    contextTimer = setTimeout(() => {
      const resources = cache.verifiablePaths().map((p) => vscode.Uri.file(p).toString());
      void vscode.commands.executeCommand('setContext', VERIFIABLE_CONTEXT, resources);
    }, 100);
  };

  const services: ExtensionServices = {
    cache,
    reports,
    log,
    async reloadTrustedRoot() {
      trustedRoot = loadTrustedRoot();
      const loaded = await trustedRoot;
      if ('error' in loaded) log.warn(`Trusted root unusable: ${loaded.error}`);
      else log.info(`Trusted root: ${loaded.source}${loaded.ignored.length ? ` (ignored: ${loaded.ignored.join('; ')})` : ''}`);
      cache.trustChanged();
    },
    async scan() {
      const found = await Promise.all(COMPANION_GLOBS.map((glob) => vscode.workspace.findFiles(glob)));
      for (const uri of found.flat()) if (uri.scheme === 'file') cache.changed(uri.fsPath);
      log.info(`Found ${found.flat().length} companion file(s)`);
    },
  };

  const watcher = vscode.workspace.createFileSystemWatcher('**/*');
  const onChange = (uri: vscode.Uri) => uri.scheme === 'file' && cache.changed(uri.fsPath);
  let rootWatcher = watchTrustedRoot(services);

  context.subscriptions.push(
    log,
    reports,
    decorations,
    watcher,
    { dispose: () => cache.dispose() },
    { dispose: () => rootWatcher?.dispose() },
    { dispose: () => clearTimeout(contextTimer) },
    vscode.window.registerFileDecorationProvider(decorations),
    vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, reports),
    watcher.onDidCreate(onChange),
    watcher.onDidChange(onChange),
    watcher.onDidDelete((uri) => uri.scheme === 'file' && cache.deleted(uri.fsPath)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(TRUSTED_ROOT_SETTING)) {
        rootWatcher?.dispose();
        rootWatcher = watchTrustedRoot(services);
        void services.reloadTrustedRoot();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void services.reloadTrustedRoot()),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void services.scan()),
    vscode.commands.registerCommand(VERIFY_COMMAND, (uri?: vscode.Uri) => verifyCommand(services, uri)),
    vscode.commands.registerCommand(REFRESH_COMMAND, () => refreshCommand(services)),
  );

  void services.scan();
  return {
    resultFor: (uri) => (uri.scheme === 'file' ? cache.get(uri.fsPath) : undefined),
    provideFileDecoration: (uri) => decorations.provideFileDecoration(uri),
    whenIdle: () => cache.whenIdle(),
  };
}

export function deactivate(): void {}

/** Re-verifies everything when the configured trusted_root.json changes on disk. */
function watchTrustedRoot(services: ExtensionServices): vscode.Disposable | undefined {
  const path = configuredTrustedRootPath();
  if (!path) return undefined;
  const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dirname(path)), basename(path)));
  const reload = () => void services.reloadTrustedRoot();
  watcher.onDidChange(reload);
  watcher.onDidCreate(reload);
  watcher.onDidDelete(reload);
  return watcher;
}
