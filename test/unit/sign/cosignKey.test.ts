import { strict as assert } from 'node:assert';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { CosignKeyError, generateCosignKeyPair, readCosignPrivateKey } from '../../../src/core/sign/cosignKey';

// Made by the real cosign 2.5.0: `COSIGN_PASSWORD=pw cosign generate-key-pair`. A fixed vector,
// so reading cosign's format is tested even where cosign is not installed.
const COSIGN_KEY = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJxS0Q0c2M2ckFNNHdYVkdlVXVQSzJaL0xuMFhBaWlG
ZzFvcnIybUN3aitJPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJLNDl4NlU1WTlYZWZ1M21RUnUzb1o1L2t2azBVS3JQbyJ9LCJj
aXBoZXJ0ZXh0IjoiRklET25ONWFmZkQ4dnRzVGdzU3pQYkJDRnFlZ3lsUHRPZzJW
Q0xraFVvVTVyek9rcFp2VGd4YU9GWEhIRTVkaU5TNlN0NGNLZ1JORkcvRmZ1S3c2
ZlZnd1BxRE94NC93SVJWWkI0aDRYYjZ1MXF6V01kQzZlZWthZjQ4MHpNS1NnNkNz
ZVpwYXAyTUx4dTZ2KzNpem1kdFlXd1k2WHE4b2s0YVRvd1krZHVYelJtM3dBb2Ey
Z1ZIaTMvRmp0NTAyTFlrZ3QyL1BXS0lqYnc9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
`;
const COSIGN_PUB = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAET0jq55zzNPbcSqKS5Skpa7LUEIBk
RuWxp0g5B5uLvWfIRcddZtiJIQKt9PSx+A3UUIa5ooprbZyfCOZ/xTUIMA==
-----END PUBLIC KEY-----
`;
const COSIGN_PASSWORD = 'pw';

const bodyOf = (pem: string) => JSON.parse(Buffer.from(pem.split('\n').slice(1, -2).join(''), 'base64').toString('utf8')) as Record<string, unknown>;
const pemOf = (json: unknown, type = 'ENCRYPTED SIGSTORE PRIVATE KEY') =>
  `-----BEGIN ${type}-----\n${Buffer.from(JSON.stringify(json)).toString('base64')}\n-----END ${type}-----\n`;

