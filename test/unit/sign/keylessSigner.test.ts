import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileArtifact } from '../../../src/core/artifacts/artifact';
import { SigningError, signFileKeyless } from '../../../src/core/sign/keylessSigner';
import { parseTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { verifyBundleBytes } from '../../../src/core/verify/bundleVerifier';
import { startSigstoreInstance, type SigstoreInstance } from '../../support/sigstore-instance';

/** The local instance's Fulcio decodes tokens without checking them (the sandbox adds that). */
function token(email: string, iat: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: 'https://issuer.example.test', sub: email, email, email_verified: true, aud: 'sigstore', iat, exp: iat + 600 })}.`;
}

describe('keyless signing (core)', function () {
  this.timeout(20_000);
  let inst: SigstoreInstance;
  let dir: string;
  before(async () => {
    inst = await startSigstoreInstance();
    dir = await mkdtemp(join(tmpdir(), 'sigstore-sign-'));
  });
  after(async () => {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs a file into a bundle that our verifier accepts, naming the token identity', async () => {
    const path = join(dir, 'release.txt');
    await writeFile(path, 'release 1.0\n');
    const iat = Math.floor(inst.clock.getTime() / 1000);
    const { bundle, logIndex } = await signFileKeyless(path, token('dev@example.test', iat), { fulcioURL: inst.fulcioURL, rekorURL: inst.rekorURL, tsaURL: inst.tsaURL });
    assert.match(logIndex ?? '', /^\d+$/);
    const root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test');
    const evidence = await verifyBundleBytes(`${path}.sigstore.json`, Buffer.from(JSON.stringify(bundle)), fileArtifact(path), { trustedRoot: root });
    assert.equal(evidence.state, 'verified', evidence.summary);
    assert.equal(evidence.signer?.kind === 'certificate' && evidence.signer.identity, 'dev@example.test');
    assert.ok(evidence.timestamps.some((t) => t.source === 'timestamp-authority'), 'the TSA timestamp is in the bundle');
  });

  it('explains a failing Fulcio without ever showing the token', async () => {
    const path = join(dir, 'x.txt');
    await writeFile(path, 'x\n');
    const secret = token('dev@example.test', Math.floor(Date.now() / 1000));
    await assert.rejects(signFileKeyless(path, secret, { fulcioURL: 'http://127.0.0.1:9', rekorURL: inst.rekorURL }), (e: unknown) => {
      assert.ok(e instanceof SigningError);
      assert.equal(e.code, 'FULCIO');
      assert.ok(!e.message.includes(secret.split('.')[1]!), 'no part of the token in the message');
      assert.match(e.remedy ?? '', /Fulcio URL/);
      return true;
    });
  });
});
