/**
 * What is attached to images in a real registry (Debian's docker-registry, distribution 2.8.2,
 * which has no referrers API), written by the real cosign 2.5.0 (key-based, and keyless
 * against the sandbox's Fulcio and Rekor) and oras 1.2.0; then listed by our client and
 * verified under a trust policy with `images` rules. The referrers-API path goes through a
 * test double in front of the same docker-registry (test/support/signed-images.ts:
 * startReferrersDouble), since distribution 2.8 lacks the API.
 *
 * Request counts are the client's own (`requestCount`): a fresh client's first request to a
 * registry costs one more, the HTTPS attempt that finds plain HTTP on 127.0.0.1.
 */
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { attachmentsOf, listAttachments, resolveImage, type Attachment, type ImageAttachments } from '../../src/core/images/attachments';
import { verifyAttachment, verifyAttachments } from '../../src/core/images/imageVerifier';
import { RegistryClient } from '../../src/core/oci/registryClient';
import type { PolicyState } from '../../src/core/policy/evaluate';
import { compilePolicy } from '../../src/core/policy/policy';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../src/core/trust/trustedRoot';
import type { Evidence } from '../../src/core/verify/result';
import { startRegistry, type PushedImage, type PushedIndex, type TestRegistry } from '../support/registry';
import { PREDICATES, rawManifest, rawTags, startReferrersDouble, startSigningKit, type ReferrersDouble, type SigningKit } from '../support/signed-images';

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const COSIGN_SIG_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';
/** The one extra request of a fresh client: HTTPS tried first, plain HTTP found (127.0.0.1). */
const FIRST_CONTACT = 1;

