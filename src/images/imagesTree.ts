import { sep } from 'node:path';
import * as vscode from 'vscode';
import type { Attachment, AttachmentList, NotRead, ResolvedImage } from '../core/images/attachments';
import type { RegistryClient } from '../core/oci/registryClient';
import type { Evidence } from '../core/verify/result';
import { loadCore } from '../coreLoader';
import { registryClient } from './registryAccess';
import type { ImageUseSite, WorkspaceImage, WorkspaceImages } from './workspaceImages';

/** The nodes of the Images view: a tagged union, each knowing its parent (for reveal and retry). */
export type ImageNode =
  | { readonly kind: 'image'; readonly image: WorkspaceImage }
  | { readonly kind: 'uses'; readonly parent: ImageNode; readonly image: WorkspaceImage }
  | { readonly kind: 'use'; readonly parent: ImageNode; readonly site: ImageUseSite }
  | { readonly kind: 'manifest'; readonly parent: ImageNode; readonly image: WorkspaceImage; readonly resolved: ResolvedImage; readonly digest: string; readonly label: string }
  | { readonly kind: 'group'; readonly parent: ImageNode; readonly label: string; readonly items: readonly VerifiedAttachment[]; readonly image: WorkspaceImage; readonly digest: string }
  | { readonly kind: 'attachment'; readonly parent: ImageNode; readonly item: VerifiedAttachment; readonly image: WorkspaceImage; readonly digest: string }
  | { readonly kind: 'problem'; readonly parent: ImageNode | undefined; readonly code: string; readonly message: string; readonly remedy?: string; readonly registry?: string }
  /** What the registry listed beyond `sigstore.images.maxAttachments`: platforms of an index, or attachments of a manifest. */
  | { readonly kind: 'notRead'; readonly parent: ImageNode; readonly what: 'platforms' | 'attachments'; readonly count: number; readonly more: boolean };

export interface VerifiedAttachment {
  readonly attachment: Attachment;
  readonly evidence: Evidence | undefined;
}

/** Verification inputs for an image: the trust policy and trusted root that apply. */
export type ImageTrustSource = (image: WorkspaceImage) => Promise<Parameters<ReturnType<typeof loadCore>['verifyAttachments']>[3]>;

const GROUPS: ReadonlyArray<[Attachment['kind'], string]> = [
  ['signature', 'Signatures'],
  ['attestation', 'Attestations'],
  ['sbom', 'SBOMs'],
  ['other', 'Other artifacts'],
];

const STATE_ICONS: Record<string, [string, string]> = {
  verified: ['pass', 'sigstore.verifiedForeground'],
  untrusted: ['warning', 'sigstore.untrustedForeground'],
  integrity: ['info', 'sigstore.integrityForeground'],
  failed: ['error', 'sigstore.failedForeground'],
  unverifiable: ['question', 'sigstore.unverifiableForeground'],
  unsigned: ['circle-outline', 'sigstore.unverifiableForeground'],
};

const STATE_LABELS: Record<string, string> = {
  verified: 'verified',
  untrusted: 'valid, signer not trusted',
  integrity: 'integrity only',
  failed: 'failed',
  unverifiable: 'cannot be checked',
  unsigned: 'unsigned',
};

/**
 * The Images view: the workspace's images; expanding one resolves its digest and lists what
 * is attached (per platform for a multi-arch index), each item verified against the trust
 * policy. Registry answers are cached until refreshed; an error is a node, the rest works.
 */
