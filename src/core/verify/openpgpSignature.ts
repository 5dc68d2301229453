import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Key, Signature, SignaturePacket, Subkey } from 'openpgp' with { 'resolution-mode': 'import' };
import type { Artifact } from '../artifacts/artifact';
import { readLimited, SMALL_FILE_BYTES } from '../artifacts/artifact';
import { ArtifactReadError } from '../errors';
import { withoutValues } from '../untrustedText';
import { EvidenceBuilder } from './evidenceBuilder';
import type { Evidence } from './result';
import type { TrustInputs } from './trustInputs';

/** Detached signatures are a few hundred bytes; a file far larger is not one. */
export const MAX_OPENPGP_SIGNATURE_BYTES = 1024 * 1024;

const ARMORED_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';
const KEY_BLOCK_BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const KEY_BLOCK_END = '-----END PGP PUBLIC KEY BLOCK-----';

/**
 * The armored public key blocks in a text, BEGIN to the first END after it. With indexOf: a
 * regular expression searching ahead from every BEGIN was quadratic in a text of BEGIN lines.
 */
export function armoredKeyBlocks(text: string): string[] {
  const blocks: string[] = [];
  for (let at = text.indexOf(KEY_BLOCK_BEGIN); at >= 0; at = text.indexOf(KEY_BLOCK_BEGIN, at)) {
    const end = text.indexOf(KEY_BLOCK_END, at + KEY_BLOCK_BEGIN.length);
    // No END after this BEGIN means none after any later one either.
    if (end < 0) break;
    blocks.push(text.slice(at, end + KEY_BLOCK_END.length));
    at = end + KEY_BLOCK_END.length;
  }
  return blocks;
}
const SIGNATURE_PACKET_TAG = 2;

type OpenPgp = typeof import('openpgp', { with: { 'resolution-mode': 'import' } });
/** The result openpgp gives per signature (its type is not exported). */
type VerificationResult = Awaited<ReturnType<OpenPgp['verify']>>['signatures'][number];

let loaded: OpenPgp | undefined;
/**
 * openpgp is large, so it is loaded on the first OpenPGP signature. It is required, not
 * imported: its ESM build needs `import.meta.url`, which a CommonJS bundle lacks, and
 * TypeScript refuses a static import of its ESM-typed package from CommonJS (TS1479).
 */
function load(): OpenPgp {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('openpgp') as OpenPgp);
}

const REMEDY = {
  read: 'Check that the signature file exists and is readable.',
  parse: 'The signature file is damaged or is not an OpenPGP detached signature. Download it again from where you got the file.',
  noKeys: "Name the signer's key or KEYS file in the trust policy (take it from the project's own site, not from next to the file).",
  unknownKey:
    "The trust policy names other keys for this file. If you trust this signer, add their public key or the project's KEYS file to the trust policy. Check the key's fingerprint with the project first.",
  bad: 'The signature does not match the file: it was changed after signing, or the signature belongs to another file. Get the original file or its matching signature.',
  revoked: 'Do not trust this signature. Ask the project for a release signed with a current key.',
  expired: "Get the signer's current key (its expiry may have been extended) or a release signed with a key that is still valid.",
  unusable: 'The key or the signature uses an algorithm considered unsafe. Ask the project for a signature made with a current key.',
};

/**
 * Whether `bytes` look like an OpenPGP signature: ASCII armor, or a binary Signature packet
 * (tag 2) in either header format. Tells an OpenPGP `F.sig` from cosign's base64 one, whose
 * first byte is ASCII (bit 7 clear).
 */
export function isOpenPgpSignature(bytes: Buffer): boolean {
  if (isArmored(bytes)) return true;
  const first = bytes[0];
  if (first === undefined || (first & 0x80) === 0) return false;
  // New format: bit 6 set, tag in bits 0-5. Old format: tag in bits 2-5.
  const tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
  return tag === SIGNATURE_PACKET_TAG && bytes.length > 1;
}

