import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { DeviceCode } from '../core/oidc/deviceFlow';

export type SigningMethod = 'keyless' | 'key';

/**
 * Every question signing asks the person (and Verify, when it offers signing or needs a
 * file), in one place: the commands stay readable, and
 * tests and automation can answer them (SigstoreApi.useSigningPrompts) since VS Code's
 * modal dialogs cannot be clicked from an extension host.
 */
export interface SigningPrompts {
  /** How to sign; `command` names what asks (Sign Artifact, Sign Image…). */
  chooseMethod(last: SigningMethod | undefined, command?: string): Promise<SigningMethod | undefined>;
  /** Files to sign when none is selected or active. */
  chooseFiles(): Promise<vscode.Uri[] | undefined>;
  /** Verify found nothing to verify for `file` (relative): true to sign it with Sign Artifact. */
  offerSigning(file: string): Promise<boolean>;
  /** The file to verify when none is selected or active. */
  chooseFileToVerify(): Promise<vscode.Uri | undefined>;
  /** Some companions exist already: replace them, skip those files, or stop. */
  confirmOverwrite(existing: readonly string[], total: number): Promise<'overwrite' | 'skip' | undefined>;
  /** Shows the device code; true once the person chose Copy & Open (code copied, page opened). */
  presentDeviceCode(code: DeviceCode): Promise<boolean>;
  /** Opens the sign-in page of the browser flow. */
  openBrowser(url: string): Promise<boolean>;
  chooseKeyFile(candidates: readonly vscode.Uri[]): Promise<vscode.Uri | undefined>;
  /** The password of an existing key; `problem` says why it is asked again. */
  keyPassword(keyPath: string, problem?: string): Promise<string | undefined>;
  /** A password for a new key, asked twice. */
  newKeyPassword(): Promise<string | undefined>;
  /** Whether to keep the password in VS Code's secret storage (the OS keychain). */
  rememberPassword(keyPath: string): Promise<boolean>;
  confirmReplaceKey(existing: readonly string[]): Promise<boolean>;
  chooseFolder(folders: readonly vscode.WorkspaceFolder[]): Promise<vscode.Uri | undefined>;
  /** An image reference to sign or attest, when the command was not run on one. */
  imageReference(action: ImageAction): Promise<string | undefined>;
  /**
   * Shows the digest the reference resolved to, which is what gets signed. For an index with
   * platforms: the index alone, or also each platform manifest (cosign --recursive).
   */
  confirmImageDigest(request: ImageDigestRequest): Promise<'image' | 'recursive' | undefined>;
  /** Optional annotations as key=value (cosign -a); [] for none, undefined to stop. */
  imageAnnotations(): Promise<string[] | undefined>;
  /** The JSON file holding an attestation's predicate. */
  choosePredicateFile(): Promise<vscode.Uri | undefined>;
  /** The predicate type: a cosign --type name or a URI. */
  choosePredicateType(predicateFile: vscode.Uri): Promise<string | undefined>;
}

export type ImageAction = 'sign' | 'attest';

export interface ImageDigestRequest {
  readonly action: ImageAction;
  /** As written (a tag, usually). */
  readonly reference: string;
  /** `registry/repo@sha256:…`: what is signed. */
  readonly pinned: string;
  readonly kind: 'index' | 'manifest';
  /** Platform manifests of an index (0 for a manifest). */
  readonly platforms: number;
  /** Where it will be stored, in words. */
  readonly storage: string;
}

/** Predicate types offered for Attest Image, with cosign's --type names. */
const PREDICATE_CHOICES: ReadonlyArray<{ label: string; type: string }> = [
  { label: 'SLSA provenance v1', type: 'slsaprovenance1' },
  { label: 'SLSA provenance v0.2', type: 'slsaprovenance' },
  { label: 'SPDX SBOM', type: 'spdxjson' },
  { label: 'CycloneDX SBOM', type: 'cyclonedx' },
  { label: 'OpenVEX', type: 'openvex' },
  { label: 'custom (cosign)', type: 'custom' },
];

const SIGN_ARTIFACT_BUTTON = 'Sign Artifact';

/** Why Verify has nothing to report on `file` (relative), and what it looks for. */
export function noEvidence(file: string): string {
  return `${file} has no signature, bundle, attestation or checksum next to it (such as ${file}.sigstore.json, ${file}.sig or a SHA256SUMS listing it).`;
}

