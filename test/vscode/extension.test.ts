// Runs inside a real VS Code extension host, on the fixture workspace of test/support/fixtures.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { VerificationResult } from '../../src/core/verify/result';
import { BADGES } from '../../src/decorations/verificationDecorations';
import type { SigstoreApi } from '../../src/extension';
import { api, EXTENSION_ID, until, uriOf, workspaceRoot } from './extensionHost';

interface FixtureFile {
  path: string;
  companion: string;
  expected: 'verified' | 'untrusted' | 'integrity' | 'failed' | 'unverifiable';
  signer?: string;
  issuer?: string;
  reason: string;
}

function manifest(): { files: FixtureFile[]; unsigned: string[]; required: string[] } {
  return JSON.parse(readFileSync(join(workspaceRoot(), '.fixture-manifest.json'), 'utf8'));
}

/** The report document the Verify command produced for a file, read through VS Code. */
async function reportFor(artifact: vscode.Uri): Promise<string> {
  const doc = await until('the report document', () =>
    vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'sigstore-report' && d.uri.query === artifact.fsPath),
  );
  return doc.getText();
}

describe('Sigstore extension', () => {
  it('activates in a workspace with bundles and contributes its commands', async () => {
    const ext = vscode.extensions.getExtension<SigstoreApi>(EXTENSION_ID);
    assert.ok(ext);
    // workspaceContains:**/*.sigstore.json activates it without anyone asking.
    await until('activation by workspaceContains', () => ext.isActive);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('sigstore.verify'));
    assert.ok(commands.includes('sigstore.refresh'));
  });

  describe('badges', () => {
    before(async () => {
      const sigstore = await api();
      // The initial scan is asynchronous; wait until every fixture has a result.
      await until('every fixture verified once', () => manifest().files.every((f) => sigstore.resultFor(uriOf(f.path))));
      await sigstore.whenIdle();
    });

    for (const f of manifest().files) {
      it(`${f.path}: ${f.expected} (${f.reason})`, async () => {
        const sigstore = await api();
        const result = sigstore.resultFor(uriOf(f.path));
        assert.equal(result?.state, f.expected, result?.summary);
        const decoration = await sigstore.provideFileDecoration(uriOf(f.path));
        assert.equal(decoration?.badge, BADGES[f.expected].badge);
        assert.ok(decoration?.tooltip?.startsWith('Sigstore: '), decoration?.tooltip);
        if (f.signer) {
          assert.ok(decoration?.tooltip?.includes(f.signer), `tooltip names the signer: ${decoration?.tooltip}`);
          if (f.issuer) assert.ok(decoration?.tooltip?.includes(f.issuer), `tooltip names the issuer: ${decoration?.tooltip}`);
        } else {
          assert.ok((decoration?.tooltip?.length ?? 0) > 'Sigstore: Failed: '.length + 10, `tooltip gives a reason: ${decoration?.tooltip}`);
        }
        // The companion itself is evidence, not an artifact.
        assert.equal(await sigstore.provideFileDecoration(uriOf(f.companion)), undefined, f.companion);
      });
    }

    it('files without companions that no rule covers get no badge', async () => {
      const sigstore = await api();
      for (const p of manifest().unsigned) assert.equal(await sigstore.provideFileDecoration(uriOf(p)), undefined, p);
    });

    it('a file a rule covers with no companion is unsigned, and its folder is not', async () => {
      const sigstore = await api();
      for (const p of manifest().required) {
        assert.equal(sigstore.resultFor(uriOf(p))?.state, 'unsigned', p);
        const decoration = await sigstore.provideFileDecoration(uriOf(p));
        assert.equal(decoration?.badge, BADGES.unsigned.badge, p);
        assert.match(decoration?.tooltip ?? '', /^Sigstore: Signature missing: No signature found, but rule 1 \(this project\)/);
      }
      // "nested/**" covers the folder's path too; only files can be unsigned.
      assert.equal(await sigstore.provideFileDecoration(uriOf('nested')), undefined);
    });
  });

  describe('Verify command', () => {
    afterEach(async () => {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('opens a report naming the signer, issuer, log entry and trusted root of a verified file', async () => {
      const file = manifest().files.find((f) => f.path === 'hello.txt')!;
      const result = await vscode.commands.executeCommand<VerificationResult>('sigstore.verify', uriOf(file.path));
      assert.equal(result?.state, 'verified');
      const report = await reportFor(uriOf(file.path));
      assert.match(report, /\*\*Result: Verified\*\*/);
      assert.ok(report.includes(`Identity: \`${file.signer}\``), report);
      assert.ok(report.includes(`Issuer: \`${file.issuer}\``), report);
      assert.match(report, /Log index `\d+`/);
      assert.match(report, /Trust policy names the signer/);
      assert.match(report, /trusted by rule 1 \\\(this project\\\)/);
      assert.match(report, /Trusted root/);
      assert.ok(report.includes(`\`${join(workspaceRoot(), 'trusted_root.json')}\``), 'the configured trusted root is named');
      // Shown as real UI: a Markdown preview tab.
      await until('a Markdown preview tab', () =>
        vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && /markdown/i.test(t.input.viewType)),
      );
    });

    it('reports a tampered file as failed, with the failed check and what to do', async () => {
      const result = await vscode.commands.executeCommand<VerificationResult>('sigstore.verify', uriOf('tampered.txt'));
      assert.equal(result?.state, 'failed');
      const report = await reportFor(uriOf('tampered.txt'));
      assert.match(report, /### What failed/);
      assert.match(report, /Check: \*\*Evidence refers to this file\*\* \(`artifact-binding`\)/);
      assert.match(report, /What you can do: /);
    });

    it('reports a malformed companion as failed at parsing, without throwing', async () => {
      const result = await vscode.commands.executeCommand<VerificationResult>('sigstore.verify', uriOf('malformed.txt'));
      assert.equal(result?.state, 'failed');
      assert.equal(result?.evidence[0]?.failure?.check, 'parse');
      assert.match(await reportFor(uriOf('malformed.txt')), /not valid JSON/);
    });

    it('reports other kinds of evidence with their signer and the policy rule', async () => {
      const docs = manifest().files.find((f) => f.path === 'docs.txt')!;
      const result = await vscode.commands.executeCommand<VerificationResult>('sigstore.verify', uriOf('docs.txt'));
      assert.equal(result?.state, 'verified');
      const report = await reportFor(uriOf('docs.txt'));
      assert.match(report, /## OpenPGP signature `docs\.txt\.asc`/);
      assert.ok(report.includes(`OpenPGP key \`${docs.signer}\``), report);
      assert.match(report, /Trust policy: rule 1 \\\(this project\\\)/);
      const sums = await vscode.commands.executeCommand<VerificationResult>('sigstore.verify', uriOf('dist/one.bin'));
      assert.equal(sums?.state, 'integrity');
      assert.match(await reportFor(uriOf('dist/one.bin')), /a checksum says nothing about who made the file/);
    });

    it('verifies the file a companion belongs to when run on the companion', async () => {
      const result = await vscode.commands.executeCommand<VerificationResult>('sigstore.verify', uriOf('hello.txt.sigstore.json'));
      assert.equal(result?.artifact, uriOf('hello.txt').fsPath);
      assert.equal(result?.state, 'verified');
    });

    it('verifies the active editor when run from the palette', async () => {
      await vscode.window.showTextDocument(uriOf('nested/deep.txt'), { preview: false });
      const result = await vscode.commands.executeCommand<VerificationResult>('sigstore.verify');
      assert.equal(result?.artifact, uriOf('nested/deep.txt').fsPath);
      assert.equal(result?.state, 'verified');
    });

    describe('without evidence or without a file', () => {
      let restorePrompts: vscode.Disposable | undefined;
      afterEach(() => restorePrompts?.dispose());

      it('offers Sign Artifact for a file without evidence, and runs it on that file when taken', async () => {
        const offered: string[] = [];
        const asked: string[] = [];
        const answers = [false, true];
        restorePrompts = (await api()).useSigningPrompts({
          offerSigning: async (file) => (offered.push(file), answers.shift()!),
          // Sign Artifact's first question; cancelling there leaves the file unsigned.
          chooseMethod: async () => (asked.push('method'), undefined),
          chooseFiles: async () => (asked.push('files'), undefined),
        });
        const plain = manifest().unsigned[0]!;
        assert.equal(await vscode.commands.executeCommand('sigstore.verify', uriOf(plain)), undefined);
        assert.deepEqual(offered, [plain]);
        assert.deepEqual(asked, [], 'declined: Sign Artifact does not run');
        assert.equal(await vscode.commands.executeCommand('sigstore.verify', uriOf(plain)), undefined);
        assert.deepEqual(offered, [plain, plain]);
        // Sign Artifact ran on the file itself: it asked how to sign, not which files.
        assert.deepEqual(asked, ['method']);
      });

      it('asks for the file to verify when none is selected or open', async () => {
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        let asked = 0;
        restorePrompts = (await api()).useSigningPrompts({ chooseFileToVerify: async () => (asked++, uriOf('hello.txt')) });
        const result = await vscode.commands.executeCommand<VerificationResult>('sigstore.verify');
        assert.equal(asked, 1);
        assert.equal(result?.artifact, uriOf('hello.txt').fsPath);
        assert.equal(result?.state, 'verified');
      });
    });
  });

  describe('editor title Verify button', () => {
    afterEach(async () => {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    const shown = async () => (await api()).verifiableEditors().map((u) => u.fsPath);

    it('lists the files in view that have evidence or are companions, and not the others', async () => {
      await vscode.window.showTextDocument(uriOf('hello.txt'), { viewColumn: vscode.ViewColumn.One, preview: false });
      await vscode.window.showTextDocument(uriOf('tampered.txt.sigstore.json'), { viewColumn: vscode.ViewColumn.Two, preview: false });
      const plain = manifest().unsigned[0]!;
      await vscode.window.showTextDocument(uriOf(plain), { viewColumn: vscode.ViewColumn.Three, preview: false });
      const expected = [uriOf('hello.txt').fsPath, uriOf('tampered.txt.sigstore.json').fsPath];
      const sigstore = await api();
      await until('the key lists the two files with evidence', () => expected.every((p) => sigstore.verifiableEditors().some((u) => u.fsPath === p)));
      assert.deepEqual((await shown()).sort(), expected.sort(), `${plain} has no evidence`);
      // Only what is in view: a tab behind another is not in the key.
      await vscode.window.showTextDocument(uriOf(plain), { viewColumn: vscode.ViewColumn.One, preview: false });
      await until('hello.txt left the key', () => !sigstore.verifiableEditors().some((u) => u.fsPath === expected[0]));
      assert.deepEqual(await shown(), [expected[1]]);
    });

    it('follows evidence appearing next to an open file', async () => {
      const file = 'title-button.txt';
      const sigstore = await api();
      try {
        await vscode.workspace.fs.writeFile(uriOf(file), await vscode.workspace.fs.readFile(uriOf('hello.txt')));
        await vscode.window.showTextDocument(uriOf(file), { preview: false });
        assert.deepEqual(await shown(), []);
        await vscode.workspace.fs.writeFile(uriOf(`${file}.sigstore.json`), await vscode.workspace.fs.readFile(uriOf('hello.txt.sigstore.json')));
        await until('the open file is in the key once its bundle appears', () => sigstore.verifiableEditors().some((u) => u.fsPath === uriOf(file).fsPath));
      } finally {
        for (const p of [file, `${file}.sigstore.json`]) await vscode.workspace.fs.delete(uriOf(p)).then(undefined, () => undefined);
      }
      await until('gone again with its bundle', () => sigstore.verifiableEditors().length === 0);
    });
  });

  describe('live updates', () => {
    const live = 'live-update.txt';
    const bytes = (s: string) => new TextEncoder().encode(s);

    after(async () => {
      for (const p of [live, `${live}.sigstore.json`, `${live}.sha256`]) await vscode.workspace.fs.delete(uriOf(p)).then(undefined, () => undefined);
    });

    it('badges a file when its companion appears, and follows changes and deletion', async () => {
      const sigstore = await api();
      const source = manifest().files.find((f) => f.path === 'hello.txt')!;
      const original = await vscode.workspace.fs.readFile(uriOf(source.path));
      await vscode.workspace.fs.writeFile(uriOf(live), original);
      assert.equal(sigstore.resultFor(uriOf(live))?.state, 'unsigned', 'no companion yet: the policy\'s "/*" expects a signature');

      await vscode.workspace.fs.writeFile(uriOf(`${live}.sigstore.json`), await vscode.workspace.fs.readFile(uriOf(source.companion)));
      await until('verified after the companion appears', () => sigstore.resultFor(uriOf(live))?.state === 'verified');

      await vscode.workspace.fs.writeFile(uriOf(live), bytes('changed after signing\n'));
      await until('failed after the file changes', () => sigstore.resultFor(uriOf(live))?.state === 'failed');
      assert.equal((await sigstore.provideFileDecoration(uriOf(live)))?.badge, BADGES.failed.badge);

      // Whoever changed the file can write a matching checksum next to it: the badge stays ✗.
      const checksum = `${live}.sha256`;
      await vscode.workspace.fs.writeFile(uriOf(checksum), bytes(`${createHash('sha256').update('changed after signing\n').digest('hex')}  ${live}\n`));
      await until('the checksum is read', () => sigstore.resultFor(uriOf(live))?.evidence.some((e) => e.kind === 'checksum'));
      assert.equal(sigstore.resultFor(uriOf(live))?.state, 'failed', 'a checksum does not lift a failed bundle');
      assert.equal((await sigstore.provideFileDecoration(uriOf(live)))?.badge, BADGES.failed.badge);
      await vscode.workspace.fs.delete(uriOf(checksum));
      await until('the checksum is gone', () => !sigstore.resultFor(uriOf(live))?.evidence.some((e) => e.kind === 'checksum'));

      await vscode.workspace.fs.writeFile(uriOf(live), original);
      await until('verified again after the original returns', () => sigstore.resultFor(uriOf(live))?.state === 'verified');

      await vscode.workspace.fs.writeFile(uriOf(`${live}.sigstore.json`), bytes('{ broken'));
      await until('failed after the companion is damaged', () => sigstore.resultFor(uriOf(live))?.state === 'failed');

      await vscode.workspace.fs.delete(uriOf(`${live}.sigstore.json`));
      await until('unsigned again after the companion is deleted', () => sigstore.resultFor(uriOf(live))?.state === 'unsigned');
      assert.equal((await sigstore.provideFileDecoration(uriOf(live)))?.badge, BADGES.unsigned.badge, 'deleting the bundle leaves a visible gap');
    });
  });

  describe('trust policy', () => {
    const policyUri = () => uriOf('.sigstore/policy.json');
    let original: Uint8Array;
    before(async () => {
      original = await vscode.workspace.fs.readFile(policyUri());
    });
    after(async () => {
      await vscode.workspace.fs.writeFile(policyUri(), original);
      const sigstore = await api();
      await until('hello.txt verified again', () => sigstore.resultFor(uriOf('hello.txt'))?.state === 'verified');
    });

    it('editing the policy re-evaluates the badges', async () => {
      const sigstore = await api();
      const policy = JSON.parse(new TextDecoder().decode(original));
      policy.rules[0].identities = [{ subject: 'someone-else@example.test', issuer: 'https://issuer.example.test' }];
      await vscode.workspace.fs.writeFile(policyUri(), new TextEncoder().encode(JSON.stringify(policy, null, 2)));
      await until('hello.txt failed: its signer is no longer named', () => sigstore.resultFor(uriOf('hello.txt'))?.state === 'failed');
      assert.match(sigstore.resultFor(uriOf('hello.txt'))!.summary, /trusts only: "someone-else@example\.test"/);
      await vscode.workspace.fs.writeFile(policyUri(), original);
      await until('hello.txt verified once the policy names its signer again', () => sigstore.resultFor(uriOf('hello.txt'))?.state === 'verified');
    });

    it('a broken policy shows a diagnostic in the Problems panel and verifies nothing', async () => {
      const sigstore = await api();
      const broken = new TextDecoder().decode(original).replace('"subject"', '"subjectRegExp": "(unclosed", "subject"');
      await vscode.workspace.fs.writeFile(policyUri(), new TextEncoder().encode(broken));
      const diagnostics = await until('a policy diagnostic', () => {
        const d = vscode.languages.getDiagnostics(policyUri()).filter((x) => x.severity === vscode.DiagnosticSeverity.Error);
        return d.length > 0 && d;
      });
      assert.match(diagnostics.map((d) => d.message).join('\n'), /either "subject" or "subjectRegExp"|regular expression/);
      await until('no file verified under a broken policy', () =>
        manifest().files.every((f) => sigstore.resultFor(uriOf(f.path))?.state !== 'verified') && sigstore.resultFor(uriOf('hello.txt'))?.state === 'unverifiable',
      );
      await vscode.workspace.fs.writeFile(policyUri(), original);
      await until('diagnostics cleared when fixed', () => vscode.languages.getDiagnostics(policyUri()).length === 0);
      await until('hello.txt verified again', () => sigstore.resultFor(uriOf('hello.txt'))?.state === 'verified');
    });
  });

  describe('command-line twin', () => {
    it('bin/sigstore verify agrees with the badges on every file', async () => {
      const sigstore = await api();
      await sigstore.whenIdle();
      const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
      const cli = join(ext.extensionPath, 'bin', 'sigstore');
      const output = await new Promise<string>((resolve, reject) => {
        // ELECTRON_RUN_AS_NODE: under desktop VS Code the host's executable is Electron.
        execFile(
          process.execPath,
          [cli, 'verify', '--json', '--offline', '--trusted-root', join(workspaceRoot(), 'trusted_root.json'), '.'],
          { cwd: workspaceRoot(), env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) => (error && error.code !== 1 ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
        );
      });
      const cliResults = new Map((JSON.parse(output) as { results: Array<{ path: string; state: string }> }).results.map((r) => [r.path, r.state]));
      for (const f of manifest().files) {
        assert.equal(cliResults.get(f.path), sigstore.resultFor(uriOf(f.path))?.state, f.path);
        assert.equal(cliResults.get(f.path), f.expected, f.path);
      }
    });
  });
});
