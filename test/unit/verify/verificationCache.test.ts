import { strict as assert } from 'node:assert';
import type { Companion } from '../../../src/core/artifacts/companions';
import { resultOf, type VerificationResult } from '../../../src/core/verify/result';
import { VerificationCache } from '../../../src/core/verify/verificationCache';

/** A controllable verifier: each call waits until the test releases it. */
function harness(existing: Set<string>) {
  const calls: Array<{ artifact: string; companions: readonly Companion[]; signal: AbortSignal; release: (r?: Partial<VerificationResult>) => void }> = [];
  const changes: string[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const cache = new VerificationCache({
    concurrency: 2,
    exists: async (p) => existing.has(p),
    onDidChange: (a) => changes.push([...a]),
    verify: (artifact, companions, signal) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise((resolve) => {
        calls.push({
          artifact,
          companions,
          signal,
          release: (r) => {
            inFlight--;
            resolve({ ...resultOf(artifact, []), state: 'verified', ...r });
          },
        });
      });
    },
  });
  const nextCall = async () => {
    for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setImmediate(r));
    const call = calls.shift();
    assert.ok(call, 'expected a verification call');
    return call;
  };
  return { cache, calls, changes, nextCall, maxInFlight: () => maxInFlight };
}

describe('verification cache', () => {
  it('verifies a file when its companion appears, and forgets it when the companion goes', async () => {
    const h = harness(new Set(['/w/a.txt']));
    h.cache.changed('/w/a.txt.sigstore.json');
    const call = await h.nextCall();
    assert.equal(call.artifact, '/w/a.txt');
    assert.deepEqual(call.companions.map((c) => c.path), ['/w/a.txt.sigstore.json']);
    call.release();
    await h.cache.whenIdle();
    assert.equal(h.cache.get('/w/a.txt')?.state, 'verified');
    assert.deepEqual(h.cache.verifiablePaths().sort(), ['/w/a.txt', '/w/a.txt.sigstore.json']);

    h.cache.deleted('/w/a.txt.sigstore.json');
    await h.cache.whenIdle();
    assert.equal(h.cache.get('/w/a.txt'), undefined);
    assert.deepEqual(h.changes.at(-1), ['/w/a.txt']);
    assert.deepEqual(h.cache.verifiablePaths(), []);
  });

  it('re-verifies when the file itself changes, and ignores files without companions', async () => {
    const h = harness(new Set(['/w/a.txt']));
    h.cache.changed('/w/a.txt.sigstore.json');
    (await h.nextCall()).release();
    await h.cache.whenIdle();
    h.cache.changed('/w/unrelated.txt');
    h.cache.changed('/w/a.txt');
    const again = await h.nextCall();
    assert.equal(again.artifact, '/w/a.txt');
    again.release({ state: 'failed' });
    await h.cache.whenIdle();
    assert.equal(h.cache.get('/w/a.txt')?.state, 'failed');
    assert.equal(h.calls.length, 0);
  });

  it('discards a result computed from contents that changed meanwhile, and recomputes', async () => {
    const h = harness(new Set(['/w/a.txt']));
    h.cache.changed('/w/a.txt.sigstore.json');
    const first = await h.nextCall();
    h.cache.changed('/w/a.txt');
    assert.equal(first.signal.aborted, true);
    first.release({ state: 'verified' });
    const second = await h.nextCall();
    second.release({ state: 'failed' });
    await h.cache.whenIdle();
    assert.equal(h.cache.get('/w/a.txt')?.state, 'failed');
  });

  it('gives no result to a companion whose file does not exist', async () => {
    const h = harness(new Set());
    h.cache.changed('/w/gone.txt.sigstore.json');
    await h.cache.whenIdle();
    assert.equal(h.calls.length, 0);
    assert.equal(h.cache.get('/w/gone.txt'), undefined);
  });

  it('knows which files have evidence: a companion other than a lone certificate', async () => {
    const h = harness(new Set(['/w/a.txt', '/w/b.txt']));
    h.cache.changed('/w/b.txt.crt');
    await h.cache.settled();
    assert.equal(h.cache.hasEvidence('/w/b.txt'), false, 'a certificate alone verifies nothing');
    assert.equal(h.cache.hasEvidence('/w/a.txt'), false);
    h.cache.changed('/w/a.txt.sig');
    await h.cache.settled();
    assert.equal(h.cache.hasEvidence('/w/a.txt'), true);
    assert.equal(h.cache.hasEvidence('/w/a.txt.sig'), false, 'the companion is not an artifact');
    h.cache.deleted('/w/a.txt.sig');
    assert.equal(h.cache.hasEvidence('/w/a.txt'), false);
  });

  it('drops everything under a deleted folder', async () => {
    const h = harness(new Set(['/w/d/a.txt', '/w/d/b.txt', '/w/c.txt']));
    for (const p of ['/w/d/a.txt', '/w/d/b.txt', '/w/c.txt']) h.cache.changed(`${p}.sigstore.json`);
    for (let i = 0; i < 3; i++) (await h.nextCall()).release();
    await h.cache.whenIdle();
    h.cache.deleted('/w/d');
    await h.cache.whenIdle();
    assert.equal(h.cache.get('/w/d/a.txt'), undefined);
    assert.equal(h.cache.get('/w/d/b.txt'), undefined);
    assert.equal(h.cache.get('/w/c.txt')?.state, 'verified');
  });

  it('bounds how many verifications run at once', async () => {
    const files = Array.from({ length: 6 }, (_, i) => `/w/f${i}`);
    const h = harness(new Set(files));
    for (const f of files) h.cache.changed(`${f}.sigstore.json`);
    for (let i = 0; i < files.length; i++) (await h.nextCall()).release();
    await h.cache.whenIdle();
    assert.equal(h.maxInFlight(), 2);
    assert.ok(files.every((f) => h.cache.get(f)?.state === 'verified'));
  });
});

