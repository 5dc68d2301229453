// The Images view inside a real VS Code extension host, against a real docker-registry
// holding an image signed and attested by the real cosign (test/support/image-fixtures.ts,
// started by the runner). Reads the tree through the same TreeDataProvider the view uses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ImageNode } from '../../src/images/imagesTree';
import type { ImageFixtures } from '../support/image-fixtures';
import { api, workspaceRoot } from './extensionHost';

function fixtures(): ImageFixtures {
  return JSON.parse(readFileSync(join(workspaceRoot(), '.image-fixtures.json'), 'utf8')) as ImageFixtures;
}

async function tree(): Promise<vscode.TreeDataProvider<ImageNode>> {
  return (await api()).imagesTree;
}

async function children(node?: ImageNode): Promise<ImageNode[]> {
  return ((await (await tree()).getChildren(node)) ?? []) as ImageNode[];
}

async function item(node: ImageNode): Promise<vscode.TreeItem> {
  return (await tree()).getTreeItem(node);
}

const label = (i: vscode.TreeItem) => (typeof i.label === 'string' ? i.label : (i.label?.label ?? ''));

async function imageNode(reference: string): Promise<ImageNode> {
  const roots = await children();
  const node = roots.find((n) => n.kind === 'image' && n.image.reference === reference);
  assert.ok(node, `${reference} is listed (roots: ${roots.map((n) => (n.kind === 'image' ? n.image.reference : n.kind)).join(', ')})`);
  return node;
}

async function group(parent: ImageNode, name: string): Promise<Extract<ImageNode, { kind: 'group' }>> {
  const found = (await children(parent)).find((n) => n.kind === 'group' && n.label === name);
  assert.ok(found?.kind === 'group', `${name} group under the image`);
  return found;
}

