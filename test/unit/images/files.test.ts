import { strict as assert } from 'node:assert';
import picomatch from 'picomatch';
import { findImageUses, IMAGE_FILE_GLOBS, isImageFile } from '../../../src/core/images/imageUses';

const IMAGE_FILES = [
  'Dockerfile',
  'dockerfile',
  'services/api/Dockerfile',
  'Containerfile',
  'containerfile',
  'api.Dockerfile',
  'docker/worker.dockerfile',
  'Dockerfile.prod',
  'build/Containerfile.fedora',
  'images/base.containerfile',
  'compose.yaml',
  'compose.yml',
  'docker-compose.yaml',
  'docker-compose.yml',
  'docker-compose.prod.yml',
  'compose.override.yaml',
  'deploy/k8s/deployment.yaml',
  'charts/web/values.yml',
  '.github/workflows/ci.yml',
  '.github/workflows/release.yaml',
  'action.yml',
];

const OTHER_FILES = [
  'README.md',
  'src/docker.ts',
  'MyDockerfile',
  'Dockerfiles',
  'k8s/deployment.json',
  'config.toml',
  'Makefile',
];

describe('image files', () => {
  it('recognises Dockerfiles, Containerfiles and YAML files by name', () => {
    for (const path of IMAGE_FILES) assert.equal(isImageFile(path), true, path);
    for (const path of OTHER_FILES) assert.equal(isImageFile(path), false, path);
    // BuildKit's per-Dockerfile ignore files are not Dockerfiles.
    assert.equal(isImageFile('Dockerfile.dockerignore'), false);
    assert.equal(isImageFile('app/Containerfile.containerignore'), false);
  });

  it('has globs that find every image file and nothing else', () => {
    const matchers = IMAGE_FILE_GLOBS.map((glob) => picomatch(glob, { dot: true }));
    const matched = (path: string): boolean => matchers.some((match) => match(path));
    for (const path of IMAGE_FILES) assert.ok(matched(path), path);
    for (const path of OTHER_FILES) assert.ok(!matched(path), path);
  });

  it('finds nothing in other files, whatever they contain', () => {
    assert.deepEqual(findImageUses('README.md', 'FROM alpine:3.20\n'), []);
    assert.deepEqual(findImageUses('k8s/pod.json', '{"kind":"Pod","spec":{"containers":[{"image":"alpine:3.20"}]}}'), []);
  });

  it('reads a file by its kind: a Dockerfile is not YAML, and YAML is not a Dockerfile', () => {
    assert.deepEqual(findImageUses('Dockerfile', 'FROM alpine:3.20\n').map((u) => u.kind), ['dockerfile']);
    assert.deepEqual(findImageUses('notes.yaml', 'FROM alpine:3.20\n'), []);
    const pod = 'kind: Pod\nspec:\n  containers:\n    - image: alpine:3.20\n';
    assert.deepEqual(findImageUses('Dockerfile', pod), []);
    assert.deepEqual(findImageUses('pod.yml', pod).map((u) => u.kind), ['kubernetes']);
    // Windows separators in a relative path are tolerated.
    assert.deepEqual(findImageUses('.github\\workflows\\ci.yml', 'jobs:\n  j:\n    container: node:20\n').map((u) => u.kind), ['workflow']);
  });
});
