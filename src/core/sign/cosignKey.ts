import { xsalsa20poly1305 } from '@noble/ciphers/salsa';
import { createPrivateKey, generateKeyPair, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { SigstoreError } from '../errors';

/** A cosign private key could not be read or made. The message never contains the password. */
export class CosignKeyError extends SigstoreError {}

/** What cosign (sigstore/sigstore `pkg/cryptoutils`) writes today, and what it wrote before v2. */
export const SIGSTORE_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';

// cosign's own parameters (cryptoutils.encrypted.go); we write exactly these so any cosign reads our keys.
const SCRYPT = { N: 65536, r: 8, p: 1 } as const;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;
// A key file is untrusted input: cap scrypt's memory (128·N·r bytes) so a crafted file cannot
// make us allocate gigabytes. cosign's own keys need 64 MiB.
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

interface EncryptedKeyJSON {
  kdf: { name: 'scrypt'; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: 'nacl/secretbox'; nonce: string };
  ciphertext: string;
}

/**
 * A new ECDSA P-256 key pair in cosign's format: the private key encrypted with `password`
 * (scrypt + nacl/secretbox, as `cosign generate-key-pair` does), the public key as SPKI PEM.
 */
export async function generateCosignKeyPair(password: string): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((resolve, reject) =>
    generateKeyPair('ec', { namedCurve: 'P-256' }, (e, pub, priv) => (e ? reject(e) : resolve({ privateKey: priv, publicKey: pub }))),
  );
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await deriveKey(password, salt, SCRYPT);
  let ciphertext: Uint8Array;
  try {
    ciphertext = xsalsa20poly1305(key, nonce).encrypt(pkcs8);
  } finally {
    // Best effort: do not leave the secret key material lying in the heap longer than needed.
    key.fill(0);
    pkcs8.fill(0);
  }
  // Field order and names as cosign marshals them (Go struct order), so files look the same.
  const json: EncryptedKeyJSON = {
    kdf: { name: 'scrypt', params: { ...SCRYPT }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  };
  return {
    privateKeyPem: toPem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, Buffer.from(JSON.stringify(json))),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/**
 * Decrypts a cosign private key (`ENCRYPTED SIGSTORE PRIVATE KEY`, or the older
 * `ENCRYPTED COSIGN PRIVATE KEY`) with `password`.
 */
export async function readCosignPrivateKey(pem: string, password: string): Promise<KeyObject> {
  const json = parseEncryptedKey(pem);
  const { N, r, p } = json.kdf.params;
  const salt = Buffer.from(json.kdf.salt, 'base64');
  const nonce = Buffer.from(json.cipher.nonce, 'base64');
  const ciphertext = Buffer.from(json.ciphertext, 'base64');
  if (nonce.length !== NONCE_BYTES) throw damaged(`its nonce is ${nonce.length} bytes, not ${NONCE_BYTES}`);
  if (salt.length === 0) throw damaged('it has no salt');

  const key = await deriveKey(password, salt, { N, r, p });
  let plaintext: Uint8Array;
  try {
    plaintext = xsalsa20poly1305(key, nonce).decrypt(ciphertext);
  } catch {
    // secretbox cannot tell a wrong password from a changed ciphertext: both fail authentication.
    throw new CosignKeyError(
      'WRONG_PASSWORD',
      'The password is wrong for this cosign private key (or the key file was changed).',
      'Enter the password the key was created with (cosign reads it from COSIGN_PASSWORD).',
    );
  } finally {
    key.fill(0);
  }
  try {
    return createPrivateKey({ key: Buffer.from(plaintext), format: 'der', type: 'pkcs8' });
  } catch {
    throw damaged('the decrypted key is not a PKCS#8 private key');
  } finally {
    plaintext.fill(0);
  }
}

function parseEncryptedKey(pem: string): EncryptedKeyJSON {
  const match = /-----BEGIN (ENCRYPTED (?:SIGSTORE|COSIGN) PRIVATE KEY)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  if (!match) {
    const other = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
    throw new CosignKeyError(
      'NOT_A_COSIGN_KEY',
      other ? `This is a PEM "${other}", not an encrypted cosign private key.` : 'This is not an encrypted cosign private key (no PEM block found).',
      'Choose the cosign.key made by "cosign generate-key-pair" (it starts with -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----).',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64').toString('utf8'));
  } catch {
    throw damaged('its content is not the JSON cosign writes');
  }
  const j = json as Partial<{ kdf: { name?: unknown; params?: Record<string, unknown>; salt?: unknown }; cipher: { name?: unknown; nonce?: unknown }; ciphertext: unknown }>;
  if (typeof j !== 'object' || j === null || typeof j.kdf !== 'object' || typeof j.cipher !== 'object' || j.kdf === null || j.cipher === null) {
    throw damaged('its kdf or cipher section is missing');
  }
  if (j.kdf.name !== 'scrypt') throw unsupported(`key derivation "${String(j.kdf.name)}"`);
  if (j.cipher.name !== 'nacl/secretbox') throw unsupported(`cipher "${String(j.cipher.name)}"`);
  const params = j.kdf.params ?? {};
  const { N, r, p } = params;
  if (!isPositiveInt(N) || !isPositiveInt(r) || !isPositiveInt(p) || (N & (N - 1)) !== 0 || N < 2) {
    throw damaged('its scrypt parameters are not valid');
  }
  if (128 * N * r > MAX_SCRYPT_MEMORY || p > 16) throw unsupported(`scrypt parameters N=${N}, r=${r}, p=${p} (too costly)`);
  if (typeof j.kdf.salt !== 'string' || typeof j.cipher.nonce !== 'string' || typeof j.ciphertext !== 'string') {
    throw damaged('its salt, nonce or ciphertext is missing');
  }
  return j as EncryptedKeyJSON;
}

function deriveKey(password: string, salt: Buffer, { N, r, p }: { N: number; r: number; p: number }): Promise<Buffer> {
  // Node's default maxmem (32 MiB) is below what N=65536, r=8 needs (64 MiB); allow it plus headroom.
  const maxmem = 128 * N * r * p + 128 * r * p + 16 * 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { N, r, p, maxmem }, (e, key) =>
      e ? reject(new CosignKeyError('KDF_FAILED', `The key could not be derived from the password: ${e.message}`, 'The key file uses scrypt settings this machine cannot run.')) : resolve(key),
    ),
  );
}

function toPem(type: string, body: Buffer): string {
  // 64-character lines, as Go's encoding/pem writes them.
  const b64 = body.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${type}-----\n${b64}\n-----END ${type}-----\n`;
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

const damaged = (why: string) =>
  new CosignKeyError('DAMAGED_KEY', `The cosign private key is damaged: ${why}.`, 'Use an intact copy of the key, or make a new key pair.');

const unsupported = (what: string) =>
  new CosignKeyError('UNSUPPORTED_KEY_FORMAT', `This cosign private key uses ${what}, which is not supported.`, 'Re-create the key with cosign generate-key-pair (scrypt + nacl/secretbox).');