export class ImagesTree implements vscode.TreeDataProvider<ImageNode>, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<ImageNode | undefined>();
  readonly onDidChangeTreeData = this.changes.event;
  private readonly resolutions = new Map<string, Promise<ResolvedImage>>();
  /** Resolutions that succeeded: what rows show without waiting on a registry. */
  private readonly resolved = new Map<string, ResolvedImage>();
  private readonly listings = new Map<string, Promise<VerifiedAttachment[]>>();
  private readonly problems = new Map<string, AttachmentList['problems']>();
  private readonly notRead = new Map<string, NotRead>();
  private readonly subscription: vscode.Disposable;
  /**
   * One registry client and one cancellation for everything shown until the next full
   * refresh: its tokens, protocol and referrers-API knowledge are shared by every request,
   * and a refresh cancels what is still under way.
   */
  private session: { client: Promise<RegistryClient>; abort: AbortController } | undefined;

  constructor(
    private readonly images: WorkspaceImages,
    private readonly trust: ImageTrustSource,
  ) {
    this.subscription = images.onDidChange(() => this.changes.fire(undefined));
  }

  /** Forgets registry answers (for one node's image, or all: then also a new client) and redraws. */
  refresh(node?: ImageNode): void {
    const reference = node ? imageOf(node)?.reference : undefined;
    for (const map of [this.resolutions, this.resolved, this.listings, this.problems, this.notRead]) {
      for (const key of [...map.keys()]) if (!reference || key === reference || key.startsWith(`${reference}@`)) map.delete(key);
    }
    if (node) {
      // Refresh is also the retry after a sign-in: read the Docker credentials again.
      void this.session?.client.then((c) => c.forgetCredentials(), () => undefined);
      return this.changes.fire(rootOf(node));
    }
    this.endSession();
    this.images.rescan();
  }

  /**
   * Verify Again on a manifest, group or attachment: reads that manifest's attachments from the
   * registry again and verifies them, keeping the image's resolution and everything else.
   */
  verifyAgain(node: ImageNode): void {
    const image = imageOf(node);
    const digest = node.kind === 'manifest' || node.kind === 'group' || node.kind === 'attachment' ? node.digest : undefined;
    if (!image || !digest) return this.refresh(node);
    this.listings.delete(`${image.reference}@${digest}`);
    this.problems.delete(`${image.reference}@${digest}`);
    this.notRead.delete(`${image.reference}@${digest}`);
    this.changes.fire(rootOf(node));
  }

  /** Something was just signed or attested: read those digests' attachments again, keep the rest. */
  attachmentsChanged(digests: readonly string[]): void {
    for (const map of [this.listings, this.problems, this.notRead]) {
      for (const key of [...map.keys()]) if (digests.some((d) => key.endsWith(`@${d}`))) map.delete(key);
    }
    this.changes.fire(undefined);
  }

  /** The trust policy, trusted root or workspace trust changed: verify again, keep what the registry said. */
  trustChanged(): void {
    this.listings.clear();
    this.problems.clear();
    this.notRead.clear();
    this.changes.fire(undefined);
  }

  /** Registry settings changed: a new client for everything. */
  registrySettingsChanged(): void {
    this.refresh();
  }

  private client(): { client: Promise<RegistryClient>; signal: AbortSignal } {
    if (!this.session) {
      const client = registryClient();
      // A client that could not be made (a CA file missing) is made again next time.
      client.catch(() => (this.session = undefined));
      this.session = { client, abort: new AbortController() };
    }
    return { client: this.session.client, signal: this.session.abort.signal };
  }

  private endSession(): void {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    session.abort.abort();
    void session.client.then((c) => c.close()).catch(() => undefined);
  }

  getParent(node: ImageNode): ImageNode | undefined {
    return node.kind === 'image' ? undefined : node.parent;
  }

  async getChildren(node?: ImageNode): Promise<ImageNode[]> {
    if (!node) return (await this.images.list()).map((image) => ({ kind: 'image', image }));
    switch (node.kind) {
      case 'image':
        return this.imageChildren(node);
      case 'uses':
        return node.image.uses.map((site) => ({ kind: 'use', parent: node, site }));
      case 'manifest':
        return this.manifestChildren(node, node.image, node.digest);
      case 'group':
        return node.items.map((item) => ({ kind: 'attachment', parent: node, item, image: node.image, digest: node.digest }));
      default:
        return [];
    }
  }

  private async imageChildren(node: Extract<ImageNode, { kind: 'image' }>): Promise<ImageNode[]> {
    const children: ImageNode[] = node.image.uses.length ? [{ kind: 'uses', parent: node, image: node.image }] : [];
    let resolved: ResolvedImage;
    try {
      resolved = await this.resolve(node.image.reference);
    } catch (e) {
      return [...children, problemNode(node, e)];
    }
    if (resolved.kind === 'manifest') return [...children, ...(await this.manifestChildren(node, node.image, resolved.digest))];
    children.push({ kind: 'manifest', parent: node, image: node.image, resolved, digest: resolved.digest, label: 'index' });
    const core = loadCore();
    for (const p of resolved.platforms) children.push({ kind: 'manifest', parent: node, image: node.image, resolved, digest: p.digest, label: core.platformLabel(p.platform) });
    if (resolved.platformsNotRead > 0) children.push({ kind: 'notRead', parent: node, what: 'platforms', count: resolved.platformsNotRead, more: false });
    return children;
  }

  private async manifestChildren(parent: ImageNode, image: WorkspaceImage, digest: string): Promise<ImageNode[]> {
    const key = `${image.reference}@${digest}`;
    let listing = this.listings.get(key);
    if (!listing) {
      listing = this.list(image, digest);
      this.listings.set(key, listing);
    }
    let items: VerifiedAttachment[];
    try {
      items = await listing;
    } catch (e) {
      // Only if nothing newer replaced it meanwhile.
      if (this.listings.get(key) === listing) this.listings.delete(key);
      return [problemNode(parent, e)];
    }
    const groups: ImageNode[] = [];
    for (const [kind, label] of GROUPS) {
      const inGroup = items.filter((i) => i.attachment.kind === kind);
      if (inGroup.length || kind !== 'other') groups.push({ kind: 'group', parent, label, items: inGroup, image, digest });
    }
    for (const p of this.problems.get(key) ?? []) groups.push({ kind: 'problem', parent, code: p.code, message: `${p.location}: ${p.message}`, remedy: p.remedy, registry: registryOf(image.reference) });
    const unread = this.notRead.get(key);
    if (unread) groups.push({ kind: 'notRead', parent, what: 'attachments', count: unread.count, more: unread.more });
    return groups;
  }

  private async list(image: WorkspaceImage, digest: string): Promise<VerifiedAttachment[]> {
    const core = loadCore();
    const { client, signal } = this.client();
    const resolved = await this.resolve(image.reference);
    // Only what is expanded is read: this manifest's attachments, at most maxAttachments of them.
    const found = await core.attachmentsOf(await client, resolved.reference, digest, { signal, prefetch: true, maxAttachments: maxAttachments() });
    signal.throwIfAborted();
    this.problems.set(`${image.reference}@${digest}`, found.problems);
    if (found.notRead) this.notRead.set(`${image.reference}@${digest}`, found.notRead);
    else this.notRead.delete(`${image.reference}@${digest}`);
    return core.verifyAttachments(found.attachments, digest, resolved.reference, { ...(await this.trust(image)), signal });
  }

  private resolve(reference: string): Promise<ResolvedImage> {
    let pending = this.resolutions.get(reference);
    if (!pending) {
      const { client, signal } = this.client();
      const attempt = (async () => loadCore().resolveImage(await client, reference, { signal, maxPlatforms: maxAttachments() }))();
      pending = attempt;
      this.resolutions.set(reference, attempt);
      attempt.then(
        (resolved) => {
          if (this.resolutions.get(reference) !== attempt) return;
          this.resolved.set(reference, resolved);
          // The image's row shows its digest once known.
          this.changes.fire(undefined);
        },
        // A failure is shown once and tried again on the next expand or refresh.
        () => {
          if (this.resolutions.get(reference) === attempt) this.resolutions.delete(reference);
        },
      );
    }
    return pending;
  }

  /** What an image resolved to, if it has been (never waits on the registry). */
  resolvedDigest(reference: string): ResolvedImage | undefined {
    return this.resolved.get(reference);
  }

  getTreeItem(node: ImageNode): vscode.TreeItem | Thenable<vscode.TreeItem> {
    switch (node.kind) {
      case 'image':
        return this.imageItem(node);
      case 'uses': {
        const item = new vscode.TreeItem(`Used in ${node.image.uses.length} place${node.image.uses.length === 1 ? '' : 's'}`, vscode.TreeItemCollapsibleState.Collapsed);
        item.iconPath = new vscode.ThemeIcon('references');
        return item;
      }
      case 'use': {
        const { site } = node;
        const item = new vscode.TreeItem(`${vscode.workspace.asRelativePath(site.uri)}:${site.line + 1}`, vscode.TreeItemCollapsibleState.None);
        item.description = site.kind;
        item.iconPath = vscode.ThemeIcon.File;
        item.resourceUri = site.uri;
        const selection = new vscode.Range(site.line, site.column, site.line, site.column + site.length);
        item.command = { command: 'vscode.open', title: 'Open', arguments: [site.uri, { selection } satisfies vscode.TextDocumentShowOptions] };
        return item;
      }
      case 'manifest': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Collapsed);
        item.description = shortDigest(node.digest);
        item.tooltip = node.digest;
        item.iconPath = new vscode.ThemeIcon(node.label === 'index' ? 'layers' : 'package');
        item.contextValue = 'manifest';
        return item;
      }
      case 'group': {
        const item = new vscode.TreeItem(node.label, node.items.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.description = node.items.length ? String(node.items.length) : 'none';
        item.iconPath = new vscode.ThemeIcon(node.label === 'Signatures' ? 'workspace-trusted' : node.label === 'Attestations' ? 'checklist' : 'list-tree');
        return item;
      }
      case 'attachment':
        return attachmentItem(node);
      case 'notRead': {
        const count = `${node.count}${node.more ? '+' : ''}`;
        const item = new vscode.TreeItem(`${count} more not read`, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.description = node.what === 'platforms' ? 'platform manifests' : 'attachments';
        item.tooltip = new vscode.MarkdownString(
          `The registry lists ${count} more ${node.what === 'platforms' ? 'platform manifests in this index' : 'signatures, attestations or SBOMs for this manifest'} than the \`sigstore.images.maxAttachments\` setting lets the view read. They are neither read nor verified; raise the setting to see them.`,
        );
        item.contextValue = 'notRead';
        return item;
      }
      case 'problem': {
        // A short label says what kind of trouble; the registry's whole answer is in the tooltip.
        const item = new vscode.TreeItem(PROBLEM_LABELS[node.code] ?? 'Cannot be read', vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('sigstore.failedForeground'));
        item.tooltip = new vscode.MarkdownString(`**${node.code}**: ${node.message}${node.remedy ? `\n\n${node.remedy}` : ''}`);
        item.description = node.message;
        item.contextValue = node.code === 'AUTH_REQUIRED' || node.code === 'DENIED' ? 'problem.auth' : 'problem';
        return item;
      }
    }
  }

  private imageItem(node: Extract<ImageNode, { kind: 'image' }>): vscode.TreeItem {
    const item = new vscode.TreeItem(node.image.reference, vscode.TreeItemCollapsibleState.Collapsed);
    const resolved = this.resolvedDigest(node.image.reference);
    const where = node.image.uses.length ? `${node.image.uses.length} use${node.image.uses.length === 1 ? '' : 's'}` : 'pinned';
    item.description = resolved ? `${shortDigest(resolved.digest)} · ${where}` : where;
    item.tooltip = new vscode.MarkdownString(
      `**${node.image.reference}**${resolved ? `\n\n\`${resolved.name}@${resolved.digest}\`` : ''}\n\n${node.image.uses.map((u) => `- ${vscode.workspace.asRelativePath(u.uri)}:${u.line + 1}`).join('\n')}`,
    );
    item.iconPath = new vscode.ThemeIcon(resolved?.kind === 'index' ? 'layers' : 'package');
    item.contextValue = `image${node.image.pinned ? '.pinned' : ''}${resolved ? '.resolved' : ''}`;
    item.id = `image:${node.image.reference}`;
    return item;
  }

  dispose(): void {
    this.endSession();
    this.subscription.dispose();
    this.changes.dispose();
  }
}

function attachmentItem(node: Extract<ImageNode, { kind: 'attachment' }>): vscode.TreeItem {
  const { attachment, evidence } = node.item;
  const core = loadCore();
  const state = core.attachmentState(evidence);
  const label =
    attachment.kind === 'attestation'
      ? core.predicateLabel(attachment.predicateType)
      : attachment.kind === 'sbom'
        ? `SBOM${attachment.predicateType ? ` (${core.predicateLabel(attachment.predicateType)})` : ''}`
        : attachment.kind === 'signature'
          ? 'Signature'
          : attachment.mediaType;
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
  const signer = evidence?.signer ? workspaceRelative(core.signerLabel(evidence.signer)) : undefined;
  item.description = [STATE_LABELS[state], signer, SOURCE_LABELS[attachment.source]].filter(Boolean).join(' · ');
  const [icon, color] = STATE_ICONS[state] ?? STATE_ICONS.unverifiable!;
  item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
  item.tooltip = new vscode.MarkdownString(
    [
      `**${label}**: ${STATE_LABELS[state]}`,
      evidence?.summary ?? (attachment.signed ? '' : 'Not signed: nothing vouches for its content.'),
      evidence?.failure?.remedy ? `*What to do:* ${evidence.failure.remedy}` : '',
      `Found through ${SOURCE_LABELS[attachment.source]}: \`${attachment.location}\``,
      `Digest: \`${attachment.digest}\``,
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  item.contextValue = `attachment${signer ? '.signer' : ''}`;
  item.command = { command: 'sigstore.images.openAttachment', title: 'Open', arguments: [node] };
  return item;
}

