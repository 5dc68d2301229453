// Trust policy files, mutated: compilePolicy always answers with diagnostics (never an
// exception, never a hang), diagnostics point inside the text, and a policy with errors
// never lets applyPolicy call anything `verified`.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Key, PrivateKey } from 'openpgp' with { 'resolution-mode': 'import' };
import { applyPolicy, type PolicyState } from '../../src/core/policy/evaluate';
import { compilePolicy, ruleFor, type PolicyLoad, type PolicyRule } from '../../src/core/policy/policy';
import { FULCIO_OID_PREFIX } from '../../src/core/verify/certificate';
import type { Evidence } from '../../src/core/verify/result';
import { certificateSignerOf, validEvidence } from '../support/evidence';
import { startSigstoreInstance } from '../support/sigstore-instance';
import { applyJsonOp, bounded, byteOps, CALL_LIMIT_MS, checkKind, jsonOp, mutateBytes, serialize, sometimes, toTree, type J } from './support';

type OpenPgp = typeof import('openpgp', { with: { 'resolution-mode': 'import' } });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const openpgp = require('openpgp') as OpenPgp;

const ISSUER = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.2.3';

/** The valid policy every run starts from: each kind of rule and field the loader knows. */
const POLICY = {
  $schema: '../node_modules/sigstore-vscode/media/policy.schema.json',
  version: 1,
  rules: [
    {
      name: 'releases',
      match: ['dist/**', '*.tar.gz'],
      identities: [
        { subject: 'alice@example.test', issuer: 'https://issuer.example.test' },
        {
          subjectRegExp: 'https://github\\.com/org/repo/\\.github/workflows/.+@refs/tags/v.*',
          issuer: ISSUER,
          extensions: { sourceRepositoryURI: 'https://github.com/org/repo', [`${FULCIO_OID_PREFIX}14`]: 'refs/tags/v1.2.3' },
        },
      ],
      trustedRoot: '../trusted_root.json',
    },
    { name: 'tools', match: ['/bin/*'], keys: ['../keys/cosign.pub'] },
    { name: 'apache', match: ['**/*.asc-signed'], openpgpKeys: ['../keys/KEYS', '../keys/release.gpg'] },
    { match: ['**'], images: ['ghcr.io/org/*'], identities: [{ subjectRegExp: '.*@example\\.test', issuerRegExp: 'https://.*' }] },
  ],
};

// Values that reach the file system, the regular-expression compiler and the glob matcher.
const NASTY = [
  '', '.', '..', '/', '../keys', '../keys/', '../keys/cosign.pub/', 'missing.pub', '../keys/KEYS', '../keys/cosign.pub', '../trusted_root.json',
  '../keys/huge.pub', '../keys/empty', '\u0000', 'C:\\keys\\cosign.pub', '~/cosign.pub', '/etc/hostname',
  '(', '[', '\\', '(?<n>', '(?=x)', '\\p{L}+', '\\k<x>', '.{9999999999}', '(a|b)*c', '*', '**', '!x', '{a,b', '[!a]', '***/..', '\\\\', 'a'.repeat(300),
  'issuerV1', 'issuer', 'githubWorkflowSHA', `${FULCIO_OID_PREFIX}8`, `${FULCIO_OID_PREFIX}`, '1.3.6.1.4.1.57264.1.999999999999999999999',
];

const certificateSigner = certificateSignerOf;
const verifiedBy = validEvidence;

interface Probe {
  readonly artifact: string;
  readonly evidence: Evidence;
  /** The rule of the valid policy that trusts this signer for this artifact. */
  rule?: PolicyRule;
}

