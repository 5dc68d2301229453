import { strict as assert } from 'node:assert';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileArtifact, SMALL_FILE_BYTES } from '../../../src/core/artifacts/artifact';
import { KeySigningError, publicKeyPemOf, signFileWithKey } from '../../../src/core/sign/keySigner';
import { publicGoodTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { verifyBundleBytes } from '../../../src/core/verify/bundleVerifier';

// The order of P-256, for the low-S check.
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** The s value of a DER ECDSA signature (SEQUENCE { INTEGER r, INTEGER s }, short lengths). */
function sOf(der: Buffer): bigint {
  const rLen = der[3]!;
  const sLen = der[5 + rLen]!;
  return BigInt(`0x${der.subarray(6 + rLen, 6 + rLen + sLen).toString('hex')}`);
}

describe('signing a file with a key (core)', function () {
  this.timeout(20_000);
  let dir: string;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.from('release 1.0, signed with a key\n');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-keysigner-'));
    await writeFile(join(dir, 'F'), data);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the signature is a DER ECDSA signature over SHA-256 of the bytes: Node crypto verifies it over the file', async () => {
    const s = await signFileWithKey(join(dir, 'F'), privateKey);
    assert.ok(verify('sha256', data, publicKey, s.signature));
    assert.equal(s.sigBase64, s.signature.toString('base64'));
    assert.equal(s.signature[0], 0x30, 'DER SEQUENCE');
    assert.ok(sOf(s.signature) <= N / 2n, 'low S');
    assert.ok(!verify('sha256', Buffer.concat([data, Buffer.from('x')]), publicKey, s.signature));
  });

  it('the bundle is v0.3, empty key hint, SHA2_256 digest of the file, and verifies with the public key', async () => {
    const s = await signFileWithKey(join(dir, 'F'), privateKey);
    assert.deepEqual(s.bundle, {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(data).digest('base64') },
        signature: s.sigBase64,
      },
    });
    const bytes = Buffer.from(JSON.stringify(s.bundle));
    const options = { trustedRoot: publicGoodTrustedRoot(), keys: [{ source: 'release.pub', key: publicKey }] };
    const e = await verifyBundleBytes(join(dir, 'F.sigstore.json'), bytes, fileArtifact(join(dir, 'F')), options);
    assert.equal(e.state, 'verified', e.summary);
    assert.equal(e.signer?.kind === 'key' && e.signer.source, 'release.pub');

    await writeFile(join(dir, 'F.changed'), Buffer.concat([data.subarray(0, 5), Buffer.from('X'), data.subarray(6)]));
    assert.equal((await verifyBundleBytes('x', bytes, fileArtifact(join(dir, 'F.changed')), options)).state, 'failed');
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.equal((await verifyBundleBytes('x', bytes, fileArtifact(join(dir, 'F')), { ...options, keys: [{ source: 'other.pub', key: otherKey }] })).state, 'failed');
  });

  it('a file above the in-memory threshold is streamed and still verifies', async () => {
    const big = Buffer.alloc(SMALL_FILE_BYTES + 4097, 0x61);
    big[big.length - 1] = 0x0a;
    await writeFile(join(dir, 'big'), big);
    const s = await signFileWithKey(join(dir, 'big'), privateKey);
    assert.ok(verify('sha256', big, publicKey, s.signature));
  });

  it('only ECDSA P-256 private keys sign; a missing file or an aborted call fails cleanly', async () => {
    const refused = [generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, generateKeyPairSync('ed25519').privateKey, publicKey];
    for (const key of refused) {
      await assert.rejects(signFileWithKey(join(dir, 'F'), key), (e: unknown) => e instanceof KeySigningError && e.code === 'UNSUPPORTED_KEY');
    }
    await assert.rejects(signFileWithKey(join(dir, 'missing'), privateKey), (e: unknown) => (e as { code?: string }).code === 'NOT_FOUND');
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(signFileWithKey(join(dir, 'F'), privateKey, aborted.signal), (e: unknown) => (e as Error).name === 'AbortError');
  });

  it('publicKeyPemOf gives the SPKI PEM of the public half', () => {
    assert.equal(publicKeyPemOf(privateKey), publicKey.export({ format: 'pem', type: 'spki' }));
    assert.ok(createPublicKey(publicKeyPemOf(privateKey)).equals(publicKey));
  });
});
