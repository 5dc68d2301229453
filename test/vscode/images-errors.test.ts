// Registry trouble in the Images view, inside a real VS Code extension host. The runner starts
// a hostile registry (test/support/hostile-registry.ts: plain HTTP on loopback, the repository
// name picks the misbehaviour) beside the fixtures' docker-registry; each test pins the hostile
// images it needs (Add Image) and unpins them afterwards, so the workspace's own images (and the
// other suites' expectations) stay as they are. Each kind of trouble must be an error node under
// its image: the code, a short label, the registry's reason, the actions that help (Refresh, and
// Sign In where signing in would) from the extension's own menus; the rest keeps working.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ImageNode } from '../../src/images/imagesTree';
import { HOSTILE_USER, type RecordedRequest, type RecordedRequests } from '../support/hostile-registry';
import type { ImageFixtures } from '../support/image-fixtures';
import { api, EXTENSION_ID, until, workspaceRoot } from './extensionHost';

type Problem = Extract<ImageNode, { kind: 'problem' }>;

const REFRESH = 'sigstore.images.refresh';
const SIGN_IN = 'sigstore.images.signIn';
const SIGN_IN_TERMINAL = 'Sigstore: registry sign-in';

function fixtures(): ImageFixtures {
  return JSON.parse(readFileSync(join(workspaceRoot(), '.image-fixtures.json'), 'utf8')) as ImageFixtures;
}

const hostileRef = (repository: string, tag = 'latest') => `${fixtures().hostile.host}/${repository}:${tag}`;

async function children(node?: ImageNode): Promise<ImageNode[]> {
  return ((await (await api()).imagesTree.getChildren(node)) ?? []) as ImageNode[];
}

async function item(node: ImageNode): Promise<vscode.TreeItem> {
  return (await api()).imagesTree.getTreeItem(node);
}

const label = (i: vscode.TreeItem) => (typeof i.label === 'string' ? i.label : (i.label?.label ?? ''));
const tooltip = (i: vscode.TreeItem) => (typeof i.tooltip === 'string' ? i.tooltip : (i.tooltip?.value ?? ''));

async function imageNode(reference: string): Promise<Extract<ImageNode, { kind: 'image' }>> {
  const roots = await children();
  const node = roots.find((n) => n.kind === 'image' && n.image.reference === reference);
  assert.ok(node?.kind === 'image', `${reference} is listed (roots: ${roots.map((n) => (n.kind === 'image' ? n.image.reference : n.kind)).join(', ')})`);
  return node;
}

/** Expands a pinned image (it has no "Used in" node): its only child must be a problem node. */
async function problemOf(reference: string): Promise<{ problem: Problem; treeItem: vscode.TreeItem }> {
  const kids = await children(await imageNode(reference));
  assert.equal(kids.length, 1, `one child under ${reference}: ${kids.map((k) => (k.kind === 'problem' ? `${k.code} ${k.message}` : k.kind)).join(' | ')}`);
  const [problem] = kids;
  assert.ok(problem?.kind === 'problem', `a problem node under ${reference}, not ${problem?.kind}`);
  return { problem, treeItem: await item(problem) };
}

/** Pins the references (Add Image), runs fn, and unpins them (Remove Image) whatever happens. */
async function withPinned(references: readonly string[], fn: () => Promise<void>): Promise<void> {
  const pinned: string[] = [];
  try {
    for (const reference of references) {
      assert.equal(await vscode.commands.executeCommand('sigstore.images.add', reference), reference, `Add Image takes ${reference}`);
      pinned.push(reference);
    }
    await fn();
  } finally {
    const roots = await children();
    for (const reference of pinned) {
      const node = roots.find((n) => n.kind === 'image' && n.image.reference === reference);
      if (node) await vscode.commands.executeCommand('sigstore.images.remove', node);
    }
  }
}

/**
 * The inline actions (view/item/context, group inline*) VS Code shows on a row of the Images
 * view with this contextValue, read from the extension's package.json menus.
 */
