import type * as vscode from 'vscode';
import type { VerificationCache } from './core/verify/verificationCache';
import type { ImagesTree } from './images/imagesTree';
import type { WorkspaceImages } from './images/workspaceImages';
import type { KeyPasswords } from './keyPasswords';
import type { AttachmentDocuments } from './ui/attachmentDocuments';
import type { ReportDocuments } from './ui/reportDocument';
import type { SigningPrompts } from './ui/signingPrompts';

/** What commands need from the running extension; passed in, never global. */
export interface ExtensionServices {
  readonly cache: VerificationCache;
  readonly reports: ReportDocuments;
  readonly log: vscode.LogOutputChannel;
  readonly signing: {
    /** The questions signing asks (replaceable by tests and automation). */
    readonly prompts: SigningPrompts;
    readonly passwords: KeyPasswords;
    /** Per-workspace memory, e.g. the last signing method chosen. */
    readonly workspaceState: vscode.Memento;
  };
  readonly images: {
    readonly workspaceImages: WorkspaceImages;
    readonly tree: ImagesTree;
    readonly documents: AttachmentDocuments;
  };
  /** Reloads the trusted root from the settings and re-verifies everything. */
  reloadTrustedRoot(): Promise<void>;
  /** Finds every companion in the workspace and verifies what they are about. */
  scan(): Promise<void>;
}