function isArmored(bytes: Buffer): boolean {
  return bytes.subarray(0, 256).toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart().startsWith(ARMORED_SIGNATURE);
}

/**
 * How a key file's bytes should be handed over as `NamedOpenPgpKeys.armored`: armored files
 * as UTF-8 text, binary ones (`gpg --export`) as latin1, the only decoding that keeps every
 * byte, so the verifier can turn the text back into the same bytes.
 */
export function openPgpKeyText(bytes: Buffer): string {
  const latin1 = bytes.toString('latin1');
  return latin1.includes('-----BEGIN PGP') ? bytes.toString('utf8') : latin1;
}

interface TrustedKey {
  readonly key: Key;
  readonly source: string;
}

/**
 * Verifies an OpenPGP detached signature (`F.asc` armored, or binary `F.sig`) over the
 * artifact, with keys from the trust policy only: nothing is fetched. Large files are
 * streamed through the check. Never throws for bad input; cancellation (`signal`) rejects
 * with an AbortError.
 */
export async function verifyOpenPgpSignature(
  sigPath: string,
  artifact: Artifact,
  artifactPath: string,
  trust: TrustInputs,
  signal?: AbortSignal,
): Promise<Evidence> {
  const run = new EvidenceBuilder('openpgp-signature', sigPath);

  let sigBytes: Buffer;
  try {
    sigBytes = await readLimited(sigPath, MAX_OPENPGP_SIGNATURE_BYTES);
  } catch (e) {
    if (!(e instanceof ArtifactReadError)) throw e;
    return run.stop('read', e.code === 'NOT_FOUND' ? 'unverifiable' : 'failed', e.message, e.remedy ?? REMEDY.read);
  }
  run.pass('read', `${sigBytes.length} bytes`);

  const openpgp = load();
  let signature: Signature;
  try {
    signature = await readSignature(openpgp, sigBytes);
  } catch (e) {
    return run.stop('parse', 'failed', `The file is not a readable OpenPGP signature: ${withoutValues(e)}.`, REMEDY.parse);
  }
  // Only signatures over a document count (a key certification in a .asc signs no file).
  const packets = signature.packets.filter(
    (p) => p instanceof openpgp.SignaturePacket && (p.signatureType === openpgp.enums.signature.binary || p.signatureType === openpgp.enums.signature.text),
  );
  if (packets.length === 0) {
    return run.stop('parse', 'failed', 'The file holds no OpenPGP signature over a document.', REMEDY.parse);
  }
  const issuers = packets.map(issuerOf);
  run.pass('parse', `${packets.length === 1 ? 'signature' : `${packets.length} signatures`} by ${issuers.join(', ')}${createdOf(packets[0]!)}`);

  const keys = await loadKeys(openpgp, trust, run.notes);
  if (keys.length === 0) {
    return run.stop('openpgp', 'unverifiable', `No OpenPGP keys are configured for this file, so the signature by ${issuers.join(', ')} cannot be checked.`, REMEDY.noKeys);
  }

  const signers = packets.map((packet) => ({ packet, match: findSigningKey(keys, packet) }));
  const known = signers.filter((s) => s.match !== undefined);
  if (known.length === 0) {
    const sources = [...new Set(keys.map((k) => k.source))].join(', ');
    // As for cosign keys and certificates: the rule names who may sign this file, and this key is not one of them.
    return run.stop('openpgp', 'failed', `Signed by OpenPGP key ${issuers.join(', ')}, which is not among the trusted keys (${sources}).`, REMEDY.unknownKey);
  }

  let verifications: VerificationResult[];
  try {
    // Only the keys the signatures name: openpgp matches by 64-bit key ID alone.
    const signingKeys = [...new Set(known.map((s) => s.match!.trusted.key))];
    verifications = await checkSignatures(openpgp, signature, signingKeys, artifact, artifactPath, signal);
  } catch (e) {
    if (isAbort(e)) throw e;
    if (e instanceof ArtifactReadError) return run.stop('openpgp', 'unverifiable', e.message, e.remedy ?? 'Check that the file exists and is readable.');
    return run.stop('openpgp', 'failed', `The signature could not be checked: ${withoutValues(e)}.`, REMEDY.parse);
  }

  // One verdict per signature made by a known key: a good one decides, else a bad one (a
  // trusted key disowning the file is the louder warning). openpgp returns one result per
  // document signature, in the order of the packets.
  const verdicts: Verdict[] = [];
  for (const [i, { packet, match }] of signers.entries()) {
    if (match) verdicts.push(await verdictOf(packet, match, verifications[i]));
  }
  const best = verdicts.find((v) => v.state === 'verified') ?? verdicts.find((v) => v.state === 'failed') ?? verdicts[0]!;
  run.signer = best.signer;
  for (const other of signers) {
    if (!other.match) run.notes.push(`Also signed by OpenPGP key ${issuerOf(other.packet)}, which is not among the trusted keys.`);
  }
  for (const v of verdicts) if (v !== best) run.notes.push(`Another signature, by ${v.signer.fingerprint}: ${v.message}`);
  if (best.state !== 'verified') return run.stop('openpgp', best.state, best.message, best.remedy);

  const { signer } = best;
  if (best.primary !== signer.fingerprint) run.notes.push(`Made with subkey ${signer.fingerprint} of primary key ${best.primary}.`);
  run.notes.push(`The key comes from ${signer.source}: the signature is only as trustworthy as that file.`);
  run.pass('openpgp', `key ${signer.fingerprint}${createdOf(best.packet)}`);
  return run.finish('verified');
}