function inlineActions(contextValue: string | undefined): string[] {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext);
  const menus = (ext.packageJSON as { contributes: { menus: Record<string, Array<{ command: string; when?: string; group?: string }>> } }).contributes.menus['view/item/context'] ?? [];
  const context: Record<string, string> = { view: 'sigstore.images', viewItem: contextValue ?? '' };
  return menus
    .filter((m) => m.group?.startsWith('inline') && whenHolds(m.when ?? 'true', context))
    .sort((a, b) => a.group!.localeCompare(b.group!))
    .map((m) => m.command);
}

/** The few forms of when clause the Images view's menus use; anything else fails the test. */
function whenHolds(when: string, context: Record<string, string>): boolean {
  return when.split('&&').every((raw) => {
    const clause = raw.trim();
    if (clause === 'true' || clause === 'false') return clause === 'true';
    const equals = /^(\w+) == ([\w.-]+)$/.exec(clause);
    if (equals) return context[equals[1]!] === equals[2];
    const matches = /^(\w+) =~ \/(.*)\/$/.exec(clause);
    if (matches) return new RegExp(matches[2]!).test(context[matches[1]!] ?? '');
    throw new Error(`a when clause this test cannot evaluate: ${clause}`);
  });
}

/** What the hostile registry and the host it redirects to have seen so far (GET /_recorded). */
async function recorded(): Promise<RecordedRequests> {
  const response = await fetch(`http://${fixtures().hostile.host}/_recorded`);
  assert.equal(response.status, 200);
  return (await response.json()) as RecordedRequests;
}

/** A full Refresh (the view's title action): a new registry client, nothing remembered. */
async function refreshAll(): Promise<void> {
  await vscode.commands.executeCommand(REFRESH);
}

/** Checks what every problem row shows: its label, the reason as description, the remedy in the tooltip, the actions. */
function assertProblemRow(problem: Problem, treeItem: vscode.TreeItem, expected: { code: string; label: string; actions: string[] }): void {
  assert.equal(problem.code, expected.code, problem.message);
  assert.equal(label(treeItem), expected.label, 'a short label says what kind of trouble');
  assert.equal(treeItem.description, problem.message, 'the reason follows the label');
  assert.ok(problem.remedy, 'a remedy is given');
  assert.ok(tooltip(treeItem).includes(`**${expected.code}**`) && tooltip(treeItem).includes(problem.remedy), `the tooltip has the code and the remedy: ${tooltip(treeItem)}`);
  assert.deepEqual(inlineActions(treeItem.contextValue), expected.actions, `the inline actions of a row with contextValue ${treeItem.contextValue}`);
}

async function setRequestTimeout(seconds: number | undefined): Promise<void> {
  let changed = false;
  const subscription = vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('sigstore.images.requestTimeout')) changed = true;
  });
  try {
    await vscode.workspace.getConfiguration('sigstore.images').update('requestTimeout', seconds, vscode.ConfigurationTarget.Workspace);
    // The extension's listener (registered at activation, before ours) has run once ours has.
    await until('the requestTimeout change reaches the extension host', () => changed);
  } finally {
    subscription.dispose();
  }
}

/**
 * Points DOCKER_CONFIG (read by the extension on each credential lookup) at an empty folder of
 * ours for fn; `login()` writes a config.json there as `docker login <hostile host>` would.
 */
async function withDockerConfig(fn: (login: () => Promise<void>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sigstore-docker-config-'));
  const before = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = dir;
  try {
    await fn(async () => {
      const auth = Buffer.from(`${HOSTILE_USER.username}:${HOSTILE_USER.password}`).toString('base64');
      await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [fixtures().hostile.host]: { auth } } }));
    });
  } finally {
    if (before === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = before;
    // Nothing the client learned with these credentials outlives the test.
    await refreshAll();
    await rm(dir, { recursive: true, force: true });
  }
}

const isBasic = (r: RecordedRequest) => r.authorization === `Basic ${Buffer.from(`${HOSTILE_USER.username}:${HOSTILE_USER.password}`).toString('base64')}`;

