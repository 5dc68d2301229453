import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import { isRegularFile } from './core/artifacts/artifact';
import { classify, COMPANION_GLOBS } from './core/artifacts/companions';
import type { VerificationResult } from './core/verify/result';
import type { TrustedRootChoice } from './core/verify/trustInputs';
import { VerificationCache } from './core/verify/verificationCache';
import { forgetKeyPasswordsCommand, FORGET_KEY_PASSWORDS_COMMAND } from './commands/forgetKeyPasswordsCommand';
import { addImageCommand, ADD_IMAGE_COMMAND } from './commands/images/addImageCommand';
import { copyDigestCommand, COPY_DIGEST_COMMAND } from './commands/images/copyDigestCommand';
import { copyReferenceCommand, COPY_REFERENCE_COMMAND } from './commands/images/copyReferenceCommand';
import { copySignerCommand, COPY_SIGNER_COMMAND } from './commands/images/copySignerCommand';
import { openAttachmentCommand, OPEN_ATTACHMENT_COMMAND } from './commands/images/openAttachmentCommand';
import { refreshImagesCommand, REFRESH_IMAGES_COMMAND } from './commands/images/refreshImagesCommand';
import { registrySignInCommand, REGISTRY_SIGN_IN_COMMAND } from './commands/images/registrySignInCommand';
import { removeImageCommand, REMOVE_IMAGE_COMMAND } from './commands/images/removeImageCommand';
import { verifyAgainCommand, VERIFY_AGAIN_COMMAND } from './commands/images/verifyAgainCommand';
import { ImagesTree, type ImageNode } from './images/imagesTree';
import { IMAGE_DOCUMENTS, ImageCodeLens } from './images/imageCodeLens';
import { ATTEST_IMAGE_COMMAND, attestImageCommand } from './commands/images/attestImageCommand';
import { SIGN_IMAGE_COMMAND, signImageCommand } from './commands/images/signImageCommand';
import { REGISTRY_SETTINGS } from './images/registryAccess';
import { WorkspaceImages } from './images/workspaceImages';
import { ATTACHMENT_SCHEME, AttachmentDocuments } from './ui/attachmentDocuments';
import { generateKeyPairCommand, GENERATE_KEY_PAIR_COMMAND } from './commands/generateKeyPairCommand';
import { refreshCommand, REFRESH_COMMAND } from './commands/refreshCommand';
import { signArtifactCommand, SIGN_ARTIFACT_COMMAND } from './commands/signArtifactCommand';
import { verifyCommand, VERIFY_COMMAND } from './commands/verifyCommand';
import { loadCore } from './coreLoader';
import { VerificationDecorationProvider } from './decorations/verificationDecorations';
import { KeyPasswords } from './keyPasswords';
import type { ExtensionServices } from './services';
import { configuredTrustedRootPath, loadTrustedRoot, NETWORK_SETTINGS, networkSettings, TRUSTED_ROOT_SETTING } from './trustedRootSetting';
import { REPORT_SCHEME, ReportDocuments } from './ui/reportDocument';
import { VerifiableEditors } from './ui/verifiableEditors';
import { vscodeSigningPrompts, type SigningPrompts } from './ui/signingPrompts';
import { POLICY_SETTING, WorkspacePolicies } from './workspacePolicies';

/** What the extension exposes to its tests (and to other extensions). */
export interface SigstoreApi {
  /** The current result for a file, if it has companions or a policy rule expects a signature for it. */
  resultFor(uri: vscode.Uri): VerificationResult | undefined;
  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined | Promise<vscode.FileDecoration | undefined>;
  /** Resolves when every queued verification has finished. */
  whenIdle(): Promise<void>;
  /**
   * Answers some of signing's questions in place of the person, for tests: VS Code's modal
   * dialogs cannot be clicked from an extension host. Only in extension development and test
   * mode (throws in an installed extension). Dispose to restore the dialogs.
   */
  useSigningPrompts(prompts: Partial<SigningPrompts>): vscode.Disposable;
  /** The Images view's data, for tests: its nodes, children and items as the view gets them. */
  readonly imagesTree: vscode.TreeDataProvider<ImageNode>;
  /** The files the editor title offers Verify for (the sigstore.verifiableEditors context key). */
  verifiableEditors(): readonly vscode.Uri[];
}

