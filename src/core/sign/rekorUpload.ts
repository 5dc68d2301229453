/**
 * Logging a key-based signature in Rekor, as `cosign sign-blob --key --tlog-upload=true`
 * does: a hashedrekord entry (digest, signature, public key), whose inclusion promise and
 * proof go into the bundle so verifiers can check the signature was public at that time.
 */
import { HashAlgorithm, TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { RekorWitness } from '@sigstore/sign';
import { abortable } from '../abortable';
import { KeySigningError } from './keySigner';

/** The bundle from signFileWithKey, as JSON: only the fields read here. */
interface KeyBundleJSON {
  messageSignature?: { messageDigest?: { algorithm?: string; digest?: string }; signature?: string };
  verificationMaterial?: Record<string, unknown>;
  [field: string]: unknown;
}

/** A Rekor that never answers must not hang signing forever. */
const REKOR_TIMEOUT_MS = 30_000;

/**
 * Uploads the signature in `signature.bundle` (a v0.3 message-signature bundle made with a
 * key) to the Rekor at `rekorURL` and returns the bundle with the entry in
 * `verificationMaterial.tlogEntries`. Nothing is written here; on abort or failure the
 * caller writes nothing either.
 */
export async function logKeySignature(
  signature: { bundle: object; publicKeyPem: string },
  rekorURL: string,
  signal?: AbortSignal,
): Promise<{ bundle: object; logIndex?: string }> {
  const bundle = signature.bundle as KeyBundleJSON;
  const message = bundle.messageSignature;
  if (message?.messageDigest?.algorithm !== 'SHA2_256' || !message.messageDigest.digest || !message.signature) {
    throw new KeySigningError('REKOR', 'Only a SHA-256 message signature can be logged in Rekor.', 'Sign the file with a key made by "cosign generate-key-pair".');
  }
  const digest = Buffer.from(message.messageDigest.digest, 'base64');
  const sig = Buffer.from(message.signature, 'base64');
  signal?.throwIfAborted();

  const witness = new RekorWitness({ rekorBaseURL: rekorURL.replace(/\/+$/, ''), timeout: REKOR_TIMEOUT_MS, retry: false });
  let entry: TransparencyLogEntry | undefined;
  try {
    // The client takes no AbortSignal: stop waiting on abort (the entry may still be made,
    // which is harmless: nothing is written next to the file).
    const { tlogEntries } = await abortable(
      witness.testify({ $case: 'messageSignature', messageSignature: { messageDigest: { algorithm: HashAlgorithm.SHA2_256, digest }, signature: sig } }, signature.publicKeyPem),
      signal,
    );
    entry = tlogEntries[0];
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw rekorError(rekorURL, describe(e));
  }
  if (!entry) throw rekorError(rekorURL, 'it returned no entry');
  checkEntryBody(entry, digest, sig, rekorURL);

  const entryJSON = TransparencyLogEntry.toJSON(entry) as object;
  return {
    bundle: { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [entryJSON] } },
    logIndex: entry.logIndex,
  };
}

/**
 * The entry must log what we sent: a log that recorded something else (a proxy, a wrong
 * URL answering 200) would give a bundle every verifier rejects later.
 */
function checkEntryBody(entry: TransparencyLogEntry, digest: Buffer, sig: Buffer, rekorURL: string): void {
  let body: { kind?: string; spec?: { data?: { hash?: { value?: string } }; signature?: { content?: string } } };
  try {
    body = JSON.parse(Buffer.from(entry.canonicalizedBody).toString('utf8')) as typeof body;
  } catch {
    throw rekorError(rekorURL, 'its entry body is not JSON');
  }
  if (body.kind !== 'hashedrekord' || body.spec?.data?.hash?.value !== digest.toString('hex') || body.spec?.signature?.content !== sig.toString('base64')) {
    throw rekorError(rekorURL, 'the entry it returned is not the signature that was sent');
  }
  if (!entry.inclusionPromise && !entry.inclusionProof) throw rekorError(rekorURL, 'its entry has neither an inclusion promise nor an inclusion proof');
}

function rekorError(rekorURL: string, detail: string): KeySigningError {
  return new KeySigningError(
    'REKOR',
    `Rekor (${rekorURL}) did not log the signature: ${detail}.`,
    'Check the Rekor URL and the network, or sign without uploading to the transparency log; nothing was written.',
  );
}

function describe(e: unknown): string {
  const cause = (e as { cause?: { message?: string } }).cause?.message;
  return (cause ?? (e as Error).message ?? String(e)).replace(/\.$/, '');
}