describe('Images view: registry trouble is an error node, the rest keeps working', function () {
  this.timeout(60_000);

  it('a registry whose tokens never work: "Sign-in required", offering Sign In and Refresh, and no 401 loop', async () => {
    const reference = hostileRef('loop');
    await withPinned([reference], async () => {
      await refreshAll();
      const before = await recorded();
      const { problem, treeItem } = await problemOf(reference);
      const after = await recorded();
      assertProblemRow(problem, treeItem, { code: 'AUTH_REQUIRED', label: 'Sign-in required', actions: [REFRESH, SIGN_IN] });
      assert.equal(treeItem.contextValue, 'problem.auth');
      assert.match(problem.message, new RegExp(`^${escapeRegExp(fixtures().hostile.host)}/loop requires sign-in`));
      assert.match(problem.remedy!, new RegExp(`docker login ${escapeRegExp(fixtures().hostile.host)}`));
      assert.equal(problem.registry, fixtures().hostile.host, 'Sign In knows which registry to log in to');
      // One anonymous try, one token, one retry with it: then the error, not another round.
      const seen = after.requests.slice(before.requests.length);
      assert.deepEqual(
        seen.map((r) => `${r.url.replace(/\?.*/, '')} ${r.authorization?.split(' ')[0] ?? '-'}`),
        ['/v2/loop/manifests/latest -', '/token -', '/v2/loop/manifests/latest Bearer'],
      );
      // Sign In opens a terminal with `docker login <registry>` typed in it.
      const opened = vscode.window.terminals.length;
      await vscode.commands.executeCommand(SIGN_IN, problem);
      const terminal = await until('the sign-in terminal opens', () => vscode.window.terminals.length > opened && vscode.window.terminals.find((t) => t.name === SIGN_IN_TERMINAL));
      terminal.dispose();
    });
  });

  it('a rate-limited registry: "Rate limited", with the Retry-After it gave, offering Refresh', async () => {
    const reference = hostileRef('ratelimited');
    await withPinned([reference], async () => {
      const { problem, treeItem } = await problemOf(reference);
      assertProblemRow(problem, treeItem, { code: 'RATE_LIMITED', label: 'Rate limited', actions: [REFRESH] });
      assert.equal(treeItem.contextValue, 'problem');
      assert.match(problem.message, new RegExp(`^${escapeRegExp(fixtures().hostile.host)} is rate-limiting requests \\(429: TOOMANYREQUESTS You have reached your pull rate limit\\.\\); Retry-After: 42 s`));
      assert.match(problem.remedy!, /^Wait 42 s and retry/);
    });
  });

  it('a registry that never answers: "No answer in time" after sigstore.images.requestTimeout seconds', async () => {
    const reference = hostileRef('slow');
    await withPinned([reference], async () => {
      // Changing the setting alone must give the view a new client with that timeout.
      await setRequestTimeout(1);
      try {
        const { problem, treeItem } = await problemOf(reference);
        assertProblemRow(problem, treeItem, { code: 'TIMEOUT', label: 'No answer in time', actions: [REFRESH] });
        assert.equal(problem.message, `${fixtures().hostile.host} did not answer within 1 s.`);
      } finally {
        await setRequestTimeout(undefined);
      }
    });
  });

  it('a manifest over 4 MiB: "Answer too large", not read', async () => {
    const reference = hostileRef('huge');
    await withPinned([reference], async () => {
      const { problem, treeItem } = await problemOf(reference);
      assertProblemRow(problem, treeItem, { code: 'TOO_LARGE', label: 'Answer too large', actions: [REFRESH] });
      assert.equal(problem.message, `The manifest ${reference} is larger than 4 MiB, the most a manifest may be.`);
    });
  });

  it('a manifest that is not what its digest says: "Content does not match its digest"', async () => {
    const reference = hostileRef('mismatch');
    await withPinned([reference], async () => {
      const { problem, treeItem } = await problemOf(reference);
      assertProblemRow(problem, treeItem, { code: 'DIGEST_MISMATCH', label: 'Content does not match its digest', actions: [REFRESH] });
      const m = new RegExp(`^The registry sent manifest ${escapeRegExp(reference)} with digest (sha256:[0-9a-f]{12})…, not the (sha256:[0-9a-f]{12})… asked for\\.$`).exec(problem.message);
      assert.ok(m, problem.message);
      assert.notEqual(m[1], m[2]);
      assert.match(problem.remedy!, /do not trust it/);
      assert.equal((await item(await imageNode(reference))).description, 'pinned', 'its row shows no digest for it');
    });
  });

  it('a manifest that is not JSON: "Unexpected answer"', async () => {
    const reference = hostileRef('badjson');
    await withPinned([reference], async () => {
      const { problem, treeItem } = await problemOf(reference);
      assertProblemRow(problem, treeItem, { code: 'BAD_RESPONSE', label: 'Unexpected answer', actions: [REFRESH] });
      assert.equal(problem.message, `The registry sent a manifest for ${reference} that is not valid JSON.`);
    });
  });

  it('a manifest redirected to another host: "Unexpected answer", and that host never sees our credentials', async () => {
    const reference = hostileRef('redirect');
    await withDockerConfig(async (login) => {
      await login();
      await withPinned([reference], async () => {
        await refreshAll();
        const before = await recorded();
        const { problem, treeItem } = await problemOf(reference);
        const after = await recorded();
        assertProblemRow(problem, treeItem, { code: 'BAD_RESPONSE', label: 'Unexpected answer', actions: [REFRESH] });
        assert.equal(problem.message, `The registry redirected the manifest request for ${reference}; only blob downloads may be redirected.`);
        const atRegistry = after.requests.slice(before.requests.length).filter((r) => r.url === '/v2/redirect/manifests/latest');
        assert.ok(atRegistry.some(isBasic), 'the registry got the credentials of the Docker configuration (it answered with the redirect)');
        const atOther = after.other.slice(before.other.length);
        assert.deepEqual(atOther.filter((r) => r.authorization !== undefined), [], 'no Authorization header reached the other host');
        assert.deepEqual(atOther, [], 'a manifest redirect is not followed at all');
      });
    });
  });

  it('Sign In, then Refresh on the error: the registry is asked again with the new credentials', async () => {
    const reference = hostileRef('redirect');
    await withDockerConfig(async (login) => {
      await withPinned([reference], async () => {
        await refreshAll();
        const first = await problemOf(reference);
        assertProblemRow(first.problem, first.treeItem, { code: 'AUTH_REQUIRED', label: 'Sign-in required', actions: [REFRESH, SIGN_IN] });
        assert.match(first.problem.message, /requires sign-in/);
        // The person runs the `docker login` Sign In typed for them, then the Refresh beside the error.
        await login();
        await vscode.commands.executeCommand(REFRESH, first.problem);
        const before = await recorded();
        const second = await problemOf(reference);
        const after = await recorded();
        assert.ok(
          after.requests.slice(before.requests.length).some((r) => r.url === '/v2/redirect/manifests/latest' && isBasic(r)),
          `after signing in, Refresh sends the new credentials (still: ${second.problem.code} ${second.problem.message})`,
        );
        assert.equal(second.problem.code, 'BAD_RESPONSE', 'past sign-in: the registry\'s redirect is the trouble now');
      });
    });
  });

  it('with every kind of trouble in the view at once, the workspace images still resolve and verify', async () => {
    const f = fixtures();
    const hostile: Record<string, string> = {
      [hostileRef('loop')]: 'AUTH_REQUIRED',
      [hostileRef('ratelimited')]: 'RATE_LIMITED',
      [hostileRef('huge')]: 'TOO_LARGE',
      [hostileRef('mismatch')]: 'DIGEST_MISMATCH',
      [hostileRef('badjson')]: 'BAD_RESPONSE',
      [hostileRef('broken')]: 'BAD_RESPONSE',
      [hostileRef('forbidden')]: 'DENIED',
    };
    await withPinned(Object.keys(hostile), async () => {
      // One client for all of it, as after opening the view: everything expanded concurrently.
      await refreshAll();
      const roots = (await children()).filter((n): n is Extract<ImageNode, { kind: 'image' }> => n.kind === 'image');
      const expanded = await Promise.all(roots.map(async (root) => [root.image.reference, await children(root)] as const));
      const codes = Object.fromEntries(expanded.filter(([reference]) => reference in hostile).map(([reference, kids]) => [reference, kids.map((k) => (k.kind === 'problem' ? k.code : k.kind)).join(',')]));
      assert.deepEqual(codes, hostile, 'each hostile image shows its own trouble');
      const kids = expanded.find(([reference]) => reference === f.signed.reference)?.[1] ?? [];
      const groups = Object.fromEntries(kids.flatMap((k) => (k.kind === 'group' ? [[k.label, k.items.map((i) => i.evidence?.state ?? 'unsigned')]] : [])));
      assert.deepEqual(groups, { Signatures: ['verified'], Attestations: ['verified'], SBOMs: [] }, 'the signed image lists its verified signature and attestation');
      assert.equal(kids.filter((k) => k.kind === 'problem').length, 0, 'and no error');
      const missing = expanded.find(([reference]) => reference === f.missing.reference)?.[1] ?? [];
      assert.deepEqual(missing.filter((k) => k.kind === 'problem').map((k) => (k.kind === 'problem' ? k.code : '')), ['NOT_FOUND']);
    });
    assert.ok(!(await children()).some((n) => n.kind === 'image' && n.image.reference in hostile), 'the hostile images are unpinned again');
  });
});

