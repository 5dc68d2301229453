import { strict as assert } from 'node:assert';
import { candidateCompanions, companionOf, isCompanion } from '../../../src/core/artifacts/companions';

describe('companions', () => {
  it('maps a bundle companion to the file it is about', () => {
    assert.deepEqual(companionOf('/w/dist/app.tar.gz.sigstore.json'), {
      artifact: '/w/dist/app.tar.gz',
      companion: { path: '/w/dist/app.tar.gz.sigstore.json', kind: 'sigstore-bundle' },
    });
  });

  it('does not treat a bare ".sigstore.json" or an unrelated name as a companion', () => {
    assert.equal(companionOf('/w/.sigstore.json'), undefined);
    assert.equal(isCompanion('/w/app.sigstore.json.txt'), false);
    assert.equal(isCompanion('/w/app.json'), false);
  });

  it('lists the candidate companions of a file', () => {
    assert.deepEqual(candidateCompanions('/w/a.txt'), [{ path: '/w/a.txt.sigstore.json', kind: 'sigstore-bundle' }]);
  });
});
