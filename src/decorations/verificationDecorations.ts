import * as vscode from 'vscode';
import type { VerificationResult, VerificationState } from '../core/verify/result';
import { isRegularFile } from '../core/artifacts/artifact';
import { STATE_LABELS } from '../ui/reportMarkdown';

/** Badges are at most two characters and readable without colour. */
export const BADGES: Record<VerificationState, { badge: string; color: string }> = {
  verified: { badge: '✓', color: 'sigstore.verifiedForeground' },
  untrusted: { badge: '!', color: 'sigstore.untrustedForeground' },
  integrity: { badge: '#', color: 'sigstore.integrityForeground' },
  failed: { badge: '✗', color: 'sigstore.failedForeground' },
  unverifiable: { badge: '?', color: 'sigstore.unverifiableForeground' },
  unsigned: { badge: '∅', color: 'sigstore.unsignedForeground' },
};

/**
 * Explorer and tab badges for every artifact with companions, from the verification cache, and
 * for files the trust policy expects a signature for that have none.
 */
export class VerificationDecorationProvider implements vscode.FileDecorationProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.changes.event;

  /**
   * @param lookup the verification cache's result for a path
   * @param unsigned the result of a path without evidence that a policy rule covers (asked
   *   only for what VS Code shows, so a rule covering thousands of files costs nothing more)
   */
  constructor(
    private readonly lookup: (path: string) => VerificationResult | undefined,
    private readonly unsigned: (path: string) => VerificationResult | undefined = () => undefined,
  ) {}

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined | Promise<vscode.FileDecoration | undefined> {
    if (uri.scheme !== 'file') return undefined;
    const result = this.lookup(uri.fsPath);
    if (result) return decorationOf(result);
    const unsigned = this.unsigned(uri.fsPath);
    if (!unsigned) return undefined;
    // Folders match globs too; only files can be unsigned.
    return isRegularFile(uri.fsPath).then((file) => (file ? decorationOf(unsigned) : undefined));
  }

  refresh(paths: readonly string[]): void {
    this.changes.fire(paths.map((p) => vscode.Uri.file(p)));
  }

  /** Every badge may have changed (the trust policy did). */
  refreshAll(): void {
    this.changes.fire(undefined);
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