async function readSignature(openpgp: OpenPgp, bytes: Buffer): Promise<Signature> {
  if (isArmored(bytes)) return openpgp.readSignature({ armoredSignature: bytes.toString('utf8') });
  if (!isOpenPgpSignature(bytes)) throw new Error('it is neither ASCII-armored nor a binary OpenPGP signature packet');
  return openpgp.readSignature({ binarySignature: new Uint8Array(bytes) });
}

/** Every public key in the trust inputs; sources that cannot be read are noted and skipped. */
async function loadKeys(openpgp: OpenPgp, trust: TrustInputs, notes: string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const { source, armored } of trust.openpgpKeys) {
    // A KEYS file is many armored blocks with other text (gpg --list-keys output) between them.
    const blocks = armoredKeyBlocks(armored);
    const inputs: ({ armoredKeys: string } | { binaryKeys: Uint8Array })[] = blocks.map((b) => ({ armoredKeys: b }));
    if (blocks.length === 0) {
      // Characters above U+00FF mean binary was decoded as UTF-8 and bytes were lost.
      if (armored.includes('-----BEGIN PGP') || armored.trim() === '' || /[\u0100-\uFFFF]/.test(armored)) {
        notes.push(`${source} holds no OpenPGP public key block (a binary key file must be passed through openPgpKeyText).`);
        continue;
      }
      inputs.push({ binaryKeys: new Uint8Array(Buffer.from(armored, 'latin1')) });
    }
    for (const input of inputs) {
      try {
        const read = 'armoredKeys' in input ? await openpgp.readKeys(input) : await openpgp.readKeys(input);
        keys.push(...read.map((key) => ({ key, source })));
      } catch (e) {
        notes.push(`Skipped ${blocks.length ? 'a key block' : 'the key'} in ${source} that could not be read: ${withoutValues(e)}.`);
      }
    }
  }
  return keys;
}

interface KeyMatch {
  readonly trusted: TrustedKey;
  readonly signingKey: Key | Subkey;
}

/**
 * The trusted (sub)key a signature names. When the signature carries the issuer's full
 * fingerprint it must match too: a 64-bit key ID alone can collide.
 */
function findSigningKey(keys: readonly TrustedKey[], packet: SignaturePacket): KeyMatch | undefined {
  const fingerprint = packet.issuerFingerprint ? Buffer.from(packet.issuerFingerprint).toString('hex') : undefined;
  for (const trusted of keys) {
    const signingKey = trusted.key.getKeys(packet.issuerKeyID).find((k) => !fingerprint || k.getFingerprint() === fingerprint);
    if (signingKey) return { trusted, signingKey };
  }
  return undefined;
}