describe('property: trust policies under mutation', function () {
  this.timeout(600_000);
  let dir: string;
  let policyPath: string;
  let probes: Probe[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-property-policy-'));
    await mkdir(join(dir, '.sigstore'));
    await mkdir(join(dir, 'keys'));
    policyPath = join(dir, '.sigstore', 'policy.json');
    const inst = await startSigstoreInstance();
    await writeFile(join(dir, 'trusted_root.json'), JSON.stringify(inst.trustedRoot));
    await inst.close();
    await writeFile(join(dir, 'keys', 'cosign.pub'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }));
    const pgp = (await openpgp.generateKey({ userIDs: [{ name: 'Release', email: 'release@example.test' }], format: 'object' })) as unknown as { privateKey: PrivateKey; publicKey: Key };
    await writeFile(join(dir, 'keys', 'KEYS'), `pub   ${pgp.publicKey.getFingerprint()}\n${pgp.publicKey.armor()}`);
    await writeFile(join(dir, 'keys', 'release.gpg'), pgp.publicKey.write());
    await writeFile(join(dir, 'keys', 'empty'), '');
    // Larger than the 10 MiB a key file may have (sparse: no disk space used).
    await writeFile(join(dir, 'keys', 'huge.pub'), '');
    await truncate(join(dir, 'keys', 'huge.pub'), 11 * 1024 * 1024);

    const valid = await compilePolicy(policyPath, JSON.stringify(POLICY, null, 2));
    assert.ok(valid.ok, valid.diagnostics.map((d) => d.message).join('; '));
    probes = [
      { artifact: join(dir, 'dist', 'app.tar.gz'), evidence: verifiedBy(certificateSigner('alice@example.test', 'https://issuer.example.test', {})) },
      {
        artifact: join(dir, 'dist', 'app.tar.gz'),
        evidence: verifiedBy(certificateSigner(WORKFLOW, ISSUER, { [`${FULCIO_OID_PREFIX}12`]: 'https://github.com/org/repo', [`${FULCIO_OID_PREFIX}14`]: 'refs/tags/v1.2.3' })),
      },
      { artifact: join(dir, 'bin', 'tool'), evidence: verifiedBy({ kind: 'key', hint: '', source: join(dir, 'keys', 'cosign.pub') }) },
      { artifact: join(dir, 'src', 'x.asc-signed'), evidence: verifiedBy({ kind: 'openpgp', fingerprint: pgp.publicKey.getFingerprint().toUpperCase(), userIds: [], source: join(dir, 'keys', 'KEYS') }) },
      { artifact: join(dir, 'docs', 'readme.md'), evidence: verifiedBy(certificateSigner('bob@example.test', 'https://accounts.example.test', {})) },
    ];
    // Each probe is verified under the valid policy: the broken ones below must undo that.
    for (const p of probes) {
      p.rule = ruleFor(valid.policy, p.artifact);
      const decided = applyPolicy(p.evidence, { kind: 'loaded', load: valid }, p.rule);
      assert.equal(decided.state, 'verified', `${p.artifact}: ${decided.summary}`);
    }
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const input = fc.record({
    edits: fc.array(jsonOp, { maxLength: 3 }),
    // Strings replaced by values that reach the file system, RegExp and picomatch.
    nasty: fc.array(fc.record({ at: fc.nat(), choice: fc.nat() }), { maxLength: 2 }),
    style: fc.nat({ max: 3 }),
    raw: sometimes(byteOps(3), 30),
  });

  /** Replaces the `at`-th string of the tree (keys of objects included) with a nasty value. */
  function replaceString(tree: J, at: number, value: string): void {
    const strings: { set: (v: string) => void }[] = [];
    const walk = (j: J) => {
      if (j.t === 'obj') {
        for (const entry of j.e) {
          strings.push({ set: (v) => (entry[0] = v) });
          if (entry[1].t === 'str') {
            const node = entry[1];
            strings.push({ set: (v) => (node.v = v) });
          } else walk(entry[1]);
        }
      } else if (j.t === 'arr') {
        j.a.forEach((child) => (child.t === 'str' ? strings.push({ set: (v) => (child.v = v) }) : walk(child)));
      }
    };
    walk(tree);
    strings[at % strings.length]?.set(value);
  }

  function assertDiagnostics(load: PolicyLoad, text: string): void {
    for (const d of load.diagnostics) {
      assert.ok(typeof d.message === 'string' && d.message.length > 0, 'a diagnostic without a message');
      assert.ok(d.severity === 'error' || d.severity === 'warning', `severity ${String(d.severity)}`);
      assert.ok(Number.isInteger(d.offset) && d.offset >= 0 && d.offset <= text.length, `diagnostic offset ${d.offset} outside the ${text.length}-character text: ${d.message}`);
      assert.ok(Number.isInteger(d.length) && d.length >= 0, `diagnostic length ${d.length}: ${d.message}`);
    }
    if (load.ok) assert.ok(!load.diagnostics.some((d) => d.severity === 'error'), 'a loaded policy with error diagnostics');
    else assert.ok(load.diagnostics.some((d) => d.severity === 'error'), 'a policy refused without an error diagnostic');
  }

  // Not random: a path naming a FIFO or a character device (a mutation the property cannot
  // try in-process: a blocked open() holds a libuv thread for good). Each case runs in a
  // child process that is killed when it overruns, so a hang fails the test, not the suite.
  it(`compilePolicy returns within ${CALL_LIMIT_MS / 1000} s, with an error, when a key or root path names a FIFO or /dev/zero`, async function () {
    this.timeout(60_000);
    const cases = (['keys', 'openpgpKeys', 'trustedRoot'] as const).flatMap((field) => {
      const fifo = join(dir, `${field}.fifo`);
      execFileSync('mkfifo', [fifo]);
      return [fifo, '/dev/zero'].map((special) => ({ field, special }));
    });
    const results = await Promise.all(cases.map(({ field, special }) => compileInChild(field, special)));
    const problems = results.flatMap((r) =>
      !r.finished ? [`"${r.field}": "${r.special}" did not finish within ${CALL_LIMIT_MS} ms`] : r.threw ? [`"${r.field}": "${r.special}" threw ${r.threw}`] : r.ok ? [`"${r.field}": "${r.special}" was accepted`] : [],
    );
    assert.equal(problems.length, 0, problems.join('\n'));
  });

  async function compileInChild(field: 'keys' | 'openpgpKeys' | 'trustedRoot', special: string) {
    const rule = { match: ['**'], [field]: field === 'trustedRoot' ? special : [special], ...(field === 'trustedRoot' ? { keys: ['../keys/cosign.pub'] } : {}) };
    const text = JSON.stringify({ version: 1, rules: [rule] });
    // The child times the call itself (its own start-up is not the verifier's time) and exits at once.
    const script = `
      const { compilePolicy } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'core', 'policy', 'policy.ts'))});
      const timer = setTimeout(() => { process.stdout.write(JSON.stringify({ finished: false })); process.exit(0); }, ${CALL_LIMIT_MS});
      compilePolicy(${JSON.stringify(policyPath)}, ${JSON.stringify(text)}).then(
        (load) => { clearTimeout(timer); process.stdout.write(JSON.stringify({ finished: true, ok: load.ok })); process.exit(0); },
        (e) => { clearTimeout(timer); process.stdout.write(JSON.stringify({ finished: true, threw: String(e) })); process.exit(0); });`;
    const stdout = await new Promise<string>((resolve) => {
      // The kill is the last resort: a child whose event loop is stuck cannot run its own timer.
      execFile(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: join(__dirname, '..', '..'), timeout: CALL_LIMIT_MS + 5_000, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (_error, out) => resolve(String(out)));
    });
    let parsed: { finished?: boolean; ok?: boolean; threw?: string } = {};
    try {
      parsed = JSON.parse(stdout) as typeof parsed;
    } catch {
      // Killed, or crashed (out of memory): it did not finish.
    }
    return { field, special, finished: parsed.finished === true, ok: parsed.ok, threw: parsed.threw };
  }

  it('compilePolicy never throws or hangs; a policy with errors never lets applyPolicy verify', async () => {
    await checkKind('policy', input, async (i, keep) => {
      let tree = toTree(POLICY);
      for (const n of i.nasty) replaceString(tree, n.at, NASTY[n.choice % NASTY.length]!);
      for (const edit of i.edits) tree = applyJsonOp(tree, edit);
      let bytes: Buffer = Buffer.from(serialize(tree, i.style));
      if (i.raw) bytes = mutateBytes(bytes, i.raw);
      const text = bytes.toString('utf8');
      keep('policy.json', bytes);

      const load = await bounded('compilePolicy', () => compilePolicy(policyPath, text));
      assertDiagnostics(load, text);
      const state: PolicyState = { kind: 'loaded', load };
      for (const p of probes) {
        const rule = load.ok ? ruleFor(load.policy, p.artifact) : undefined;
        // With errors: not even the rule that trusted the signer in the valid policy may verify it.
        for (const r of load.ok ? [rule] : [rule, p.rule]) {
          const decided = applyPolicy(p.evidence, state, r);
          if (!load.ok) assert.notEqual(decided.state, 'verified', `a policy with errors verified ${p.artifact}: ${decided.summary}`);
          else assert.ok(['verified', 'untrusted', 'failed'].includes(decided.state), `applyPolicy gave ${decided.state}`);
        }
      }
      if (load.ok) {
        // Compiled matchers run on every artifact and signer: they must not throw either.
        for (const rule of load.policy.rules) {
          for (const p of probes) rule.matches(p.artifact.slice(dir.length + 1));
          for (const id of rule.identities) {
            id.subject.test(WORKFLOW);
            id.issuer.test(undefined);
          }
        }
      }
      return { state: load.ok ? 'ok' : 'refused', guarded: !load.ok };
    });
  });
});