const PROBLEM_LABELS: Record<string, string> = {
  AUTH_REQUIRED: 'Sign-in required',
  DENIED: 'Access denied',
  NOT_FOUND: 'Not found',
  RATE_LIMITED: 'Rate limited',
  NETWORK: 'Registry unreachable',
  TIMEOUT: 'No answer in time',
  TLS: 'Untrusted certificate',
  INSECURE_REGISTRY: 'Plain HTTP not allowed',
  CREDENTIALS: 'Credentials unreadable',
  TOO_LARGE: 'Answer too large',
  DIGEST_MISMATCH: 'Content does not match its digest',
  BAD_RESPONSE: 'Unexpected answer',
  BAD_REFERENCE: 'Not an image reference',
};

const SOURCE_LABELS: Record<string, string> = {
  referrers: 'referrers API',
  'fallback-tag': 'referrers fallback tag',
  'cosign-tag': 'cosign tag',
};

/** The `sigstore.images.maxAttachments` setting, within its range. */
function maxAttachments(): number {
  return loadCore().attachmentLimit(vscode.workspace.getConfiguration('sigstore.images').get<number>('maxAttachments'));
}

function problemNode(parent: ImageNode, e: unknown): ImageNode {
  const err = e as { code?: string; message?: string; remedy?: string };
  const image = imageOf(parent);
  return { kind: 'problem', parent, code: err.code ?? 'ERROR', message: err.message ?? String(e), remedy: err.remedy, registry: image ? registryOf(image.reference) : undefined };
}

export function imageOf(node: ImageNode): WorkspaceImage | undefined {
  const root = rootOf(node);
  return root.kind === 'image' ? root.image : undefined;
}

function rootOf(node: ImageNode): ImageNode {
  let n: ImageNode = node;
  while (n.kind !== 'image' && n.parent) n = n.parent;
  return n;
}

function registryOf(reference: string): string | undefined {
  try {
    return loadCore().parseImageReference(reference).registry;
  } catch {
    return undefined;
  }
}

/** Key files named by the policy, as the workspace-relative paths the person wrote. */
function workspaceRelative(text: string): string {
  return (vscode.workspace.workspaceFolders ?? []).reduce((t, f) => t.split(`${f.uri.fsPath}${sep}`).join(''), text);
}

function shortDigest(digest: string): string {
  return digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');
}
