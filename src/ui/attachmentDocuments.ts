import * as vscode from 'vscode';

export const ATTACHMENT_SCHEME = 'sigstore-attachment';

/** Read-only documents holding attachment payloads (signature payloads, statements, SBOMs), pretty-printed when JSON. */
export class AttachmentDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '// No longer available: open it again from the Images view.';
  }

  publish(digest: string, title: string, payload: Buffer): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: ATTACHMENT_SCHEME, path: `/${title.replace(/[/\\:]/g, '_')}.json`, query: digest });
    this.texts.set(uri.toString(), pretty(payload));
    this.changes.fire(uri);
    return uri;
  }

  dispose(): void {
    this.changes.dispose();
  }
}

function pretty(payload: Buffer): string {
  const text = payload.toString('utf8');
  try {
    return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
  } catch {
    return text;
  }
}
