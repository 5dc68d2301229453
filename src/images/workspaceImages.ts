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
    // Grouped by what is pulled, not by spelling: `node:20` and `docker.io/library/node:20` are one image.
    const groups = new Map<string, { reference: string; uses: ImageUseSite[] }>();
    const sites = [...this.byFile.values()].flat().sort((a, b) => a.uri.fsPath.localeCompare(b.uri.fsPath) || a.line - b.line);
    for (const site of sites) {
      const key = canonical(site.reference);
      const group = groups.get(key) ?? { reference: site.reference, uses: [] };
      group.uses.push(site);
      groups.set(key, group);
    }
    const pinned = new Map(this.pinned().map((r) => [canonical(r), r]));
    const referenced = [...groups.entries()]
      .sort(([, a], [, b]) => a.reference.localeCompare(b.reference))
      .map(([key, g]) => ({ reference: g.reference, uses: g.uses, pinned: pinned.has(key) }));
    const pinnedOnly = [...pinned].filter(([key]) => !groups.has(key)).map(([, reference]) => ({ reference, uses: [], pinned: true }));
    return [...referenced, ...pinnedOnly];
  }

  pinned(): string[] {
    return this.state.get<string[]>(PINNED_KEY, []);
  }

  async pin(reference: string): Promise<void> {
    if (this.pinned().some((r) => canonical(r) === canonical(reference))) return;
    await this.state.update(PINNED_KEY, [...this.pinned(), reference]);
    this.changes.fire();
  }

  async unpin(reference: string): Promise<void> {
    await this.state.update(PINNED_KEY, this.pinned().filter((r) => canonical(r) !== canonical(reference)));
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

/** The canonical form of a reference (registry, repository, tag or digest), or the text itself when it is not one. */
function canonical(reference: string): string {
  try {
    const core = loadCore();
    return core.formatReference(core.parseImageReference(reference));
  } catch {
    return reference;
  }
}
