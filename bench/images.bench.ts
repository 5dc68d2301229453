/**
 * The Images view's work: 20 images in a local docker-registry (distribution 2.8, no
 * referrers API), each with 2 signatures (two cosign keys) and 2 attestations (SLSA
 * provenance, CycloneDX) written by the real cosign 2.5 (key-based, nothing logged). Ours,
 * through dist/core.js as the product runs it: resolve the tag, list what is attached, verify
 * each attachment under a trust policy whose `images` rule names both keys; one image after
 * the other, and a few at a time (several images expanded in the view); signed content is
 * loaded as soon as it is listed, as the view does. Baseline:
 * `cosign tree` once per image on the same registry, in the same run (it lists, it does not
 * verify). Also the HTTP requests per image: those that list, and the blobs verification reads.
 *
 * Then a hostile registry (test/support/hostile-registry.ts) whose index lists 20,000 platforms
 * and whose index digest has 15,000 bundle referrers, read as `bin/sigstore tree` does (resolve,
 * list the index and every platform kept, prefetch and verify what is kept): with the default
 * bounds (50 platforms and attachments, 6 requests in flight per registry), against the same
 * pass with the bounds as loose as they go (1000, and no limit in flight) in the same run; time,
 * peak RSS growth, requests and the most requests open at once at the registry.
 *   npm run bench
 */
import { performance } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import type { Attachment } from '../src/core/images/attachments';
import type { PolicyState } from '../src/core/policy/evaluate';
import type { CoreApi } from '../src/coreLoader';
import { startHostileRegistry } from '../test/support/hostile-registry';
import { startRegistry, type TestRegistry } from '../test/support/registry';
import { PREDICATES, startSigningKit, type SigningKit } from '../test/support/signed-images';

const IMAGES = 20;
/** Images listed at once in the "a few at a time" pass. */
const AT_ONCE = 4;
/** Images signed at once during setup (one image's cosign runs stay in order: they append to its tags). */
const SETUP_AT_ONCE = 4;
const ROUNDS = 5;
const TARGET_RATIO = 0.5;
const TARGET_REQUESTS = 6;

const ms = (n: number) => `${n.toFixed(0)} ms`;

/** Runs `work` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

interface Counted {
  /** Registry requests that list (tags, referrers, manifests): what the view needs before a payload is opened. */
  readonly listing: number;
  /** Blob requests: the payloads verification reads (started while listing, as the view does). */
  readonly payloads: number;
}

