// Runs every benchmark in bench/ (TypeScript through tsx), one after the other, against
// the production bundles (built first: some benchmarks load dist/ as the product does).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const build = spawnSync(process.execPath, ['scripts/build.mjs', '--production'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
for (const file of readdirSync('bench').filter((f) => f.endsWith('.bench.ts')).sort()) {
  console.log(`\n# ${file}`);
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `bench/${file}`], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