describe('Images view', function () {
  this.timeout(60_000);

  it('lists the images the workspace refers to, each with where it is used', async () => {
    const f = fixtures();
    const signed = await imageNode(f.signed.reference);
    assert.equal(signed.kind === 'image' && signed.image.uses[0]?.kind, 'dockerfile');
    const uses = (await children(signed)).find((n) => n.kind === 'uses');
    assert.ok(uses, 'a "Used in" node');
    const [use] = await children(uses);
    const useItem = await item(use!);
    assert.equal(label(useItem), 'Dockerfile:2');
    // Clicking opens the file with the reference selected.
    const [uri, options] = useItem.command?.arguments as [vscode.Uri, vscode.TextDocumentShowOptions];
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.getText(options.selection as vscode.Range), f.signed.reference);
    await imageNode(f.index.reference);
    await imageNode(f.missing.reference);
  });

  it('groups spellings of one image into one entry, and follows edits to the files', async () => {
    const dir = vscode.Uri.file(join(workspaceRoot(), 'grouping'));
    await vscode.workspace.fs.createDirectory(dir);
    try {
      await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(dir, 'Dockerfile'), new TextEncoder().encode('FROM node:20\n'));
      await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(dir, 'compose.yaml'), new TextEncoder().encode('services:\n  app:\n    image: docker.io/library/node:20\n'));
      const nodeRoots = async () => (await children()).filter((n) => n.kind === 'image' && /node:20$/.test(n.image.reference));
      const deadline = Date.now() + 15_000;
      while (((await nodeRoots())[0] as Extract<ImageNode, { kind: 'image' }> | undefined)?.image.uses.length !== 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const roots = await nodeRoots();
      assert.equal(roots.length, 1, 'one entry for both spellings');
      assert.deepEqual(
        roots[0]!.kind === 'image' && roots[0]!.image.uses.map((u) => `${vscode.workspace.asRelativePath(u.uri)}:${u.line + 1}`),
        ['grouping/compose.yaml:3', 'grouping/Dockerfile:1'],
      );
    } finally {
      await vscode.workspace.fs.delete(dir, { recursive: true, useTrash: false });
    }
  });

  it('resolves the tag and lists the cosign signature and attestation, verified against the policy key', async () => {
    const f = fixtures();
    const signed = await imageNode(f.signed.reference);
    const signatures = await group(signed, 'Signatures');
    assert.equal(signatures.digest, f.signed.digest, 'the tag resolved to the pushed digest');
    assert.equal(signatures.items.length, 1);
    const [signature] = signatures.items;
    assert.equal(signature!.attachment.source, 'cosign-tag');
    assert.equal(signature!.evidence?.state, 'verified', signature!.evidence?.summary);
    const attestations = await group(signed, 'Attestations');
    assert.equal(attestations.items.length, 1);
    assert.equal(attestations.items[0]!.attachment.predicateType, 'https://slsa.dev/provenance/v0.2');
    assert.equal(attestations.items[0]!.evidence?.state, 'verified', attestations.items[0]!.evidence?.summary);
    const [attestationNode] = await children(attestations);
    const attestationItem = await item(attestationNode!);
    assert.match(String(attestationItem.description), /^verified · .*cosign tag$/);
    // The image's own line shows the digest once resolved.
    assert.match(String((await item(signed)).description), new RegExp(`^${f.signed.digest.slice(0, 19)}`));
  });

  it('opens a signature payload as formatted read-only JSON naming the image digest', async () => {
    const f = fixtures();
    const signatures = await group(await imageNode(f.signed.reference), 'Signatures');
    const [signatureNode] = await children(signatures);
    const uri = await vscode.commands.executeCommand<vscode.Uri>('sigstore.images.openAttachment', signatureNode);
    assert.equal(uri.scheme, 'sigstore-attachment');
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.languageId, 'json');
    const payload = JSON.parse(doc.getText()) as { critical: { image: { 'docker-manifest-digest': string } } };
    assert.equal(payload.critical.image['docker-manifest-digest'], f.signed.digest);
    assert.match(doc.getText(), /^\{\n {2}"critical"/, 'pretty-printed');
  });

  it('shows a multi-arch index and each platform manifest with its own attachments', async () => {
    const f = fixtures();
    const index = await imageNode(f.index.reference);
    const manifests = (await children(index)).filter((n) => n.kind === 'manifest');
    assert.deepEqual(
      manifests.map((m) => (m.kind === 'manifest' ? m.label : '')),
      ['index', ...f.index.platforms],
    );
    assert.equal(manifests[0]!.kind === 'manifest' && manifests[0]!.digest, f.index.digest);
    const counts = async (node: ImageNode) =>
      (await children(node)).filter((g) => g.kind === 'group').map((g) => (g.kind === 'group' ? `${g.label}:${g.items.map((i) => i.evidence?.state ?? 'unsigned').join(',')}` : ''));
    assert.deepEqual(await counts(manifests[0]!), ['Signatures:', 'Attestations:', 'SBOMs:'], 'the index itself is not signed');
    assert.deepEqual(await counts(manifests[1]!), ['Signatures:verified', 'Attestations:', 'SBOMs:'], 'the first platform is');
    assert.deepEqual(await counts(manifests[2]!), ['Signatures:', 'Attestations:', 'SBOMs:'], 'the second is not');
  });

  it('an image that does not exist is an error node with the reason; the other images keep working', async () => {
    const f = fixtures();
    const missing = await imageNode(f.missing.reference);
    const problem = (await children(missing)).find((n) => n.kind === 'problem');
    assert.ok(problem?.kind === 'problem');
    assert.equal(problem.code, 'NOT_FOUND');
    assert.match(problem.message, /demo\/missing/);
    const problemItem = await item(problem);
    assert.equal(label(problemItem), 'Not found', 'a short label says what kind of trouble');
    assert.match(String(problemItem.description), /demo\/missing/, 'the registry\'s answer follows it');
    assert.equal(problemItem.contextValue, 'problem', 'Refresh is offered on it');
    assert.equal((await group(await imageNode(f.signed.reference), 'Signatures')).items.length, 1);
  });

  it('Add Image pins a reference (kept per workspace), Remove Image unpins it, a bad reference is refused', async () => {
    const f = fixtures();
    const pinned = `${f.registry}/demo/app@${f.signed.digest}`;
    assert.equal(await vscode.commands.executeCommand('sigstore.images.add', pinned), pinned);
    const node = await imageNode(pinned);
    assert.equal((await item(node)).contextValue, 'image.pinned');
    assert.equal((await group(node, 'Signatures')).items[0]?.evidence?.state, 'verified', 'pinned by digest: the same signature');
    await vscode.commands.executeCommand('sigstore.images.remove', node);
    assert.ok(!(await children()).some((n) => n.kind === 'image' && n.image.reference === pinned));
    const bad = `${f.registry}/Demo/App:1`;
    assert.equal(await vscode.commands.executeCommand('sigstore.images.add', bad), undefined, 'an uppercase repository is not a reference');
    assert.ok(!(await children()).some((n) => n.kind === 'image' && n.image.reference === bad));
  });

  it('verifies again when the trust policy changes: without a rule naming its key the signature cannot be checked', async () => {
    const f = fixtures();
    const policyUri = vscode.Uri.file(join(workspaceRoot(), '.sigstore', 'policy.json'));
    const original = await vscode.workspace.fs.readFile(policyUri);
    const policy = JSON.parse(new TextDecoder().decode(original)) as { rules: Array<{ images?: string[] }> };
    try {
      await vscode.workspace.fs.writeFile(policyUri, new TextEncoder().encode(JSON.stringify({ ...policy, rules: policy.rules.filter((r) => !r.images) })));
      const state = async () => (await group(await imageNode(f.signed.reference), 'Signatures')).items[0]?.evidence?.state;
      const deadline = Date.now() + 15_000;
      while ((await state()) === 'verified' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await state(), 'unverifiable', 'no rule names a key for the image any more');
    } finally {
      await vscode.workspace.fs.writeFile(policyUri, original);
    }
  });

  it('Verify Again reads a manifest\'s attachments from the registry again; the rest stays as it was', async () => {
    const f = fixtures();
    const index = await imageNode(f.index.reference);
    const platform = (await children(index)).filter((n) => n.kind === 'manifest')[1];
    assert.ok(platform?.kind === 'manifest');
    const count = async () => {
      const signatures = (await children(platform)).find((n) => n.kind === 'group' && n.label === 'Signatures');
      assert.ok(signatures?.kind === 'group');
      return signatures.items.length;
    };
    assert.equal(await count(), 1, 'the fixtures signed this platform');
    // Someone removes the platform's signature in the registry (delete the sha256-<hex>.sig manifest).
    const sigTag = `${platform.digest.replace(':', '-')}.sig`;
    const found = await fetch(`http://${f.registry}/v2/demo/multi/manifests/${sigTag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(found.status, 200);
    const deleted = await fetch(`http://${f.registry}/v2/demo/multi/manifests/${found.headers.get('docker-content-digest')}`, { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    assert.equal(await count(), 1, 'until asked, the view shows what it read');
    await vscode.commands.executeCommand('sigstore.images.verifyAgain', platform);
    assert.equal(await count(), 0, 'Verify Again read the registry again');
    assert.equal((await group(await imageNode(f.signed.reference), 'Signatures')).items.length, 1, 'other images keep their listing');
  });

  it('Copy Digest and Copy Reference by Digest put what the registry resolved on the clipboard', async () => {
    const f = fixtures();
    const node = await imageNode(f.signed.reference);
    await children(node);
    assert.equal(await vscode.commands.executeCommand('sigstore.images.copyDigest', node), f.signed.digest);
    assert.equal(await vscode.env.clipboard.readText(), f.signed.digest);
    assert.equal(await vscode.commands.executeCommand('sigstore.images.copyReference', node), `${f.registry}/demo/app@${f.signed.digest}`);
  });
});
