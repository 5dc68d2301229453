// Runs every benchmark in bench/ (TypeScript through tsx), one after the other.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

for (const file of readdirSync('bench').filter((f) => f.endsWith('.bench.ts')).sort()) {
  console.log(`\n# ${file}`);
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `bench/${file}`], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
