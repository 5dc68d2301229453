/**
 * `bin/sigstore sign-image` and `attest-image` as a person or a script runs them (the bundle
 * built by scripts/build.mjs, run with node), writing to a real docker-registry 2.8 (which has no
 * referrers API, so referrers go with the `sha256-<hex>` fallback index), keyless against the
 * sandbox or with cosign keys; what they write is then read by the real cosign 2.5.0 and by our
 * own `bin/sigstore tree`. Also: several writers at once, refusals, Ctrl-C.
 *
 * What cosign 2.5.0 can read of it (checked below, with the evidence in comments):
 * - the cosign tags (.sig / .att), key and keyless: `cosign verify`, `verify-attestation`, `tree`;
 * - Sigstore bundle referrers: only through `verify-attestation --new-bundle-format` (which reads
 *   referrers, here through the fallback tag). `cosign verify` ignores --new-bundle-format and
 *   reads only the .sig tag, and `cosign tree` lists only the cosign tags.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startRegistry, OCI_INDEX, OCI_MANIFEST, READER, ALICE, type TestRegistry } from '../support/registry';
import { BUNDLE_ARTIFACT_TYPE, PREDICATES, startReferrersDouble, startSigningKit, type SigningKit, type ToolRun } from '../support/signed-images';
import type { TreeDoc } from '../support/tree-json';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/cli/sigstore.js');
const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const DSSE_ENVELOPE = 'application/vnd.dsse.envelope.v1+json';
const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';
const HEX_DIGEST = 'sha256:[0-9a-f]{64}';
/** How many of our writers sign the same image at once. */
const WRITERS = 8;

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface SimpleSigning {
  critical: { identity: { 'docker-reference': string }; image: { 'docker-manifest-digest': string }; type: string };
  optional: Record<string, unknown> | null;
}

interface Manifest {
  mediaType?: string;
  artifactType?: string;
  config?: { mediaType: string };
  layers?: Array<{ mediaType: string; digest: string; annotations?: Record<string, string> }>;
  manifests?: Array<{ mediaType: string; digest: string; artifactType?: string; annotations?: Record<string, string> }>;
  subject?: { mediaType: string; digest: string; size: number };
  annotations?: Record<string, string>;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** cosign's tag for an image digest: `sha256-<hex>.sig|.att`, or the referrers fallback tag without suffix. */
const digestTag = (digest: string, suffix?: 'sig' | 'att') => `${digest.replace(':', '-')}${suffix ? `.${suffix}` : ''}`;
/** The in-toto statements in what `cosign verify-attestation` prints (one DSSE envelope a line). */
const statementsOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, 'base64').toString('utf8')) as { predicateType: string; subject: Array<{ name: string; digest: { sha256: string } }> });

