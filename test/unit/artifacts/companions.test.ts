import { strict as assert } from 'node:assert';
import { artifactOf, candidateCompanions, classify, companionOf, isCompanion } from '../../../src/core/artifacts/companions';

describe('companions', () => {
  it('maps name-derived companions to the file they are about, with their kind', () => {
    const cases: Array<[string, string, string, string?]> = [
      ['/w/dist/app.tar.gz.sigstore.json', '/w/dist/app.tar.gz', 'sigstore-bundle'],
      ['/w/app.sigstore', '/w/app', 'sigstore-bundle'],
      ['/w/app.bundle', '/w/app', 'bundle'],
      ['/w/app.sig', '/w/app', 'signature'],
      ['/w/app.pem', '/w/app', 'certificate'],
      ['/w/app.crt', '/w/app', 'certificate'],
      ['/w/app.asc', '/w/app', 'openpgp'],
      ['/w/app.sha256', '/w/app', 'checksum', 'sha256'],
      ['/w/app.sha512', '/w/app', 'checksum', 'sha512'],
      ['/w/app.sha1', '/w/app', 'checksum', 'sha1'],
      ['/w/app.md5', '/w/app', 'checksum', 'md5'],
      ['/w/app.sha256sum', '/w/app', 'checksum', 'sha256'],
      ['/w/SHA256SUMS.asc', '/w/SHA256SUMS', 'openpgp'],
    ];
    for (const [path, artifact, kind, algorithm] of cases) {
      const found = companionOf(path);
      assert.equal(found?.artifact, artifact, path);
      assert.equal(found?.companion.kind, kind, path);
      assert.equal(found?.companion.algorithm, algorithm, path);
    }
  });

  it('recognises companions whose content names their files', () => {
    for (const name of ['SHA256SUMS', 'SHA512SUMS', 'MD5SUMS', 'SHA256SUMS.txt', 'checksums.txt', 'app_1.0_checksums.txt']) {
      const match = classify(`/w/${name}`);
      assert.equal(match?.by, 'content', name);
      assert.equal(match?.companion.kind, 'checksum-list', name);
    }
    assert.equal(classify('/w/SHA512SUMS')?.companion.algorithm, 'sha512');
    for (const name of ['app.intoto.jsonl', `sha256:${'a'.repeat(64)}.jsonl`]) {
      assert.equal(classify(`/w/${name}`)?.companion.kind, 'attestations', name);
    }
    assert.equal(classify('/w/data.jsonl'), undefined);
  });

  it('does not treat a bare suffix or an unrelated name as a companion', () => {
    assert.equal(companionOf('/w/.sigstore.json'), undefined);
    assert.equal(companionOf('/w/.sig'), undefined);
    assert.equal(isCompanion('/w/app.sigstore.json.txt'), false);
    assert.equal(isCompanion('/w/app.json'), false);
  });

  it('names the file Verify reports on: the artifact of a named companion, else the path itself', () => {
    assert.equal(artifactOf('/w/hello.txt.sigstore.json'), '/w/hello.txt');
    assert.equal(artifactOf('/w/app.crt'), '/w/app');
    assert.equal(artifactOf('/w/hello.txt'), '/w/hello.txt');
    // A checksum list is evidence about the files it names, and an artifact of its own signature.
    assert.equal(artifactOf('/w/SHA256SUMS'), '/w/SHA256SUMS');
  });

  it('lists the name-derived candidates of a file', () => {
    const paths = candidateCompanions('/w/a.txt').map((c) => c.path);
    assert.ok(paths.includes('/w/a.txt.sigstore.json'));
    assert.ok(paths.includes('/w/a.txt.sig'));
    assert.ok(paths.includes('/w/a.txt.sha256'));
  });
});