/**
 * Runs openpgp's verification over the artifact's bytes (small files, already read) or a
 * stream of the file (large ones), reading the output to its end so the digests complete
 * without ever holding the file in memory.
 */
async function checkSignatures(
  openpgp: OpenPgp,
  signature: Signature,
  keys: Key[],
  artifact: Artifact,
  artifactPath: string,
  signal: AbortSignal | undefined,
): Promise<VerificationResult[]> {
  const small = await artifact.bytes(SMALL_FILE_BYTES);
  if (small) {
    const message = await openpgp.createMessage({ binary: new Uint8Array(small.buffer, small.byteOffset, small.length) });
    const result = await openpgp.verify({ message, signature, verificationKeys: keys, format: 'binary' });
    return result.signatures;
  }
  const file = createReadStream(artifactPath, { highWaterMark: 1024 * 1024, signal });
  // openpgp ends its output quietly when its input fails, and then reports a digest mismatch:
  // watch the file stream ourselves so an unreadable or cancelled file is never "failed".
  let fileError: unknown;
  file.on('error', (e) => (fileError ??= e));
  const stream = Readable.toWeb(file) as unknown as ReadableStream<Uint8Array>;
  const message = await openpgp.createMessage({ binary: stream });
  const result = await openpgp.verify({ message, signature, verificationKeys: keys, format: 'binary' });
  const reader = (result.data as unknown as WebReadableStream<Uint8Array>).getReader();
  try {
    for (;;) if ((await reader.read()).done) break;
  } catch (e) {
    fileError ??= e;
  } finally {
    reader.releaseLock();
    file.destroy();
  }
  signal?.throwIfAborted();
  if (fileError !== undefined || !file.readableEnded) {
    throw isAbort(fileError) ? fileError : readError(artifactPath, fileError ?? new Error('reading stopped before the end'));
  }
  return result.signatures;
}

interface Verdict {
  readonly state: 'verified' | 'failed' | 'unverifiable';
  readonly message: string;
  readonly remedy: string;
  readonly signer: { kind: 'openpgp'; fingerprint: string; userIds: string[]; source: string };
  readonly primary: string;
  readonly packet: SignaturePacket;
}

// openpgp checks the signature's mathematics before the key's status, so these mean the
// signature does not match the file whatever the key's state.
const BAD_SIGNATURE = /Signed digest did not match|Signature verification failed/;
// The key or signature is of a kind openpgp refuses (DSA, RSA < 2047 bits, SHA-1, MD5).
const UNSAFE = /too weak|Insecure|considered|rejected/i;

