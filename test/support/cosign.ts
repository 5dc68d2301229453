/** Running the real cosign (Debian trixie's 2.5.0, unpacked into .tools/ by scripts/install-tools.sh) from tests. */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const TOOLS = resolve(__dirname, '../../.tools');
export const COSIGN = join(TOOLS, 'usr/bin/cosign');
export const COSIGN_VERSION = '2.5.0';

export interface CosignRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fails (never skips) when cosign is missing, saying how to install it. */
export async function requireCosign(): Promise<void> {
  try {
    await access(COSIGN, constants.X_OK);
  } catch {
    throw new Error(`cosign is not installed at ${COSIGN}: run scripts/install-tools.sh (it unpacks Debian trixie's cosign ${COSIGN_VERSION} into .tools/).`);
  }
}

/** A cosign runner for one folder and environment, read when each command runs. */
export function cosignIn(cwd: () => string, env: () => NodeJS.ProcessEnv) {
  /** Resolves with cosign's exit code: non-zero is a result here, not an error. */
  const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CosignRun> =>
    new Promise((done) => {
      execFile(COSIGN, args, { cwd: cwd(), env: { ...env(), ...extraEnv }, timeout: 30_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  const ok = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CosignRun> => {
    const result = await run(args, extraEnv);
    assert.equal(result.code, 0, `cosign ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
    return result;
  };
  return { run, ok };
}
