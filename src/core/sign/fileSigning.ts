/**
 * Signing a file and writing its companions: shared by the editor command and the command
 * line, so both name, check and write the same files. Nothing is written until the
 * signature exists; each companion is written atomically.
 */
import type { KeyObject } from 'node:crypto';
import { assertCompanionAbsent, writeCompanion, writeCompanions } from './companionWriter';
import type { KeylessSession } from './keylessSigner';
import { signFileWithKey } from './keySigner';

/** How files get signed after the user has chosen and unlocked what is needed. */
export type FileSigner =
  | { readonly kind: 'keyless'; readonly session: KeylessSession }
  | {
      readonly kind: 'key';
      readonly key: KeyObject;
      /** Also log each signature in this Rekor, as `cosign sign-blob --tlog-upload` does. */
      readonly logSignature?: (signature: { bundle: object; publicKeyPem: string }, signal?: AbortSignal) => Promise<{ bundle: object; logIndex?: string }>;
      readonly publicKeyPem: string;
    };

export interface SignedFile {
  readonly path: string;
  /** The companions written, bundle first. */
  readonly written: readonly string[];
  readonly logIndex?: string;
  /** The certified identity (keyless) or undefined (key). */
  readonly identity?: string;
  readonly issuer?: string;
}

export const BUNDLE_SUFFIX = '.sigstore.json';

/**
 * The companions signing `path` will write: the bundle (`F.sigstore.json`, or `bundleOut`),
 * and for a key also cosign's `F.sig`.
 */
export function companionsToWrite(path: string, kind: FileSigner['kind'], bundleOut?: string): string[] {
  const bundle = bundleOut ?? `${path}${BUNDLE_SUFFIX}`;
  return kind === 'key' ? [bundle, `${path}.sig`] : [bundle];
}

/**
 * Signs one file and writes its companions. Without `overwrite`, an existing companion is
 * never replaced (CompanionWriteError EXISTS, checked before signing so no log entry is
 * made for nothing, and again at the write).
 */
export async function signFileAndWrite(
  path: string,
  signer: FileSigner,
  options: { overwrite: boolean; bundleOut?: string; signal?: AbortSignal },
): Promise<SignedFile> {
  const [bundlePath, sigPath] = companionsToWrite(path, signer.kind, options.bundleOut);
  if (!options.overwrite) for (const p of [bundlePath, sigPath]) if (p) await assertCompanionAbsent(p);
  options.signal?.throwIfAborted();
  if (signer.kind === 'keyless') {
    const result = await signer.session.signFile(path, options.signal);
    options.signal?.throwIfAborted();
    await writeCompanion(bundlePath!, json(result.bundle), { overwrite: options.overwrite });
    return { path, written: [bundlePath!], logIndex: result.logIndex, identity: result.identity, issuer: result.issuer };
  }
  const signature = await signFileWithKey(path, signer.key, options.signal);
  let bundle = signature.bundle;
  let logIndex: string | undefined;
  if (signer.logSignature) {
    ({ bundle, logIndex } = await signer.logSignature({ bundle, publicKeyPem: signer.publicKeyPem }, options.signal));
  }
  options.signal?.throwIfAborted();
  await writeCompanions([{ path: bundlePath!, bytes: json(bundle) }, { path: sigPath!, bytes: signature.sigBase64 }], { overwrite: options.overwrite });
  return { path, written: [bundlePath!, sigPath!], logIndex };
}

function json(value: object): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
