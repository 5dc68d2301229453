import * as vscode from 'vscode';
import type { VerificationResult, VerificationState } from '../core/verify/result';
import { STATE_LABELS } from '../ui/reportMarkdown';

/** Badges are at most two characters and readable without colour. */
export const BADGES: Record<VerificationState, { badge: string; color: string }> = {
  verified: { badge: '✓', color: 'sigstore.verifiedForeground' },
  untrusted: { badge: '!', color: 'sigstore.untrustedForeground' },
  integrity: { badge: '#', color: 'sigstore.integrityForeground' },
  failed: { badge: '✗', color: 'sigstore.failedForeground' },
  unverifiable: { badge: '?', color: 'sigstore.unverifiableForeground' },
};

/** Explorer and tab badges for every artifact with companions, from the verification cache. */
export class VerificationDecorationProvider implements vscode.FileDecorationProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri[]>();
  readonly onDidChangeFileDecorations = this.changes.event;

  constructor(private readonly lookup: (path: string) => VerificationResult | undefined) {}

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== 'file') return undefined;
    const result = this.lookup(uri.fsPath);
    return result ? decorationOf(result) : undefined;
  }

  refresh(paths: readonly string[]): void {
    this.changes.fire(paths.map((p) => vscode.Uri.file(p)));
  }

  dispose(): void {
    this.changes.dispose();
  }
}

export function decorationOf(result: VerificationResult): vscode.FileDecoration {
  const { badge, color } = BADGES[result.state];
  const decoration = new vscode.FileDecoration(badge, `Sigstore: ${STATE_LABELS[result.state]}: ${result.summary}`, new vscode.ThemeColor(color));
  // The colour would also tint parent folders; a failure is worth that, a success is not.
  decoration.propagate = false;
  return decoration;
}
