/**
 * Verification speed and memory, as ratios against a baseline measured in the same run:
 * the straightforward use of sigstore-js (read the whole file, toSignedEntity + Verifier).
 *   npm run bench
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseTrustedRoot } from '../src/core/trust/trustedRoot';
import { verifyArtifact } from '../src/core/verify/artifactVerifier';
import { VerificationCache } from '../src/core/verify/verificationCache';
import { signFile, startSigstoreInstance } from '../test/support/sigstore-instance';

const FILES = Number(process.env.BENCH_FILES ?? 300);
const FILE_BYTES = 256 * 1024;
const BIG_BYTES = 512 * 1024 * 1024;

async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Best of three, to damp the noise of a shared machine. */
async function best(fn: () => Promise<void>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < 3; i++) min = Math.min(min, await time(fn));
  return min;
}

async function main(): Promise<void> {
  const inst = await startSigstoreInstance();
  const dir = await mkdtemp(join(tmpdir(), 'sigstore-bench-'));
  try {
    const root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'bench');
    const trust = toTrustMaterial(TrustedRoot.fromJSON(inst.trustedRoot));
    const content = Buffer.alloc(FILE_BYTES, 1);
    const bundle = JSON.stringify(await signFile(inst, content, 'message'));
    const files: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const path = join(dir, `f${i}.bin`);
      await writeFile(path, content);
      await writeFile(`${path}.sigstore.json`, bundle);
      files.push(path);
    }

    // Baseline: one file after the other, read whole, verified by sigstore-js as documented.
    const baseline = await best(async () => {
      for (const path of files) {
        const [bytes, json] = await Promise.all([readFile(path), readFile(`${path}.sigstore.json`, 'utf8')]);
        new Verifier(trust).verify(toSignedEntity(bundleFromJSON(JSON.parse(json)), bytes));
      }
    });
    const core = await best(async () => {
      for (const path of files) {
        const r = await verifyArtifact(path, [{ path: `${path}.sigstore.json`, kind: 'sigstore-bundle' }], { trustedRoot: root });
        if (r.state !== 'verified') throw new Error(`${path}: ${r.summary}`);
      }
    });
    const folder = await best(async () => {
      const cache = new VerificationCache({
        verify: (a, c, signal) => verifyArtifact(a, c, { trustedRoot: root, signal }),
        exists: async () => true,
        onDidChange: () => undefined,
      });
      for (const path of files) cache.changed(`${path}.sigstore.json`);
      await cache.whenIdle();
      if (!files.every((f) => cache.get(f)?.state === 'verified')) throw new Error('not all verified');
    });

    // Memory on one big file: the baseline holds the file in memory, we stream it.
    const big = Buffer.alloc(BIG_BYTES, 2);
    const bigBundle = JSON.stringify(await signFile(inst, big, 'message'));
    const bigPath = join(dir, 'big.bin');
    await writeFile(bigPath, big);
    await writeFile(`${bigPath}.sigstore.json`, bigBundle);
    big.fill(0);
    const peak = async (fn: () => Promise<void>) => {
      global.gc?.();
      const before = process.memoryUsage().rss;
      let max = before;
      const timer = setInterval(() => (max = Math.max(max, process.memoryUsage().rss)), 5);
      await fn();
      clearInterval(timer);
      max = Math.max(max, process.memoryUsage().rss);
      return max - before;
    };
    const bigCore = await peak(async () => {
      const r = await verifyArtifact(bigPath, [{ path: `${bigPath}.sigstore.json`, kind: 'sigstore-bundle' }], { trustedRoot: root });
      if (r.state !== 'verified') throw new Error(r.summary);
    });
    const bigBaseline = await peak(async () => {
      const bytes = await readFile(bigPath);
      new Verifier(trust).verify(toSignedEntity(bundleFromJSON(JSON.parse(bigBundle)), bytes));
    });

    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    console.log(`verify ${FILES} files of ${FILE_BYTES / 1024} KiB, each with a bundle (best of 3):`);
    console.log(`  baseline (sigstore-js, sequential, whole file): ${baseline.toFixed(0)} ms  = 1.00`);
    console.log(`  core verifier, sequential:                      ${core.toFixed(0)} ms  = ${(core / baseline).toFixed(2)} × baseline`);
    console.log(`  verification cache (4 at once), whole folder:   ${folder.toFixed(0)} ms  = ${(folder / baseline).toFixed(2)} × baseline`);
    console.log(`peak extra memory verifying one ${mib(BIG_BYTES)} file:`);
    console.log(`  baseline (whole file in memory): ${mib(bigBaseline)}  = 1.00`);
    console.log(`  core verifier (streamed digest): ${mib(bigCore)}  = ${(bigCore / bigBaseline).toFixed(3)} × baseline`);
  } finally {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
