import { isAbsolute, join, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import type { PolicyDiagnostic, PolicyState } from './core/api';
import { isRegularFile, readLimited } from './core/artifacts/artifact';
import { loadCore } from './coreLoader';

export const POLICY_SETTING = 'sigstore.policy';
const DEFAULT_POLICY = '.sigstore/policy.json';

/**
 * The trust policy of each workspace folder: loaded, watched, and its problems shown in
 * the Problems panel. In an untrusted workspace the policy is ignored (it could vouch
 * for the workspace's own forged signatures).
 */
export class WorkspacePolicies implements vscode.Disposable {
  private readonly states = new Map<string, PolicyState>();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('sigstore-policy');
  private watchers: vscode.Disposable[] = [];
  private running: Promise<void> | undefined;
  private again = false;
  private disposed = false;

  constructor(private readonly onDidChange: () => void) {}

  /** The path of a folder's policy file, from the settings. */
  static pathFor(folder: vscode.WorkspaceFolder): string {
    const configured = vscode.workspace.getConfiguration('sigstore', folder.uri).get<string>('policy')?.trim() || DEFAULT_POLICY;
    return isAbsolute(configured) ? configured : join(folder.uri.fsPath, configured);
  }

  /** The policy that applies to a file: its workspace folder's. */
  policyFor(path: string): PolicyState {
    let best: { folder: string; state: PolicyState } | undefined;
    for (const [folder, state] of this.states) {
      const rel = relative(folder, path);
      if (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) && (!best || folder.length > best.folder.length)) best = { folder, state };
    }
    return best?.state ?? { kind: 'none' };
  }

  /**
   * Reloads every folder's policy, re-watches the files, and notifies once. Calls while a
   * reload runs are folded into one more reload after it (saving a key pair fires several
   * events at once); the old states stay in force until the new ones are complete.
   */
  reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.loadAll();
      } while (this.again && !this.disposed);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async loadAll(): Promise<void> {
    const states = new Map<string, PolicyState>();
    const watched = new Set<string>();
    const diagnostics: Array<[vscode.Uri, vscode.Diagnostic[]]> = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const path = WorkspacePolicies.pathFor(folder);
      watched.add(path);
      states.set(folder.uri.fsPath, await this.load(path, watched, diagnostics));
    }
    if (this.disposed) return;
    for (const w of this.watchers) w.dispose();
    this.watchers = [...watched].map((p) => this.watch(p));
    this.states.clear();
    for (const [folder, state] of states) this.states.set(folder, state);
    this.diagnostics.clear();
    for (const [uri, list] of diagnostics) this.diagnostics.set(uri, list);
    this.onDidChange();
  }

  private async load(path: string, watched: Set<string>, diagnostics: Array<[vscode.Uri, vscode.Diagnostic[]]>): Promise<PolicyState> {
    if (!(await isRegularFile(path))) return { kind: 'none' };
    if (!vscode.workspace.isTrusted) return { kind: 'ignored', reason: 'the workspace is not trusted, so its trust policy is not applied' };
    const load = await loadCore().loadPolicyFile(path);
    // A key made or replaced after the policy was loaded (Generate Key Pair) counts at once.
    for (const reference of load.references ?? []) watched.add(reference);
    if (load.diagnostics.length) {
      const text = await readLimited(path, 1024 * 1024).then((b) => b.toString('utf8'), () => '');
      diagnostics.push([vscode.Uri.file(path), load.diagnostics.map((d) => toDiagnostic(d, text))]);
    }
    return { kind: 'loaded', load };
  }

  private watch(path: string): vscode.Disposable {
    const slash = path.lastIndexOf(sep);
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.slice(0, slash)), path.slice(slash + 1)));
    const reload = () => void this.reload();
    const subscriptions = [watcher.onDidChange(reload), watcher.onDidCreate(reload), watcher.onDidDelete(reload)];
    return new vscode.Disposable(() => {
      for (const d of subscriptions) d.dispose();
      watcher.dispose();
    });
  }

  dispose(): void {
    this.disposed = true;
    for (const w of this.watchers) w.dispose();
    this.diagnostics.dispose();
  }
}

function toDiagnostic(d: PolicyDiagnostic, text: string): vscode.Diagnostic {
  const range = new vscode.Range(positionAt(text, d.offset), positionAt(text, d.offset + d.length));
  const diagnostic = new vscode.Diagnostic(range, d.message, d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
  diagnostic.source = 'Sigstore trust policy';
  return diagnostic;
}

function positionAt(text: string, offset: number): vscode.Position {
  const before = text.slice(0, Math.min(offset, text.length));
  const line = before.split('\n').length - 1;
  return new vscode.Position(line, before.length - (before.lastIndexOf('\n') + 1));
}
