import * as vscode from 'vscode';
import { readLimited } from '../core/artifacts/artifact';
import type { ImageUse } from '../core/images/imageUses';
import { loadCore } from '../coreLoader';

/** Where an image is referred to: a file and the position of the reference in it. */
export interface ImageUseSite extends ImageUse {
  readonly uri: vscode.Uri;
}

/** An image the view lists: referred to by workspace files, pinned by the person, or both. */
export interface WorkspaceImage {
  readonly reference: string;
  readonly uses: readonly ImageUseSite[];
  readonly pinned: boolean;
}

const PINNED_KEY = 'sigstore.pinnedImages';
const MAX_FILE_BYTES = 2 * 1024 * 1024;
const EXCLUDE = '{**/node_modules/**,**/.git/**}';

/**
 * The images of the workspace: every reference found in Dockerfiles, compose files,
 * Kubernetes manifests and workflows (kept current as files change), and the ones pinned
 * with Add Image (stored per workspace).
 */
export class WorkspaceImages implements vscode.Disposable {
  private readonly byFile = new Map<string, ImageUseSite[]>();
  private readonly changes = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changes.event;
  private readonly disposables: vscode.Disposable[] = [];
  private scanned: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly dirty = new Set<string>();

  constructor(private readonly state: vscode.Memento) {}

  /** Every image, references first (sorted), pinned-only ones after. */
  async list(): Promise<WorkspaceImage[]> {
    await (this.scanned ??= this.scan());
    const uses = new Map<string, ImageUseSite[]>();
    for (const sites of this.byFile.values()) for (const s of sites) uses.set(s.reference, [...(uses.get(s.reference) ?? []), s]);
    const pinned = new Set(this.pinned());
    const referenced = [...uses.keys()].sort().map((reference) => ({ reference, uses: uses.get(reference)!, pinned: pinned.has(reference) }));
    const pinnedOnly = [...pinned].filter((r) => !uses.has(r)).map((reference) => ({ reference, uses: [], pinned: true }));
    return [...referenced, ...pinnedOnly];
  }

  pinned(): string[] {
    return this.state.get<string[]>(PINNED_KEY, []);
  }

  async pin(reference: string): Promise<void> {
    if (this.pinned().includes(reference)) return;
    await this.state.update(PINNED_KEY, [...this.pinned(), reference]);
    this.changes.fire();
  }

  async unpin(reference: string): Promise<void> {
    await this.state.update(PINNED_KEY, this.pinned().filter((r) => r !== reference));
    this.changes.fire();
  }

  /** Forgets everything found and scans the workspace again. */
  rescan(): void {
    this.scanned = undefined;
    this.changes.fire();
  }

  private async scan(): Promise<void> {
    const core = loadCore();
    if (!this.disposables.length) this.watch(core.IMAGE_FILE_GLOBS);
    this.byFile.clear();
    const found = await Promise.all(core.IMAGE_FILE_GLOBS.map((glob) => vscode.workspace.findFiles(glob, EXCLUDE)));
    const uris = [...new Map(found.flat().filter((u) => u.scheme === 'file').map((u) => [u.fsPath, u])).values()];
    await Promise.all(uris.map((uri) => this.read(uri)));
  }

  private async read(uri: vscode.Uri): Promise<void> {
    const relative = vscode.workspace.asRelativePath(uri, false);
    const core = loadCore();
    if (!core.isImageFile(relative)) return void this.byFile.delete(uri.fsPath);
    let text: string;
    try {
      text = (await readLimited(uri.fsPath, MAX_FILE_BYTES)).toString('utf8');
    } catch {
      // Gone, unreadable or too big to be a manifest someone edits: it refers to nothing.
      return void this.byFile.delete(uri.fsPath);
    }
    const sites = core.findImageUses(relative, text).map((u) => ({ ...u, uri }));
    if (sites.length) this.byFile.set(uri.fsPath, sites);
    else this.byFile.delete(uri.fsPath);
  }

  private watch(globs: readonly string[]): void {
    for (const glob of globs) {
      const watcher = vscode.workspace.createFileSystemWatcher(glob);
      const changed = (uri: vscode.Uri) => {
        if (uri.scheme !== 'file') return;
        this.dirty.add(uri.fsPath);
        // Saving a file fires several events; one update for all of them.
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.flush(), 200);
      };
      this.disposables.push(watcher, watcher.onDidCreate(changed), watcher.onDidChange(changed), watcher.onDidDelete(changed));
    }
  }

  private async flush(): Promise<void> {
    const paths = [...this.dirty];
    this.dirty.clear();
    await this.scanned;
    await Promise.all(paths.map((p) => this.read(vscode.Uri.file(p))));
    this.changes.fire();
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
    this.changes.dispose();
  }
}