export const vscodeSigningPrompts: SigningPrompts = {
  async chooseMethod(last, command = 'Sign Artifact') {
    const keyless = { label: '$(globe) Sigstore keyless', description: 'sign in with your identity (OpenID Connect)', method: 'keyless' as const };
    const key = { label: '$(key) cosign key', description: 'sign with cosign.key', method: 'key' as const };
    const items = last === 'key' ? [key, keyless] : [keyless, key];
    const picked = await vscode.window.showQuickPick(items, { title: `Sigstore: ${command}`, placeHolder: 'How do you want to sign?' });
    return picked?.method;
  },

  async chooseFiles() {
    return vscode.window.showOpenDialog({ canSelectMany: true, canSelectFolders: false, openLabel: 'Sign', title: 'Sigstore: files to sign' });
  },

  async offerSigning(file) {
    const answer = await vscode.window.showInformationMessage(`Sigstore: ${noEvidence(file)} Sign it?`, SIGN_ARTIFACT_BUTTON);
    return answer === SIGN_ARTIFACT_BUTTON;
  },

  async chooseFileToVerify() {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      canSelectFolders: false,
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      openLabel: 'Verify',
      title: 'Sigstore: file to verify',
    });
    return picked?.[0];
  },

  async confirmOverwrite(existing, total) {
    const names = existing.map((p) => basename(p));
    const message =
      existing.length === 1 ? `${names[0]} already exists. Replace it with a new signature?` : `${existing.length} signature files already exist: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}. Replace them?`;
    const buttons = total > 1 ? ['Replace', 'Skip Those Files'] : ['Replace'];
    const answer = await vscode.window.showWarningMessage(message, { modal: true, detail: 'The old signature is replaced only once the new one is complete.' }, ...buttons);
    return answer === 'Replace' ? 'overwrite' : answer === 'Skip Those Files' ? 'skip' : undefined;
  },

  async presentDeviceCode(code) {
    const target = code.verificationUriComplete ?? code.verificationUri;
    const answer = await vscode.window.showInformationMessage(
      `Sign in to Sigstore with the code ${code.userCode}`,
      {
        modal: true,
        detail: `"Copy & Open" copies the code and opens ${new URL(target).origin} in your browser (or go to ${code.verificationUri} and enter the code). Confirm the code there; signing then continues by itself. The code expires in ${Math.max(1, Math.round(code.expiresInSeconds / 60))} minutes.`,
      },
      'Copy & Open',
    );
    if (answer !== 'Copy & Open') return false;
    // The page comes from the provider's answer: open web pages only, nothing else a URI can launch.
    if (!/^https?:$/.test(new URL(target).protocol)) throw new Error(`The sign-in page ${target} is not a web address.`);
    // The code is also on the page that opens; a clipboard the browser refuses stops nothing.
    await Promise.resolve(vscode.env.clipboard.writeText(code.userCode)).catch(() => undefined);
    await vscode.env.openExternal(vscode.Uri.parse(target, true));
    return true;
  },

  async openBrowser(url) {
    if (!/^https?:$/.test(new URL(url).protocol)) throw new Error(`The sign-in page ${url} is not a web address.`);
    return vscode.env.openExternal(vscode.Uri.parse(url, true));
  },

  async chooseKeyFile(candidates) {
    const picked = await vscode.window.showQuickPick(
      candidates.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
      { title: 'Sigstore: which key signs?', placeHolder: 'Several cosign.key files are in the workspace' },
    );
    return picked?.uri;
  },

  async keyPassword(keyPath, problem) {
    return vscode.window.showInputBox({
      title: `Password of ${vscode.workspace.asRelativePath(keyPath)}`,
      prompt: problem ?? 'The password the key was encrypted with (cosign generate-key-pair asks for it).',
      password: true,
      ignoreFocusOut: true,
    });
  },

  async newKeyPassword() {
    const first = await vscode.window.showInputBox({
      title: 'Sigstore: password for the new cosign.key (1/2)',
      prompt: 'The private key is encrypted with it. It is not stored unless you choose so afterwards.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.length === 0 ? 'Choose a password: without one the private key is readable by anyone who gets the file.' : undefined),
    });
    if (first === undefined) return undefined;
    const second = await vscode.window.showInputBox({
      title: 'Sigstore: password for the new cosign.key (2/2)',
      prompt: 'The same password again.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v === first ? undefined : 'The passwords differ.'),
    });
    return second === first ? second : undefined;
  },

  async rememberPassword(keyPath) {
    const answer = await vscode.window.showInformationMessage(
      `Remember the password of ${vscode.workspace.asRelativePath(keyPath)} in VS Code's secret storage?`,
      { modal: true, detail: 'It is then kept in the operating system keychain and not asked again. "Sigstore: Forget Key Passwords" removes it.' },
      'Remember',
      'Not Now',
    );
    return answer === 'Remember';
  },

  async confirmReplaceKey(existing) {
    const answer = await vscode.window.showWarningMessage(
      `${existing.map((p) => vscode.workspace.asRelativePath(p)).join(' and ')} already exist${existing.length === 1 ? 's' : ''}. Replace with a new key pair?`,
      { modal: true, detail: 'The old private key is lost: signatures made with it can no longer be repeated, and anyone trusting the old cosign.pub will not trust the new one.' },
      'Replace',
    );
    return answer === 'Replace';
  },

  async imageReference(action) {
    const value = await vscode.window.showInputBox({
      title: `Sigstore: ${action === 'sign' ? 'Sign' : 'Attest'} Image`,
      prompt: 'An image reference, e.g. ghcr.io/org/app:1.2 — it is resolved to a digest, and the digest is signed.',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'Enter an image reference.'),
    });
    return value?.trim() || undefined;
  },

  async confirmImageDigest(request) {
    const verb = request.action === 'sign' ? 'Sign' : 'Attest';
    const tagged = request.reference.includes('@') ? '' : `${request.reference} resolves to this digest now. `;
    const buttons = request.kind === 'index' && request.platforms > 0 && request.action === 'sign' ? [verb, `${verb} Index and ${request.platforms} Platforms`] : [verb];
    const answer = await vscode.window.showInformationMessage(
      `${verb} ${request.pinned}?`,
      {
        modal: true,
        detail: `${tagged}The ${request.action === 'sign' ? 'signature' : 'attestation'} is bound to the digest, not to a tag, and is stored ${request.storage}.${request.kind === 'index' ? ' This is a multi-platform index.' : ''}`,
      },
      ...buttons,
    );
    return answer === verb ? 'image' : answer ? 'recursive' : undefined;
  },

  async imageAnnotations() {
    const value = await vscode.window.showInputBox({
      title: 'Sigstore: annotations (optional)',
      prompt: 'key=value pairs separated by commas, signed with the image (cosign -a). Leave empty for none.',
      ignoreFocusOut: true,
      validateInput: (v) => (splitAnnotations(v).some((pair) => !/^[^=\s][^=]*=/.test(pair)) ? 'Write each annotation as key=value.' : undefined),
    });
    return value === undefined ? undefined : splitAnnotations(value);
  },

  async choosePredicateFile() {
    const files = await vscode.workspace.findFiles('**/*.json', '{**/node_modules/**,**/.git/**,**/*.sigstore.json}', 200);
    const browse = { label: '$(folder-opened) Browse…', uri: undefined };
    const picked = await vscode.window.showQuickPick(
      [...files.sort((a, b) => a.fsPath.localeCompare(b.fsPath)).map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })), browse],
      { title: 'Sigstore: Attest Image', placeHolder: 'The JSON file holding the predicate (provenance, SBOM, VEX…)' },
    );
    if (!picked) return undefined;
    if (picked.uri) return picked.uri;
    const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { JSON: ['json'] }, openLabel: 'Attest With', title: 'Sigstore: predicate file' });
    return chosen?.[0];
  },

  async choosePredicateType(predicateFile) {
    const other = { label: '$(link) Other predicate type…', type: '' };
    const picked = await vscode.window.showQuickPick([...PREDICATE_CHOICES, other], {
      title: `Sigstore: what is ${basename(predicateFile.fsPath)}?`,
      placeHolder: 'The predicate type, as cosign attest --type names it',
    });
    if (!picked) return undefined;
    if (picked.type) return picked.type;
    const uri = await vscode.window.showInputBox({
      title: 'Sigstore: predicate type',
      prompt: 'The predicate type URI, e.g. https://example.com/attestations/review/v1',
      ignoreFocusOut: true,
      validateInput: (v) => (/^https?:\/\/\S+$/.test(v.trim()) ? undefined : 'Enter an http(s) URI.'),
    });
    return uri?.trim() || undefined;
  },

  async chooseFolder(folders) {
    const picked = await vscode.window.showQuickPick(
      folders.map((f) => ({ label: f.name, description: f.uri.fsPath, uri: f.uri })),
      { placeHolder: 'Where should cosign.key and cosign.pub go?' },
    );
    return picked?.uri;
  },
};

function splitAnnotations(value: string): string[] {
  return value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}