/** Requests a client made, by kind, counted at its fetch. */
interface Tally {
  listing: number;
  payloads: number;
  /** HTTPS attempts answered in plain HTTP: the client's first contact with 127.0.0.1. */
  probes: number;
}

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = require(resolve(__dirname, '../dist/core.js')) as CoreApi;
  let registry: TestRegistry | undefined;
  let kit: SigningKit | undefined;
  try {
    // --- setup: registry, keys, images, signatures and attestations by cosign 2.5 ----------
    const t = performance.now();
    [registry, kit] = await Promise.all([startRegistry(), startSigningKit()]);
    const reg = registry;
    const signing = kit;
    const [a, b] = await Promise.all([signing.keyPair('a'), signing.keyPair('b')]);
    await signing.file('slsaprovenance.json', PREDICATES.slsaprovenance);
    await signing.file('cyclonedx.json', PREDICATES.cyclonedx);
    const references = Array.from({ length: IMAGES }, (_, i) => `${reg.host}/bench/app-${String(i).padStart(2, '0')}:v1`);
    await pool(references, SETUP_AT_ONCE, async (reference, i) => {
      const repository = reference.slice(reg.host.length + 1, -':v1'.length);
      const image = await reg.pushImage(repository, { tag: 'v1', seed: `bench-${i}` });
      const byDigest = `${reg.host}/${repository}@${image.digest}`;
      const flags = (key: string) => ['--key', key, '--tlog-upload=false', '--allow-http-registry', '-y'];
      await signing.cosignOK(['sign', ...flags(a.key), byDigest]);
      await signing.cosignOK(['sign', ...flags(b.key), byDigest]);
      await signing.cosignOK(['attest', ...flags(a.key), '--type', 'slsaprovenance', '--predicate', 'slsaprovenance.json', byDigest]);
      await signing.cosignOK(['attest', ...flags(b.key), '--type', 'cyclonedx', '--predicate', 'cyclonedx.json', byDigest]);
    });
    const setup = performance.now() - t;

    const policyText = JSON.stringify({ version: 1, rules: [{ name: 'bench images', images: [`${reg.host}/bench/*`], keys: ['a.pub', 'b.pub'] }] });
    const load = await core.compilePolicy(join(signing.dir, 'policy.json'), policyText);
    if (!load.ok) throw new Error(`the bench policy does not compile: ${load.diagnostics.map((d) => d.message).join('; ')}`);
    const trust = { policy: { kind: 'loaded', load } satisfies PolicyState, trustedRoot: core.publicGoodTrustedRoot() };

    // --- ours: what expanding images in the view does: one client for the session ---------
    type Client = InstanceType<typeof core.RegistryClient>;
    const session = (): { client: Client; tally: Tally } => {
      const tally: Tally = { listing: 0, payloads: 0, probes: 0 };
      const client = new core.RegistryClient({
        credentials: core.dockerCredentials(),
        userAgent: 'sigstore-vscode',
        fetch: async (input, init) => {
          const url = String(input instanceof Request ? input.url : input);
          try {
            const response = await fetch(input, init);
            if (/\/blobs\//.test(url)) tally.payloads++;
            else tally.listing++;
            return response;
          } catch (e) {
            if (url.startsWith('https:')) tally.probes++;
            throw e;
          }
        },
      });
      if (client.requestCount !== 0) throw new Error('a fresh client has made requests');
      return { client, tally };
    };
    const ours = async (reference: string, client: Client, tally: Tally): Promise<Counted> => {
      const listing = tally.listing;
      const payloads = tally.payloads;
      const image = await core.resolveImage(client, reference);
      const found = await core.attachmentsOf(client, image.reference, image.digest, { prefetch: true });
      const results = await core.verifyAttachments(found.attachments, image.digest, image.reference, trust);
      check(reference, found.problems, results);
      return { listing: tally.listing - listing, payloads: tally.payloads - payloads };
    };
    let firstContact = 0;
    const oursSequential = async (): Promise<Counted[]> => {
      const { client, tally } = session();
      try {
        const counts: Counted[] = [];
        for (const reference of references) counts.push(await ours(reference, client, tally));
        firstContact = tally.probes;
        return counts;
      } finally {
        await client.close();
      }
    };
    const oursAtOnce = async (): Promise<void> => {
      const { client, tally } = session();
      try {
        await pool(references, AT_ONCE, async (reference) => {
          await ours(reference, client, tally);
        });
      } finally {
        await client.close();
      }
    };

    // --- baseline: cosign tree, once per image --------------------------------------------
    const cosignTree = async (reference: string): Promise<void> => {
      const run = await signing.cosignOK(['tree', '--allow-http-registry', reference]);
      if (!/Signatures/.test(run.stdout) || !/Attestations/.test(run.stdout)) throw new Error(`cosign tree ${reference} listed no signatures or attestations:\n${run.stdout}${run.stderr}`);
    };
    const cosignAll = async (): Promise<void> => {
      for (const reference of references) await cosignTree(reference);
    };

    // Warm both once (module loading, JIT, cosign's binary in the page cache).
    const warm = session();
    await ours(references[0]!, warm.client, warm.tally);
    await warm.client.close();
    await cosignTree(references[0]!);

    // Alternate, best of three each, so all see the same machine noise.
    let sequential = Infinity;
    let atOnce = Infinity;
    let cosign = Infinity;
    let counts: Counted[] = [];
    const timed = async (pass: () => Promise<unknown>): Promise<number> => {
      (globalThis as { gc?: () => void }).gc?.();
      const start = performance.now();
      await pass();
      return performance.now() - start;
    };
    for (let round = 0; round < ROUNDS; round++) {
      cosign = Math.min(cosign, await timed(cosignAll));
      sequential = Math.min(
        sequential,
        await timed(async () => {
          counts = await oursSequential();
        }),
      );
      atOnce = Math.min(atOnce, await timed(oursAtOnce));
    }

    const range = (values: number[]) => {
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      return lo === hi ? `${lo}` : `${lo}–${hi}`;
    };
    const listing = counts.map((c) => c.listing);
    const payloads = counts.map((c) => c.payloads);
    console.log(`${IMAGES} images on docker-registry 2.8 (127.0.0.1, plain HTTP, no referrers API), each with 2 signatures (2 keys) and 2 attestations by cosign 2.5, key-based, nothing logged:`);
    console.log(`  setup (registry, signing kit, keys, images, ${IMAGES * 4} cosign sign/attest runs)  ${ms(setup)}`);
    console.log(`  best of ${ROUNDS}, alternating:`);
    console.log(`  baseline: cosign tree, once per image        ${ms(cosign)}  = 1.00  (${(cosign / IMAGES).toFixed(1)} ms per image; lists, does not verify)`);
    console.log(`  ours, one image after the other             ${ms(sequential)}  = ${(sequential / cosign).toFixed(2)} × cosign tree  (${(sequential / IMAGES).toFixed(1)} ms per image; resolve, list, verify 4 attachments)`);
    console.log(`  ours, ${AT_ONCE} images at a time                   ${ms(atOnce)}  = ${(atOnce / cosign).toFixed(2)} × cosign tree  (${(atOnce / IMAGES).toFixed(1)} ms per image)`);
    console.log(`  HTTP requests per image (one client for the session, as the view): ${range(listing)} to list, plus ${range(payloads)} blob(s) read to verify`);
    console.log(`    and ${firstContact} HTTPS attempt(s) per session, the client's first contact with the registry (it answers plain HTTP on 127.0.0.1)`);
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(
      `  target ours ≤ ${TARGET_RATIO} × cosign tree: ${verdict(sequential / cosign <= TARGET_RATIO)} one after the other (${(sequential / cosign).toFixed(2)}), ` +
        `${verdict(atOnce / cosign <= TARGET_RATIO)} ${AT_ONCE} at a time (${(atOnce / cosign).toFixed(2)})`,
    );
    console.log(`  target ≤ ${TARGET_REQUESTS} requests per image before a payload is opened: ${verdict(Math.max(...listing) <= TARGET_REQUESTS)} (${range(listing)})`);
    await fanOut(core, trust);
  } finally {
    await Promise.allSettled([kit?.close(), registry?.close()]);
  }
}

