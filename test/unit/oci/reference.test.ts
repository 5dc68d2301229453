import { strict as assert } from 'node:assert';

import { OciError } from '../../../src/core/oci/errors';
import { checkReference, formatReference, isLoopbackHost, parseImageReference, registryEndpoint } from '../../../src/core/oci/reference';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;

describe('image references (Docker normalisation)', () => {
  const cases: Array<[string, string, string, string | undefined, string | undefined]> = [
    // text, registry, repository, tag, digest
    ['alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['alpine:3.19', 'docker.io', 'library/alpine', '3.19', undefined],
    ['library/alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['docker.io/alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['index.docker.io/alpine:edge', 'docker.io', 'library/alpine', 'edge', undefined],
    ['octo/app', 'docker.io', 'octo/app', 'latest', undefined],
    ['ghcr.io/octo/app:1.2', 'ghcr.io', 'octo/app', '1.2', undefined],
    ['GHCR.io/octo/app', 'ghcr.io', 'octo/app', 'latest', undefined],
    ['localhost/app', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/app', 'localhost:5000', 'app', 'latest', undefined],
    ['127.0.0.1:5000/a/b/c:v_1.0-rc', '127.0.0.1:5000', 'a/b/c', 'v_1.0-rc', undefined],
    ['foo:5000/bar', 'foo:5000', 'bar', 'latest', undefined],
    ['Foo/bar', 'foo', 'bar', 'latest', undefined],
    ['[::1]:5000/app', '[::1]:5000', 'app', 'latest', undefined],
    ['localhost:5000', 'docker.io', 'library/localhost', '5000', undefined],
    [`alpine@${DIGEST}`, 'docker.io', 'library/alpine', undefined, DIGEST],
    [`alpine:3.19@${DIGEST}`, 'docker.io', 'library/alpine', '3.19', DIGEST],
    [`quay.io/a/b@sha512:${'b'.repeat(128)}`, 'quay.io', 'a/b', undefined, `sha512:${'b'.repeat(128)}`],
    ['my-registry.example.com/team/my_app__x.y-z', 'my-registry.example.com', 'team/my_app__x.y-z', 'latest', undefined],
    ['  alpine:3  ', 'docker.io', 'library/alpine', '3', undefined],
  ];
  for (const [text, registry, repository, tag, digest] of cases) {
    it(`reads ${JSON.stringify(text)}`, () => {
      const ref = parseImageReference(text);
      assert.deepEqual([ref.registry, ref.repository, ref.tag, ref.digest, ref.original], [registry, repository, tag, digest, text]);
    });
  }

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['Alpine', /must be lowercase/],
    ['ghcr.io/Octo/app', /must be lowercase/],
    ['alpine:', /not a valid tag/],
    ['alpine:-x', /not a valid tag/],
    [`alpine:${'t'.repeat(129)}`, /not a valid tag/],
    ['alpine@sha256:abc', /not a sha256 or sha512 digest/],
    [`alpine@sha256:${'A'.repeat(64)}`, /not a sha256 or sha512 digest/],
    [`alpine@md5:${HEX}`, /not a sha256 or sha512 digest/],
    ['a//b', /path component/],
    ['ghcr.io/', /repository name is empty/],
    ['ghcr.io/-app', /path component/],
    ['a..b/c', /registry host/],
    ['a..b', /path component/],
    ['bad_host.example:port/app', /registry host/],
    [HEX, /image ID/],
    [`example.com/${'a'.repeat(250)}`, /longer than 255/],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`, () => {
      assert.throws(() => parseImageReference(text), (e: unknown) => e instanceof OciError && e.code === 'BAD_REFERENCE' && why.test(e.message) && !!e.remedy);
    });
  }

  it('suggests the lowercase name for an uppercase repository', () => {
    assert.throws(() => parseImageReference('octo/MyApp'), (e: OciError) => /octo\/myapp/.test(e.remedy ?? ''));
  });

  it('formats the canonical form, by tag or by digest', () => {
    assert.equal(formatReference(parseImageReference('alpine')), 'docker.io/library/alpine:latest');
    assert.equal(formatReference(parseImageReference('alpine:3.19')), 'docker.io/library/alpine:3.19');
    assert.equal(formatReference(parseImageReference(`alpine:3.19@${DIGEST}`)), `docker.io/library/alpine:3.19@${DIGEST}`);
    assert.equal(formatReference(parseImageReference(`alpine@${DIGEST}`)), `docker.io/library/alpine@${DIGEST}`);
    assert.equal(formatReference(parseImageReference('ghcr.io/octo/app:1'), { digest: DIGEST }), `ghcr.io/octo/app@${DIGEST}`);
    // The canonical form reads back to the same reference.
    const ref = parseImageReference('localhost:5000/a/b:c');
    assert.deepEqual({ ...parseImageReference(formatReference(ref)), original: '' }, { ...ref, original: '' });
  });

  it('refuses hand-built references that would steer a request elsewhere', () => {
    assert.doesNotThrow(() => checkReference(parseImageReference('ghcr.io/octo/app:1')));
    for (const [registry, repository] of [
      ['evil.example@ghcr.io', 'a'],
      ['ghcr.io/x', 'a'],
      ['ghcr.io', 'a/../../token'],
      ['ghcr.io', 'a/b?x=1'],
      ['ghcr.io', ''],
    ]) {
      assert.throws(() => checkReference({ registry: registry!, repository: repository!, original: '' }), (e: unknown) => e instanceof OciError && e.code === 'BAD_REFERENCE');
    }
  });

  it('sends Docker Hub requests to registry-1.docker.io', () => {
    assert.equal(registryEndpoint('docker.io'), 'registry-1.docker.io');
    assert.equal(registryEndpoint('ghcr.io'), 'ghcr.io');
  });

  it('knows loopback hosts (any port) and nothing else', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.0.0.1:1', '127.1.2.3:80', '[::1]', '[::1]:5000', 'LOCALHOST']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['localhost.example', 'my-localhost', '128.0.0.1', '127.0.0.1.nip.io:5000', '10.0.0.1', '[::2]', 'registry.test:5000']) assert.ok(!isLoopbackHost(h), h);
  });
});
