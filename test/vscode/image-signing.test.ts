// Sign Image and Attest Image inside a real VS Code extension host: the CodeLens on the
// workspace Dockerfile, the commands run with the argument a lens passes, keyless signing
// against the runner's sandbox (the test plays the person through SigstoreApi.useSigningPrompts
// and approves the device code over HTTP), pushes to the real docker-registry of
// test/support/image-fixtures.ts (no referrers API: the sha256-<hex> fallback index), and the
// Images view listing what was pushed, verified against a policy rule for the sandbox identity.
// The images signed here (demo/tosign, demo/tosign-tag) exist for this suite alone; demo/untouched
// is where signing is cancelled or refused, so nothing may ever be written to it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ImageSigningOutcome } from '../../src/images/imageSigning';
import type { ImageNode } from '../../src/images/imagesTree';
import type { ImageDigestRequest, SigningPrompts } from '../../src/ui/signingPrompts';
import { approveDeviceCode } from '../support/device-flow-person';
import type { ImageFixtures } from '../support/image-fixtures';
import { api, uriOf, workspaceRoot } from './extensionHost';

interface SandboxDescription {
  issuer: string;
  email: string;
}

function sandbox(): SandboxDescription {
  const raw = process.env.SIGSTORE_SANDBOX;
  assert.ok(raw, 'the runner describes its sandbox in SIGSTORE_SANDBOX');
  return JSON.parse(raw) as SandboxDescription;
}

function fixtures(): ImageFixtures {
  return JSON.parse(readFileSync(join(workspaceRoot(), '.image-fixtures.json'), 'utf8')) as ImageFixtures;
}

const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const POLICY_SOURCE = 'Sigstore trust policy';
const RULE_NAME = 'images signed in the editor';
/** Evidence names the rule that decided as `rule <n> (<name>)`; ours is the first. */
const RULE_DECIDED = new RegExp(`^rule 1 \\(${RULE_NAME}\\)$`);
/** An unknown top-level policy field: its warning in the Problems panel says the policy was (re)loaded. */
const MARKER_PREFIX = 'imageSigningSuite';

const tagOf = (digest: string, suffix = '') => `${digest.replace(':', '-')}${suffix}`;
const repoOf = (reference: string) => reference.replace(/[:@][^/]*$/, '');
const pathOf = (reference: string) => repoOf(reference).slice(repoOf(reference).indexOf('/') + 1);

// ---- the registry, read over plain HTTP as any other client would ----------------------

async function registryGet(reference: string, what: string, accept = `${OCI_MANIFEST}, ${OCI_INDEX}`): Promise<Response> {
  const f = fixtures();
  return fetch(`http://${f.registry}/v2/${pathOf(reference)}/${what}`, { headers: { accept } });
}

async function manifestJSON<T>(reference: string, tagOrDigest: string): Promise<T> {
  const res = await registryGet(reference, `manifests/${tagOrDigest}`);
  assert.equal(res.status, 200, `${repoOf(reference)}:${tagOrDigest} exists`);
  return (await res.json()) as T;
}

async function blobText(reference: string, digest: string): Promise<string> {
  const res = await registryGet(reference, `blobs/${digest}`, '*/*');
  assert.equal(res.status, 200, `blob ${digest}`);
  return res.text();
}

async function manifestStatus(reference: string, tag: string): Promise<number> {
  const res = await registryGet(reference, `manifests/${tag}`);
  await res.arrayBuffer();
  return res.status;
}

/** The repository's tags, or the HTTP status when it has none to list. */
async function tags(reference: string): Promise<string[] | number> {
  const res = await registryGet(reference, 'tags/list', 'application/json');
  if (res.status !== 200) {
    await res.arrayBuffer();
    return res.status;
  }
  return (((await res.json()) as { tags?: string[] | null }).tags ?? []).sort();
}

// ---- the Images view ---------------------------------------------------------------------

async function children(node?: ImageNode): Promise<ImageNode[]> {
  return ((await (await api()).imagesTree.getChildren(node)) ?? []) as ImageNode[];
}

