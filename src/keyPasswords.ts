import type * as vscode from 'vscode';

/**
 * Key passwords the person chose to keep, in VS Code's SecretStorage (the OS keychain),
 * one per key file. Nothing is stored without that choice; settings, logs and files never
 * see a password.
 */
export class KeyPasswords {
  private static readonly PREFIX = 'sigstore.keyPassword:';
  private static readonly INDEX = 'sigstore.keyPasswords';

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly state: vscode.Memento,
  ) {}

  get(keyPath: string): Thenable<string | undefined> {
    return this.secrets.get(KeyPasswords.PREFIX + keyPath);
  }

  async remember(keyPath: string, password: string): Promise<void> {
    await this.secrets.store(KeyPasswords.PREFIX + keyPath, password);
    const index = new Set(this.state.get<string[]>(KeyPasswords.INDEX, []));
    index.add(keyPath);
    await this.state.update(KeyPasswords.INDEX, [...index]);
  }

  async forget(keyPath: string): Promise<void> {
    await this.secrets.delete(KeyPasswords.PREFIX + keyPath);
    await this.state.update(KeyPasswords.INDEX, this.remembered().filter((p) => p !== keyPath));
  }

  /** The key files whose password is kept (SecretStorage cannot list its own keys). */
  remembered(): string[] {
    return this.state.get<string[]>(KeyPasswords.INDEX, []);
  }

  async forgetAll(): Promise<number> {
    const all = this.remembered();
    for (const keyPath of all) await this.forget(keyPath);
    return all.length;
  }
}