async function rejectsWith(p: Promise<unknown>, code: string, password?: string): Promise<CosignKeyError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CosignKeyError, `expected a CosignKeyError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.remedy);
    if (password) assert.ok(!e.message.includes(password) && !e.remedy?.includes(password), 'the password leaked into the message');
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('cosign private keys (core)', function () {
  this.timeout(20_000);
  let ours: { privateKeyPem: string; publicKeyPem: string };
  const password = 'correct horse battery staple';

  before(async () => {
    ours = await generateCosignKeyPair(password);
  });

  it('reads a key made by cosign 2.5.0 (fixed vector): its public half is cosign.pub, and it signs', async () => {
    const key = await readCosignPrivateKey(COSIGN_KEY, COSIGN_PASSWORD);
    assert.equal(createPublicKey(key).export({ format: 'pem', type: 'spki' }), COSIGN_PUB);
    const data = Buffer.from('data');
    assert.ok(verify('sha256', data, createPublicKey(COSIGN_PUB), sign('sha256', data, key)));
  });

  it('writes the PEM type, JSON fields and parameters cosign writes', () => {
    assert.match(ours.privateKeyPem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n(?:[A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n$/);
    assert.match(ours.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    const ourJson = bodyOf(ours.privateKeyPem) as { kdf: { salt: string }; cipher: { nonce: string }; ciphertext: string };
    const cosignJson = bodyOf(COSIGN_KEY);
    // Same shape as cosign's file, key for key and in the same order; only the random values differ.
    const shape = (j: unknown): unknown => JSON.parse(JSON.stringify(j, (k, v: unknown) => (['salt', 'nonce', 'ciphertext'].includes(k) ? '*' : v)));
    assert.equal(JSON.stringify(shape(ourJson)), JSON.stringify(shape(cosignJson)));
    assert.equal(JSON.stringify(shape(ourJson)), '{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"*"},"cipher":{"name":"nacl/secretbox","nonce":"*"},"ciphertext":"*"}');
    assert.equal(Buffer.from(ourJson.kdf.salt, 'base64').length, 32);
    assert.equal(Buffer.from(ourJson.cipher.nonce, 'base64').length, 24);
    assert.equal(createPublicKey(ours.publicKeyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('round trip: our key reads back with its password, matches the public key, and each key is new', async () => {
    const key = await readCosignPrivateKey(ours.privateKeyPem, password);
    assert.equal(key.type, 'private');
    assert.equal(createPublicKey(key).export({ format: 'pem', type: 'spki' }), ours.publicKeyPem);
    const other = await generateCosignKeyPair(password);
    assert.notEqual(other.publicKeyPem, ours.publicKeyPem);
    assert.notEqual(bodyOf(other.privateKeyPem).kdf, bodyOf(ours.privateKeyPem).kdf);
    // Passwords are UTF-8, as in Go; an empty password works too (cosign allows it).
    const unicode = await generateCosignKeyPair('pässwörd ✓');
    await readCosignPrivateKey(unicode.privateKeyPem, 'pässwörd ✓');
    const empty = await generateCosignKeyPair('');
    await readCosignPrivateKey(empty.privateKeyPem, '');
  });

  it('accepts the older ENCRYPTED COSIGN PRIVATE KEY type and CRLF line ends', async () => {
    const older = ours.privateKeyPem.replace(/SIGSTORE/g, 'COSIGN');
    await readCosignPrivateKey(older, password);
    await readCosignPrivateKey(ours.privateKeyPem.replace(/\n/g, '\r\n'), password);
  });

  it('a wrong password is WRONG_PASSWORD, says so, and never repeats the password', async () => {
    const e = await rejectsWith(readCosignPrivateKey(ours.privateKeyPem, 'guess-123'), 'WRONG_PASSWORD', 'guess-123');
    assert.match(e.message, /password is wrong/);
    await rejectsWith(readCosignPrivateKey(COSIGN_KEY, password), 'WRONG_PASSWORD', password);
  });

  it('a changed ciphertext, nonce or salt is an error, never a different key', async () => {
    const json = bodyOf(ours.privateKeyPem) as { kdf: { salt: string }; cipher: { nonce: string }; ciphertext: string };
    const flip = (b64: string, at: number) => {
      const b = Buffer.from(b64, 'base64');
      b[at] = b[at]! ^ 0x01;
      return b.toString('base64');
    };
    for (const at of [0, 20, 60]) {
      await rejectsWith(readCosignPrivateKey(pemOf({ ...json, ciphertext: flip(json.ciphertext, at) }), password), 'WRONG_PASSWORD');
    }
    await rejectsWith(readCosignPrivateKey(pemOf({ ...json, cipher: { ...json.cipher, nonce: flip(json.cipher.nonce, 3) } }), password), 'WRONG_PASSWORD');
    await rejectsWith(readCosignPrivateKey(pemOf({ ...json, kdf: { ...json.kdf, salt: flip(json.kdf.salt, 3) } }), password), 'WRONG_PASSWORD');
    await rejectsWith(readCosignPrivateKey(pemOf({ ...json, cipher: { ...json.cipher, nonce: 'AAAA' } }), password), 'DAMAGED_KEY');
  });

  it('what is not a cosign private key says what it is', async () => {
    await rejectsWith(readCosignPrivateKey('', password), 'NOT_A_COSIGN_KEY');
    await rejectsWith(readCosignPrivateKey('hello', password), 'NOT_A_COSIGN_KEY');
    const e = await rejectsWith(readCosignPrivateKey(ours.publicKeyPem, password), 'NOT_A_COSIGN_KEY');
    assert.match(e.message, /"PUBLIC KEY"/);
    const plain = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    assert.match((await rejectsWith(readCosignPrivateKey(plain, password), 'NOT_A_COSIGN_KEY')).message, /"PRIVATE KEY"/);
    // Mismatched BEGIN/END lines are not a PEM block.
    await rejectsWith(readCosignPrivateKey(ours.privateKeyPem.replace('END ENCRYPTED SIGSTORE', 'END ENCRYPTED COSIGN'), password), 'NOT_A_COSIGN_KEY');
    await rejectsWith(readCosignPrivateKey('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGpzb24=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n', password), 'DAMAGED_KEY');
    await rejectsWith(readCosignPrivateKey(pemOf({ kdf: { name: 'scrypt', params: { N: 65536, r: 8, p: 1 }, salt: 'AA==' } }), password), 'DAMAGED_KEY');
    await rejectsWith(readCosignPrivateKey(pemOf(null), password), 'DAMAGED_KEY');
  });

  it('another kdf or cipher, or scrypt settings that would cost too much, are UNSUPPORTED_KEY_FORMAT (refused before any work)', async () => {
    const json = bodyOf(ours.privateKeyPem) as { kdf: { params: object }; cipher: object };
    await rejectsWith(readCosignPrivateKey(pemOf({ ...json, kdf: { ...json.kdf, name: 'argon2id' } }), password), 'UNSUPPORTED_KEY_FORMAT');
    await rejectsWith(readCosignPrivateKey(pemOf({ ...json, cipher: { ...json.cipher, name: 'aes-256-gcm' } }), password), 'UNSUPPORTED_KEY_FORMAT');
    // 2^30 · 8 · 128 bytes = 1 TiB: must be refused at once, not attempted.
    await rejectsWith(readCosignPrivateKey(pemOf({ ...json, kdf: { ...json.kdf, params: { N: 2 ** 30, r: 8, p: 1 } } }), password), 'UNSUPPORTED_KEY_FORMAT');
    await rejectsWith(readCosignPrivateKey(pemOf({ ...json, kdf: { ...json.kdf, params: { N: 1000, r: 8, p: 1 } } }), password), 'DAMAGED_KEY');
    await rejectsWith(readCosignPrivateKey(pemOf({ ...json, kdf: { ...json.kdf, params: { N: '65536', r: 8, p: 1 } } }), password), 'DAMAGED_KEY');
  });
});
