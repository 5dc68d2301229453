import * as vscode from 'vscode';
import { basename } from 'node:path';
import type { VerificationResult } from '../core/verify/result';
import { renderReport } from './reportMarkdown';

export const REPORT_SCHEME = 'sigstore-report';

/** Read-only Markdown documents holding verification reports, shown in the Markdown preview. */
export class ReportDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly reports = new Map<string, string>();
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.reports.get(uri.toString()) ?? '# Report no longer available\n\nRun **Sigstore: Verify** again.';
  }

  /** Stores the report for an artifact; one document per artifact, updated in place. */
  publish(result: VerificationResult): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${basename(result.artifact)} (Sigstore report).md`, query: result.artifact });
    this.reports.set(uri.toString(), renderReport(result));
    this.changes.fire(uri);
    return uri;
  }

  dispose(): void {
    this.changes.dispose();
  }
}
