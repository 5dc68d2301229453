import * as vscode from 'vscode';
import { loadCore } from '../coreLoader';

/** Documents that may refer to images; the provider then checks the file name as the Images view does. */
export const IMAGE_DOCUMENTS: vscode.DocumentSelector = [
  { scheme: 'file', language: 'dockerfile' },
  { scheme: 'file', pattern: '**/{Dockerfile,Containerfile,*.Dockerfile,*.Containerfile,Dockerfile.*,Containerfile.*}' },
  { scheme: 'file', pattern: '**/*.{yaml,yml}' },
];

/**
 * "Sign Image" and "Attest Image" above each image reference in Dockerfiles, compose files,
 * Kubernetes manifests and workflows, found as the Images view finds them (in the text being
 * edited, saved or not). Off with `sigstore.images.codeLens`.
 */
export class ImageCodeLens implements vscode.CodeLensProvider {
  private readonly changes = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changes.event;

  /** The setting changed: ask VS Code for the lenses again. */
  refresh(): void {
    this.changes.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (document.uri.scheme !== 'file' || !vscode.workspace.getConfiguration('sigstore.images').get<boolean>('codeLens', true)) return [];
    const core = loadCore();
    const relative = vscode.workspace.asRelativePath(document.uri, false);
    if (!core.isImageFile(relative)) return [];
    const lenses: vscode.CodeLens[] = [];
    for (const use of core.findImageUses(relative, document.getText())) {
      const range = new vscode.Range(use.line, use.column, use.line, use.column + use.length);
      const target = { reference: use.reference };
      lenses.push(
        new vscode.CodeLens(range, { title: '$(workspace-trusted) Sign Image', command: 'sigstore.images.sign', arguments: [target], tooltip: `Sign ${use.reference} (its digest) with Sigstore` }),
        new vscode.CodeLens(range, { title: 'Attest Image', command: 'sigstore.images.attest', arguments: [target], tooltip: `Attest ${use.reference} with a predicate (provenance, SBOM, VEX…)` }),
      );
    }
    return lenses;
  }

  dispose(): void {
    this.changes.dispose();
  }
}