async function imageNode(reference: string): Promise<Extract<ImageNode, { kind: 'image' }>> {
  const roots = await children();
  const node = roots.find((n) => n.kind === 'image' && n.image.reference === reference);
  assert.ok(node?.kind === 'image', `${reference} is listed (roots: ${roots.map((n) => (n.kind === 'image' ? n.image.reference : n.kind)).join(', ')})`);
  return node;
}

async function group(reference: string, name: 'Signatures' | 'Attestations'): Promise<Extract<ImageNode, { kind: 'group' }>> {
  const under = await children(await imageNode(reference));
  const found = under.find((n) => n.kind === 'group' && n.label === name);
  assert.ok(found?.kind === 'group', `${name} under ${reference} (found: ${under.map((n) => (n.kind === 'group' ? n.label : n.kind === 'problem' ? `${n.code}: ${n.message}` : n.kind)).join(', ')})`);
  return found;
}

// ---- the trust policy --------------------------------------------------------------------

const policyUri = () => uriOf('.sigstore/policy.json');

function policyMarkers(): string[] {
  return vscode.languages
    .getDiagnostics(policyUri())
    .filter((d) => d.source === POLICY_SOURCE)
    .flatMap((d) => new RegExp(`"(${MARKER_PREFIX}\\d+)"`).exec(d.message)?.[1] ?? []);
}

/**
 * Waits (bounded) until the extension has loaded the policy file as it is now. The policy is
 * reloaded on a file-watcher event; its warnings reach the Problems panel in the same step
 * that re-verifies the Images view, so a marker field's warning showing up (or going away)
 * means the view now judges with that policy.
 */
async function policyLoaded(marker: string | undefined): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const markers = policyMarkers();
    if (marker ? markers.includes(marker) : markers.length === 0) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the trust policy to reload (markers seen: ${markers.join(', ') || 'none'})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- what the person answers ---------------------------------------------------------------

/** Counts every question asked; what a test does not answer fails the test if it is asked. */
function person(answers: Partial<SigningPrompts>): { asked: Record<string, number>; prompts: Partial<SigningPrompts> } {
  const asked: Record<string, number> = {};
  const names: Array<keyof SigningPrompts> = [
    'imageReference',
    'confirmImageDigest',
    'imageAnnotations',
    'choosePredicateFile',
    'choosePredicateType',
    'chooseMethod',
    'presentDeviceCode',
    'openBrowser',
    'chooseKeyFile',
    'keyPassword',
  ];
  const prompts: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const name of names) {
    prompts[name] = async (...args: never[]) => {
      asked[name] = (asked[name] ?? 0) + 1;
      const answer = answers[name] as ((...a: never[]) => Promise<unknown>) | undefined;
      if (!answer) throw new Error(`unexpected question: ${name}`);
      return answer(...args);
    };
  }
  return { asked, prompts: prompts as Partial<SigningPrompts> };
}

/** Keyless sign-in: the person confirms the device code on the provider's page. */
function keylessAnswers(approvals: Promise<void>[]): Partial<SigningPrompts> {
  return {
    chooseMethod: async () => 'keyless',
    presentDeviceCode: async (code) => {
      approvals.push(approveDeviceCode(code.verificationUriComplete ?? code.verificationUri));
      return true;
    },
  };
}

/**
 * Sign Image on `reference` as the lens would run it, the person approving the digest, giving
 * `team=web` and signing in keylessly (`usePrompts` gets what restores the prompts, for the
 * suite's afterEach). Returns the outcome, the digest dialogs shown and the questions asked.
 */
async function signKeylessWithAnnotation(
  reference: string,
  usePrompts: (restore: vscode.Disposable) => void,
): Promise<{ outcome: ImageSigningOutcome | undefined; requests: ImageDigestRequest[]; asked: Record<string, number> }> {
  const requests: ImageDigestRequest[] = [];
  const approvals: Promise<void>[] = [];
  const { asked, prompts } = person({
    confirmImageDigest: async (request) => {
      requests.push(request);
      return 'image';
    },
    imageAnnotations: async () => ['team=web'],
    ...keylessAnswers(approvals),
  });
  usePrompts((await api()).useSigningPrompts(prompts));
  const outcome = await run('sigstore.images.sign', { reference });
  await Promise.all(approvals);
  return { outcome, requests, asked };
}

