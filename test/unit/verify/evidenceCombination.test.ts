/**
 * How a file's evidence combines (issue "Nothing masks a failure"): what anyone can write next
 * to a file — a checksum, a junk signature, a file of junk lines — never lifts a failure, and
 * every file gets a result, even when the verifier breaks.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, type Companion } from '../../../src/core/artifacts/companions';
import { compilePolicy } from '../../../src/core/policy/policy';
import type { PolicyState } from '../../../src/core/policy/evaluate';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { verifyArtifact } from '../../../src/core/verify/artifactVerifier';
import { MAX_EVIDENCE_PER_COMPANION } from '../../../src/core/verify/evidenceBuilder';
import { DEFAULT_IDENTITY, DEFAULT_ISSUER, signFile, startSigstoreInstance, type SigstoreInstance } from '../../support/sigstore-instance';

const OFFLINE = { allowed: false, rekorURL: 'https://rekor.invalid' } as const;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('combining a file’s evidence', function () {
  this.timeout(60_000);
  let inst: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  let policy: PolicyState;
  before(async () => {
    inst = await startSigstoreInstance();
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test root');
    dir = await mkdtemp(join(tmpdir(), 'sigstore-combination-'));
    await mkdir(join(dir, '.sigstore'));
    const path = join(dir, '.sigstore', 'policy.json');
    const load = await compilePolicy(path, JSON.stringify({ version: 1, rules: [{ name: 'all', match: ['**'], identities: [{ subject: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER }] }] }));
    assert.ok(load.ok);
    policy = { kind: 'loaded', load };
  });
  after(async () => {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  });

  const companion = (path: string): Companion => classify(path)!.companion;
  const verify = (artifact: string, companions: string[]) =>
    verifyArtifact(artifact, companions.map(companion), { policy, trustedRoot: root, network: OFFLINE });

  /** A file signed by the trusted identity, then changed: its bundle fails. */
  async function tampered(name: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(`${path}.sigstore.json`, JSON.stringify(await signFile(inst, Buffer.from('the original\n'), 'message')));
    await writeFile(path, 'the attacker’s version\n');
    return path;
  }

  it('a checksum of the tampered bytes does not lift a failed bundle to integrity', async () => {
    const path = await tampered('checksummed.txt');
    await writeFile(`${path}.sha256`, `${sha256('the attacker’s version\n')}  checksummed.txt\n`);
    const result = await verify(path, [`${path}.sigstore.json`, `${path}.sha256`]);
    assert.equal(result.state, 'failed', result.summary);
    assert.deepEqual(result.evidence.map((e) => e.state).sort(), ['failed', 'integrity'], 'each piece keeps its own state');
    assert.match(result.summary, /1 of 2 pieces of evidence failed/);
  });

  it('a junk .sig does not lift a failed bundle to unverifiable', async () => {
    const path = await tampered('junk-sig.txt');
    await writeFile(`${path}.sig`, 'not a signature at all');
    const result = await verify(path, [`${path}.sigstore.json`, `${path}.sig`]);
    assert.equal(result.state, 'failed', result.summary);
    assert.equal(result.evidence.find((e) => e.kind === 'sigstore-bundle')?.failure?.check, 'artifact-binding');
  });

  it('a failing checksum next to a verified bundle makes the file failed', async () => {
    const path = join(dir, 'stale-sum.txt');
    const data = Buffer.from('signed and checksummed\n');
    await writeFile(path, data);
    await writeFile(`${path}.sigstore.json`, JSON.stringify(await signFile(inst, data, 'message')));
    await writeFile(`${path}.sha256`, `${sha256('another version')}  stale-sum.txt\n`);
    assert.equal((await verify(path, [`${path}.sigstore.json`])).state, 'verified');
    assert.equal((await verify(path, [`${path}.sigstore.json`, `${path}.sha256`])).state, 'failed');
  });

  it('a valid signature by a signer the policy does not name does not undo a trusted one', async () => {
    const path = join(dir, 'cosigned.txt');
    const data = Buffer.from('signed by two people\n');
    await writeFile(path, data);
    await writeFile(`${path}.sigstore.json`, JSON.stringify(await signFile(inst, data, 'message')));
    await writeFile(`${path}.bundle`, JSON.stringify(await signFile(inst, data, 'message', { identity: 'mallory@example.test' })));
    const result = await verify(path, [`${path}.sigstore.json`, `${path}.bundle`]);
    assert.equal(result.state, 'verified', result.summary);
    assert.equal(result.evidence.find((e) => e.companion.endsWith('.bundle'))?.state, 'failed', 'the other signer is still shown as not trusted');
    // Alone, the other signer's signature fails the policy.
    assert.equal((await verify(path, [`${path}.bundle`])).state, 'failed');
  });

  it('a rule-covered file whose companions name nothing for it is unsigned', async () => {
    const path = join(dir, 'listed-elsewhere.bin');
    await writeFile(path, 'x');
    await writeFile(join(dir, 'SHA256SUMS'), `${sha256('y')}  other.bin\n`);
    const result = await verify(path, [join(dir, 'SHA256SUMS')]);
    assert.equal(result.state, 'unsigned');
    assert.match(result.summary, /rule 1 \(all\) of the trust policy expects one/);
  });

  it('200,000 junk lines: one bounded result, not an exception', async () => {
    const path = join(dir, 'junk.bin');
    await writeFile(path, 'x');
    const jsonl = join(dir, 'junk.bin.intoto.jsonl');
    await writeFile(jsonl, 'x\n'.repeat(200_000));
    const result = await verify(path, [jsonl]);
    assert.equal(result.state, 'failed');
    assert.ok(result.evidence.length <= 9, `${result.evidence.length} pieces of evidence`);
    assert.match(result.evidence.at(-1)!.summary, /^199992 more lines of the attestation file are not valid JSON/);
  });

  it('more attestations naming a file than are checked: failed, not the first ones alone', async () => {
    const path = join(dir, 'many.bin');
    const data = Buffer.from('attested too often\n');
    await writeFile(path, data);
    const line = JSON.stringify(await signFile(inst, data, 'dsse', { subjectName: 'many.bin' }));
    const jsonl = join(dir, 'many.intoto.jsonl');
    await writeFile(jsonl, `${line}\n`.repeat(MAX_EVIDENCE_PER_COMPANION + 1));
    const result = await verify(path, [jsonl]);
    assert.equal(result.state, 'failed');
    assert.equal(result.evidence.length, 1);
    assert.match(result.summary, /holds 257 pieces of evidence about this file, more than the 256 that are checked/);
  });

  it('a verifier that throws gives the file an unverifiable result naming the error', async () => {
    const path = join(dir, 'breaks.bin');
    await writeFile(path, 'x');
    let reads = 0;
    // The first look at the companion's kind throws, as a RangeError deep inside a verifier would.
    const breaking = {
      path: join(dir, 'breaks.bin.intoto.jsonl'),
      get kind(): Companion['kind'] {
        if (reads++ === 0) throw new RangeError('Maximum call stack size exceeded');
        return 'attestations';
      },
    } as Companion;
    const result = await verifyArtifact(path, [breaking], { policy, trustedRoot: root, network: OFFLINE });
    assert.equal(result.state, 'unverifiable');
    assert.equal(result.internalError, 'RangeError: Maximum call stack size exceeded');
    assert.equal(result.evidence[0]?.kind, 'intoto-attestation');
    assert.match(result.summary, /The verifier could not check this companion: RangeError/);
  });
});
