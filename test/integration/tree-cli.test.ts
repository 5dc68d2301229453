/**
 * `bin/sigstore tree` as a script sees it (the bundle built by scripts/build.mjs, run with
 * node): the tree and the --json document for images in a real docker-registry 2.8, signed by
 * the real cosign 2.5 (key-based and keyless against the sandbox) and oras 1.2, verified under
 * a trust policy file with `images` rules; exit status; credentials from the Docker config.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHostileRegistry, type HostileRegistry } from '../support/hostile-registry';
import { startRegistry, ALICE, type PushedImage, type PushedIndex, type TestRegistry } from '../support/registry';
import { rawManifest, startSigningKit, type SigningKit } from '../support/signed-images';
import type { TreeDoc } from '../support/tree-json';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/cli/sigstore.js');
const STATES = ['verified', 'untrusted', 'integrity', 'failed', 'unverifiable'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { ...options, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe('bin/sigstore tree', function () {
  this.timeout(180_000);
  let registry: TestRegistry;
  let kit: SigningKit;
  let multi: PushedIndex;
  let forged: PushedImage;
  let env: NodeJS.ProcessEnv;
  let policy: string;

  const tree = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd = kit.dir) => run(process.execPath, [CLI, 'tree', ...args], { cwd, env: { ...env, ...extraEnv } });
  const json = async (args: string[]): Promise<{ run: Run; doc: TreeDoc }> => {
    const r = await tree(['--json', ...args]);
    let doc: TreeDoc;
    try {
      doc = JSON.parse(r.stdout) as TreeDoc;
    } catch {
      assert.fail(`no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    return { run: r, doc };
  };

  before(async () => {
    const built = run(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, env: process.env });
    [registry, kit] = await Promise.all([startRegistry(), startSigningKit()]);
    const b = await built;
    assert.equal(b.code, 0, `scripts/build.mjs failed:\n${b.stderr}`);
    await mkdir(join(kit.dir, 'docker'));
    env = { PATH: process.env.PATH, HOME: join(kit.dir, 'home'), DOCKER_CONFIG: join(kit.dir, 'docker') };

    const a = await kit.keyPair('a');
    await kit.file('provenance.json', { buildType: 'https://example.test/build/v1', builder: { id: 'https://example.test/builder' } });
    await kit.file('sbom.spdx.json', { spdxVersion: 'SPDX-2.3', name: 'app' });
    multi = await registry.pushIndex('app/multi', 'v1');
    const index = `${registry.host}/app/multi@${multi.digest}`;
    await kit.cosignOK(['sign', '--key', a.key, '--tlog-upload=false', '--allow-http-registry', '-y', '--recursive', index]);
    await kit.cosignOK(['attest', ...(await kit.keylessFlags()), '--type', 'slsaprovenance', '--predicate', 'provenance.json', index]);
    await kit.orasOK(['attach', '--plain-http', '--artifact-type', 'application/spdx+json', index, 'sbom.spdx.json:application/spdx+json']);

    // A signature of the index, put on another image: its payload names the index.
    forged = await registry.pushImage('app/multi', { tag: 'forged' });
    const sig = (await rawManifest(registry.url, 'app/multi', `${multi.digest.replace(':', '-')}.sig`)).json!;
    await registry.pushManifest('app/multi', `${forged.digest.replace(':', '-')}.sig`, sig, 'application/vnd.oci.image.manifest.v1+json');

    policy = await kit.file(
      'policy.json',
      { version: 1, rules: [{ name: 'our images', images: [`${registry.host}/app/*`], keys: ['a.pub'], identities: [{ subject: kit.email, issuer: kit.sandbox.issuer }] }] },
    );
  });
  after(async () => {
    await Promise.allSettled([kit?.close(), registry?.close()]);
  });

  const trusted = () => ['--policy', policy, '--trusted-root', kit.sandbox.trustedRootPath];

  it('--json: {reference, digest, manifests: [{digest, platform, signatures, attestations, sboms}]}, the index first', async () => {
    const { run: r, doc } = await json([...trusted(), `${registry.host}/app/multi:v1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(doc), ['reference', 'digest', 'manifests']);
    assert.equal(doc.reference, `${registry.host}/app/multi:v1`);
    assert.equal(doc.digest, multi.digest);
    assert.deepEqual(
      doc.manifests.map((m) => [m.digest, m.platform]),
      [[multi.digest, null], ...multi.manifests.map((m) => [m.digest, m.platform])],
    );
    for (const m of doc.manifests) assert.deepEqual(Object.keys(m), ['digest', 'platform', 'signatures', 'attestations', 'sboms']);

    const [top, amd64, arm64] = doc.manifests;
    assert.equal(top!.signatures.length, 1);
    const signature = top!.signatures[0]!;
    assert.equal(signature.source, 'cosign-tag');
    assert.equal(signature.state, 'verified', signature.reason);
    assert.deepEqual(signature.signer, { kind: 'key', source: join(kit.dir, 'a.pub') });
    assert.match(signature.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal('predicateType' in signature, false, 'only attestations have a predicateType');

    assert.equal(top!.attestations.length, 1);
    const attestation = top!.attestations[0]!;
    assert.equal(attestation.source, 'cosign-tag');
    assert.equal(attestation.state, 'verified', attestation.reason);
    assert.equal(attestation.predicateType, 'https://slsa.dev/provenance/v0.2');
    assert.deepEqual(attestation.signer, { kind: 'certificate', identity: kit.email, issuer: kit.sandbox.issuer });

    assert.equal(top!.sboms.length, 1);
    const sbom = top!.sboms[0]!;
    assert.equal(sbom.source, 'fallback-tag');
    assert.equal(sbom.state, 'unsigned');
    assert.equal(sbom.signer, null);

    for (const platform of [amd64!, arm64!]) {
      assert.deepEqual(platform.signatures.map((s) => [s.source, s.state]), [['cosign-tag', 'verified']]);
      assert.deepEqual([platform.attestations, platform.sboms], [[], []]);
    }
    for (const item of doc.manifests.flatMap((m) => [...m.signatures, ...m.attestations])) assert.ok(STATES.includes(item.state), item.state);
  });

  it('prints the tree: the index and each platform, grouped, with states and how each was found', async () => {
    const r = await tree([...trusted(), `${registry.host}/app/multi:v1`]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], `${registry.host}/app/multi:v1@${multi.digest}`);
    assert.ok(lines.includes(`├── ${multi.digest} (index)`), r.stdout);
    assert.ok(lines.includes(`├── ${multi.manifests[0]!.digest} (linux/amd64)`), r.stdout);
    assert.ok(lines.includes(`└── ${multi.manifests[1]!.digest} (linux/arm64/v8)`), r.stdout);
    assert.match(r.stdout, /│ {3}├── Signatures \(1\)\n│ {3}│ {3}└── ✓ verified {5}sha256:[0-9a-f]{64} \[cosign tag\]: Signed by the key in .*a\.pub, trusted by rule 1 \(our images\)/);
    assert.match(r.stdout, /Attestations \(1\)\n.*✓ verified {5}sha256:[0-9a-f]{64} SLSA provenance v0\.2 \[cosign tag\]: Signed by release@example\.test/);
    assert.match(r.stdout, /SBOMs \(1\)\n.*- unsigned {5}sha256:[0-9a-f]{64} application\/spdx\+json \[referrers fallback tag\]: no signature/);
    assert.match(r.stdout, /5 attachment\(s\): 4 verified, 1 unsigned\n$/);
  });

  it('exit 1 for a signature moved from another image (failed: it names the other digest)', async () => {
    const { run: r, doc } = await json([...trusted(), `${registry.host}/app/multi:forged`]);
    assert.equal(r.code, 1);
    assert.equal(doc.digest, forged.digest);
    const [signature] = doc.manifests[0]!.signatures;
    assert.equal(signature!.state, 'failed');
    assert.equal(signature!.check, 'artifact-binding');
    assert.match(signature!.reason, new RegExp(`is for ${multi.digest}, not for this image`));
    assert.ok(signature!.remedy);
  });

  it('without a policy: valid keyless attestations are untrusted, key signatures cannot be checked (no key); exit 0', async () => {
    const { run: r, doc } = await json(['--trusted-root', kit.sandbox.trustedRootPath, `${registry.host}/app/multi:v1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(doc.manifests[0]!.attestations[0]!.state, 'untrusted');
    assert.deepEqual(doc.manifests.map((m) => m.signatures[0]!.state), ['unverifiable', 'unverifiable', 'unverifiable']);
    // The public-good root does not know the sandbox's CA: the certificate does not chain.
    const publicGood = await json([`${registry.host}/app/multi:v1`]);
    assert.equal(publicGood.run.code, 1);
    assert.equal(publicGood.doc.manifests[0]!.attestations[0]!.state, 'failed');
    assert.equal(publicGood.doc.manifests[0]!.attestations[0]!.check, 'certificate');
  });

  it('a policy naming other signers for the image: failed, exit 1', async () => {
    const other = await kit.file('other-policy.json', { version: 1, rules: [{ images: [`${registry.host}/app/multi`], identities: [{ subject: 'ci@example.test', issuer: kit.sandbox.issuer }] }] });
    const { run: r, doc } = await json(['--policy', other, '--trusted-root', kit.sandbox.trustedRootPath, `${registry.host}/app/multi:v1`]);
    assert.equal(r.code, 1);
    const attestation = doc.manifests[0]!.attestations[0]!;
    assert.equal(attestation.state, 'failed');
    assert.equal(attestation.check, 'policy');
    assert.equal(attestation.signer?.identity, kit.email);
  });

  it('credentials come from the Docker configuration; without them: exit 2 and what to do', async () => {
    const secured = await startRegistry({ auth: 'htpasswd' });
    try {
      const image = await secured.pushImage('private/app', { tag: 'v1' });
      const denied = await tree([`${secured.host}/private/app:v1`]);
      assert.equal(denied.code, 2);
      assert.match(denied.stderr, /requires sign-in/);
      assert.match(denied.stderr, new RegExp(`docker login ${secured.host.replace(/\./g, '\\.')}`));

      const config = join(kit.dir, 'docker-with-auth');
      await mkdir(config);
      await writeFile(join(config, 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64') } } }));
      const allowed = await tree(['--json', `${secured.host}/private/app:v1`], { DOCKER_CONFIG: config });
      assert.equal(allowed.code, 0, allowed.stderr);
      const doc = JSON.parse(allowed.stdout) as TreeDoc;
      assert.equal(doc.digest, image.digest);
      assert.deepEqual(doc.manifests, [{ digest: image.digest, platform: null, signatures: [], attestations: [], sboms: [] }]);
      const text = await tree([`${secured.host}/private/app:v1`], { DOCKER_CONFIG: config });
      assert.match(text.stdout, /└── \(nothing attached\)/);
    } finally {
      await secured.close();
    }
  });

  it('usage errors and unreadable images exit 2', async () => {
    for (const args of [[], ['--json'], ['--bogus', 'x'], ['a', 'b'], ['--policy'], ['UPPER/case']]) {
      const r = await tree(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^error: /, args.join(' '));
    }
    const missing = await tree([`${registry.host}/app/multi:nope`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /has no tag "nope"/);
    const help = await run(process.execPath, [CLI, '--help'], { cwd: kit.dir, env });
    assert.match(help.stdout, /usage: sigstore tree \[--policy FILE\] \[--trusted-root FILE\] \[--insecure-registry HOST\]\.\.\. \[--max-attachments N\] \[--json\] REF/);
    for (const bad of ['0', '1001', 'many', '2.5']) {
      const r = await tree(['--max-attachments', bad, `${registry.host}/app/multi:v1`]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--max-attachments takes a whole number from 1 to 1000/);
    }
  });
});

describe('bin/sigstore tree against a registry listing thousands', function () {
  this.timeout(180_000);
  let hostile: HostileRegistry;
  let dir: string;
  const tree = (args: string[]) => run(process.execPath, [CLI, 'tree', ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: join(dir, 'docker') } });

  before(async () => {
    const built = run(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, env: process.env });
    [hostile, dir] = await Promise.all([startHostileRegistry(), mkdtemp(join(tmpdir(), 'tree-fanout-'))]);
    const b = await built;
    assert.equal(b.code, 0, `scripts/build.mjs failed:\n${b.stderr}`);
  });
  after(async () => {
    await hostile?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an index of 20,000 platforms with 15,000 referrers: 50 of each read, at most 6 requests open at once, the rest reported as not read', async () => {
    hostile.inFlight.reset();
    const before = hostile.requestsTo('fanout-index').length;
    const r = await tree(['--json', `${hostile.host}/fanout-index:latest`]);
    const doc = JSON.parse(r.stdout) as TreeDoc;
    const requests = hostile.requestsTo('fanout-index').length - before;
    assert.equal(doc.digest, hostile.fanoutIndexDigest());
    assert.equal(doc.manifests.length, 1 + 50);
    assert.equal(doc.platformsNotRead, 20_000 - 50);
    assert.deepEqual(doc.manifests[0]!.notRead, { count: 15_000 - 50, more: false });
    assert.equal(doc.manifests[0]!.attestations.length, 50);
    assert.equal(doc.manifests[1]!.notRead, undefined);
    // The tag; per manifest read .sig, .att, .sbom and the referrers API; each attachment kept
    // loads its referrer manifest (a 404 here), prefetched then tried once more when verified.
    assert.ok(requests <= 1 + 51 * 4 + 50 * 2, `${requests} requests`);
    assert.ok(hostile.inFlight.max() <= 6, `${hostile.inFlight.max()} requests open at once`);
    assert.equal(r.code, 0, 'nothing failed: the bundles cannot be read (unverifiable), and what is not read is not a failure');
  });

  it('prints "N more not read" lines, and --max-attachments moves the bound', async () => {
    hostile.inFlight.reset();
    const r = await tree(['--max-attachments', '3', `${hostile.host}/fanout-referrers:latest`]);
    assert.match(r.stdout, /└── 14997 more attachment\(s\) not read \(raise --max-attachments to read them\)/);
    assert.match(r.stdout, /^3 attachment\(s\): 3 unverifiable; 14997 more attachment\(s\) not read$/m);
    const index = await tree(['--max-attachments', '2', `${hostile.host}/fanout-index:latest`]);
    assert.match(index.stdout, /^└── 19998 more platform manifest\(s\) not read/m);
    assert.equal(index.stdout.split('\n').filter((l) => /^[├└]── sha256:/.test(l)).length, 3, 'the index and two platforms');
    assert.ok(hostile.inFlight.max() <= 6, `${hostile.inFlight.max()} requests open at once`);
  });
});
