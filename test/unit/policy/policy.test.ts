import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPolicy, decide, type PolicyState } from '../../../src/core/policy/evaluate';
import { compilePolicy, imageGlobMatcher, loadPolicyFile, policyBase, ruleFor, type PolicyLoad } from '../../../src/core/policy/policy';
import type { SignerInfo } from '../../../src/core/verify/result';
import { certificateSignerOf, validEvidence } from '../../support/evidence';

const ISSUER = 'https://token.actions.githubusercontent.com';

const certSigner = (identity: string, issuer = ISSUER, extensions: Record<string, string> = {}) => certificateSignerOf(identity, issuer, extensions);
const valid = validEvidence;

describe('trust policy', () => {
  let dir: string;
  let policyPath: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-policy-'));
    await mkdir(join(dir, '.sigstore'), { recursive: true });
    await mkdir(join(dir, 'keys'), { recursive: true });
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(dir, 'keys', 'cosign.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    policyPath = join(dir, '.sigstore', 'policy.json');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const compile = (policy: unknown) => compilePolicy(policyPath, typeof policy === 'string' ? policy : JSON.stringify(policy, null, 2));
  const loaded = (load: PolicyLoad): PolicyState => ({ kind: 'loaded', load });
  const errors = (load: PolicyLoad) => load.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);

  it('globs are relative to the folder holding .sigstore/, first matching rule wins', async () => {
    assert.equal(policyBase(policyPath), dir);
    assert.equal(policyBase(join(dir, 'other', 'p.json')), join(dir, 'other'));
    const load = await compile({
      version: 1,
      rules: [
        { name: 'releases', match: ['dist/**'], identities: [{ subject: 'a@example.test', issuer: ISSUER }] },
        { name: 'everything', match: ['**'], keys: ['../keys/cosign.pub'] },
      ],
    });
    assert.ok(load.ok, errors(load).join('; '));
    assert.equal(ruleFor(load.policy, join(dir, 'dist', 'x', 'app.tgz'))?.label, 'rule 1 (releases)');
    assert.equal(ruleFor(load.policy, join(dir, 'src', 'a.ts'))?.label, 'rule 2 (everything)');
    assert.equal(ruleFor(load.policy, '/elsewhere/a.ts'), undefined, 'files outside the base are never covered');
    assert.equal(ruleFor(load.policy, join(dir, 'src', 'a.ts'))?.keys[0]?.source, join(dir, 'keys', 'cosign.pub'));
  });

  it('a glob without "/" matches the file name in any folder', async () => {
    const load = await compile({ version: 1, rules: [{ match: ['*.tar.gz'], keys: ['../keys/cosign.pub'] }] });
    assert.ok(load.ok);
    assert.ok(ruleFor(load.policy, join(dir, 'a', 'b', 'x.tar.gz')));
    assert.equal(ruleFor(load.policy, join(dir, 'a', 'x.zip')), undefined);
    const anchored = await compile({ version: 1, rules: [{ match: ['/*.txt'], keys: ['../keys/cosign.pub'] }] });
    assert.ok(anchored.ok);
    assert.ok(ruleFor(anchored.policy, join(dir, 'top.txt')), 'a leading "/" anchors to the base folder');
    assert.equal(ruleFor(anchored.policy, join(dir, 'sub', 'deep.txt')), undefined);
  });

  it('exact identities match whole values only; regular expressions are anchored', async () => {
    const load = await compile({
      version: 1,
      rules: [
        {
          match: ['**'],
          identities: [
            { subject: 'dev@example.test', issuer: ISSUER },
            { subjectRegExp: 'https://github\\.com/octo/.+/\\.github/workflows/release\\.yml@refs/tags/v.*', issuerRegExp: 'https://token\\.actions\\.githubusercontent\\.com' },
          ],
        },
      ],
    });
    assert.ok(load.ok);
    const state = loaded(load);
    const rule = decide(state, join(dir, 'f'), { trustedRoot: { error: 'x', remedy: 'y' }, network: { allowed: false, rekorURL: '' } }).rule;
    const verdict = (s: SignerInfo) => applyPolicy(valid(s), state, rule).state;
    assert.equal(verdict(certSigner('dev@example.test')), 'verified');
    for (const near of ['evil-dev@example.test', 'dev@example.test.attacker.com', 'dev@example.tes', 'DEV@example.test']) {
      assert.equal(verdict(certSigner(near)), 'failed', near);
    }
    assert.equal(verdict(certSigner('dev@example.test', 'https://accounts.example.test')), 'failed', 'issuer must match too');
    const wf = 'https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.3';
    assert.equal(verdict(certSigner(wf)), 'verified');
    assert.equal(verdict(certSigner(`${wf}#extra`)), 'verified', '.* may take any suffix the pattern itself allows');
    assert.equal(verdict(certSigner(`x${wf}`)), 'failed', 'anchored at the start');
    assert.equal(verdict(certSigner(wf, `${ISSUER}.evil`)), 'failed', 'anchored at the end');
  });

  it('Fulcio extension constraints must all hold', async () => {
    const load = await compile({
      version: 1,
      rules: [{ match: ['**'], identities: [{ subjectRegExp: '.*', issuer: ISSUER, extensions: { sourceRepositoryURI: 'https://github.com/octo/app', sourceRepositoryRef: 'refs/heads/main' } }] }],
    });
    assert.ok(load.ok, errors(load).join('; '));
    const state = loaded(load);
    const rule = load.policy.rules[0];
    const ext = (uri: string, ref: string) => ({ '1.3.6.1.4.1.57264.1.12': uri, '1.3.6.1.4.1.57264.1.14': ref });
    assert.equal(applyPolicy(valid(certSigner('x', ISSUER, ext('https://github.com/octo/app', 'refs/heads/main'))), state, rule).state, 'verified');
    assert.equal(applyPolicy(valid(certSigner('x', ISSUER, ext('https://github.com/octo/fork', 'refs/heads/main'))), state, rule).state, 'failed');
    assert.equal(applyPolicy(valid(certSigner('x', ISSUER, {})), state, rule).state, 'failed');
  });

  it('valid evidence with no policy, or no rule for the file, is untrusted; a broken policy never verifies', async () => {
    const signer = certSigner('dev@example.test');
    const none = applyPolicy(valid(signer), { kind: 'none' }, undefined);
    assert.equal(none.state, 'untrusted');
    assert.match(none.failure!.remedy, /policy\.json/);
    const load = await compile({ version: 1, rules: [{ match: ['dist/**'], identities: [{ subject: 'dev@example.test', issuer: ISSUER }] }] });
    assert.equal(applyPolicy(valid(signer), loaded(load), undefined).state, 'untrusted');
    const broken = await compile('{"version": 1, "rules": [');
    assert.equal(broken.ok, false);
    const result = applyPolicy(valid(signer), loaded(broken), undefined);
    assert.equal(result.state, 'unverifiable');
    assert.equal(result.failure?.check, 'policy');
    // Evidence that failed stays failed whatever the policy says.
    assert.equal(applyPolicy({ ...valid(signer), state: 'failed' }, loaded(load), undefined).state, 'failed');
  });

  it('reports each problem with its position, and does not load a policy with errors', async () => {
    const text = JSON.stringify(
      {
        version: 1,
        rules: [
          { match: ['**'], identities: [{ subject: 'a', subjectRegExp: 'b', issuer: ISSUER }] },
          { match: ['**'], identities: [{ subjectRegExp: '(unclosed', issuer: ISSUER }] },
          { match: ['**'], identities: [{ subject: 'a' }] },
          { match: ['**'], keys: ['missing.pub'] },
          { match: ['**'], identities: [{ subject: 'a', issuer: ISSUER, extensions: { favouriteColour: 'blue' } }] },
          { match: 'dist/**' },
        ],
      },
      null,
      2,
    );
    const load = await compilePolicy(policyPath, text);
    assert.equal(load.ok, false);
    const messages = errors(load);
    assert.ok(messages.some((m) => /either "subject" or "subjectRegExp"/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /not a valid regular expression/.test(m)));
    assert.ok(messages.some((m) => /needs "issuer"/.test(m)));
    assert.ok(messages.some((m) => /missing\.pub cannot be read: no such file/.test(m)));
    assert.ok(messages.some((m) => /Unknown Fulcio extension "favouriteColour"/.test(m)));
    assert.ok(messages.some((m) => /"match" of rule 6 must be an array/.test(m)));
    const regex = load.diagnostics.find((d) => /regular expression/.test(d.message))!;
    assert.equal(text.slice(regex.offset, regex.offset + regex.length), '"(unclosed"', 'the diagnostic points at the offending value');
  });

  it('rejects what is not a policy with one clear diagnostic', async () => {
    for (const bad of ['', '[]', '{"version": 2, "rules": []}', '{"version": 1}', 'null']) {
      const load = await compilePolicy(policyPath, bad);
      assert.equal(load.ok, false, bad);
      assert.ok(errors(load).length >= 1, bad);
    }
    const missing = await loadPolicyFile(join(dir, 'nope.json'));
    assert.equal(missing.ok, false);
    assert.match(errors(missing)[0]!, /cannot be read/);
  });

  it('a rule with keys or OpenPGP keys passes them to verifiers; a key signer is named by its rule', async () => {
    await writeFile(join(dir, 'keys', 'KEYS'), 'pub   rsa4096 2020-01-01\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n');
    const load = await compile({ version: 1, rules: [{ match: ['**'], keys: ['../keys/cosign.pub'], openpgpKeys: ['../keys/KEYS'] }] });
    assert.ok(load.ok, errors(load).join('; '));
    const decision = decide(loaded(load), join(dir, 'f'), { trustedRoot: { error: 'x', remedy: 'y' }, network: { allowed: false, rekorURL: '' } });
    assert.equal(decision.inputs.publicKeys.length, 1);
    assert.equal(decision.inputs.openpgpKeys[0]?.source, join(dir, 'keys', 'KEYS'));
    const keySigner: SignerInfo = { kind: 'key', hint: '', source: join(dir, 'keys', 'cosign.pub') };
    assert.equal(applyPolicy(valid(keySigner), loaded(load), decision.rule).state, 'verified');
    assert.equal(applyPolicy(valid({ ...keySigner, source: '/other.pub' }), loaded(load), decision.rule).state, 'failed');
    assert.equal(applyPolicy(valid(certSigner('dev@example.test')), loaded(load), decision.rule).state, 'failed', 'a keyless signer is not named by a key-only rule');
  });
});

describe('image globs in the trust policy', () => {
  const matches = (glob: string, name: string) => imageGlobMatcher(glob)(name);

  it('spells Docker Hub names as Docker does', () => {
    for (const glob of ['alpine', 'docker.io/alpine', 'index.docker.io/alpine', 'docker.io/library/alpine']) {
      assert.ok(matches(glob, 'docker.io/library/alpine'), glob);
    }
    assert.ok(!matches('docker.io/*', 'docker.io/library/alpine'), 'one * stays within one path part');
    assert.ok(matches('docker.io/**', 'docker.io/library/alpine'));
  });

  it('refuses globs that would cover more, or nothing, than they seem to', () => {
    assert.throws(() => imageGlobMatcher('!docker.io/library/alpine'), /cannot exclude/);
    assert.throws(() => imageGlobMatcher('ghcr.io'), /names a registry only; write ghcr\.io\/\*\*/);
    assert.throws(() => imageGlobMatcher('localhost:5000'), /names a registry only/);
    assert.throws(() => imageGlobMatcher('ghcr.io/octo/app:1.0'), /names a tag/);
    assert.throws(() => imageGlobMatcher('ghcr.io/octo/app@sha256:00'), /names a digest/);
  });
});
