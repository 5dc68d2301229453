/**
 * The trust the command lines start from: `--policy` (else ./.sigstore/policy.json when there
 * is one) and `--trusted-root` (else the embedded public-good root). Shared by verify and tree.
 */
import { resolve } from 'node:path';
import { isRegularFile, readLimited } from '../core/artifacts/artifact';
import type { PolicyState } from '../core/policy/evaluate';
import { DEFAULT_POLICY_PATH, loadPolicyFile } from '../core/policy/policy';
import { parseTrustedRoot, publicGoodTrustedRoot } from '../core/trust/trustedRoot';
import type { TrustedRootChoice } from '../core/verify/trustInputs';

/** The trust policy named by --policy; a broken one is reported on stderr and verifies nothing. */
export async function policyState(path: string | undefined): Promise<PolicyState> {
  const file = resolve(path ?? DEFAULT_POLICY_PATH);
  if (!path && !(await isRegularFile(file))) return { kind: 'none' };
  const load = await loadPolicyFile(file);
  if (!load.ok) {
    const text = await readLimited(file, 1024 * 1024).then((b) => b.toString('utf8'), () => '');
    const problems = load.diagnostics.filter((d) => d.severity === 'error').map((d) => `  line ${text.slice(0, d.offset).split('\n').length}: ${d.message}`);
    process.stderr.write(`warning: the trust policy ${file} has errors; nothing counts as verified:\n${problems.join('\n')}\n`);
  }
  return { kind: 'loaded', load };
}

/** The trusted root named by --trusted-root, else the public-good one. */
export async function trustedRootOf(path: string | undefined): Promise<TrustedRootChoice> {
  if (!path) return publicGoodTrustedRoot();
  return parseTrustedRoot(await readLimited(path, 4 * 1024 * 1024), path);
}