export function activate(context: vscode.ExtensionContext): SigstoreApi {
  const log = vscode.window.createOutputChannel('Sigstore', { log: true });
  const reports = new ReportDocuments();
  // Loaded on first use, with the verification core.
  let trustedRoot: Promise<TrustedRootChoice> | undefined;
  const rootChoice = () => (trustedRoot ??= loadTrustedRoot((note) => log.warn(note)));

  const decorations = new VerificationDecorationProvider(
    (path) => cache.get(path),
    (path) => unsignedResultFor(path),
  );
  const policies = new WorkspacePolicies(() => {
    cache.trustChanged();
    imagesTree.trustChanged();
    decorations.refreshAll();
  });
  /** A file without evidence that a policy rule expects a signature for ("unsigned"), if it is one. */
  const unsignedResultFor = (path: string): VerificationResult | undefined => {
    const policy = policies.policyFor(path);
    // A loaded policy means the core is loaded: this pulls nothing in at activation.
    if (policy.kind !== 'loaded' || classify(path) || cache.companionsOf(path).length) return undefined;
    const rule = loadCore().ruleExpectingSignature(policy, path);
    return rule ? loadCore().unsignedResult(path, rule) : undefined;
  };
  const allowedRoots = () => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const cache: VerificationCache = new VerificationCache({
    verify: async (artifact, companions, signal) =>
      loadCore().verifyArtifact(artifact, companions, {
        policy: policies.policyFor(artifact),
        trustedRoot: await rootChoice(),
        network: networkSettings(),
        allowedRoots: allowedRoots(),
        signal,
      }),
    targetsOf: (companion) => loadCore().companionTargets(companion, allowedRoots()),
    fingerprint: (paths) => loadCore().fileFingerprint(paths),
    exists: isRegularFile,
    onDidChange: (artifacts) => {
      decorations.refresh(artifacts);
      scheduleContextUpdate();
    },
    onError: (artifact, error) => log.error(`Verifying ${artifact} failed unexpectedly`, error),
  });

  const verifiableEditors = new VerifiableEditors((artifact) => cache.hasEvidence(artifact));
  let contextTimer: NodeJS.Timeout | undefined;
  const scheduleContextUpdate = () => {
    // Batched: a scan changes thousands of entries at once.
    clearTimeout(contextTimer);
    contextTimer = setTimeout(() => verifiableEditors.update(), 100);
  };

  let prompts: SigningPrompts = vscodeSigningPrompts;
  const workspaceImages = new WorkspaceImages(context.workspaceState);
  const imageCodeLens = new ImageCodeLens();
  const imagesTree = new ImagesTree(workspaceImages, async (image) => {
    // Images are judged by the policy of the folder that refers to them (else the first folder's).
    const where = image.uses[0]?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    return { policy: policies.policyFor(where), trustedRoot: await rootChoice(), network: networkSettings() };
  });
  const attachmentDocuments = new AttachmentDocuments();
  const services: ExtensionServices = {
    cache,
    reports,
    log,
    images: { workspaceImages, tree: imagesTree, documents: attachmentDocuments },
    signing: {
      get prompts() {
        return prompts;
      },
      passwords: new KeyPasswords(context.secrets, context.globalState),
      workspaceState: context.workspaceState,
    },
    async reloadTrustedRoot() {
      trustedRoot = loadTrustedRoot((note) => log.warn(note));
      const loaded = await trustedRoot;
      if ('error' in loaded) log.warn(`Trusted root unusable: ${loaded.error}`);
      else log.info(`Trusted root: ${loaded.source}${loaded.ignored.length ? ` (ignored: ${loaded.ignored.join('; ')})` : ''}`);
      cache.trustChanged();
      imagesTree.trustChanged();
    },
    async scan() {
      const found = await Promise.all(COMPANION_GLOBS.map((glob) => vscode.workspace.findFiles(glob)));
      const files = found.flat().filter((u) => u.scheme === 'file');
      for (const uri of files) cache.changed(uri.fsPath);
      log.info(`Found ${files.length} possible companion file(s)`);
    },
  };

  const watcher = vscode.workspace.createFileSystemWatcher('**/*');
  const onChange = (uri: vscode.Uri) => uri.scheme === 'file' && cache.changed(uri.fsPath);
  let rootWatcher = watchTrustedRoot(services);

  context.subscriptions.push(
    log,
    reports,
    decorations,
    policies,
    watcher,
    { dispose: () => cache.dispose() },
    { dispose: () => rootWatcher?.dispose() },
    { dispose: () => clearTimeout(contextTimer) },
    verifiableEditors,
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
      if (e.affectsConfiguration(POLICY_SETTING)) void policies.reload();
      if (NETWORK_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        cache.trustChanged();
        imagesTree.trustChanged();
      }
      if (REGISTRY_SETTINGS.some((s) => e.affectsConfiguration(s))) imagesTree.registrySettingsChanged();
      if (e.affectsConfiguration('sigstore.images.codeLens')) imageCodeLens.refresh();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void policies.reload();
      void services.reloadTrustedRoot();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      void policies.reload();
      void services.scan();
    }),
    vscode.commands.registerCommand(VERIFY_COMMAND, (uri?: vscode.Uri) => verifyCommand(services, uri)),
    vscode.commands.registerCommand(REFRESH_COMMAND, () => refreshCommand(services)),
    vscode.commands.registerCommand(SIGN_ARTIFACT_COMMAND, (uri?: vscode.Uri, uris?: vscode.Uri[]) => signArtifactCommand(services, uri, uris)),
    vscode.commands.registerCommand(GENERATE_KEY_PAIR_COMMAND, (uri?: vscode.Uri) => generateKeyPairCommand(services, uri)),
    vscode.commands.registerCommand(FORGET_KEY_PASSWORDS_COMMAND, () => forgetKeyPasswordsCommand(services)),
    workspaceImages,
    imagesTree,
    attachmentDocuments,
    vscode.window.createTreeView('sigstore.images', { treeDataProvider: imagesTree, showCollapseAll: true }),
    vscode.workspace.registerTextDocumentContentProvider(ATTACHMENT_SCHEME, attachmentDocuments),
    vscode.commands.registerCommand(ADD_IMAGE_COMMAND, (reference?: string) => addImageCommand(services, reference)),
    vscode.commands.registerCommand(SIGN_IMAGE_COMMAND, (target?: ImageNode | { reference: string }) => signImageCommand(services, target)),
    vscode.commands.registerCommand(ATTEST_IMAGE_COMMAND, (target?: ImageNode | { reference: string }) => attestImageCommand(services, target)),
    imageCodeLens,
    vscode.languages.registerCodeLensProvider(IMAGE_DOCUMENTS, imageCodeLens),
    vscode.commands.registerCommand(REMOVE_IMAGE_COMMAND, (node?: ImageNode) => removeImageCommand(services, node)),
    vscode.commands.registerCommand(REFRESH_IMAGES_COMMAND, (node?: ImageNode) => refreshImagesCommand(services, node)),
    vscode.commands.registerCommand(OPEN_ATTACHMENT_COMMAND, (node?: ImageNode) => openAttachmentCommand(services, node)),
    vscode.commands.registerCommand(COPY_DIGEST_COMMAND, (node?: ImageNode) => copyDigestCommand(services, node)),
    vscode.commands.registerCommand(COPY_REFERENCE_COMMAND, (node?: ImageNode) => copyReferenceCommand(services, node)),
    vscode.commands.registerCommand(COPY_SIGNER_COMMAND, (node?: ImageNode) => copySignerCommand(node)),
    vscode.commands.registerCommand(REGISTRY_SIGN_IN_COMMAND, (node?: ImageNode) => registrySignInCommand(node)),
    vscode.commands.registerCommand(VERIFY_AGAIN_COMMAND, (node?: ImageNode) => verifyAgainCommand(services, node)),
  );

  // After activation returns: loading the policy and scanning pull in the core.
  setImmediate(() => void policies.reload().then(() => services.scan()));
  return {
    resultFor: (uri) => (uri.scheme === 'file' ? (cache.get(uri.fsPath) ?? unsignedResultFor(uri.fsPath)) : undefined),
    provideFileDecoration: (uri) => decorations.provideFileDecoration(uri),
    whenIdle: () => cache.whenIdle(),
    imagesTree,
    verifiableEditors: () => verifiableEditors.files,
    useSigningPrompts: (overrides) => {
      // Answering for the person is for tests: another extension must not capture key
      // passwords or approve overwrites in an installed copy.
      if (context.extensionMode === vscode.ExtensionMode.Production) {
        throw new Error('useSigningPrompts is only available to tests (extension development mode).');
      }
      prompts = { ...vscodeSigningPrompts, ...overrides };
      return new vscode.Disposable(() => (prompts = vscodeSigningPrompts));
    },
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
