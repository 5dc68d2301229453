// Properties of image discovery: arbitrary and mutated text never throws and every use points
// inside the text; generated files report every image, exactly where it is written.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { findImageUses, type ImageUse } from '../../../src/core/images/imageUses';
import { lines, writtenAt } from './support';

const PATHS = ['Dockerfile', 'compose.yaml', 'deploy/app.yaml', '.github/workflows/ci.yml', 'action.yml'];
const KINDS = new Set(['dockerfile', 'compose', 'kubernetes', 'workflow']);

const SAMPLES: Record<string, string> = {
  Dockerfile: lines(
    '# escape=\\',
    'ARG TAG=1.22',
    'FROM --platform=$BUILDPLATFORM golang:${TAG} AS build',
    'RUN --mount=type=cache,from=ghcr.io/a/cache:1,target=/c \\',
    '    go build',
    'RUN <<EOF',
    'FROM x:1',
    'EOF',
    'FROM "gcr.io/distroless/static:nonroot"',
    'COPY --from=build /app /app',
    'COPY --from=nginx:1.27 /etc/nginx /etc/nginx',
  ),
  'compose.yaml': lines(
    'x-base: &base',
    '  image: ghcr.io/a/base:1',
    'services:',
    '  web: {image: "nginx:1.27"}',
    '  api:',
    '    <<: *base',
    "    image: 'ghcr.io/a/api:${TAG:-1}'",
  ),
  'deploy/app.yaml': lines(
    'kind: Deployment',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - image: "ghcr.io/a/web:1"',
    '---',
    'kind: CronJob',
    'spec: {jobTemplate: {spec: {template: {spec: {containers: [{image: busybox:1.36}]}}}}}',
  ),
  '.github/workflows/ci.yml': lines(
    'jobs:',
    '  j:',
    '    container: {image: node:20}',
    '    services: {db: postgres:16}',
    '    steps:',
    "      - uses: 'docker://alpine:3.20'",
  ),
  'action.yml': lines('runs:', '  using: docker', '  image: docker://ghcr.io/a/action:1'),
};

/** Pieces of the syntax each format cares about, to reach deep into the parsers. */
const FRAGMENTS = [
  'FROM ', 'from ', ' AS ', 'ARG ', 'A=', 'COPY --from=', 'RUN --mount=type=bind,from=', 'ONBUILD ', '\\\n', '`\n', '# escape=`\n',
  '<<EOF\n', '\nEOF\n', '<<-"X"\n', '\tX\n', '$', '${', '${A:-', '}', '"', "'", '\r\n', '\n', ' ', '\t', '#', 'scratch',
  'alpine:3.20', 'ghcr.io/a/b:1', '---\n', 'kind: Pod\n', 'kind: List\n', 'items:\n  - ', 'spec:\n', '  containers:\n', '    - image: ',
  'services:\n', '  s:\n', '    image: ', 'jobs:\n', '  j:\n', '    container: ', '    services:\n', '    steps:\n', '      - uses: docker://',
  '${{ x }}', '&a ', '*a', '<<: *a\n', '{', '[', ']', ': ', '- ', '|\n', '\uFEFF', '\u2028', '\uD800',
];

const text = fc
  .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ maxLength: 12 })), { maxLength: 60 })
  .map((parts) => parts.join(''));