async function run(command: 'sigstore.images.sign' | 'sigstore.images.attest', argument: unknown): Promise<ImageSigningOutcome | undefined> {
  return vscode.commands.executeCommand<ImageSigningOutcome | undefined>(command, argument);
}

function statementOf(bundleText: string): { subject: Array<{ name: string; digest: { sha256: string } }>; predicateType: string; predicate: Record<string, unknown> } {
  const bundle = JSON.parse(bundleText) as { mediaType: string; dsseEnvelope?: { payload: string; payloadType: string } };
  assert.equal(bundle.mediaType, BUNDLE_MEDIA_TYPE);
  assert.ok(bundle.dsseEnvelope, 'a DSSE envelope');
  assert.equal(bundle.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
}

/** Our lenses on a file, as VS Code asks for them (the document shown in an editor, as a person has it). */
async function lensesOf(uri: vscode.Uri): Promise<vscode.CodeLens[]> {
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
  const lenses = await vscode.commands.executeCommand<vscode.CodeLens[] | undefined>('vscode.executeCodeLensProvider', uri);
  return (lenses ?? []).filter((l) => l.command?.command.startsWith('sigstore.'));
}

const lensTitle = (lens: vscode.CodeLens) => (lens.command?.title ?? '').replace(/\$\([^)]*\)\s*/g, '');

