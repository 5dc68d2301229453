import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { ImageSigner } from '../core/imageSigning/imageSigner';
import type { SignatureStorage, SignedManifest } from '../core/imageSigning/signImage';
import type { RegistryClient } from '../core/oci/registryClient';
import { loadCore } from '../coreLoader';
import type { ExtensionServices } from '../services';
import { prepareSigner } from '../signerSetup';
import { withCancellableProgress, type Progress } from '../ui/cancellableProgress';
import { signingSettings } from '../signingSettings';
import { requireTrustedWorkspace, showSigningError } from '../ui/signingMessages';
import type { ImageAction, SigningMethod } from '../ui/signingPrompts';
import { registryClient } from './registryAccess';

const LAST_METHOD_KEY = 'sigstore.lastSigningMethod';
/** Predicates are documents (SBOMs can be large), but not unbounded. */
const MAX_PREDICATE_BYTES = 64 * 1024 * 1024;

/** What one Sign Image or Attest Image did (returned for tests). */
export interface ImageSigningOutcome {
  readonly action: ImageAction;
  readonly reference: string;
  readonly digest: string;
  readonly storage: SignatureStorage;
  readonly signed: readonly SignedManifest[];
}

/** Where signatures go, from `sigstore.images.signatureStorage`. */
export function signatureStorage(): SignatureStorage {
  return vscode.workspace.getConfiguration('sigstore.images').get<string>('signatureStorage') === 'cosign-tag' ? 'cosign-tag' : 'referrers';
}

function storageInWords(storage: SignatureStorage, action: ImageAction): string {
  return storage === 'referrers'
    ? 'as a Sigstore bundle referrer (OCI 1.1, as cosign v3 does)'
    : `in the image's sha256-….${action === 'sign' ? 'sig' : 'att'} tag (as cosign v2 does)`;
}

/**
 * Sign Image / Attest Image: resolves the reference, shows the digest that will be signed,
 * asks what it needs (annotations, or the predicate and its type; how to sign), signs, pushes
 * to the registry, logs what was written where, and refreshes the image in the view.
 */