/** The hostile fan-out image read as `bin/sigstore tree` reads it, bounded by default and loosely. */
async function fanOut(core: CoreApi, trust: Parameters<CoreApi['verifyAttachments']>[3]): Promise<void> {
  const hostile = await startHostileRegistry();
  try {
    const reference = `${hostile.host}/fanout-index:latest`;
    const pass = async (bounds: { maxAttachments: number; maxRequestsPerRegistry: number }) => {
      const client = new core.RegistryClient({ userAgent: 'sigstore-vscode', maxRequestsPerRegistry: bounds.maxRequestsPerRegistry });
      const abort = new AbortController();
      const signal = abort.signal;
      const before = hostile.requestsTo('fanout-index').length;
      hostile.inFlight.reset();
      (globalThis as { gc?: () => void }).gc?.();
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const start = performance.now();
      try {
        const image = await core.resolveImage(client, reference, { signal, maxPlatforms: bounds.maxAttachments });
        const digests = [image.digest, ...image.platforms.map((p) => p.digest)];
        const listed = await Promise.all(digests.map((d) => core.attachmentsOf(client, image.reference, d, { signal, prefetch: true, maxAttachments: bounds.maxAttachments })));
        let verified = 0;
        for (const [i, found] of listed.entries()) verified += (await core.verifyAttachments(found.attachments, digests[i]!, image.reference, { ...trust, signal })).length;
        const time = performance.now() - start;
        peak = Math.max(peak, process.memoryUsage().rss);
        const problems = listed.flatMap((l) => l.problems);
        return {
          time,
          rss: peak - rss0,
          requests: hostile.requestsTo('fanout-index').length - before,
          inFlight: hostile.inFlight.max(),
          manifests: digests.length,
          verified,
          timeouts: problems.filter((p) => p.code === 'TIMEOUT').length,
          problems: problems.length,
        };
      } finally {
        clearInterval(sampler);
        // Nothing of this pass (a prefetch not verified) may run into the next.
        abort.abort();
        await client.close();
        while (hostile.inFlight.now() > 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    // Warm: the double builds its 4 MB index and referrers list once; modules load.
    await pass({ maxAttachments: 1, maxRequestsPerRegistry: 6 });
    const bounded = await pass({ maxAttachments: 50, maxRequestsPerRegistry: 6 });
    const loose = await pass({ maxAttachments: 1000, maxRequestsPerRegistry: Number.MAX_SAFE_INTEGER });
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
    const row = (name: string, r: typeof bounded) =>
      `  ${name} ${ms(r.time).padStart(8)}  peak RSS +${mib(r.rss).padStart(8)}  ${String(r.requests).padStart(5)} requests received  ${String(r.inFlight).padStart(5)} open at once  ` +
      `(${r.manifests} manifests, ${r.verified} attachments verified, ${r.problems} sources unread${r.timeouts ? `, ${r.timeouts} of them timed out` : ''})`;
    console.log('\nA hostile index of 20,000 platforms, its digest with 15,000 bundle referrers (hostile registry, 127.0.0.1), read as bin/sigstore tree does:');
    console.log(row('baseline: bounds as loose as they go (1000, no limit in flight)', loose));
    console.log(row('ours, default bounds (50, 6 in flight)                        ', bounded));
    console.log(`  ratios, default / loose: time ${(bounded.time / loose.time).toFixed(2)}, peak RSS growth ${(bounded.rss / Math.max(1, loose.rss)).toFixed(2)}, requests ${(bounded.requests / loose.requests).toFixed(2)}`);
    console.log(`  target ≤ 6 requests open at once with the defaults: ${bounded.inFlight <= 6 ? 'met' : 'NOT met'} (${bounded.inFlight})`);
  } finally {
    await hostile.close();
  }
}

/** Every image must list cleanly, with 2 signatures and 2 attestations, all verified: otherwise the figures mean nothing. */
function check(reference: string, problems: readonly { message: string }[], results: ReadonlyArray<{ attachment: Attachment; evidence: { state: string; summary?: string } | undefined }>): void {
  if (problems.length) throw new Error(`${reference}: ${problems.map((p) => p.message).join('; ')}`);
  const kinds = results.map((r) => r.attachment.kind).sort().join(',');
  if (kinds !== 'attestation,attestation,signature,signature') throw new Error(`${reference}: listed ${kinds || 'nothing'}, not 2 signatures and 2 attestations`);
  const bad = results.filter((r) => r.evidence?.state !== 'verified');
  if (bad.length) throw new Error(`${reference}: not verified: ${bad.map((r) => `${r.attachment.location}: ${r.evidence?.state ?? 'unsigned'} ${r.evidence?.summary ?? ''}`).join('; ')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
