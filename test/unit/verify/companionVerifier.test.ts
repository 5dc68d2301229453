import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileArtifact } from '../../../src/core/artifacts/artifact';
import { classify, type Companion } from '../../../src/core/artifacts/companions';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { verifyArtifact } from '../../../src/core/verify/artifactVerifier';
import { companionTargets, verifyCompanion } from '../../../src/core/verify/companionVerifier';
import { signFile, startSigstoreInstance, type SigstoreInstance } from '../../support/sigstore-instance';

const OFFLINE = { allowed: false, rekorURL: 'http://127.0.0.1:9' };

describe('companions of every kind, together', function () {
  this.timeout(20_000);
  let inst: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  before(async () => {
    inst = await startSigstoreInstance();
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test root');
    dir = await mkdtemp(join(tmpdir(), 'sigstore-companions-'));
  });
  after(async () => {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  });

  const companion = (path: string): Companion => classify(path)!.companion;
  const verify = (artifact: string, companions: Companion[]) => verifyArtifact(artifact, companions, { policy: { kind: 'none' }, trustedRoot: root, network: OFFLINE });

  it('a JSON-lines attestation file binds each line to the files its statement names, and reports a damaged line', async () => {
    const a = Buffer.from('artifact a\n');
    const b = Buffer.from('artifact b\n');
    await writeFile(join(dir, 'a.bin'), a);
    await writeFile(join(dir, 'b.bin'), b);
    const [lineA, lineB] = await Promise.all([signFile(inst, a, 'dsse', { subjectName: 'a.bin' }), signFile(inst, b, 'dsse', { subjectName: 'b.bin' })]);
    const escaping = await signFile(inst, a, 'dsse', { subjectName: '../outside.bin' });
    const jsonl = join(dir, 'release.intoto.jsonl');
    await writeFile(jsonl, [JSON.stringify(lineA), JSON.stringify(lineB), '{"damaged": ', JSON.stringify(escaping)].join('\n') + '\n');

    assert.deepEqual((await companionTargets(companion(jsonl))).sort(), [join(dir, 'a.bin'), join(dir, 'b.bin')], 'names leaving the folder are ignored');
    const result = await verify(join(dir, 'a.bin'), [companion(jsonl)]);
    assert.equal(result.state, 'failed', 'a damaged line in the file that vouches for it is not outweighed by a valid one');
    assert.match(result.summary, /^line 3 is not valid JSON \(it ends early\) \(1 of 2 pieces of evidence failed/);
    const [good, damaged] = result.evidence;
    assert.equal(good?.kind, 'intoto-attestation');
    assert.equal(good?.line, 1);
    assert.equal(damaged?.state, 'failed');
    assert.equal(damaged?.line, 3);
    assert.match(damaged!.summary, /line 3 is not valid JSON/);
    // b.bin is bound to line 2 only; a changed b.bin fails.
    await writeFile(join(dir, 'b.bin'), 'changed\n');
    const changed = await verify(join(dir, 'b.bin'), [companion(jsonl)]);
    assert.equal(changed.state, 'failed');
    assert.equal(changed.evidence.find((e) => e.line === 2)?.failure?.check, 'artifact-binding');
  });

  it('several companions: a failure is never outweighed by a checksum, and each keeps its own result', async () => {
    const data = Buffer.from('one file, several companions\n');
    const path = join(dir, 'multi.txt');
    await writeFile(path, data);
    await writeFile(`${path}.sha256`, createHash('sha256').update(data).digest('hex'));
    await writeFile(`${path}.sigstore.json`, JSON.stringify(await signFile(inst, Buffer.from('other content'), 'message')));
    const result = await verify(path, [companion(`${path}.sha256`), companion(`${path}.sigstore.json`)]);
    // Anyone who swaps the file can write a matching checksum next to it.
    assert.equal(result.state, 'failed', 'a matching checksum does not hide a failed bundle');
    assert.deepEqual(result.evidence.map((e) => [e.kind, e.state]).sort(), [
      ['checksum', 'integrity'],
      ['sigstore-bundle', 'failed'],
    ]);
    await writeFile(`${path}.sigstore.json`, JSON.stringify(await signFile(inst, data, 'message')));
    assert.equal((await verify(path, [companion(`${path}.sha256`), companion(`${path}.sigstore.json`)])).state, 'untrusted', 'a valid signature beats a checksum');
  });

  it('routes F.sig by content: cosign base64 or OpenPGP binary', async () => {
    const data = Buffer.from('signed twice over\n');
    const path = join(dir, 'routed.bin');
    await writeFile(path, data);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(`${path}.sig`, sign('sha256', data, privateKey).toString('base64'));
    const inputs = { trustedRoot: root, publicKeys: [], openpgpKeys: [], network: OFFLINE };
    const [cosign] = await verifyCompanion(companion(`${path}.sig`), path, fileArtifact(path), inputs);
    assert.equal(cosign?.kind, 'cosign-signature');

    const openpgp = await import('openpgp');
    const { privateKey: armored } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: 'x@example.test' }], format: 'armored' });
    const key = await openpgp.readPrivateKey({ armoredKey: armored });
    const binary = await openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: key, detached: true, format: 'binary' });
    await writeFile(`${path}.sig`, Buffer.from(binary as Uint8Array));
    const [pgp] = await verifyCompanion(companion(`${path}.sig`), path, fileArtifact(path), inputs);
    assert.equal(pgp?.kind, 'openpgp-signature');
    assert.equal(pgp?.state, 'unverifiable', 'no OpenPGP keys are configured');
  });
});
