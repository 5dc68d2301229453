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

  private readonly json = new Set<string>();

  publish(digest: string, title: string, payload: Buffer): vscode.Uri {
    const { text, isJson } = pretty(payload);
    const uri = vscode.Uri.from({ scheme: ATTACHMENT_SCHEME, path: `/${title.replace(/[/\\:]/g, '_')}${isJson ? '.json' : '.txt'}`, query: digest });
    // One document per attachment: re-opening replaces it, so memory stays bounded by what is shown.
    this.texts.set(uri.toString(), text);
    if (isJson) this.json.add(uri.toString());
    this.changes.fire(uri);
    return uri;
  }

  isJson(uri: vscode.Uri): boolean {
    return this.json.has(uri.toString());
  }

  dispose(): void {
    this.changes.dispose();
  }
}

function pretty(payload: Buffer): { text: string; isJson: boolean } {
  const text = payload.toString('utf8');
  try {
    return { text: `${JSON.stringify(JSON.parse(text), null, 2)}\n`, isJson: true };
  } catch {
    return { text, isJson: false };
  }
}