describe('image attachments written by cosign 2.5 and oras 1.2 to docker-registry 2.8', function () {
  this.timeout(180_000);
  let registry: TestRegistry;
  let kit: SigningKit;
  let keys: { a: { key: string; pub: string }; b: { key: string; pub: string } };
  let root: LoadedTrustedRoot;
  let keyed: PushedImage;
  let keyless: PushedImage;
  let multi: PushedIndex;

  const ref = (repo: string, digest: string) => `${registry.host}/${repo}@${digest}`;
  const sbomFile = 'sbom.spdx.json';

  before(async () => {
    [registry, kit] = await Promise.all([startRegistry(), startSigningKit()]);
    keys = { a: await kit.keyPair('a'), b: await kit.keyPair('b') };
    root = parseTrustedRoot(await readFile(kit.sandbox.trustedRootPath), kit.sandbox.trustedRootPath);
    for (const [name, predicate] of Object.entries(PREDICATES)) await kit.file(`${name}.json`, predicate);
    await kit.file(sbomFile, { spdxVersion: 'SPDX-2.3', name: 'app', SPDXID: 'SPDXRef-DOCUMENT' });

    // 1. Key-based, nothing logged: a signature, two attestations, an SBOM attachment, an SBOM referrer.
    keyed = await registry.pushImage('app/keyed', { tag: 'v1' });
    const keyedRef = ref('app/keyed', keyed.digest);
    const byKey = ['--key', keys.a.key, '--tlog-upload=false', '--allow-http-registry', '-y'];
    await kit.cosignOK(['sign', ...byKey, keyedRef]);
    await kit.cosignOK(['attest', ...byKey, '--type', 'slsaprovenance', '--predicate', 'slsaprovenance.json', keyedRef]);
    await kit.cosignOK(['attest', ...byKey, '--type', 'spdxjson', '--predicate', 'spdxjson.json', keyedRef]);
    await kit.cosignOK(['attach', 'sbom', '--sbom', sbomFile, '--type', 'spdx', '--allow-http-registry', keyedRef]);
    await kit.orasOK(['attach', '--plain-http', '--artifact-type', 'application/spdx+json', keyedRef, `${sbomFile}:application/spdx+json`]);

    // 2. Keyless (sandbox Fulcio certificate, Rekor entry): a signature, a cyclonedx attestation,
    //    and a Sigstore bundle attestation (--new-bundle-format: an OCI 1.1 referrer).
    keyless = await registry.pushImage('app/keyless', { tag: 'v1' });
    const keylessRef = ref('app/keyless', keyless.digest);
    await kit.cosignOK(['sign', ...(await kit.keylessFlags()), keylessRef]);
    await kit.cosignOK(['attest', ...(await kit.keylessFlags()), '--type', 'cyclonedx', '--predicate', 'cyclonedx.json', keylessRef]);
    await kit.cosignOK(['attest', ...(await kit.keylessFlags()), '--new-bundle-format', '--type', 'slsaprovenance1', '--predicate', 'slsaprovenance1.json', keylessRef]);

    // 3. A multi-arch index: every manifest signed with key a (--recursive), the amd64 one attested keylessly.
    multi = await registry.pushIndex('app/multi', 'v1');
    await kit.cosignOK(['sign', ...byKey, '--recursive', ref('app/multi', multi.digest)]);
    await kit.cosignOK(['attest', ...(await kit.keylessFlags()), '--type', 'slsaprovenance', '--predicate', 'slsaprovenance.json', ref('app/multi', multi.manifests[0]!.digest)]);
  });
  after(async () => {
    await Promise.allSettled([kit?.close(), registry?.close()]);
  });

  const policyOf = async (rules: unknown[]): Promise<PolicyState> => {
    const load = await compilePolicy(join(kit.dir, 'policy.json'), JSON.stringify({ version: 1, rules }));
    assert.ok(load.ok, load.diagnostics.map((d) => d.message).join('; '));
    return { kind: 'loaded', load };
  };
  /** Our images, trusted for key a and the sandbox identity. */
  const trusting = () => policyOf([{ name: 'our images', images: [`${registry.host}/app/*`], keys: ['a.pub'], identities: [{ subject: kit.email, issuer: kit.sandbox.issuer }] }]);
  const verifyAll = async (listing: ImageAttachments, policy: PolicyState, reference = listing.reference) => {
    const out: Array<{ attachment: Attachment; evidence: Evidence | undefined; manifest: string }> = [];
    for (const m of listing.manifests) for (const r of await verifyAttachments(m.attachments, m.digest, reference, { policy, trustedRoot: root })) out.push({ ...r, manifest: m.digest });
    return out;
  };
  const summary = (rows: Array<{ attachment: Attachment; evidence: Evidence | undefined }>) =>
    rows.map(({ attachment: a, evidence: e }) => `${a.kind} ${a.source} ${a.predicateType ?? a.mediaType}: ${e?.state ?? 'unsigned'}`);
  const listed = async (reference: string, client = new RegistryClient()) => {
    const before = client.requestCount;
    const listing = await listAttachments(client, reference);
    return { listing, client, requests: client.requestCount - before };
  };

  it('what cosign 2.5 and oras 1.2 wrote on distribution 2.8: cosign tags, and a fallback tag for OCI 1.1 referrers', async () => {
    const hex = (d: string) => d.replace(':', '-');
    assert.deepEqual(await rawTags(registry.url, 'app/keyed'), [hex(keyed.digest), `${hex(keyed.digest)}.att`, `${hex(keyed.digest)}.sbom`, `${hex(keyed.digest)}.sig`, 'v1'].sort());
    // oras found no referrers API and keeps the fallback index under sha256-<hex>, with the artifact type and annotations.
    const orasIndex = (await rawManifest(registry.url, 'app/keyed', hex(keyed.digest))).json as { manifests: Array<{ artifactType?: string; annotations?: Record<string, string> }> };
    assert.deepEqual(orasIndex.manifests.map((m) => m.artifactType), ['application/spdx+json']);
    // cosign attest --new-bundle-format wrote a referrer with the right artifactType and annotations,
    // but its fallback index entry says the empty type and carries no annotations.
    const cosignIndex = (await rawManifest(registry.url, 'app/keyless', hex(keyless.digest))).json as { manifests: Array<{ digest: string; artifactType?: string; annotations?: object }> };
    assert.equal(cosignIndex.manifests.length, 1);
    assert.equal(cosignIndex.manifests[0]!.artifactType, OCI_EMPTY);
    assert.equal(cosignIndex.manifests[0]!.annotations, undefined);
    const referrer = (await rawManifest(registry.url, 'app/keyless', cosignIndex.manifests[0]!.digest)).json as { artifactType?: string; annotations?: Record<string, string>; subject?: { digest: string } };
    assert.equal(referrer.artifactType, BUNDLE_TYPE);
    assert.equal(referrer.annotations?.['dev.sigstore.bundle.predicateType'], 'https://slsa.dev/provenance/v1');
    assert.equal(referrer.subject?.digest, keyless.digest);
    assert.deepEqual(await rawTags(registry.url, 'app/keyless'), [hex(keyless.digest), `${hex(keyless.digest)}.att`, `${hex(keyless.digest)}.sig`, 'v1'].sort());
  });

  it('lists a key-signed image in 6 requests: tag, .sig, .att, .sbom, referrers API, fallback tag', async () => {
    const { listing, requests } = await listed(`${registry.host}/app/keyed:v1`);
    assert.equal(listing.digest, keyed.digest);
    assert.equal(listing.manifests.length, 1);
    const [m] = listing.manifests;
    assert.deepEqual(m!.problems, []);
    assert.deepEqual(
      m!.attachments.map((a) => [a.kind, a.source, a.format, a.predicateType ?? a.mediaType]),
      [
        ['signature', 'cosign-tag', 'simple-signing', 'application/vnd.dev.cosign.simplesigning.v1+json'],
        ['attestation', 'cosign-tag', 'dsse-envelope', 'https://slsa.dev/provenance/v0.2'],
        ['attestation', 'cosign-tag', 'dsse-envelope', 'https://spdx.dev/Document'],
        ['sbom', 'cosign-tag', 'unsigned', 'text/spdx+json'],
        ['sbom', 'fallback-tag', 'unsigned', 'application/spdx+json'],
      ],
    );
    assert.equal(requests, FIRST_CONTACT + 6);
  });

  it('opens payloads on demand: the signed payload, the statement, the SBOM; one request each, a blob already read not again', async () => {
    const { listing, client } = await listed(`${registry.host}/app/keyed:v1`);
    const [signature, provenance, , sbomTag, sbomReferrer] = listing.manifests[0]!.attachments;
    let count = client.requestCount;
    const payload = JSON.parse((await signature!.load()).payload.toString()) as { critical: { image: Record<string, string>; identity: Record<string, string> } };
    assert.equal(payload.critical.image['docker-manifest-digest'], keyed.digest);
    assert.equal(payload.critical.identity['docker-reference'], `${registry.host}/app/keyed`);
    assert.equal(client.requestCount - count, 1);
    count = client.requestCount;
    const statement = await provenance!.load();
    assert.equal(statement.payloadType, 'application/vnd.in-toto+json');
    assert.equal((JSON.parse(statement.payload.toString()) as { predicateType: string }).predicateType, 'https://slsa.dev/provenance/v0.2');
    assert.equal(client.requestCount - count, 1);
    const file = await readFile(join(kit.dir, sbomFile));
    assert.deepEqual((await sbomTag!.load()).payload, file);
    count = client.requestCount;
    assert.deepEqual((await sbomReferrer!.load()).payload, file);
    // Its layer is the very blob the .sbom tag holds (the same file attached twice): read once.
    assert.equal(client.requestCount - count, 1, 'the referrer manifest only');
    count = client.requestCount;
    await sbomReferrer!.load();
    assert.equal(client.requestCount, count, 'loaded once');
  });

  it('key-signed: verified by the rule\'s key; failed for another key; SBOMs unsigned; no rule, no key: unverifiable', async () => {
    const { listing } = await listed(`${registry.host}/app/keyed:v1`);
    assert.deepEqual(summary(await verifyAll(listing, await trusting())), [
      'signature cosign-tag application/vnd.dev.cosign.simplesigning.v1+json: verified',
      'attestation cosign-tag https://slsa.dev/provenance/v0.2: verified',
      'attestation cosign-tag https://spdx.dev/Document: verified',
      'sbom cosign-tag text/spdx+json: unsigned',
      'sbom fallback-tag application/spdx+json: unsigned',
    ]);
    const wrongKey = await verifyAll(listing, await policyOf([{ images: [`${registry.host}/app/keyed`], keys: ['b.pub'] }]));
    for (const { attachment, evidence } of wrongKey.filter((r) => r.attachment.signed)) {
      assert.equal(evidence?.state, 'failed', attachment.location);
      assert.equal(evidence?.failure?.check, 'signature');
      assert.match(evidence!.summary, /None of the trusted keys verifies this signature \(.*b\.pub\)/);
    }
    const uncovered = await verifyAll(listing, await policyOf([{ images: ['ghcr.io/**'], keys: ['a.pub'] }]));
    assert.deepEqual(uncovered.filter((r) => r.attachment.signed).map((r) => `${r.evidence?.state} ${r.evidence?.failure?.check}`), ['unverifiable signing-key', 'unverifiable signing-key', 'unverifiable signing-key']);
  });

  it('keyless: verified for the identity the rule names, untrusted without a rule, failed for another identity', async () => {
    const { listing, requests } = await listed(`${registry.host}/app/keyless:v1`);
    // cosign's mistyped fallback entry costs one manifest request to classify.
    assert.equal(requests, FIRST_CONTACT + 6 + 1);
    const verified = await verifyAll(listing, await trusting());
    assert.deepEqual(summary(verified), [
      'signature cosign-tag application/vnd.dev.cosign.simplesigning.v1+json: verified',
      'attestation cosign-tag https://cyclonedx.org/bom: verified',
      'attestation fallback-tag https://slsa.dev/provenance/v1: verified',
    ]);
    for (const { evidence } of verified) {
      assert.equal(evidence?.signer?.kind === 'certificate' && evidence.signer.identity, kit.email);
      assert.equal(evidence?.tlogEntries.length, 1, 'the Rekor entry of the annotation or the bundle');
    }
    assert.equal(verified[0]!.evidence?.kind, 'cosign-signature');
    assert.equal(verified[1]!.evidence?.kind, 'intoto-attestation');
    assert.equal(verified[2]!.evidence?.kind, 'sigstore-bundle');

    const untrusted = await verifyAll(listing, await policyOf([{ images: ['ghcr.io/**'], identities: [{ subject: kit.email, issuer: kit.sandbox.issuer }] }]));
    assert.deepEqual(untrusted.map((r) => r.evidence?.state), ['untrusted', 'untrusted', 'untrusted']);
    assert.match(untrusted[0]!.evidence!.summary, new RegExp(`Valid signature by ${kit.email.replace('.', '\\.')} .*no rule of the trust policy covers this image`));
    const none = await verifyAll(listing, { kind: 'none' });
    assert.deepEqual(none.map((r) => r.evidence?.state), ['untrusted', 'untrusted', 'untrusted']);

    const someoneElse = await verifyAll(listing, await policyOf([{ name: 'ci only', images: [`${registry.host}/app/keyless`], identities: [{ subject: 'ci@example.test', issuer: kit.sandbox.issuer }] }]));
    for (const { evidence } of someoneElse) {
      assert.equal(evidence?.state, 'failed');
      assert.equal(evidence?.failure?.check, 'policy');
      assert.match(evidence!.summary, /rule 1 \(ci only\) trusts only: "ci@example\.test"/);
    }
  });

  it('a signature made by another signer than the rule names, for the same image: failed (keyless signer, key-only rule)', async () => {
    const { listing } = await listed(`${registry.host}/app/keyless:v1`);
    const keyOnly = await verifyAll(listing, await policyOf([{ images: [`${registry.host}/app/keyless`], keys: ['a.pub'] }]));
    assert.deepEqual(keyOnly.map((r) => `${r.evidence?.state} ${r.evidence?.failure?.check}`), ['failed policy', 'failed policy', 'failed policy']);
  });

  it('a multi-arch index: the index and each platform, each with its own attachments; 6 requests for the index, 4 per platform', async () => {
    const client = new RegistryClient();
    const image = await resolveImage(client, `${registry.host}/app/multi:v1`);
    assert.equal(image.kind, 'index');
    assert.deepEqual(image.platforms.map((p) => [p.digest, p.platform]), multi.manifests.map((m) => [m.digest, m.platform]));
    const resolved = client.requestCount;
    assert.equal(resolved, FIRST_CONTACT + 1);
    // One level at a time, as the view expands it.
    const top = await attachmentsOf(client, image.reference, image.digest);
    assert.equal(client.requestCount - resolved, 5, '.sig, .att, .sbom, referrers API, fallback tag');
    let count = client.requestCount;
    const platforms = [];
    for (const p of image.platforms) {
      platforms.push(await attachmentsOf(client, image.reference, p.digest));
      assert.equal(client.requestCount - count, 4, 'the referrers API is known to be missing: .sig, .att, .sbom, fallback tag');
      count = client.requestCount;
    }
    assert.deepEqual(top.attachments.map((a) => a.kind), ['signature']);
    assert.deepEqual(platforms.map((p) => p.attachments.map((a) => `${a.kind} ${a.predicateType ?? ''}`.trim())), [['signature', 'attestation https://slsa.dev/provenance/v0.2'], ['signature']]);

    const listing = await listAttachments(new RegistryClient(), `${registry.host}/app/multi:v1`);
    assert.deepEqual(
      listing.manifests.map((m) => [m.digest, m.platform ?? null]),
      [[multi.digest, null], ...multi.manifests.map((m) => [m.digest, m.platform])],
    );
    const results = await verifyAll(listing, await trusting());
    assert.deepEqual(
      results.map((r) => `${r.manifest === multi.digest ? 'index' : r.manifest === multi.manifests[0]!.digest ? 'amd64' : 'arm64'} ${r.attachment.kind}: ${r.evidence?.state}`),
      ['index signature: verified', 'amd64 signature: verified', 'amd64 attestation: verified', 'arm64 signature: verified'],
    );
    // Each platform's signature names its own digest: it proves nothing about the index.
    const armSignature = listing.manifests[2]!.attachments[0]!;
    const misplaced = await verifyAttachment(armSignature, multi.digest, listing.reference, { policy: await trusting(), trustedRoot: root });
    assert.equal(misplaced?.state, 'failed');
    assert.equal(misplaced?.failure?.check, 'artifact-binding');
  });

  it('a signature moved to another image (its payload names the first digest): failed, whoever signed it', async () => {
    const other = await registry.pushImage('app/keyed', { tag: 'v2' });
    const sig = (await rawManifest(registry.url, 'app/keyed', `${keyed.digest.replace(':', '-')}.sig`)).json!;
    await registry.pushManifest('app/keyed', `${other.digest.replace(':', '-')}.sig`, sig, 'application/vnd.oci.image.manifest.v1+json');
    const { listing } = await listed(`${registry.host}/app/keyed:v2`);
    const [result] = await verifyAll(listing, await trusting());
    assert.equal(result!.attachment.kind, 'signature');
    assert.equal(result!.evidence?.state, 'failed');
    assert.equal(result!.evidence?.failure?.check, 'artifact-binding');
    assert.match(result!.evidence!.failure!.message, new RegExp(`The signature is for ${keyed.digest}, not for this image \\(${other.digest}\\)`));
  });

  it('a signed image copied to another repository (cosign copy): its payload and statements name the original repository, so valid signatures and attestations untrusted there', async () => {
    await kit.cosignOK(['copy', '--allow-http-registry', '-f', `${registry.host}/app/keyed:v1`, `${registry.host}/mirror/keyed:v1`]);
    const { listing } = await listed(`${registry.host}/mirror/keyed:v1`);
    assert.equal(listing.digest, keyed.digest);
    const results = await verifyAll(listing, await policyOf([{ images: [`${registry.host}/**`], keys: ['a.pub'] }]));
    const signature = results.find((r) => r.attachment.kind === 'signature')!;
    assert.equal(signature.evidence?.state, 'untrusted');
    assert.equal(signature.evidence?.failure?.check, 'artifact-binding');
    assert.equal(signature.evidence!.summary, `A valid signature, signed for ${registry.host}/app/keyed, found on ${registry.host}/mirror/keyed.`);
    // cosign's statements name the repository as their subject: the same rule.
    const attestations = results.filter((r) => r.attachment.kind === 'attestation');
    assert.deepEqual(
      attestations.map((r) => [r.evidence?.state, r.evidence?.summary]),
      attestations.map(() => ['untrusted', `A valid attestation, signed for ${registry.host}/app/keyed, found on ${registry.host}/mirror/keyed.`]),
    );
    assert.equal(attestations.length, 2);
    // In the original repository, all of them are verified.
    const original = await verifyAll((await listed(`${registry.host}/app/keyed:v1`)).listing, await policyOf([{ images: [`${registry.host}/**`], keys: ['a.pub'] }]));
    assert.ok(original.every((r) => !r.attachment.signed || r.evidence?.state === 'verified'), original.map((r) => `${r.attachment.kind}: ${r.evidence?.state}`).join(', '));
  });

  it('cosign sign --registry-referrers-mode=oci-1-1 on distribution 2.8: no .sig tag, a fallback-tag referrer holding the signatures', async () => {
    const image = await registry.pushImage('app/oci11', { tag: 'v1' });
    const reference = ref('app/oci11', image.digest);
    await kit.cosignOK(['sign', ...(await kit.keylessFlags()), '--registry-referrers-mode=oci-1-1', reference], { COSIGN_EXPERIMENTAL: '1' });
    assert.deepEqual(await rawTags(registry.url, 'app/oci11'), [image.digest.replace(':', '-'), 'v1']);
    const index = (await rawManifest(registry.url, 'app/oci11', image.digest.replace(':', '-'))).json as { manifests: Array<{ artifactType?: string }> };
    assert.deepEqual(index.manifests.map((m) => m.artifactType), [COSIGN_SIG_ARTIFACT]);

    const { listing, requests } = await listed(`${registry.host}/app/oci11:v1`);
    assert.equal(requests, FIRST_CONTACT + 6 + 1, 'plus the referrer manifest, whose layers are the signatures');
    const results = await verifyAll(listing, await trusting());
    assert.deepEqual(results.map((r) => `${r.attachment.kind} ${r.attachment.source} ${r.attachment.format}: ${r.evidence?.state}`), ['signature fallback-tag simple-signing: verified']);
  });

  describe('through a registry with the referrers API (test double in front of docker-registry)', () => {
    let double: ReferrersDouble;
    let image: PushedImage;
    before(async () => {
      double = await startReferrersDouble(registry.url);
      image = await registry.pushImage('app/api', { tag: 'v1' });
      const reference = `${double.host}/app/api@${image.digest}`;
      await kit.cosignOK(['attest', ...(await kit.keylessFlags()), '--new-bundle-format', '--type', 'slsaprovenance1', '--predicate', 'slsaprovenance1.json', reference]);
      await kit.orasOK(['attach', '--plain-http', '--artifact-type', 'application/vnd.cyclonedx+json', reference, 'cyclonedx.json:application/vnd.cyclonedx+json']);
    });
    after(() => double?.close());

    it('cosign and oras use the API (no fallback tag); we list in 5 requests and verify the bundle', async () => {
      assert.deepEqual(await rawTags(registry.url, 'app/api'), ['v1'], 'no sha256-<hex> fallback tag was written');
      const { listing, requests } = await listed(`${double.host}/app/api:v1`);
      assert.equal(requests, FIRST_CONTACT + 5, 'tag, .sig, .att, .sbom, referrers API');
      assert.ok(double.referrersRequests.some((u) => u === `/v2/app/api/referrers/${image.digest}`));
      const policy = await policyOf([{ images: [`${double.host}/app/*`], identities: [{ subject: kit.email, issuer: kit.sandbox.issuer }] }]);
      const results = await verifyAll(listing, policy, `${double.host}/app/api:v1`);
      assert.deepEqual(summary(results), ['attestation referrers https://slsa.dev/provenance/v1: verified', 'sbom referrers application/vnd.cyclonedx+json: unsigned']);
      const statement = JSON.parse((await results[0]!.attachment.load()).payload.toString()) as { subject: Array<{ digest: { sha256: string } }> };
      assert.equal(`sha256:${statement.subject[0]!.digest.sha256}`, image.digest);
    });
  });
});
