/**
 * Runs every official Sigstore verification vector through bin/conformance, exactly as the
 * upstream harness does: once with the artifact's path, once with its digest.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const VECTORS = process.env.CONFORMANCE_DIR ?? resolve(ROOT, 'test/fixtures/conformance');
const CASES = join(VECTORS, 'bundle-verify');
const CLI = join(ROOT, 'bin/conformance');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

function readOptional(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

describe('Sigstore conformance vectors (bin/conformance verify-bundle)', () => {
  const names = readdirSync(CASES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

  it('has all 70 cases', () => {
    assert.equal(names.length, 70);
  });

  for (const name of names) {
    const dir = join(CASES, name);
    const shouldPass = !name.endsWith('_fail');
    const artifact = existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(VECTORS, 'a.txt');
    const args = ['verify-bundle', '--bundle', join(dir, 'bundle.sigstore.json')];
    if (existsSync(join(dir, 'key.pub'))) {
      args.push('--key', join(dir, 'key.pub'));
    } else {
      args.push('--certificate-identity', readOptional(join(dir, 'identity')) ?? DEFAULT_IDENTITY);
      args.push('--certificate-oidc-issuer', readOptional(join(dir, 'issuer')) ?? DEFAULT_ISSUER);
    }
    if (existsSync(join(dir, 'trusted_root.json'))) args.push('--trusted-root', join(dir, 'trusted_root.json'));
    const digest = `sha256:${createHash('sha256').update(readFileSync(artifact)).digest('hex')}`;

    for (const [form, input] of [['path', artifact], ['digest', digest]] as const) {
      it(`${name} (${form}) ${shouldPass ? 'verifies' : 'is rejected'}`, async () => {
        const { code, output } = await run([...args, input]);
        if (shouldPass) {
          assert.equal(code, 0, `expected to verify, got exit ${code}: ${output}`);
        } else {
          // 1 = rejected by verification; 2 would be a usage error, which is not a verdict.
          assert.equal(code, 1, `expected rejection (exit 1), got exit ${code}: ${output}`);
        }
      });
    }
  }
});
