/**
 * The rule that combines a file's evidence, over every combination of evidence kinds and
 * states: adding a piece of evidence never lifts a failed file, only a trusted signature can
 * stand next to a signer-only failure, and the result never hides a piece of evidence.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { combinedState, resultOf, type Evidence, type EvidenceKind, type VerificationState } from '../../src/core/verify/result';
import { BASE_SEED } from './support';

const KINDS: readonly EvidenceKind[] = ['sigstore-bundle', 'cosign-signature', 'cosign-legacy-bundle', 'intoto-attestation', 'checksum', 'openpgp-signature'];
const STATES: readonly VerificationState[] = ['verified', 'untrusted', 'integrity', 'failed', 'unverifiable'];
const CHECKS = ['read', 'parse', 'artifact-binding', 'signature', 'certificate', 'policy'] as const;
/** Better first, as a person reads the badge. */
const RANK: Record<VerificationState, number> = { verified: 0, untrusted: 1, integrity: 2, unverifiable: 3, unsigned: 4, failed: 5 };

const evidence = fc.record({ kind: fc.constantFrom(...KINDS), state: fc.constantFrom(...STATES), check: fc.constantFrom(...CHECKS) }).map(
  ({ kind, state, check }): Evidence => ({
    kind,
    companion: `/w/f.${kind}`,
    state,
    summary: `${kind} ${state} at ${check}`,
    checks: [],
    ...(state === 'verified' || state === 'untrusted' || state === 'integrity' ? {} : { failure: { check, message: 'x', remedy: 'y' } }),
    tlogEntries: [],
    timestamps: [],
    notes: [],
  }),
);
const signerOnly = (e: Evidence) => e.state === 'failed' && e.failure?.check === 'policy';

describe('combining evidence (properties)', () => {
  const params = { seed: BASE_SEED, numRuns: 5_000 };

  it('any failure that is not signer-only makes the file failed, whatever else is there', () => {
    fc.assert(
      fc.property(fc.array(evidence, { minLength: 1, maxLength: 8 }), (list) => {
        if (list.some((e) => e.state === 'failed' && !signerOnly(e))) assert.equal(combinedState(list), 'failed');
      }),
      params,
    );
  });

  it('adding evidence that is not a trusted signature never improves a failed file', () => {
    fc.assert(
      fc.property(fc.array(evidence, { minLength: 1, maxLength: 6 }), evidence, fc.nat(6), (list, extra, at) => {
        const before = combinedState(list)!;
        if (before !== 'failed' || extra.state === 'verified') return;
        const after = combinedState([...list.slice(0, at), extra, ...list.slice(at)])!;
        assert.equal(after, 'failed');
      }),
      params,
    );
  });

  it('without failures, the file shows its strongest evidence; with only signer-only failures, a trusted signature wins', () => {
    fc.assert(
      fc.property(fc.array(evidence, { minLength: 1, maxLength: 8 }), (list) => {
        const state = combinedState(list)!;
        const failures = list.filter((e) => e.state === 'failed');
        const best = Math.min(...list.filter((e) => e.state !== 'failed').map((e) => RANK[e.state]));
        if (failures.length === 0) assert.equal(RANK[state], best);
        else if (failures.every(signerOnly) && list.some((e) => e.state === 'verified')) assert.equal(state, 'verified');
        else assert.equal(state, 'failed');
      }),
      params,
    );
  });

  it('the result keeps every piece of evidence, and its summary is a piece of the same state', () => {
    fc.assert(
      fc.property(fc.array(evidence, { minLength: 1, maxLength: 8 }), (list) => {
        const result = resultOf('/w/f', list);
        assert.deepEqual(result.evidence, list);
        const lead = list.find((e) => result.summary.startsWith(e.summary));
        assert.equal(lead?.state, result.state);
        if (result.state === 'failed' && list.some((e) => e.state === 'failed' && !signerOnly(e))) assert.ok(!signerOnly(lead!), 'a real failure leads');
      }),
      params,
    );
  });
});