describe('Images view: a registry listing thousands', function () {
  this.timeout(60_000);

  it('an index of 20,000 platforms with 15,000 referrers: 50 of each shown, "N more not read" nodes, and only what is expanded is read', async () => {
    const reference = hostileRef('fanout-index');
    await withPinned([reference], async () => {
      await refreshAll();
      const before = await recorded();
      const kids = await children(await imageNode(reference));
      const manifests = kids.filter((k): k is Extract<ImageNode, { kind: 'manifest' }> => k.kind === 'manifest');
      assert.equal(manifests.length, 1 + 50, 'the index and 50 platforms');
      const more = kids.at(-1);
      assert.ok(more?.kind === 'notRead', `the last row says what was not read, not ${more?.kind}`);
      assert.deepEqual([more.what, more.count], ['platforms', 20_000 - 50]);
      const moreItem = await item(more);
      assert.equal(label(moreItem), '19950 more not read');
      assert.match(tooltip(moreItem), /sigstore\.images\.maxAttachments/);
      const resolvedOnly = (await recorded()).requests.slice(before.requests.length).filter((r) => r.url.startsWith('/v2/fanout-index/'));
      assert.deepEqual(resolvedOnly.map((r) => r.url), ['/v2/fanout-index/manifests/latest'], 'no platform is read before it is expanded');

      const index = manifests[0]!;
      const groups = await children(index);
      const unread = groups.at(-1);
      assert.ok(unread?.kind === 'notRead', `the index's last row says what was not read, not ${unread?.kind}`);
      assert.deepEqual([unread.what, unread.count], ['attachments', 15_000 - 50]);
      assert.equal(groups.filter((g) => g.kind === 'group').reduce((n, g) => n + (g.kind === 'group' ? g.items.length : 0), 0), 50);
      const seen = (await recorded()).requests.slice(before.requests.length).filter((r) => r.url.startsWith('/v2/fanout-index/'));
      // The tag; .sig, .att, .sbom and the referrers of the index; each of the 50 kept loads its referrer manifest (prefetched, then once more when verified).
      assert.ok(seen.length <= 1 + 4 + 50 * 2, `${seen.length} requests`);
      assert.ok(!seen.some((r) => r.url.includes(`/referrers/${manifests[1]!.digest}`)), 'a platform not expanded is not read');
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