describe('Sign Image and Attest Image', function () {
  this.timeout(90_000);
  let originalPolicy: Uint8Array;
  let restorePrompts: vscode.Disposable | undefined;
  let markers = 0;
  const pinned: string[] = [];
  const predicateFile = () => uriOf('image-signing-provenance.json');

  before(async () => {
    const f = fixtures();
    // First rule for these images (the fixture rule for <registry>/demo/* names only the cosign key).
    originalPolicy = await vscode.workspace.fs.readFile(policyUri());
    const policy = JSON.parse(new TextDecoder().decode(originalPolicy)) as { rules: unknown[] } & Record<string, unknown>;
    const marker = `${MARKER_PREFIX}${++markers}`;
    const ours = {
      [marker]: true,
      ...policy,
      rules: [{ name: RULE_NAME, images: [`${f.registry}/demo/tosign*`], identities: [{ subject: sandbox().email, issuer: sandbox().issuer }] }, ...policy.rules],
    };
    await vscode.workspace.fs.writeFile(policyUri(), new TextEncoder().encode(JSON.stringify(ours, null, 2)));
    await policyLoaded(marker);
    // No workspace file refers to the images signed here: pin them so the view lists them.
    for (const reference of [f.toSign.referrers.reference, f.toSign.cosignTag.reference]) {
      assert.equal(await vscode.commands.executeCommand('sigstore.images.add', reference), reference);
      pinned.push(reference);
    }
  });

  afterEach(() => {
    restorePrompts?.dispose();
    restorePrompts = undefined;
  });

  after(async () => {
    for (const reference of pinned) {
      const node = (await children()).find((n) => n.kind === 'image' && n.image.reference === reference);
      if (node) await vscode.commands.executeCommand('sigstore.images.remove', node);
    }
    await vscode.workspace.getConfiguration('sigstore.images').update('signatureStorage', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('sigstore.images').update('codeLens', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.fs.delete(predicateFile(), { useTrash: false }).then(undefined, () => undefined);
    if (originalPolicy) {
      await vscode.workspace.fs.writeFile(policyUri(), originalPolicy);
      // The next suites see the workspace's own policy again.
      await policyLoaded(undefined);
    }
  });

  it('CodeLens: Sign Image and Attest Image on the Dockerfile line naming the image, none on a stage name; off with sigstore.images.codeLens', async () => {
    const f = fixtures();
    const dockerfile = uriOf('Dockerfile');
    const doc = await vscode.workspace.openTextDocument(dockerfile);
    const fromImage = doc.getText().split('\n').findIndex((l) => l.startsWith(`FROM ${f.signed.reference}`));
    const fromStage = doc.getText().split('\n').findIndex((l) => l === 'FROM build');
    assert.ok(fromImage >= 0 && fromStage >= 0, 'the fixture Dockerfile has both FROM lines');
    const lenses = await lensesOf(dockerfile);
    assert.deepEqual(
      lenses.map((l) => [l.range.start.line, lensTitle(l), l.command?.command, l.command?.arguments]),
      [
        [fromImage, 'Sign Image', 'sigstore.images.sign', [{ reference: f.signed.reference }]],
        [fromImage, 'Attest Image', 'sigstore.images.attest', [{ reference: f.signed.reference }]],
      ],
      'two lenses, both on the line naming the image; none on "FROM build"',
    );
    assert.equal(doc.getText(lenses[0]!.range), f.signed.reference, 'the lens sits on the reference itself');

    // compose.yaml (YAML) gets lenses too, one pair per image reference.
    const compose = await lensesOf(uriOf('compose.yaml'));
    assert.deepEqual(
      compose.filter((l) => l.command?.command === 'sigstore.images.sign').map((l) => (l.command?.arguments?.[0] as { reference: string }).reference),
      [f.index.reference, f.missing.reference],
    );

    const settings = vscode.workspace.getConfiguration('sigstore.images');
    await settings.update('codeLens', false, vscode.ConfigurationTarget.Workspace);
    try {
      assert.deepEqual(await lensesOf(dockerfile), [], 'no lenses once turned off');
    } finally {
      await settings.update('codeLens', undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.equal((await lensesOf(dockerfile)).length, 2, 'back once the setting is removed');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Sign Image, keyless, from the lens argument: shows the digest, pushes a bundle referrer with the annotations, and the view lists it verified', async () => {
    const f = fixtures();
    const target = f.toSign.referrers;
    // The view has read the (empty) listing before: only attachmentsChanged can make it read again.
    const before = await group(target.reference, 'Signatures');
    assert.equal(before.digest, target.digest);
    assert.deepEqual(before.items, [], 'pushed unsigned');

    const { outcome, requests, asked } = await signKeylessWithAnnotation(target.reference, (restore) => (restorePrompts = restore));
    assert.deepEqual(requests, [
      { action: 'sign', reference: target.reference, pinned: `${repoOf(target.reference)}@${target.digest}`, kind: 'manifest', platforms: 0, storage: requests[0]?.storage },
    ]);
    assert.match(requests[0]!.storage, /referrer/, 'the dialog says where the signature goes');
    assert.deepEqual(asked, { confirmImageDigest: 1, imageAnnotations: 1, chooseMethod: 1, presentDeviceCode: 1 });
    assert.ok(outcome, 'the command reports what it did');
    assert.equal(outcome.action, 'sign');
    assert.equal(outcome.reference, target.reference);
    assert.equal(outcome.digest, target.digest);
    assert.equal(outcome.storage, 'referrers');
    assert.equal(outcome.signed.length, 1);
    const [signed] = outcome.signed;
    assert.equal(signed!.digest, target.digest);
    assert.equal(signed!.written.location, `${repoOf(target.reference)}@${signed!.written.digest}`);
    assert.equal(signed!.written.fallbackTag, `${repoOf(target.reference)}:${tagOf(target.digest)}`, 'no referrers API: the fallback index was written');
    assert.equal(signed!.written.attempts, 1);
    assert.match(signed!.logIndex ?? '', /^\d+$/, 'a Rekor entry was made');
    assert.equal(signed!.identity, sandbox().email);
    assert.equal(signed!.issuer, sandbox().issuer);

    // What the registry holds now, read as another client would.
    const index = await manifestJSON<{ mediaType: string; manifests: Array<{ digest: string; artifactType?: string }> }>(target.reference, tagOf(target.digest));
    assert.equal(index.mediaType, OCI_INDEX);
    assert.deepEqual(index.manifests.map((m) => [m.digest, m.artifactType]), [[signed!.written.digest, BUNDLE_MEDIA_TYPE]]);
    const referrer = await manifestJSON<{ artifactType: string; subject: { digest: string }; layers: Array<{ digest: string; mediaType: string }> }>(target.reference, signed!.written.digest);
    assert.equal(referrer.artifactType, BUNDLE_MEDIA_TYPE);
    assert.equal(referrer.subject.digest, target.digest);
    const statement = statementOf(await blobText(target.reference, referrer.layers[0]!.digest));
    assert.deepEqual(statement.subject, [{ name: repoOf(target.reference), digest: { sha256: target.digest.slice('sha256:'.length) } }]);
    assert.equal(statement.predicateType, 'https://sigstore.dev/cosign/sign/v1');
    assert.deepEqual(statement.predicate, { annotations: { team: 'web' } }, 'the annotations are signed with the image');

    // The view lists the new signature without a refresh, verified by the sandbox identity rule.
    const after = await group(target.reference, 'Signatures');
    assert.equal(after.items.length, 1, 'the view read the image\'s attachments again');
    const [item] = after.items;
    assert.equal(item!.attachment.source, 'fallback-tag');
    assert.equal(item!.attachment.digest, signed!.written.digest);
    assert.equal(item!.evidence?.state, 'verified', item!.evidence?.summary);
    assert.match(item!.evidence?.rule ?? '', RULE_DECIDED, 'our rule decided');
  });

  it('with sigstore.images.signatureStorage "cosign-tag", Sign Image appends to the .sig tag and the view lists a verified cosign-tag signature', async () => {
    const f = fixtures();
    const target = f.toSign.cosignTag;
    const settings = vscode.workspace.getConfiguration('sigstore.images');
    await settings.update('signatureStorage', 'cosign-tag', vscode.ConfigurationTarget.Workspace);
    try {
      assert.deepEqual((await group(target.reference, 'Signatures')).items, [], 'pushed unsigned');
      const { outcome, requests, asked } = await signKeylessWithAnnotation(target.reference, (restore) => (restorePrompts = restore));
      assert.match(requests[0]?.storage ?? '', /\.sig tag/, 'the dialog says where the signature goes');
      assert.deepEqual(asked, { confirmImageDigest: 1, imageAnnotations: 1, chooseMethod: 1, presentDeviceCode: 1 });
      assert.ok(outcome);
      assert.equal(outcome.storage, 'cosign-tag');
      assert.equal(outcome.digest, target.digest);
      const [signed] = outcome.signed;
      assert.equal(signed!.written.location, `${repoOf(target.reference)}:${tagOf(target.digest, '.sig')}`);
      assert.ok(signed!.written.location.endsWith('.sig'));
      assert.equal(signed!.written.fallbackTag, undefined);
      assert.match(signed!.logIndex ?? '', /^\d+$/);
      assert.equal(signed!.identity, sandbox().email);

      // cosign's layout: one simple-signing layer carrying the signature, nothing as a referrer.
      const sig = await manifestJSON<{ layers: Array<{ digest: string; mediaType: string; annotations?: Record<string, string> }> }>(target.reference, tagOf(target.digest, '.sig'));
      assert.equal(sig.layers.length, 1);
      assert.equal(sig.layers[0]!.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
      assert.match(sig.layers[0]!.annotations?.['dev.cosignproject.cosign/signature'] ?? '', /^[A-Za-z0-9+/]+=*$/);
      const payload = JSON.parse(await blobText(target.reference, sig.layers[0]!.digest)) as { critical: { image: { 'docker-manifest-digest': string } }; optional: unknown };
      assert.equal(payload.critical.image['docker-manifest-digest'], target.digest);
      assert.deepEqual(payload.optional, { team: 'web' });
      assert.equal(await manifestStatus(target.reference, tagOf(target.digest)), 404, 'no referrers fallback index');

      const [item, ...rest] = (await group(target.reference, 'Signatures')).items;
      assert.deepEqual(rest, []);
      assert.equal(item?.attachment.source, 'cosign-tag');
      assert.equal(item?.evidence?.state, 'verified', item?.evidence?.summary);
      assert.match(item?.evidence?.rule ?? '', RULE_DECIDED, 'our rule decided');
    } finally {
      await settings.update('signatureStorage', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('Attest Image with a predicate file and type: an SLSA v1 attestation referrer beside the signature, verified in the view', async () => {
    const f = fixtures();
    const target = f.toSign.referrers;
    assert.deepEqual((await group(target.reference, 'Attestations')).items, [], 'not attested yet');
    // Whatever is attached already (the signature of the test before, when it ran) must stay.
    const signaturesBefore = (await group(target.reference, 'Signatures')).items.map((i) => i.attachment.digest);
    const indexBefore = await registryGet(target.reference, `manifests/${tagOf(target.digest)}`);
    const listedBefore = indexBefore.status === 200 ? ((await indexBefore.json()) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest) : (await indexBefore.arrayBuffer(), []);
    const predicate = { buildDefinition: { buildType: 'https://example.test/build/v1', externalParameters: { ref: 'refs/heads/main' } }, runDetails: { builder: { id: 'https://example.test/builder' } } };
    await vscode.workspace.fs.writeFile(predicateFile(), new TextEncoder().encode(JSON.stringify(predicate, null, 2)));
    const typeAskedFor: string[] = [];
    const requests: ImageDigestRequest[] = [];
    const approvals: Promise<void>[] = [];
    const { asked, prompts } = person({
      confirmImageDigest: async (request) => {
        requests.push(request);
        return 'image';
      },
      choosePredicateFile: async () => predicateFile(),
      choosePredicateType: async (file) => {
        typeAskedFor.push(file.fsPath);
        return 'slsaprovenance1';
      },
      ...keylessAnswers(approvals),
    });
    restorePrompts = (await api()).useSigningPrompts(prompts);

    const outcome = await run('sigstore.images.attest', { reference: target.reference });
    await Promise.all(approvals);
    assert.deepEqual(asked, { confirmImageDigest: 1, choosePredicateFile: 1, choosePredicateType: 1, chooseMethod: 1, presentDeviceCode: 1 }, 'no annotations asked for an attestation');
    assert.equal(requests[0]?.action, 'attest');
    assert.deepEqual(typeAskedFor, [predicateFile().fsPath]);
    assert.ok(outcome);
    assert.equal(outcome.action, 'attest');
    assert.equal(outcome.digest, target.digest);
    const [attested] = outcome.signed;
    assert.equal(attested!.digest, target.digest);
    assert.equal(attested!.written.fallbackTag, `${repoOf(target.reference)}:${tagOf(target.digest)}`);
    assert.match(attested!.logIndex ?? '', /^\d+$/);
    assert.equal(attested!.identity, sandbox().email);

    // The fallback index keeps the signature and adds the attestation.
    const index = await manifestJSON<{ manifests: Array<{ digest: string }> }>(target.reference, tagOf(target.digest));
    assert.deepEqual(index.manifests.map((m) => m.digest), [...listedBefore, attested!.written.digest], 'what was listed stays listed');
    const referrer = await manifestJSON<{ subject: { digest: string }; layers: Array<{ digest: string }> }>(target.reference, attested!.written.digest);
    assert.equal(referrer.subject.digest, target.digest);
    const statement = statementOf(await blobText(target.reference, referrer.layers[0]!.digest));
    assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
    assert.deepEqual(statement.predicate, predicate, 'the predicate file, as written');

    const attestations = await group(target.reference, 'Attestations');
    assert.equal(attestations.items.length, 1, 'the view read the image\'s attachments again');
    const [item] = attestations.items;
    assert.equal(item!.attachment.predicateType, 'https://slsa.dev/provenance/v1');
    assert.equal(item!.attachment.source, 'fallback-tag');
    assert.equal(item!.evidence?.state, 'verified', item!.evidence?.summary);
    assert.deepEqual((await group(target.reference, 'Signatures')).items.map((i) => i.attachment.digest), signaturesBefore, 'the signatures are as they were');
  });

  it('cancelling, at the digest or at the device code, pushes nothing', async () => {
    const f = fixtures();
    const target = f.toSign.untouched;
    assert.deepEqual(await tags(target.reference), ['1.0']);

    // Closing the digest dialog stops before anything else is asked.
    let shown: ImageDigestRequest | undefined;
    let person1 = person({
      confirmImageDigest: async (request) => {
        shown = request;
        return undefined;
      },
    });
    restorePrompts = (await api()).useSigningPrompts(person1.prompts);
    assert.equal(await run('sigstore.images.sign', { reference: target.reference }), undefined);
    assert.equal(shown?.pinned, `${repoOf(target.reference)}@${target.digest}`, 'the digest was shown before the cancel');
    assert.deepEqual(person1.asked, { confirmImageDigest: 1 });
    restorePrompts.dispose();

    // Cancelling at the device code: signed nothing, so pushed nothing.
    person1 = person({ confirmImageDigest: async () => 'image', imageAnnotations: async () => [], chooseMethod: async () => 'keyless', presentDeviceCode: async () => false });
    restorePrompts = (await api()).useSigningPrompts(person1.prompts);
    assert.equal(await run('sigstore.images.sign', { reference: target.reference }), undefined);
    assert.deepEqual(person1.asked, { confirmImageDigest: 1, imageAnnotations: 1, chooseMethod: 1, presentDeviceCode: 1 });

    assert.deepEqual(await tags(target.reference), ['1.0'], 'no tag was added');
    assert.equal(await manifestStatus(target.reference, tagOf(target.digest)), 404, 'no referrers fallback index');
    assert.equal(await manifestStatus(target.reference, tagOf(target.digest, '.sig')), 404, 'no cosign signature tag');
  });

  it('refuses what it cannot sign: a missing image, a registry lying about the digest, a malformed reference; asks for a reference when the argument is not one', async () => {
    const f = fixtures();
    const { asked, prompts } = person({ imageReference: async () => undefined });
    restorePrompts = (await api()).useSigningPrompts(prompts);

    const missing = `${f.registry}/demo/nothing-here:1.0`;
    assert.equal(await run('sigstore.images.sign', { reference: missing }), undefined);
    assert.equal(await run('sigstore.images.attest', { reference: missing }), undefined);
    assert.equal(await tags(missing), 404, 'nothing was pushed to a repository that does not exist');

    // The hostile registry's "mismatch" repository answers with a Docker-Content-Digest that is not the body's.
    const lying = `${f.hostile.host}/mismatch:latest`;
    assert.equal(await run('sigstore.images.sign', { reference: lying }), undefined);
    const recorded = (await (await fetch(`http://${f.hostile.host}/_recorded`)).json()) as { requests: Array<{ method: string; url: string }> };
    const toMismatch = recorded.requests.filter((r) => r.url.startsWith('/v2/mismatch/'));
    assert.ok(toMismatch.length > 0, 'the registry was asked');
    assert.deepEqual(toMismatch.filter((r) => r.method !== 'GET' && r.method !== 'HEAD'), [], 'nothing was written to it');

    assert.equal(await run('sigstore.images.sign', { reference: `${f.registry}/Demo/App:1` }), undefined, 'an uppercase repository is not a reference');
    assert.deepEqual(asked, {}, 'none of these got as far as a question');

    // A lens argument whose reference is not a string is not used: the command asks instead.
    assert.equal(await run('sigstore.images.sign', { reference: 42 }), undefined);
    assert.deepEqual(asked, { imageReference: 1 });
    assert.deepEqual(await tags(f.toSign.untouched.reference), ['1.0']);
  });
});