function checkUses(path: string, source: string): void {
  let uses: ImageUse[] = [];
  assert.doesNotThrow(() => {
    uses = findImageUses(path, source);
  });
  assert.ok(Array.isArray(uses));
  const body = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const fileLines = body.split('\n');
  for (const use of uses) {
    assert.ok(KINDS.has(use.kind), use.kind);
    assert.ok(Number.isInteger(use.line) && use.line >= 0 && use.line < fileLines.length, `line ${use.line}`);
    const line = fileLines[use.line].replace(/\r$/, '');
    assert.ok(Number.isInteger(use.column) && use.column >= 0, `column ${use.column}`);
    assert.ok(Number.isInteger(use.length) && use.length >= 1 && use.column + use.length <= line.length, `span ${use.column}+${use.length} in ${JSON.stringify(line)}`);
    assert.match(use.reference, /^[^\s$"'{}]+$/);
  }
}

describe('image uses: properties', () => {
  it('never throws on arbitrary text, and every use points inside it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATHS), text, (path, source) => checkUses(path, source)),
      { numRuns: 400 },
    );
  });

  it('never throws on mutated real files, and every use points inside them', () => {
    const edit = fc.oneof(
      fc.record({ at: fc.nat(), insert: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ unit: 'binary', maxLength: 4 })) }),
      fc.record({ at: fc.nat(), remove: fc.integer({ min: 1, max: 12 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...PATHS), fc.array(edit, { minLength: 1, maxLength: 8 }), fc.boolean(), (path, edits, crlf) => {
        let source = SAMPLES[path];
        for (const e of edits) {
          const at = e.at % (source.length + 1);
          source = 'insert' in e ? source.slice(0, at) + e.insert + source.slice(at) : source.slice(0, at) + source.slice(at + e.remove);
        }
        checkUses(path, crlf ? source.replace(/\n/g, '\r\n') : source);
      }),
      { numRuns: 400 },
    );
  });

  const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,4})?$/);
  const reference = fc
    .tuple(
      fc.option(fc.constantFrom('ghcr.io/', 'docker.io/', 'registry.example.com:5000/', 'localhost:5000/'), { nil: '' }),
      fc.array(component, { minLength: 1, maxLength: 3 }),
      fc.oneof(fc.stringMatching(/^:[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}$/), fc.constant(`@sha256:${'0123456789abcdef'.repeat(4)}`)),
    )
    .map(([registry, path, suffix]) => `${registry}${path.join('/')}${suffix}`);

  it('reports every FROM of a generated Dockerfile, exactly where it is written', () => {
    const stage = fc.record({
      image: reference,
      keyword: fc.constantFrom('FROM', 'from', 'From'),
      platform: fc.boolean(),
      named: fc.boolean(),
      quoted: fc.boolean(),
      continued: fc.boolean(),
      space: fc.constantFrom(' ', '  ', '\t'),
    });
    fc.assert(
      fc.property(fc.array(stage, { minLength: 1, maxLength: 6 }), fc.boolean(), (stages, crlf) => {
        const out: string[] = ['# syntax=docker/dockerfile:1'];
        stages.forEach((s, i) => {
          const image = s.quoted ? `"${s.image}"` : s.image;
          const flag = s.platform ? '--platform=$BUILDPLATFORM ' : '';
          if (s.continued) out.push(`${s.keyword}${s.space}${flag}\\`, '  # base', `  ${image}${s.named ? ` AS stage-${i}` : ''}`);
          else out.push(`${s.keyword}${s.space}${flag}${image}${s.named ? ` as stage-${i}` : ''}`);
          out.push('RUN true');
        });
        const source = out.join(crlf ? '\r\n' : '\n');
        const uses = findImageUses('Dockerfile', source);
        assert.deepEqual(uses.map((u) => u.reference), stages.map((s) => s.image));
        for (const use of uses) assert.equal(writtenAt(source, use).replace(/\r$/, ''), use.reference);
      }),
      { numRuns: 300 },
    );
  });

  it('reports every container image of generated manifests, plain or quoted, exactly where it is written', () => {
    const container = fc.record({ image: reference, style: fc.constantFrom('plain', 'single', 'double', 'flow') });
    fc.assert(
      fc.property(fc.array(fc.array(container, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.boolean(), (docs, crlf) => {
        const out: string[] = [];
        docs.forEach((containers, d) => {
          if (d > 0) out.push('---');
          out.push('apiVersion: apps/v1', 'kind: StatefulSet', 'spec:', '  template:', '    spec:', '      containers:');
          containers.forEach((c, i) => {
            const value = c.style === 'single' ? `'${c.image}'` : c.style === 'double' ? `"${c.image}"` : c.image;
            if (c.style === 'flow') out.push(`        - {name: c${i}, image: ${value}}`);
            else out.push(`        - name: c${i}`, `          image: ${value}`);
          });
        });
        const source = out.join(crlf ? '\r\n' : '\n');
        const uses = findImageUses('k8s/statefulset.yaml', source);
        assert.deepEqual(uses.map((u) => u.reference), docs.flat().map((c) => c.image));
        for (const use of uses) assert.equal(writtenAt(source, use), use.reference);
      }),
      { numRuns: 300 },
    );
  });
});