export async function signOrAttestImage(services: ExtensionServices, action: ImageAction, given?: string): Promise<ImageSigningOutcome | undefined> {
  if (!requireTrustedWorkspace(action === 'sign' ? 'sign images' : 'attest images')) return undefined;
  const { prompts, workspaceState } = services.signing;
  const core = loadCore();
  const reference = given ?? (await prompts.imageReference(action));
  if (!reference) return undefined;
  let ref;
  try {
    ref = core.parseImageReference(reference);
  } catch (e) {
    void vscode.window.showErrorMessage(`Sigstore: ${(e as Error).message}`);
    return undefined;
  }
  const storage = signatureStorage();
  let client: RegistryClient | undefined;
  try {
    client = await registryClient();
    const registry = client;
    const image = await withProgress(`Resolving ${reference}…`, (signal) => core.resolveImage(registry, ref, { signal }));
    if (!image) return undefined;
    const pinned = core.formatReference(ref, { digest: image.digest });
    const scope = await prompts.confirmImageDigest({ action, reference, pinned, kind: image.kind, platforms: image.platforms.length, storage: storageInWords(storage, action) });
    if (!scope) return undefined;

    let annotations: Record<string, string> = {};
    let predicate: { type: string; body: Record<string, unknown> } | undefined;
    if (action === 'sign') {
      const pairs = await prompts.imageAnnotations();
      if (!pairs) return undefined;
      annotations = core.parseAnnotations(pairs);
    } else {
      const file = await prompts.choosePredicateFile();
      if (!file) return undefined;
      const type = await prompts.choosePredicateType(file);
      if (!type) return undefined;
      const bytes = await readFile(file.fsPath);
      if (bytes.length > MAX_PREDICATE_BYTES) throw new Error(`${vscode.workspace.asRelativePath(file)} is larger than 64 MiB; that is not a predicate this command attests.`);
      predicate = { type: core.predicateTypeOf(type), body: core.parsePredicate(bytes, vscode.workspace.asRelativePath(file)) };
    }

    const method = await prompts.chooseMethod(workspaceState.get<SigningMethod>(LAST_METHOD_KEY), action === 'sign' ? 'Sign Image' : 'Attest Image');
    if (!method) return undefined;
    await workspaceState.update(LAST_METHOD_KEY, method);

    const signed = await withProgress(`${action === 'sign' ? 'Signing' : 'Attesting'} ${pinned}…`, async (signal, progress) => {
      const signer = await imageSignerFor(services, method, progress, signal);
      if (!signer) return undefined;
      const onManifest = (digest: string, platform: string | undefined) =>
        progress.report({ message: `${action === 'sign' ? 'Signing' : 'Attesting'} ${platform ? `${platform} (${digest.slice(0, 19)}…)` : digest.slice(0, 19)}… and pushing to ${ref.registry}` });
      if (action === 'sign') return core.signImage(registry, image, signer, { storage, annotations, recursive: scope === 'recursive', signal, onManifest });
      return [await core.attestImage(registry, image, signer, { storage, predicateType: predicate!.type, predicate: predicate!.body, signal, onManifest })];
    });
    if (!signed) return undefined;
    for (const s of signed) {
      services.log.info(
        `${action === 'sign' ? 'Signed' : 'Attested'} ${image.name}@${s.digest}${s.platform ? ` (${s.platform})` : ''} -> ${s.written.location}: manifest ${s.written.digest}` +
          `${s.written.fallbackTag ? `, fallback index ${s.written.fallbackTag}` : ''}${s.logIndex ? `, Rekor log index ${s.logIndex}` : ''}` +
          `${s.identity ? `, as ${s.identity} (${s.issuer ?? 'unknown issuer'})` : ''}${s.written.attempts > 1 ? `, after ${s.written.attempts} attempts (someone else wrote at the same time)` : ''}`,
      );
    }
    services.images.tree.attachmentsChanged(signed.map((s) => s.digest));
    void summarise(services, action, pinned, storage, signed);
    return { action, reference, digest: image.digest, storage, signed };
  } catch (e) {
    showSigningError(services, e);
    return undefined;
  } finally {
    void client?.close();
  }
}

async function imageSignerFor(services: ExtensionServices, method: SigningMethod, progress: Progress, signal: AbortSignal): Promise<ImageSigner | undefined> {
  const core = loadCore();
  const prepared = await prepareSigner(services, method, progress, signal);
  if (!prepared) return undefined;
  if (prepared.kind === 'keyless') return core.keylessImageSigner(prepared.session);
  const settings = signingSettings();
  return core.keyImageSigner(prepared.key, settings.uploadKeySignatures ? { rekorURL: settings.rekorURL } : {});
}

/** Runs `work` under a cancellable notification, saying what it does first. */
function withProgress<T>(title: string, work: (signal: AbortSignal, progress: Progress) => Promise<T | undefined>): Thenable<T | undefined> {
  return withCancellableProgress('Sigstore', (signal, progress) => {
    progress.report({ message: title });
    return work(signal, progress);
  });
}

async function summarise(services: ExtensionServices, action: ImageAction, pinned: string, storage: SignatureStorage, signed: readonly SignedManifest[]): Promise<void> {
  const first = signed[0]!;
  const more = signed.length > 1 ? ` and ${signed.length - 1} platform manifest${signed.length > 2 ? 's' : ''}` : '';
  const where = storage === 'referrers' ? 'as a referrer' : `in ${first.written.location.slice(first.written.location.lastIndexOf(':') + 1)}`;
  const message = `Sigstore: ${action === 'sign' ? 'signed' : 'attested'} ${pinned}${more}${first.identity ? ` as ${first.identity}` : ''}, stored ${where}${first.logIndex ? ` (Rekor log index ${first.logIndex})` : ''}.`;
  const answer = await vscode.window.showInformationMessage(message, 'Show in Images View', 'Show Log');
  if (answer === 'Show Log') services.log.show();
  if (answer === 'Show in Images View') await vscode.commands.executeCommand('sigstore.images.focus');
}
