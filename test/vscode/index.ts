// Extension-test entry (extensionTestsPath): VS Code loads the compiled dist/test/vscode/index.js
// in the extension host and awaits run(). Each suite is bundled to its own *.test.js next to it.
import fs from 'node:fs';
import path from 'node:path';

import Mocha from 'mocha';

const SUMMARY_PREFIX = 'sigstore-vscode-suites-summary ';

export function run(): Promise<void> {
  // No colours: the report is read through the browser console or a CI log.
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 30_000 });
  // MOCHA_GREP narrows a local run; the extension host inherits the server's environment.
  if (process.env.MOCHA_GREP) mocha.grep(process.env.MOCHA_GREP);

  const suites = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
  for (const f of suites) mocha.addFile(path.join(__dirname, f));

  return new Promise((resolve, reject) => {
    if (suites.length === 0) {
      reject(new Error(`no *.test.js suites next to ${__filename}`));
      return;
    }
    try {
      // let, not const: the callback must not depend on mocha calling it asynchronously.
      let runner: Mocha.Runner | undefined = undefined;
      runner = mocha.run((failures) => {
        // For scripts/run-vscode-tests.mjs's closing 'N passed, N failed' line.
        const { passes, failures: failed, pending } = runner?.stats ?? { passes: 0, failures, pending: 0 };
        console.log(`${SUMMARY_PREFIX}${JSON.stringify({ passes, failures: failed, pending })}`);
        if (failures > 0) reject(new Error(`${failures} test(s) failed`));
        else resolve();
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
