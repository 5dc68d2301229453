// Companions that are damaged (or are someone's secrets, reached through a link) must not
// have their content repeated in what the verifiers say: one case per kind of verifier,
// each through verifyArtifact, the whole result searched for the planted marker.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify } from '../../../src/core/artifacts/companions';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { verifyArtifact } from '../../../src/core/verify/artifactVerifier';
import { companionTargets } from '../../../src/core/verify/companionVerifier';
import type { VerificationResult } from '../../../src/core/verify/result';
import { startSigstoreInstance, type SigstoreInstance } from '../../support/sigstore-instance';
import { assertNoMarker, MARKER, markerPlaces } from '../../support/planted-marker';

const OFFLINE = { allowed: false, rekorURL: 'http://127.0.0.1:9' };
const DATA = Buffer.from('the artifact\n');
const SHA256 = createHash('sha256').update(DATA).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('no companion content in messages', function () {
  this.timeout(20_000);
  let inst: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  before(async () => {
    inst = await startSigstoreInstance();
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test root');
    dir = await mkdtemp(join(tmpdir(), 'sigstore-marker-'));
  });
  after(async () => {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  /** Writes the artifact and its companions (by suffix) in a fresh folder and verifies it. */
  async function verifyWith(companions: Record<string, string | Buffer>): Promise<VerificationResult> {
    const folder = join(dir, `case-${n++}`);
    await mkdir(folder);
    const artifact = join(folder, 'app.tar.gz');
    await writeFile(artifact, DATA);
    const paths: string[] = [];
    for (const [name, content] of Object.entries(companions)) {
      const path = name.startsWith('/') ? join(folder, name.slice(1)) : artifact + name;
      await writeFile(path, content);
      paths.push(path);
    }
    const result = await verifyArtifact(artifact, paths.map((p) => classify(p)!.companion), { policy: { kind: 'none' }, trustedRoot: root, network: OFFLINE });
    assert.ok(result.evidence.length > 0, 'the companion gave evidence');
    return result;
  }

  it('the helper finds the marker anywhere in a result (so the cases below can fail)', () => {
    assert.equal(markerPlaces({ a: [{ b: `x${MARKER}y` }], notes: [] }).length, 1);
    assert.throws(() => assertNoMarker({ failure: { remedy: MARKER } }, 'x'), /\$\.failure\.remedy/);
  });

  it('checksums and checksum lists', async () => {
    for (const text of [`${MARKER}  app.tar.gz\n`, `${SHA256.slice(0, 20)}${MARKER}  app.tar.gz\n`, `${MARKER}-256 (app.tar.gz) = ${SHA256}\n`, `not a checksum ${MARKER}\n`]) {
      const single = await verifyWith({ '.sha256': text });
      assert.equal(single.state, 'failed', single.summary);
      assertNoMarker(single, `F.sha256 holding ${JSON.stringify(text)}`);
      const list = await verifyWith({ '/SHA256SUMS': `${SHA256}  app.tar.gz\n${text}` });
      assert.equal(list.state, 'failed', list.summary);
      assertNoMarker(list, `SHA256SUMS holding ${JSON.stringify(text)}`);
    }
    // Finding the files a list is about reads it too (the CLI prints what that throws).
    const list = join(dir, 'SHA512SUMS');
    await writeFile(list, `${MARKER}  app.tar.gz\n`);
    await assert.rejects(companionTargets(classify(list)!.companion), (e: Error) => {
      assertNoMarker({ message: e.message, stack: e.stack }, 'the error finding a list\'s targets');
      return /Line 1/.test(e.message);
    });
    // A well-formed line naming another file: noted, without the name.
    const renamed = await verifyWith({ '.sha256': `${SHA256}  ${MARKER}.tar.gz\n` });
    assert.equal(renamed.state, 'integrity', renamed.summary);
    assertNoMarker(renamed, 'a checksum line naming another file');
  });

  it('Sigstore bundles', async () => {
    const v03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
    const cases = [
      `{"mediaType": "${v03}", "x": ${MARKER}}`,
      `${MARKER}`,
      `{"mediaType": "${MARKER}"}`,
      JSON.stringify({
        mediaType: v03,
        verificationMaterial: { publicKey: { hint: 'k' }, tlogEntries: [] },
        messageSignature: { messageDigest: { algorithm: MARKER, digest: b64('d') }, signature: b64('s') },
      }),
      JSON.stringify({ mediaType: v03, verificationMaterial: { certificate: { rawBytes: b64(`0${MARKER}`) }, tlogEntries: [] }, messageSignature: { signature: b64('s') } }),
    ];
    for (const text of cases) {
      const result = await verifyWith({ '.sigstore.json': text });
      assert.notEqual(result.state, 'verified');
      assertNoMarker(result, `a bundle holding ${text.slice(0, 80)}`);
    }
  });

  it('cosign legacy bundles (.bundle)', async () => {
    const cases = [
      `{"base64Signature": ${MARKER}}`,
      JSON.stringify({ base64Signature: `${MARKER}!` }),
      JSON.stringify({ base64Signature: b64('sig'), cert: `-----BEGIN ${MARKER}-----\nAAAA\n-----END ${MARKER}-----\n` }),
      JSON.stringify({
        base64Signature: b64('sig'),
        rekorBundle: {
          SignedEntryTimestamp: b64('set'),
          Payload: { body: b64(`{"kind":"hashedrekord","apiVersion":"${MARKER}","spec":{"data":{"hash":{"algorithm":"${MARKER}","value":"00"}}}}`), integratedTime: 1, logIndex: 1, logID: '00'.repeat(32) },
        },
      }),
      JSON.stringify({ base64Signature: b64('sig'), rekorBundle: { SignedEntryTimestamp: b64('set'), Payload: { body: b64(`{${MARKER}`), integratedTime: 1, logIndex: 1, logID: '00'.repeat(32) } } }),
    ];
    for (const text of cases) {
      const result = await verifyWith({ '.bundle': text });
      assert.equal(result.state, 'failed', result.summary);
      assertNoMarker(result, `a .bundle holding ${text.slice(0, 80)}`);
    }
  });

  it('cosign signatures and their certificates', async () => {
    const notBase64 = await verifyWith({ '.sig': `${MARKER}!\n` });
    assert.equal(notBase64.state, 'failed', notBase64.summary);
    assertNoMarker(notBase64, 'a .sig that is not base64');
    for (const pem of [`-----BEGIN ${MARKER}-----\nAAAA\n-----END ${MARKER}-----\n`, `${MARKER}!`, Buffer.concat([Buffer.from([0x30, 0x20]), Buffer.from(MARKER.repeat(3))])]) {
      const result = await verifyWith({ '.sig': b64('a signature'), '.pem': pem });
      assert.equal(result.state, 'failed', result.summary);
      assertNoMarker(result, `a certificate holding ${JSON.stringify(pem.toString())}`);
    }
  });

  it('OpenPGP signatures', async () => {
    for (const text of [`-----BEGIN PGP SIGNATURE-----\n\n${MARKER}\n-----END PGP SIGNATURE-----\n`, `-----BEGIN PGP SIGNATURE-----\n${MARKER}: x\n\nAAAA\n-----END PGP SIGNATURE-----\n`]) {
      const result = await verifyWith({ '.asc': text });
      assert.equal(result.state, 'failed', result.summary);
      assertNoMarker(result, `an .asc holding ${JSON.stringify(text)}`);
    }
  });

  it('in-toto attestation files (JSON lines)', async () => {
    const result = await verifyWith({ '/app.intoto.jsonl': `{"dsseEnvelope": ${MARKER}}\n` });
    assert.equal(result.state, 'failed', result.summary);
    assert.match(result.summary, /line 1 is not valid JSON \(column 18\)/);
    assertNoMarker(result, 'a damaged attestation line');
  });
});
