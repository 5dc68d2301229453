/**
 * One companion naming many files: a 32 MiB JSON-lines attestation file whose lines name 200
 * files of a folder (the rest of its lines name other files). The extension's whole pass (the
 * cache reads the file's targets, then verifies each of the 200 files) against reading and
 * parsing the file once, in the same process. Before the parse was shared, the pass read the
 * file 201 times (102 s on this machine); now it should cost about one parse plus the checks.
 *   npm run bench
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileFingerprint, isRegularFile } from '../src/core/artifacts/artifact';
import { publicGoodTrustedRoot } from '../src/core/trust/trustedRoot';
import { verifyArtifact } from '../src/core/verify/artifactVerifier';
import { companionTargets } from '../src/core/verify/companionVerifier';
import { VerificationCache } from '../src/core/verify/verificationCache';

const FILES = 200;
const TARGET_BYTES = Number(process.env.BENCH_JSONL_MIB ?? 32) * 1024 * 1024;
const ms = (n: number) => `${n.toFixed(0)} ms`;

/** A DSSE bundle line whose statement names `name`, signed with a key hint nobody configured: read in full, checked no further. */
function line(name: string, padding: string): string {
  const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name, digest: { sha256: '0'.repeat(64) } }], predicateType: 'https://example.test/p', predicate: { padding } };
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: 'k' }, tlogEntries: [] },
    dsseEnvelope: { payload: Buffer.from(JSON.stringify(statement)).toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: 'AA==' }] },
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sigstore-companions-bench-'));
  try {
    const padding = 'x'.repeat(1500);
    const lines: string[] = [];
    for (let i = 0; i < FILES; i++) lines.push(line(`f${i}.bin`, padding));
    let size = lines.reduce((n, l) => n + l.length + 1, 0);
    // Up to the largest attestation file the verifier reads (32 MiB).
    for (let i = 0; ; i++) {
      const l = line(`elsewhere/o${i}.bin`, padding);
      if (size + l.length + 1 > TARGET_BYTES) break;
      lines.push(l);
      size += l.length + 1;
    }
    const jsonl = join(dir, 'release.intoto.jsonl');
    await writeFile(jsonl, `${lines.join('\n')}\n`);
    for (let i = 0; i < FILES; i++) await writeFile(join(dir, `f${i}.bin`), `file ${i}\n`);
    const trustedRoot = publicGoodTrustedRoot();

    const once = async () => {
      const text = await readFile(jsonl, 'utf8');
      for (const l of text.split('\n')) if (l) JSON.parse(l);
    };
    const pass = async () => {
      const cache = new VerificationCache({
        verify: (a, c, signal) => verifyArtifact(a, c, { policy: { kind: 'none' }, trustedRoot, network: { allowed: false, rekorURL: '' }, signal }),
        targetsOf: companionTargets,
        fingerprint: fileFingerprint,
        exists: isRegularFile,
        onDidChange: () => undefined,
      });
      cache.changed(jsonl);
      await cache.whenIdle();
      const results = Array.from({ length: FILES }, (_, i) => cache.get(join(dir, `f${i}.bin`)));
      // Keyed, with no key configured: each file's line is read and found uncheckable.
      if (results.some((r) => r?.state !== 'unverifiable' || r.evidence.length !== 1)) throw new Error(`every named file should have its one line's result: ${results[0]?.summary}`);
      cache.dispose();
    };

    let base = Infinity;
    let ours = Infinity;
    for (let round = 0; round < 3; round++) {
      let t = performance.now();
      await once();
      base = Math.min(base, performance.now() - t);
      // A new file identity each round, so no round reuses the previous one's parse.
      await writeFile(jsonl, `${lines.join('\n')}\n`);
      t = performance.now();
      await pass();
      ours = Math.min(ours, performance.now() - t);
    }
    console.log(`a ${(size / 1024 / 1024).toFixed(0)} MiB JSON-lines file, ${lines.length} lines, naming ${FILES} files of its folder (best of 3, alternating):`);
    console.log(`  baseline: read and parse the file once        ${ms(base)}  = 1.00`);
    console.log(`  extension pass: targets, then all ${FILES} files   ${ms(ours)}  = ${(ours / base).toFixed(2)} × baseline  (before: one parse per file, ≈ ${FILES + 1} ×)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
