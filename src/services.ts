import type * as vscode from 'vscode';
import type { VerificationCache } from './core/verify/verificationCache';
import type { ReportDocuments } from './ui/reportDocument';

/** What commands need from the running extension; passed in, never global. */
export interface ExtensionServices {
  readonly cache: VerificationCache;
  readonly reports: ReportDocuments;
  readonly log: vscode.LogOutputChannel;
  /** Reloads the trusted root from the settings and re-verifies everything. */
  reloadTrustedRoot(): Promise<void>;
  /** Finds every companion in the workspace and verifies what they are about. */
  scan(): Promise<void>;
}
