import * as vscode from 'vscode';

export type Progress = vscode.Progress<{ message?: string; increment?: number }>;

/**
 * Runs `work` under a Sigstore notification with Cancel; Cancel aborts the signal `work` gets
 * (with a CancellationError as the reason), which every service and registry request honours.
 */
export function withCancellableProgress<T>(title: string, work: (signal: AbortSignal, progress: Progress) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    const cancelled = token.onCancellationRequested(() => abort.abort(new vscode.CancellationError()));
    try {
      return await work(abort.signal, progress);
    } finally {
      cancelled.dispose();
    }
  });
}