describe('bin/sigstore sign-image and attest-image, read back by cosign 2.5 and tree', function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let kit: SigningKit;
  let env: NodeJS.ProcessEnv;
  let a: { key: string; pub: string };
  let b: { key: string; pub: string };
  let busy: Array<{ key: string; pub: string }>;
  let policy: string;
  let cosignTrust: NodeJS.ProcessEnv;
  const tokens: string[] = [];

  /** Runs the CLI; `onStderr` sees the whole stderr so far each time more arrives (the person at the terminal). */
  function start(args: string[], extraEnv: NodeJS.ProcessEnv = {}, onStderr?: (stderr: string, child: ChildProcess) => void): Promise<CliRun> {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: kit.dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    return new Promise((done) => child.on('close', (code, signal) => done({ code, signal, stdout, stderr })));
  }

  /** Runs the CLI to its end; no identity token (or part of one) and no key password ever appears in what it prints. */
  async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}, onStderr?: (stderr: string, child: ChildProcess) => void): Promise<CliRun> {
    const r = await start(args, extraEnv, onStderr);
    const output = `${r.stdout}\n${r.stderr}`;
    for (const token of [...tokens, ...kit.sandbox.tokensSeen]) {
      for (const part of token.split('.').filter((p) => p.length > 16)) assert.ok(!output.includes(part), 'a token (or part of one) was printed');
    }
    assert.ok(!output.includes(kit.keyPassword), 'the key password was printed');
    return r;
  }

  async function tree(args: string[]): Promise<TreeDoc> {
    const r = await cli(['tree', '--json', ...args]);
    try {
      return JSON.parse(r.stdout) as TreeDoc;
    } catch {
      assert.fail(`tree printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  }

  async function manifest(repository: string, reference: string, reg: TestRegistry = registry): Promise<Manifest> {
    const m = await reg.readManifest(repository, reference);
    assert.equal(m.status, 200, `${repository}:${reference} is not in the registry`);
    return m.json as Manifest;
  }

  async function identityToken(): Promise<string> {
    const token = await kit.identityToken();
    tokens.push(token);
    return token;
  }

  before(async () => {
    // The CLI under test is the built bundle: build it first, as tree-cli.test.ts does.
    const built = new Promise<ToolRun>((done) => {
      const child = spawn(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => done({ code: code ?? -1, stdout: '', stderr }));
    });
    [registry, kit] = await Promise.all([startRegistry(), startSigningKit()]);
    const b0 = await built;
    assert.equal(b0.code, 0, `scripts/build.mjs failed:\n${b0.stderr}`);
    // Only what the test gives: no Docker credentials, token, or service URL from the runner.
    await mkdir(join(kit.dir, 'docker'));
    env = { PATH: process.env.PATH, HOME: join(kit.dir, 'home'), NO_PROXY: '127.0.0.1', DOCKER_CONFIG: join(kit.dir, 'docker'), COSIGN_PASSWORD: kit.keyPassword };
    const pairs = await Promise.all(['a', 'b', ...Array.from({ length: WRITERS }, (_, i) => `busy${i}`)].map((p) => kit.keyPair(p)));
    [a, b] = [pairs[0]!, pairs[1]!];
    busy = pairs.slice(2);
    cosignTrust = await kit.cosignKeylessTrust();
    // An empty trusted root: cosign's --new-bundle-format wants one, and a key-signed, unlogged bundle needs nothing from it.
    await kit.file('empty-root.json', { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' });
    policy = await kit.file('policy.json', {
      version: 1,
      rules: [
        { name: 'our keys', images: [`${registry.host}/key/*`, `${registry.host}/index/*`, `${registry.host}/busy/*`], keys: ['a.pub', 'b.pub', ...busy.map((k) => k.pub)] },
        { name: 'signed in the sandbox', images: [`${registry.host}/keyless/*`], identities: [{ subject: kit.email, issuer: kit.sandbox.issuer }] },
      ],
    });
  });
  after(async () => {
    await Promise.allSettled([kit?.close(), registry?.close()]);
  });

  const trust = () => ['--policy', policy, '--trusted-root', kit.sandbox.trustedRootPath];

  it('key, cosign-tag: resolves the tag, signs the digest with -a annotations; cosign verify accepts it; a second key keeps the first; tree verifies both', async () => {
    const image = await registry.pushImage('key/tagged', { tag: 'v1' });
    const ref = `${registry.host}/key/tagged:v1`;
    const sigTag = digestTag(image.digest, 'sig');

    const signed = await cli(['sign-image', '--key', a.key, '--storage', 'cosign-tag', '-a', 'env=prod', ref]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, new RegExp(`^${image.digest} -> ${escape(`${registry.host}/key/tagged:${sigTag}`)} \\(manifest ${HEX_DIGEST}\\)\n$`));
    assert.equal(signed.stderr, `${ref} is ${image.digest}; signing that digest: ${registry.host}/key/tagged@${image.digest} (a manifest).\n`);
    const sig = await manifest('key/tagged', sigTag);
    assert.deepEqual(sig.layers!.map((l) => l.mediaType), [SIMPLE_SIGNING]);
    assert.match(sig.layers![0]!.annotations!['dev.cosignproject.cosign/signature']!, /^[A-Za-z0-9+/]+=*$/);

    const verifyArgs = (pub: string, ...extra: string[]) => ['verify', '--key', pub, '--insecure-ignore-tlog=true', '--allow-http-registry', ...extra, ref];
    const verified = await kit.cosignOK(verifyArgs(a.pub));
    assert.match(verified.stdout, /"env":"prod"/);
    assert.match(verified.stdout, new RegExp(`"docker-manifest-digest":"${image.digest}"`));
    const payloads = JSON.parse(verified.stdout) as SimpleSigning[];
    assert.deepEqual(
      payloads.map((p) => [p.critical.type, p.critical.identity['docker-reference'], p.critical.image['docker-manifest-digest'], p.optional]),
      [['cosign container image signature', `${registry.host}/key/tagged`, image.digest, { env: 'prod' }]],
    );
    // cosign checks the annotation too (verify -a): a signature for env=dev is not there.
    assert.match((await kit.cosign(verifyArgs(a.pub, '-a', 'env=dev'))).stderr, /no matching signatures/);
    // The wrong key: cosign refuses.
    assert.match((await kit.cosign(verifyArgs(b.pub))).stderr, /no matching signatures/);

    // A second signature, with another key and by digest: the first stays.
    const second = await cli(['sign-image', '--key', b.key, '--storage', 'cosign-tag', `${registry.host}/key/tagged@${image.digest}`]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, new RegExp(`^Signing ${escape(`${registry.host}/key/tagged@${image.digest}`)} \\(a manifest\\)\\.\n$`));
    assert.equal((await manifest('key/tagged', sigTag)).layers!.length, 2);
    const byA = JSON.parse((await kit.cosignOK(verifyArgs(a.pub))).stdout) as SimpleSigning[];
    const byB = JSON.parse((await kit.cosignOK(verifyArgs(b.pub))).stdout) as SimpleSigning[];
    assert.deepEqual(byA.map((p) => p.optional), [{ env: 'prod' }]);
    assert.deepEqual(byB.map((p) => [p.critical.image['docker-manifest-digest'], p.optional]), [[image.digest, null]]);

    const doc = await tree([...trust(), ref]);
    assert.equal(doc.digest, image.digest);
    assert.deepEqual(
      doc.manifests[0]!.signatures.map((s) => [s.source, s.state, s.signer]),
      [
        ['cosign-tag', 'verified', { kind: 'key', source: a.pub }],
        ['cosign-tag', 'verified', { kind: 'key', source: b.pub }],
      ],
      JSON.stringify(doc.manifests[0]!.signatures),
    );
  });

  it('key, attestations in the .att tag (slsaprovenance, cyclonedx, spdxjson): cosign verify-attestation accepts each, cosign tree lists them', async () => {
    const image = await registry.pushImage('key/attested', { tag: 'v1' });
    const ref = `${registry.host}/key/attested:v1`;
    const attTag = digestTag(image.digest, 'att');
    const types: Array<[string, string, object]> = [
      ['slsaprovenance', 'https://slsa.dev/provenance/v0.2', PREDICATES.slsaprovenance],
      ['cyclonedx', 'https://cyclonedx.org/bom', PREDICATES.cyclonedx],
      ['spdxjson', 'https://spdx.dev/Document', PREDICATES.spdxjson],
    ];
    for (const [type, , predicate] of types) {
      const file = await kit.file(`${type}.json`, predicate);
      const attested = await cli(['attest-image', '--key', a.key, '--storage', 'cosign-tag', '--predicate', file, '--type', type, ref]);
      assert.equal(attested.code, 0, `${type}: ${attested.stderr}`);
      assert.match(attested.stdout, new RegExp(`^${image.digest} -> ${escape(`${registry.host}/key/attested:${attTag}`)} \\(manifest ${HEX_DIGEST}\\)\n$`));
    }
    const att = await manifest('key/attested', attTag);
    assert.deepEqual(
      att.layers!.map((l) => [l.mediaType, l.annotations?.predicateType]),
      types.map(([, uri]) => [DSSE_ENVELOPE, uri]),
    );

    for (const [type, uri] of types) {
      const verified = await kit.cosignOK(['verify-attestation', '--key', a.pub, '--insecure-ignore-tlog=true', '--allow-http-registry', '--type', type, ref]);
      const statements = statementsOf(verified.stdout).filter((s) => s.predicateType === uri);
      assert.equal(statements.length, 1, `${type}: ${verified.stdout}`);
      assert.deepEqual(statements[0]!.subject, [{ name: `${registry.host}/key/attested`, digest: { sha256: image.digest.slice('sha256:'.length) } }]);
      assert.notEqual((await kit.cosign(['verify-attestation', '--key', b.pub, '--insecure-ignore-tlog=true', '--allow-http-registry', '--type', type, ref])).code, 0, `${type} with the wrong key`);
    }

    const listed = await kit.cosignOK(['tree', ref]);
    assert.match(listed.stdout, new RegExp(`Attestations for an image tag: ${escape(`${registry.host}/key/attested:${attTag}`)}\n((?:   [├└]── 🍒 ${HEX_DIGEST}\n){3})`));
    for (const layer of att.layers!) assert.ok(listed.stdout.includes(`🍒 ${layer.digest}`), listed.stdout);

    const doc = await tree([...trust(), ref]);
    assert.deepEqual(
      doc.manifests[0]!.attestations.map((x) => [x.source, x.state, x.predicateType]),
      types.map(([, uri]) => ['cosign-tag', 'verified', uri]),
    );
  });

  it('attest-image refuses a predicate that is not JSON and an unknown --type: exit 2, a clear message, nothing pushed', async () => {
    const image = await registry.pushImage('key/refused', { tag: 'v1' });
    const ref = `${registry.host}/key/refused:v1`;
    const notJson = await kit.file('not-json.txt', 'buildType: this is YAML, not JSON\n');
    const provenance = await kit.file('provenance.json', PREDICATES.slsaprovenance);
    for (const storage of ['cosign-tag', 'referrers']) {
      const badPredicate = await cli(['attest-image', '--key', a.key, '--storage', storage, '--predicate', notJson, '--type', 'slsaprovenance', ref]);
      assert.equal(badPredicate.code, 2, badPredicate.stderr);
      assert.match(badPredicate.stderr, /^error: not-json\.txt is not JSON: .*Choose a JSON file holding the predicate/);
      assert.equal(badPredicate.stdout, '');

      const badType = await cli(['attest-image', '--key', a.key, '--storage', storage, '--predicate', provenance, '--type', 'slsa-provenance-please', ref]);
      assert.equal(badType.code, 2, badType.stderr);
      assert.match(badType.stderr, /^error: "slsa-provenance-please" is neither a known predicate type nor a URI\. Use one of slsaprovenance, .*spdxjson, cyclonedx, .*or the predicate type's URI\./);
      assert.equal(badType.stdout, '');
    }
    assert.equal((await registry.readManifest('key/refused', digestTag(image.digest, 'att'))).status, 404, 'no .att tag');
    assert.equal((await registry.readManifest('key/refused', digestTag(image.digest))).status, 404, 'no fallback index');
    assert.deepEqual(await registry.listTags('key/refused'), ['v1']);
  });

  it('key, referrers (default): a bundle referrer with subject and artifactType, listed in the sha256-<hex> fallback index; tree verifies it; cosign 2.5 reads it only as an attestation', async () => {
    const image = await registry.pushImage('key/referred', { tag: 'v1' });
    const ref = `${registry.host}/key/referred:v1`;
    const fallback = digestTag(image.digest);

    const signed = await cli(['sign-image', '--key', a.key, ref]);
    assert.equal(signed.code, 0, signed.stderr);
    const m = new RegExp(`^${image.digest} -> ${escape(`${registry.host}/key/referred@`)}(${HEX_DIGEST}) \\(manifest \\1, fallback index ${escape(`${registry.host}/key/referred:${fallback}`)}\\)\n$`).exec(signed.stdout);
    assert.ok(m, signed.stdout);
    const referrerDigest = m[1]!;

    const index = await manifest('key/referred', fallback);
    assert.equal(index.mediaType, OCI_INDEX);
    assert.deepEqual(index.manifests!.map((d) => [d.mediaType, d.digest, d.artifactType, d.annotations?.['dev.sigstore.bundle.predicateType']]), [[OCI_MANIFEST, referrerDigest, BUNDLE_ARTIFACT_TYPE, COSIGN_SIGN_PREDICATE]]);
    const referrer = await manifest('key/referred', referrerDigest);
    assert.equal(referrer.artifactType, BUNDLE_ARTIFACT_TYPE);
    assert.deepEqual(referrer.subject, { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size });
    assert.equal(referrer.config!.mediaType, EMPTY_CONFIG);
    assert.deepEqual(referrer.layers!.map((l) => l.mediaType), [BUNDLE_ARTIFACT_TYPE]);
    assert.equal(referrer.annotations?.['dev.sigstore.bundle.content'], 'dsse-envelope');
    assert.deepEqual(await registry.listTags('key/referred'), [fallback, 'v1'], 'no .sig tag');

    const doc = await tree([...trust(), ref]);
    assert.deepEqual(
      doc.manifests[0]!.signatures.map((s) => [s.digest, s.source, s.state, s.signer]),
      [[referrerDigest, 'fallback-tag', 'verified', { kind: 'key', source: a.pub }]],
      JSON.stringify(doc.manifests[0]!.signatures),
    );
    // Without a policy naming the key it cannot be checked: the policy is what makes it verified.
    const noPolicy = await tree([ref]);
    assert.notEqual(noPolicy.manifests[0]!.signatures[0]!.state, 'verified');

    // cosign 2.5.0 `verify` does not read bundle referrers: its --new-bundle-format flag is parsed
    // but not passed on for `verify` (cmd/cosign/cli/verify.go builds VerifyCommand without it),
    // and VerifyImageSignatures reads only the .sig tag. Observed: exit 10, stderr
    // "Error: no signatures found". --experimental-oci11 looks for referrers of artifactType
    // application/vnd.dev.cosign.artifact.sig.v1+json (cosign's own experiment), not bundles: the same.
    for (const flag of ['--new-bundle-format', '--experimental-oci11']) {
      const refused = await kit.cosign(['verify', '--key', a.pub, flag, '--insecure-ignore-tlog=true', '--allow-http-registry', ref]);
      assert.equal(refused.code, 10, `cosign verify ${flag}: ${refused.stderr}`);
      assert.match(refused.stderr, /Error: no signatures found/);
    }
    // cosign 2.5.0 `verify-attestation --new-bundle-format` does read bundle referrers (through
    // the fallback tag, go-containerregistry's remote.Referrers): our signature is a DSSE bundle
    // of an in-toto statement of predicate type https://sigstore.dev/cosign/sign/v1, as cosign v3 writes.
    const asAttestation = await kit.cosignOK(['verify-attestation', '--key', a.pub, '--new-bundle-format', '--trusted-root', 'empty-root.json', '--insecure-ignore-tlog=true', '--allow-http-registry', '--type', COSIGN_SIGN_PREDICATE, ref]);
    assert.deepEqual(statementsOf(asAttestation.stdout).map((s) => [s.predicateType, s.subject[0]!.digest.sha256]), [[COSIGN_SIGN_PREDICATE, image.digest.slice('sha256:'.length)]]);
    assert.notEqual((await kit.cosign(['verify-attestation', '--key', b.pub, '--new-bundle-format', '--trusted-root', 'empty-root.json', '--insecure-ignore-tlog=true', '--allow-http-registry', '--type', COSIGN_SIGN_PREDICATE, ref])).code, 0, 'the wrong key');
    // cosign 2.5.0 `tree` lists only the .sig/.att/.sbom tags (cmd/cosign/cli/tree.go), and has no --experimental-oci11.
    const listed = await kit.cosignOK(['tree', ref]);
    assert.match(listed.stdout, /No Supply Chain Security Related Artifacts artifacts found/);
    assert.match((await kit.cosign(['tree', '--experimental-oci11', ref])).stderr, /unknown flag: --experimental-oci11/);

    // An attestation as a referrer too: the fallback index gets a second entry; cosign verifies it.
    const provenance = await kit.file('provenance.json', PREDICATES.slsaprovenance);
    const attested = await cli(['attest-image', '--key', a.key, '--predicate', provenance, '--type', 'slsaprovenance', ref]);
    assert.equal(attested.code, 0, attested.stderr);
    const both = await manifest('key/referred', fallback);
    assert.deepEqual(both.manifests!.map((d) => d.annotations?.['dev.sigstore.bundle.predicateType']), [COSIGN_SIGN_PREDICATE, 'https://slsa.dev/provenance/v0.2']);
    const provenanceVerified = await kit.cosignOK(['verify-attestation', '--key', a.pub, '--new-bundle-format', '--trusted-root', 'empty-root.json', '--insecure-ignore-tlog=true', '--allow-http-registry', '--type', 'slsaprovenance', ref]);
    assert.ok(statementsOf(provenanceVerified.stdout).some((s) => s.predicateType === 'https://slsa.dev/provenance/v0.2'), provenanceVerified.stdout);
    const attestedDoc = await tree([...trust(), ref]);
    assert.deepEqual(attestedDoc.manifests[0]!.attestations.map((x) => [x.source, x.state, x.predicateType]), [['fallback-tag', 'verified', 'https://slsa.dev/provenance/v0.2']]);
  });

  it('referrers on a registry with the referrers API: the registry lists it, no fallback index is written', async () => {
    const double = await startReferrersDouble(registry.url);
    try {
      const image = await registry.pushImage('key/api', { tag: 'v1' });
      const ref = `${double.host}/key/api:v1`;
      const signed = await cli(['sign-image', '--key', a.key, ref]);
      assert.equal(signed.code, 0, signed.stderr);
      const m = new RegExp(`^${image.digest} -> ${escape(`${double.host}/key/api@`)}(${HEX_DIGEST}) \\(manifest \\1\\)\n$`).exec(signed.stdout);
      assert.ok(m, `no fallback index named: ${signed.stdout}`);
      assert.ok(double.referrersRequests.includes(`/v2/key/api/referrers/${image.digest}`), 'the signer asked the referrers API');
      assert.deepEqual(await registry.listTags('key/api'), ['v1'], 'no fallback tag, no .sig tag');
      const apiPolicy = await kit.file('api-policy.json', { version: 1, rules: [{ name: 'api', images: [`${double.host}/key/*`], keys: ['a.pub'] }] });
      const doc = await tree(['--policy', apiPolicy, ref]);
      assert.deepEqual(doc.manifests[0]!.signatures.map((x) => [x.digest, x.source, x.state]), [[m[1], 'referrers', 'verified']]);
    } finally {
      await double.close();
    }
  });

  it('keyless through the sandbox, cosign-tag: cosign verify accepts it for the identity and issuer; tree verifies it', async () => {
    const image = await registry.pushImage('keyless/tagged', { tag: 'v1' });
    const ref = `${registry.host}/keyless/tagged:v1`;
    const signed = await cli(['sign-image', '--identity-token', await identityToken(), '--fulcio-url', kit.sandbox.fulcioURL, '--rekor-url', kit.sandbox.rekorURL, '--storage', 'cosign-tag', ref]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stderr, new RegExp(`Signing as ${escape(kit.email)} \\(issuer ${escape(kit.sandbox.issuer)}, token from given\\)\\.`));
    assert.match(signed.stdout, new RegExp(`^${image.digest} -> ${escape(`${registry.host}/keyless/tagged:${digestTag(image.digest, 'sig')}`)} \\(manifest ${HEX_DIGEST}, log index \\d+, identity ${escape(kit.email)}\\)\n$`));
    const layer = (await manifest('keyless/tagged', digestTag(image.digest, 'sig'))).layers![0]!;
    assert.match(layer.annotations!['dev.sigstore.cosign/certificate']!, /^-----BEGIN CERTIFICATE-----/);
    assert.ok(JSON.parse(layer.annotations!['dev.sigstore.cosign/bundle']!).SignedEntryTimestamp);

    // cosign 2.5 with the sandbox's Fulcio CA and Rekor key (SIGSTORE_ROOT_FILE, SIGSTORE_REKOR_PUBLIC_KEY;
    // `--trusted-root` alone does not do for `verify`: it still fetches the Rekor keys from TUF).
    const identity = (who: string) => ['--certificate-identity', who, '--certificate-oidc-issuer', kit.sandbox.issuer];
    const verified = await kit.cosignOK(['verify', ...identity(kit.email), '--offline', '--allow-http-registry', ref], cosignTrust);
    assert.match(verified.stderr, /The code-signing certificate was verified using trusted certificate authority certificates/);
    assert.match(verified.stderr, /Existence of the claims in the transparency log was verified offline/);
    const payloads = JSON.parse(verified.stdout) as SimpleSigning[];
    assert.deepEqual(payloads.map((p) => p.critical.image['docker-manifest-digest']), [image.digest]);
    const otherIdentity = await kit.cosign(['verify', ...identity('someone-else@example.test'), '--offline', '--allow-http-registry', ref], cosignTrust);
    assert.notEqual(otherIdentity.code, 0);
    assert.match(otherIdentity.stderr, /none of the expected identities matched/);

    const doc = await tree([...trust(), ref]);
    assert.deepEqual(doc.manifests[0]!.signatures.map((s) => [s.source, s.state, s.signer]), [['cosign-tag', 'verified', { kind: 'certificate', identity: kit.email, issuer: kit.sandbox.issuer }]]);

    // A keyless attestation in the .att tag: the envelope, the certificate and the Rekor entry (intoto).
    const provenance = await kit.file('keyless-provenance.json', PREDICATES.slsaprovenance1);
    const attested = await cli(['attest-image', '--identity-token', await identityToken(), '--fulcio-url', kit.sandbox.fulcioURL, '--rekor-url', kit.sandbox.rekorURL, '--storage', 'cosign-tag', '--predicate', provenance, '--type', 'slsaprovenance1', ref]);
    assert.equal(attested.code, 0, attested.stderr);
    const checked = await kit.cosign(['verify-attestation', ...identity(kit.email), '--type', 'slsaprovenance1', '--offline', '--allow-http-registry', ref], cosignTrust);
    assert.equal(checked.code, 0, `cosign verify-attestation (keyless, .att): ${checked.stderr}`);
    assert.deepEqual(statementsOf(checked.stdout).map((x) => [x.predicateType, x.subject[0]!.digest.sha256]), [['https://slsa.dev/provenance/v1', image.digest.slice('sha256:'.length)]]);
    const attestedDoc = await tree([...trust(), ref]);
    assert.deepEqual(attestedDoc.manifests[0]!.attestations.map((x) => [x.source, x.state, x.predicateType]), [['cosign-tag', 'verified', 'https://slsa.dev/provenance/v1']]);
  });

  it('keyless through the sandbox, referrers: tree verifies the bundle; cosign verify-attestation --new-bundle-format accepts it', async () => {
    const image = await registry.pushImage('keyless/referred', { tag: 'v1' });
    const ref = `${registry.host}/keyless/referred:v1`;
    const signed = await cli(['sign-image', '--identity-token', await identityToken(), '--fulcio-url', kit.sandbox.fulcioURL, '--rekor-url', kit.sandbox.rekorURL, ref]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, new RegExp(`fallback index ${escape(`${registry.host}/keyless/referred:${digestTag(image.digest)}`)}, log index \\d+, identity ${escape(kit.email)}\\)\n$`));

    const doc = await tree([...trust(), ref]);
    assert.deepEqual(doc.manifests[0]!.signatures.map((s) => [s.source, s.state, s.signer]), [['fallback-tag', 'verified', { kind: 'certificate', identity: kit.email, issuer: kit.sandbox.issuer }]]);
    // Another identity in the policy: failed.
    const otherPolicy = await kit.file('other-identity-policy.json', { version: 1, rules: [{ images: [`${registry.host}/keyless/*`], identities: [{ subject: 'ci@example.test', issuer: kit.sandbox.issuer }] }] });
    const other = await tree(['--policy', otherPolicy, '--trusted-root', kit.sandbox.trustedRootPath, ref]);
    assert.equal(other.manifests[0]!.signatures[0]!.state, 'failed');

    // cosign 2.5 also wants SIGSTORE_ROOT_FILE here (it loads Fulcio roots before it looks at --trusted-root).
    const identity = (who: string) => ['--certificate-identity', who, '--certificate-oidc-issuer', kit.sandbox.issuer];
    const args = (who: string) => ['verify-attestation', ...identity(who), '--new-bundle-format', '--trusted-root', kit.sandbox.trustedRootPath, '--allow-http-registry', '--type', COSIGN_SIGN_PREDICATE, ref];
    const verified = await kit.cosignOK(args(kit.email), cosignTrust);
    assert.deepEqual(statementsOf(verified.stdout).map((s) => s.subject[0]!.digest.sha256), [image.digest.slice('sha256:'.length)]);
    assert.notEqual((await kit.cosign(args('someone-else@example.test'), cosignTrust)).code, 0, 'another identity');
  });

  it('an index with --recursive: the index and each platform manifest get a signature (cosign-tag and referrers); without it only the index', async () => {
    const multi = await registry.pushIndex('index/tagged', 'v1');
    const ref = `${registry.host}/index/tagged:v1`;
    const signed = await cli(['sign-image', '--key', a.key, '--storage', 'cosign-tag', '--recursive', ref]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stderr, /\(an index\)\.\n$/);
    const [amd64, arm64] = multi.manifests;
    assert.deepEqual(
      signed.stdout.trim().split('\n').map((l) => l.split(' -> ')[0]),
      [multi.digest, `linux/amd64 ${amd64!.digest}`, `linux/arm64/v8 ${arm64!.digest}`],
    );
    for (const digest of [multi.digest, amd64!.digest, arm64!.digest]) {
      const verified = await kit.cosignOK(['verify', '--key', a.pub, '--insecure-ignore-tlog=true', '--allow-http-registry', `${registry.host}/index/tagged@${digest}`]);
      assert.deepEqual((JSON.parse(verified.stdout) as SimpleSigning[]).map((p) => p.critical.image['docker-manifest-digest']), [digest]);
    }
    const doc = await tree([...trust(), ref]);
    assert.deepEqual(
      doc.manifests.map((m) => [m.digest, m.signatures.map((s) => [s.source, s.state])]),
      [multi.digest, amd64!.digest, arm64!.digest].map((d) => [d, [['cosign-tag', 'verified']]]),
    );

    const referred = await registry.pushIndex('index/referred', 'v1');
    const r = await cli(['sign-image', '--key', a.key, '--recursive', `${registry.host}/index/referred:v1`]);
    assert.equal(r.code, 0, r.stderr);
    const referredDoc = await tree([...trust(), `${registry.host}/index/referred:v1`]);
    assert.deepEqual(
      referredDoc.manifests.map((m) => [m.digest, m.signatures.map((s) => [s.source, s.state])]),
      [referred.digest, ...referred.manifests.map((m) => m.digest)].map((d) => [d, [['fallback-tag', 'verified']]]),
    );

    const top = await registry.pushIndex('index/top', 'v1');
    const t = await cli(['sign-image', '--key', a.key, '--storage', 'cosign-tag', `${registry.host}/index/top:v1`]);
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(await registry.listTags('index/top'), [digestTag(top.digest, 'sig'), 'v1']);
  });

  describe(`${WRITERS} of our writers on the same image at once`, () => {
    // What was observed while writing these tests (docker-registry 2.8.2, 2 cores), before any fix:
    // with 8 writers every round went wrong in one of two ways. (1) Silent loss: every writer
    // exited 0 and printed its signature, yet the tag held fewer layers (e.g. 7 of 8). A writer
    // that read the tag before another's write can overwrite it after that other writer's two
    // confirming reads (attachmentStore.ts updateTag): the overwriting writer checks only that
    // its own entry is there. (2) Exit 1 "answered 500 Internal Server Error … (UNKNOWN unknown
    // error)": the registry's log says `err.detail="invalid checksum digest format"` for a GET of
    // the tag while another writer PUTs it (the filesystem driver's tag link is read while being
    // rewritten); the writer gives up instead of reading again.
    const sigOf = (pub: string, ref: string) => kit.cosign(['verify', '--key', pub, '--insecure-ignore-tlog=true', '--allow-http-registry', ref]);

    it('cosign-tag: every writer succeeds and the .sig tag keeps all their signatures (cosign verifies each key)', async () => {
      const image = await registry.pushImage('busy/tagged', { tag: 'v1' });
      const ref = `${registry.host}/busy/tagged@${image.digest}`;
      const runs = await Promise.all(busy.map((k) => cli(['sign-image', '--key', k.key, '--storage', 'cosign-tag', ref])));
      const checks = await Promise.all(busy.map((k) => sigOf(k.pub, ref)));
      const layers = (await manifest('busy/tagged', digestTag(image.digest, 'sig'))).layers!.length;
      const lost = runs.flatMap((r, i) => (r.code === 0 && checks[i]!.code !== 0 ? [i] : []));
      assert.deepEqual(lost, [], `writers ${lost.join(', ')} exited 0 and printed their signature, but it is not in the .sig tag (${layers} layers; exit codes ${runs.map((r) => r.code).join(' ')}): it was overwritten`);
      const failed = runs.flatMap((r, i) => (r.code !== 0 ? [`writer ${i} exited ${r.code}: ${r.stderr}`] : []));
      assert.deepEqual(failed, []);
      assert.equal(layers, WRITERS);
      assert.ok(runs.some((r) => /\d+ attempts: someone else wrote at the same time/.test(r.stdout)), 'at least one writer saw another and tried again');
    });

    it('referrers: every writer succeeds and the fallback index lists all their referrers (cosign verifies each key)', async () => {
      const image = await registry.pushImage('busy/referred', { tag: 'v1' });
      const ref = `${registry.host}/busy/referred@${image.digest}`;
      const runs = await Promise.all(busy.map((k) => cli(['sign-image', '--key', k.key, ref])));
      const index = await manifest('busy/referred', digestTag(image.digest));
      const listed = new Set(index.manifests!.map((d) => d.digest));
      const lost = runs.flatMap((r, i) => {
        const written = new RegExp(`-> ${escape(`${registry.host}/busy/referred@`)}(${HEX_DIGEST}) `).exec(r.stdout)?.[1];
        return r.code === 0 && written && !listed.has(written) ? [i] : [];
      });
      assert.deepEqual(lost, [], `writers ${lost.join(', ')} exited 0 and printed their referrer, but the fallback index (${listed.size} entries; exit codes ${runs.map((r) => r.code).join(' ')}) does not list it: it was overwritten`);
      const failed = runs.flatMap((r, i) => (r.code !== 0 ? [`writer ${i} exited ${r.code}: ${r.stderr}`] : []));
      assert.deepEqual(failed, []);
      assert.equal(listed.size, WRITERS);
      const checks = await Promise.all(
        busy.map((k) => kit.cosign(['verify-attestation', '--key', k.pub, '--new-bundle-format', '--trusted-root', 'empty-root.json', '--insecure-ignore-tlog=true', '--allow-http-registry', '--type', COSIGN_SIGN_PREDICATE, ref])),
      );
      assert.deepEqual(checks.map((c) => c.code), busy.map(() => 0));
    });

    it('with cosign sign on the same .sig tag, one after the other in both orders: neither loses the other\'s signature', async () => {
      // Run concurrently, the outcome depends on timing: cosign does not re-read after writing, so
      // a cosign write landing after our last check drops ours, and ours landing between cosign's
      // read and write drops cosign's (no registry here offers compare-and-swap). 25 concurrent
      // runs while writing this test all kept both, but that is luck, not a property: sequenced.
      for (const [n, order] of [[1, 'ours first'], [2, 'cosign first']] as const) {
        const image = await registry.pushImage('busy/mixed', { tag: `v${n}` });
        const ref = `${registry.host}/busy/mixed@${image.digest}`;
        const ours = () => cli(['sign-image', '--key', a.key, '--storage', 'cosign-tag', ref]);
        const theirs = () => kit.cosignOK(['sign', '--key', b.key, '--tlog-upload=false', '--allow-http-registry', '-y', ref]);
        if (order === 'ours first') {
          assert.equal((await ours()).code, 0);
          await theirs();
        } else {
          await theirs();
          const r = await ours();
          assert.equal(r.code, 0, r.stderr);
        }
        assert.equal((await manifest('busy/mixed', digestTag(image.digest, 'sig'))).layers!.length, 2, order);
        assert.equal((await sigOf(a.pub, ref)).code, 0, `${order}: ours is there`);
        assert.equal((await sigOf(b.pub, ref)).code, 0, `${order}: cosign's is there`);
      }
    });
  });

  it('a read-only account (token auth): exit 1, the account may not push to the repository; nothing written', async () => {
    const secured = await startRegistry({ auth: 'token' });
    try {
      const image = await secured.pushImage('private/app', { tag: 'v1' });
      const ref = `${secured.host}/private/app:v1`;
      const docker = join(kit.dir, 'docker-reader');
      await mkdir(docker, { recursive: true });
      await writeFile(join(docker, 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${READER.username}:${READER.password}`).toString('base64') } } }));
      const provenance = await kit.file('provenance.json', PREDICATES.slsaprovenance);
      for (const args of [
        ['sign-image', '--key', a.key, '--storage', 'cosign-tag', ref],
        ['sign-image', '--key', a.key, ref],
        ['attest-image', '--key', a.key, '--storage', 'cosign-tag', '--predicate', provenance, '--type', 'slsaprovenance', ref],
      ]) {
        const refused = await cli(args, { DOCKER_CONFIG: docker });
        assert.equal(refused.code, 1, `${args.join(' ')}: ${refused.stderr}`);
        assert.equal(refused.stdout, '');
        // It could read the image (the reader may pull), then was refused the push.
        assert.match(refused.stderr, new RegExp(`^${escape(ref)} is ${image.digest}; signing that digest`));
        assert.match(refused.stderr, new RegExp(`error: ${escape(`${secured.host}/private/app@${image.digest}`)} was not (signed|attested): ${escape(secured.host)} does not let reader push to private/app \\(insufficient_scope\\): the credentials are accepted but may not write there`));
        assert.match(refused.stderr, new RegExp(`docker login ${escape(secured.host)} with an account that may push to private/app`));
      }
      assert.deepEqual(await secured.listTags('private/app'), ['v1']);
      assert.equal((await secured.readManifest('private/app', digestTag(image.digest, 'sig'))).status, 404);

      // The same with alice's account works: the refusal was the account's, not the setup's.
      const aliceDocker = join(kit.dir, 'docker-alice');
      await mkdir(aliceDocker, { recursive: true });
      await writeFile(join(aliceDocker, 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64') } } }));
      const allowed = await cli(['sign-image', '--key', a.key, '--storage', 'cosign-tag', ref], { DOCKER_CONFIG: aliceDocker });
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.deepEqual(await secured.listTags('private/app'), [digestTag(image.digest, 'sig'), 'v1']);
    } finally {
      await secured.close();
    }
  });

  /** The sandbox's sign-in for a keyless run without --identity-token (the device flow). */
  const signInEnv = (): NodeJS.ProcessEnv => ({ SIGSTORE_OIDC_ISSUER: kit.sandbox.issuer, SIGSTORE_OIDC_CLIENT_ID: kit.sandbox.clientId, SIGSTORE_FULCIO_URL: kit.sandbox.fulcioURL, SIGSTORE_REKOR_URL: kit.sandbox.rekorURL });

  it('a reference that does not exist: exit 2 with what is missing, before any sign-in', async () => {
    await registry.pushImage('keyless/exists', { tag: 'v1' });
    const cases: Array<[string, RegExp]> = [
      [`${registry.host}/keyless/exists:v2`, new RegExp(`^error: ${escape(`${registry.host}/keyless/exists`)} has no tag "v2"\\. Check the tag`)],
      [`${registry.host}/keyless/never-pushed:v1`, new RegExp(`^error: ${escape(`${registry.host}/keyless/never-pushed`)} has no tag "v1"`)],
      [`${registry.host}/keyless/exists@sha256:${'0'.repeat(64)}`, new RegExp(`^error: ${escape(`${registry.host}/keyless/exists`)} has no manifest sha256:0{12}…\\. The image may have been deleted`)],
    ];
    const fulcioCalls = kit.sandbox.tokensSeen.length;
    for (const [ref, message] of cases) {
      let prompted = false;
      const r = await cli(['sign-image', ref], signInEnv(), (stderr, child) => {
        // Had it asked to sign in first, stop it there rather than wait for the code to expire.
        if (!prompted && /To sign in, open /.test(stderr)) {
          prompted = true;
          child.kill('SIGINT');
        }
      });
      assert.equal(prompted, false, `${ref}: asked to sign in before finding the image missing`);
      assert.equal(r.code, 2, `${ref}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
    assert.equal(kit.sandbox.tokensSeen.length, fulcioCalls, 'Fulcio was not asked');
    assert.deepEqual(await registry.listTags('keyless/exists'), ['v1']);
  });

  it('Ctrl-C while waiting for the sign-in (device code): exit 130, nothing in the registry', async () => {
    const image = await registry.pushImage('keyless/cancelled', { tag: 'v1' });
    for (const storage of ['referrers', 'cosign-tag']) {
      let interrupted = false;
      const r = await cli(['sign-image', '--storage', storage, `${registry.host}/keyless/cancelled:v1`], signInEnv(), (stderr, child) => {
        if (!interrupted && /Waiting for the sign-in to be confirmed/.test(stderr)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      assert.ok(interrupted, `${storage}: it showed a device code to confirm:\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`To sign in, open ${escape(kit.sandbox.issuer)}/\\S+ and confirm the code`));
      assert.equal(r.code, 130, `${storage}: ${r.stderr}`);
      assert.match(r.stderr, /Cancelled\.\n$/);
      assert.equal(r.stdout, '');
    }
    assert.deepEqual(await registry.listTags('keyless/cancelled'), ['v1'], 'no .sig tag, no fallback index');
    assert.equal((await registry.readManifest('keyless/cancelled', digestTag(image.digest, 'sig'))).status, 404);
  });
});