describe('verification cache: content companions and fingerprints', () => {
  it('links a checksum list to the files it names, and relinks when it changes', async () => {
    let named = ['/w/a.bin', '/w/b.bin'];
    const verified: string[] = [];
    const cache = new VerificationCache({
      exists: async () => true,
      targetsOf: async () => named,
      onDidChange: () => undefined,
      verify: async (artifact, companions) => {
        verified.push(artifact);
        assert.deepEqual(companions.map((c) => c.path), ['/w/SHA256SUMS']);
        return { ...resultOf(artifact, []), state: 'integrity' };
      },
    });
    cache.changed('/w/SHA256SUMS');
    await cache.whenIdle();
    assert.deepEqual(verified.sort(), ['/w/a.bin', '/w/b.bin']);
    named = ['/w/b.bin'];
    cache.changed('/w/SHA256SUMS');
    await cache.whenIdle();
    assert.equal(cache.get('/w/a.bin'), undefined, 'a file the list no longer names loses its result');
    assert.equal(cache.get('/w/b.bin')?.state, 'integrity');
  });

  it('does not verify unchanged files again, but does after a trust change', async () => {
    let calls = 0;
    let stamp = 'v1';
    const cache = new VerificationCache({
      exists: async () => true,
      fingerprint: async (paths) => `${paths.join('|')}@${stamp}`,
      onDidChange: () => undefined,
      verify: async (artifact) => {
        calls++;
        return { ...resultOf(artifact, []), state: 'verified' };
      },
    });
    cache.changed('/w/a.sigstore.json');
    await cache.whenIdle();
    assert.equal(calls, 1);
    cache.recheckAll();
    await cache.whenIdle();
    assert.equal(calls, 1, 'nothing changed: no second verification');
    stamp = 'v2';
    cache.recheckAll();
    await cache.whenIdle();
    assert.equal(calls, 2, 'the file changed');
    cache.trustChanged();
    await cache.whenIdle();
    assert.equal(calls, 3, 'the trust changed');
  });
});

describe('verification cache: Verify on one file', () => {
  it('jumps the queue and waits for that file alone', async () => {
    const h = harness(new Set(['/w/a', '/w/b', '/w/c', '/w/d', '/w/urgent']));
    for (const f of ['/w/a', '/w/b', '/w/c', '/w/d', '/w/urgent']) h.cache.changed(`${f}.sigstore.json`);
    // Two run (concurrency 2); the rest wait, the urgent one last.
    const first = await h.nextCall();
    const second = await h.nextCall();
    let got: string | undefined;
    const now = h.cache.verifyNow('/w/urgent').then((r) => (got = r?.artifact));
    first.release();
    const next = await h.nextCall();
    assert.equal(next.artifact, '/w/urgent', 'the asked-for file goes first');
    next.release({ state: 'failed' });
    await now;
    assert.equal(got, '/w/urgent');
    assert.equal(h.cache.get('/w/urgent')?.state, 'failed');
    // It did not wait for the others, which are still pending.
    assert.equal(h.cache.get('/w/c'), undefined);
    second.release();
    for (let i = 0; i < 2; i++) (await h.nextCall()).release();
    await h.cache.whenIdle();
  });

  it('a verification that throws still leaves a result: unverifiable, the error named', async () => {
    const errors: string[] = [];
    const changes: string[][] = [];
    const cache = new VerificationCache({
      exists: async () => true,
      onDidChange: (a) => changes.push([...a]),
      onError: (artifact) => errors.push(artifact),
      verify: async () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    });
    cache.changed('/w/a.txt.sigstore.json');
    await cache.whenIdle();
    const result = cache.get('/w/a.txt');
    assert.equal(result?.state, 'unverifiable');
    assert.equal(result?.internalError, 'RangeError: Maximum call stack size exceeded');
    assert.match(result!.summary, /^The verifier broke on this file \(RangeError: Maximum call stack size exceeded\); this is not a verdict on it/);
    assert.deepEqual(errors, ['/w/a.txt'], 'and it is logged');
    assert.deepEqual(changes, [['/w/a.txt']], 'and the badge is told');
    cache.dispose();
  });
});
