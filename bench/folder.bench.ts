/**
 * A folder of 2,000 artifacts, each with a public-good Sigstore bundle (the conformance
 * vectors' happy paths): the extension's whole pipeline (cache, policy, fingerprints)
 * against a plain loop over @sigstore/verify on the same inputs, in the same process.
 * Also: the longest event-loop stall during our pass, and the cost of re-checking.
 *   npm run bench
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileFingerprint, isRegularFile } from '../src/core/artifacts/artifact';
import type { PolicyState } from '../src/core/policy/evaluate';
import { loadPolicyFile } from '../src/core/policy/policy';
import { publicGoodTrustedRoot } from '../src/core/trust/trustedRoot';
import { verifyArtifact } from '../src/core/verify/artifactVerifier';
import { companionTargets } from '../src/core/verify/companionVerifier';
import { setDerEncodingCache } from '../src/core/verify/derEncodingCache';
import { VerificationCache } from '../src/core/verify/verificationCache';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const VECTORS = resolve(__dirname, '../test/fixtures/conformance');
const CASES = ['happy-path-v0.3', 'happy-path-v0.2'];
const IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';

const ms = (n: number) => `${n.toFixed(0)} ms`;

/** The longest gap between ticks of a 1 ms timer: the longest synchronous stretch, give or take 1 ms. */
function stallMeter(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(longest, performance.now() - last);
    },
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sigstore-folder-bench-'));
  try {
    const files: string[] = [];
    await mkdir(join(dir, 'files'), { recursive: true });
    for (let i = 0; i < FILES; i++) {
      const path = join(dir, 'files', `a${i}.txt`);
      await copyFile(join(VECTORS, 'a.txt'), path);
      await copyFile(join(VECTORS, 'bundle-verify', CASES[i % CASES.length]!, 'bundle.sigstore.json'), `${path}.sigstore.json`);
      files.push(path);
    }
    await mkdir(join(dir, '.sigstore'));
    const policyPath = join(dir, '.sigstore', 'policy.json');
    await writeFile(policyPath, JSON.stringify({ version: 1, rules: [{ match: ['**'], identities: [{ subject: IDENTITY, issuer: ISSUER }] }] }));
    const trustedRoot = publicGoodTrustedRoot();
    const trust = toTrustMaterial(trustedRoot.root);

    // Baseline: the plain loop, trust material built once, each bundle and file read and
    // verified, with our caches inside @sigstore/core switched off.
    const baseline = async () => {
      setDerEncodingCache(false);
      for (const path of files) {
        const [bytes, json] = await Promise.all([readFile(path), readFile(`${path}.sigstore.json`, 'utf8')]);
        new Verifier(trust).verify(toSignedEntity(bundleFromJSON(JSON.parse(json)), bytes));
      }
      setDerEncodingCache(true);
    };

    // Ours: what the extension and the CLI run, from a cold cache each time.
    const load = await loadPolicyFile(policyPath);
    const policy: PolicyState = { kind: 'loaded', load };
    let verifications = 0;
    const newCache = () =>
      new VerificationCache({
        verify: (a, c, signal) => {
          verifications++;
          return verifyArtifact(a, c, { policy, trustedRoot, network: { allowed: false, rekorURL: '' }, signal });
        },
        targetsOf: companionTargets,
        fingerprint: fileFingerprint,
        exists: isRegularFile,
        onDidChange: () => undefined,
      });
    let cache = newCache();

    // Alternate, best of three each, so both see the same machine noise.
    let base = Infinity;
    let first = Infinity;
    let longestStall = 0;
    for (let round = 0; round < 3; round++) {
      let t = performance.now();
      await baseline();
      base = Math.min(base, performance.now() - t);
      cache = newCache();
      const stalls = stallMeter();
      t = performance.now();
      for (const path of files) cache.changed(`${path}.sigstore.json`);
      await cache.whenIdle();
      first = Math.min(first, performance.now() - t);
      longestStall = Math.max(longestStall, stalls.stop());
    }
    const states = new Set(files.map((f) => cache.get(f)?.state));
    if (states.size !== 1 || !states.has('verified')) throw new Error(`not all verified: ${[...states].join(', ')}`);

    let t = performance.now();
    verifications = 0;
    cache.recheckAll();
    await cache.whenIdle();
    const recheck = performance.now() - t;
    const recheckVerifications = verifications;

    await writeFile(files[7]!, 'changed\n');
    t = performance.now();
    verifications = 0;
    cache.recheckAll();
    await cache.whenIdle();
    const oneChanged = performance.now() - t;

    console.log(`${FILES} files, each with a public-good bundle (best of 3, alternating):`);
    console.log(`  baseline: plain @sigstore/verify loop          ${ms(base)}  = 1.00  (${(base / FILES).toFixed(2)} ms per bundle)`);
    console.log(`  extension pipeline, first pass              ${ms(first)}  = ${(first / base).toFixed(2)} × baseline  (target ≤ 1.10)`);
    console.log(`  re-check, nothing changed                   ${ms(recheck)}  = ${(recheck / first).toFixed(3)} × first pass, ${recheckVerifications} verifications  (target ≤ 0.05)`);
    console.log(`  re-check, one file changed                  ${ms(oneChanged)}  = ${(oneChanged / first).toFixed(3)} × first pass, ${verifications} verification(s)`);
    console.log(`  longest event-loop stall during our passes  ${longestStall.toFixed(1)} ms  (target ≤ 50 ms)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