async function verdictOf(packet: SignaturePacket, match: KeyMatch, result: VerificationResult | undefined): Promise<Verdict> {
  const { trusted, signingKey } = match;
  const primary = trusted.key.getFingerprint().toUpperCase();
  const signer = { kind: 'openpgp' as const, fingerprint: signingKey.getFingerprint().toUpperCase(), userIds: trusted.key.getUserIDs(), source: trusted.source };
  const base = { signer, primary, packet };
  let error: unknown;
  try {
    if (!result) throw new Error('openpgp returned no result for this signature');
    await result.verified;
  } catch (e) {
    error = e;
  }
  const message = error === undefined ? undefined : messageOf(error);
  if (message !== undefined && BAD_SIGNATURE.test(message)) {
    return { ...base, state: 'failed', message: `The signature by ${signer.fingerprint} does not match the file (${message}).`, remedy: REMEDY.bad };
  }

  // The signature is mathematically good, or openpgp refused the key; its status decides.
  const status = await keyStatus(trusted.key, signingKey);
  if (status.revoked !== undefined) {
    // Revoked means failed: the owner withdrew the key, and the signing time is whatever the
    // signer wrote, so a signature "from before the revocation" may be a forgery made with a
    // stolen key. gpg also warns that such a signature could be forged.
    return {
      ...base,
      state: 'failed',
      message: `The key ${signer.fingerprint} that made this signature has been revoked by its owner${status.revoked ? ` (${status.revoked})` : ''}.`,
      remedy: REMEDY.revoked,
    };
  }
  if (status.expired) {
    // Expired means unverifiable, not failed: nothing says the file is bad, and the key file
    // may just be out of date (owners extend expiry). But a signature dated before the expiry
    // could be backdated by whoever holds the old key, so it is not "verified" either.
    return {
      ...base,
      state: 'unverifiable',
      message: `The signature matches, but the key ${signer.fingerprint} expired on ${status.expired.toISOString()}${error ? ` (${message})` : ''}.`,
      remedy: REMEDY.expired,
    };
  }
  if (message === undefined) return { ...base, state: 'verified', message: 'Good signature.', remedy: '' };
  if (/Signature is expired|in the future/.test(message)) {
    return { ...base, state: 'unverifiable', message: `The signature by ${signer.fingerprint} is not valid now: ${message}.`, remedy: REMEDY.expired };
  }
  if (UNSAFE.test(message) || /Could not find valid signing key/.test(message)) {
    return { ...base, state: 'unverifiable', message: `The key ${signer.fingerprint} cannot be used to check this signature: ${message}.`, remedy: REMEDY.unusable };
  }
  return { ...base, state: 'failed', message: `The signature by ${signer.fingerprint} is not valid: ${message}.`, remedy: REMEDY.bad };
}

/** Whether the primary key or the signing subkey is revoked (with the reason given) or expired, as of now. */
async function keyStatus(key: Key, signingKey: Key | Subkey): Promise<{ revoked?: string; expired?: Date }> {
  const now = new Date();
  const status: { revoked?: string; expired?: Date } = {};
  const keyRevoked = await key.isRevoked(undefined, undefined, now).catch(() => false);
  const subkeyRevoked = signingKey !== key && (await (signingKey as Subkey).isRevoked(undefined as never, undefined as never, now).catch(() => false));
  if (keyRevoked || subkeyRevoked) {
    const revocation = (keyRevoked ? key : signingKey).revocationSignatures.at(-1);
    status.revoked = revocationReason(revocation);
  }
  const expiries = await Promise.all([
    key.getExpirationTime().catch(() => null),
    signingKey !== key ? (signingKey as Subkey).getExpirationTime().catch(() => null) : null,
  ]);
  for (const expiry of expiries) {
    if (expiry instanceof Date && expiry <= now && (!status.expired || expiry < status.expired)) status.expired = expiry;
  }
  return status;
}

function revocationReason(signature: SignaturePacket | undefined): string {
  if (!signature) return '';
  const flag = signature.reasonForRevocationFlag;
  // RFC 4880 5.2.3.23 reason codes.
  const names: Record<number, string> = { 1: 'key superseded', 2: 'key compromised', 3: 'key retired' };
  const reason = [flag !== null && flag !== undefined ? names[flag] : undefined, signature.reasonForRevocationString || undefined].filter(Boolean);
  return reason.length ? `reason: ${reason.join(', ')}` : '';
}

/** The issuer as the signature names it: full fingerprint when present, else the 64-bit key ID. */
function issuerOf(packet: SignaturePacket): string {
  if (packet.issuerFingerprint) return Buffer.from(packet.issuerFingerprint).toString('hex').toUpperCase();
  return `key ID ${packet.issuerKeyID.toHex().toUpperCase()}`;
}

function createdOf(packet: SignaturePacket): string {
  return packet.created ? `, made ${packet.created.toISOString()} (as the signer states)` : '';
}

function readError(path: string, e: unknown): ArtifactReadError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new ArtifactReadError('NOT_FOUND', `${path} does not exist.`, 'It may have been moved or deleted.');
  return new ArtifactReadError('READ_FAILED', `${path} could not be read: ${messageOf(e)}`, 'Check the file.');
}

function isAbort(e: unknown): boolean {
  return (e as Error)?.name === 'AbortError';
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\.$/, '');
}
