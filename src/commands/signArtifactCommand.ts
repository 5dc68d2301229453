import { lstat, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { companionOf } from '../core/artifacts/companions';
import type { FileSigner, SignedFile } from '../core/sign/fileSigning';
import type { VerificationResult } from '../core/verify/result';
import { loadCore } from '../coreLoader';
import type { ExtensionServices } from '../services';
import { prepareSigner } from '../signerSetup';
import { withCancellableProgress, type Progress } from '../ui/cancellableProgress';
import type { SigningMethod } from '../ui/signingPrompts';
import { requireTrustedWorkspace, showSigningError } from '../ui/signingMessages';

export const SIGN_ARTIFACT_COMMAND = 'sigstore.signArtifact';
const LAST_METHOD_KEY = 'sigstore.lastSigningMethod';
const CANCELLED = 'cancelled';

/** What one run of Sign Artifact did (returned for tests and other extensions). */
export interface SignArtifactOutcome {
  readonly method: SigningMethod;
  readonly signed: ReadonlyArray<SignedFile & { readonly result?: VerificationResult }>;
  readonly failed: ReadonlyArray<{ readonly path: string; readonly message: string }>;
  readonly skipped: readonly string[];
}

/**
 * Sign Artifact (palette, Explorer menu for one or several files): asks how to sign, signs
 * in once, signs every file, writes F.sigstore.json (and F.sig for a key) atomically,
 * verifies the result at once and sums up.
 */
export async function signArtifactCommand(services: ExtensionServices, clicked?: vscode.Uri, selected?: readonly vscode.Uri[]): Promise<SignArtifactOutcome | undefined> {
  if (!requireTrustedWorkspace('sign files')) return undefined;
  const { prompts, workspaceState } = services.signing;
  const files = await filesToSign(services, clicked, selected);
  if (!files?.length) return undefined;

  const method = await prompts.chooseMethod(workspaceState.get<SigningMethod>(LAST_METHOD_KEY));
  if (!method) return undefined;
  await workspaceState.update(LAST_METHOD_KEY, method);

  const core = loadCore();
  const existing: string[] = [];
  const clashes = new Set<string>();
  for (const file of files) {
    for (const companion of core.companionsToWrite(file, method)) {
      // lstat, as the writer: a dangling link is an existing name too.
      if (await lstat(companion).then(() => true, () => false)) {
        existing.push(companion);
        clashes.add(file);
      }
    }
  }
  let overwrite = false;
  let targets = files;
  if (existing.length) {
    const answer = await prompts.confirmOverwrite(existing, files.length);
    if (!answer) return undefined;
    overwrite = answer === 'overwrite';
    if (answer === 'skip') targets = files.filter((f) => !clashes.has(f));
  }
  const skipped = files.filter((f) => !targets.includes(f));
  if (!targets.length) return { method, signed: [], failed: [], skipped };

  try {
    return await withCancellableProgress('Sigstore', async (signal, progress) => {
      const signer = await prepareSigner(services, method, progress, signal);
      if (!signer) return undefined;
      const outcome = await signAll(services, method, targets, signer, overwrite, progress, signal);
      return { ...outcome, skipped };
    }).then((outcome) => {
      if (outcome) void summarise(services, outcome);
      return outcome;
    });
  } catch (e) {
    showSigningError(services, e);
    return undefined;
  }
}

async function filesToSign(services: ExtensionServices, clicked?: vscode.Uri, selected?: readonly vscode.Uri[]): Promise<string[] | undefined> {
  let uris: readonly vscode.Uri[] | undefined = selected?.length ? selected : clicked ? [clicked] : undefined;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (!uris && active?.scheme === 'file') uris = [active];
  uris ??= await services.signing.prompts.chooseFiles();
  if (!uris?.length) return undefined;
  const paths: string[] = [];
  for (const uri of uris) {
    if (uri.scheme !== 'file') {
      void vscode.window.showWarningMessage(`Sigstore: only files on disk can be signed (${uri.scheme}: is not supported).`);
      return undefined;
    }
    const info = await stat(uri.fsPath).catch(() => undefined);
    // A signature of a signature helps nobody; checksum lists (SHA256SUMS) are content-named and stay signable.
    const of = companionOf(uri.fsPath);
    if (info?.isFile() && of && (await stat(of.artifact).then((a) => a.isFile(), () => false))) {
      void vscode.window.showWarningMessage(
        `Sigstore: ${vscode.workspace.asRelativePath(uri)} is a companion of ${vscode.workspace.asRelativePath(of.artifact)}; sign ${vscode.workspace.asRelativePath(of.artifact)} instead.`,
      );
      return undefined;
    }
    if (!info?.isFile()) {
      void vscode.window.showWarningMessage(
        `Sigstore: ${vscode.workspace.asRelativePath(uri)} ${info?.isDirectory() ? 'is a folder; select the files in it to sign them' : 'is not a regular file'}.`,
      );
      return undefined;
    }
    paths.push(uri.fsPath);
  }
  return [...new Set(paths)];
}

async function signAll(
  services: ExtensionServices,
  method: SigningMethod,
  files: readonly string[],
  signer: FileSigner,
  overwrite: boolean,
  progress: Progress,
  signal: AbortSignal,
): Promise<Omit<SignArtifactOutcome, 'skipped'>> {
  const core = loadCore();
  const signed: Array<SignedFile & { result?: VerificationResult }> = [];
  const failed: Array<{ path: string; message: string }> = [];
  const cancelRest = (from: number) => {
    // Files signed before the cancel keep their new companions; the rest are untouched.
    if (!signed.length) signal.throwIfAborted();
    for (const rest of files.slice(from)) failed.push({ path: rest, message: CANCELLED });
  };
  for (const [i, file] of files.entries()) {
    if (signal.aborted) {
      cancelRest(i);
      break;
    }
    progress.report({ message: `Signing ${basename(file)}${files.length > 1 ? ` (${i + 1}/${files.length})` : ''}…`, increment: i === 0 ? 0 : 100 / files.length });
    try {
      const done = await core.signFileAndWrite(file, signer, { overwrite, signal });
      services.log.info(
        `Signed ${file} -> ${done.written.join(', ')}${done.identity ? ` as ${done.identity} (${done.issuer ?? 'unknown issuer'})` : ''}${done.logIndex ? `, Rekor log index ${done.logIndex}` : ''}`,
      );
      for (const companion of done.written) services.cache.changed(companion);
      signed.push({ ...done, result: await services.cache.verifyNow(file) });
    } catch (e) {
      if (signal.aborted) {
        cancelRest(i);
        break;
      }
      const { remedy } = e as { remedy?: string };
      const message = `${(e as Error).message}${remedy ? ` ${remedy}` : ''}`;
      services.log.error(`Signing ${file} failed: ${message}`);
      failed.push({ path: file, message });
      // A service or sign-in problem fails every file the same way: stop at the first.
      if ((e as { code?: string }).code !== 'EXISTS' && (e as { code?: string }).code !== 'READ_FAILED') {
        for (const rest of files.slice(i + 1)) failed.push({ path: rest, message: 'not attempted after the failure above' });
        break;
      }
    }
  }
  return { method, signed, failed };
}

async function summarise(services: ExtensionServices, outcome: SignArtifactOutcome): Promise<void> {
  const { signed, failed, skipped } = outcome;
  const who = signed.find((s) => s.identity)?.identity;
  const rel = (p: string) => vscode.workspace.asRelativePath(p);
  const notes: string[] = [];
  const cancelled = failed.filter((f) => f.message === CANCELLED);
  const errors = failed.filter((f) => f.message !== CANCELLED);
  if (skipped.length) notes.push(`${skipped.length} skipped (already signed)`);
  if (cancelled.length) notes.push(`${cancelled.length} not signed (cancelled)`);
  if (errors.length) notes.push(`${errors.length} failed: ${rel(errors[0]!.path)}: ${errors[0]!.message}`);
  if (!signed.length) {
    if (failed.length) void vscode.window.showErrorMessage(`Sigstore: nothing was signed. ${notes.join('; ')}`, 'Show Log').then((a) => a && services.log.show());
    return;
  }
  const what = signed.length === 1 ? rel(signed[0]!.path) : `${signed.length} files`;
  const states = new Set(signed.map((s) => s.result?.state));
  const worst = signed.find((s) => s.result?.state === 'failed' || s.result?.state === 'unverifiable');
  const verdict =
    states.size === 1 && states.has('verified')
      ? `${signed.length === 1 ? 'It verifies' : 'They verify'} against the trust policy.`
      : worst
        ? `But ${rel(worst.path)} does not verify: ${worst.result?.summary ?? 'see the report'}`
        : 'The signature is valid; the trust policy does not name this signer yet.';
  const message = `Sigstore: signed ${what}${who ? ` as ${who}` : ''}${signed[0]!.logIndex ? ` (Rekor log index ${signed[0]!.logIndex})` : ''}. ${verdict}${notes.length ? ` ${notes.join('; ')}.` : ''}`;
  const show = failed.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  const answer = await show(message, 'Open Report', 'Show Log');
  if (answer === 'Show Log') services.log.show();
  if (answer === 'Open Report') await vscode.commands.executeCommand('sigstore.verify', vscode.Uri.file((worst ?? signed[0]!).path));
}
