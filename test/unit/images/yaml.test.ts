import { strict as assert } from 'node:assert';
import { findImageUses } from '../../../src/core/images/imageUses';
import { assertPointsAtReferences, lines, references, writtenAt } from './support';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('image uses: Compose', () => {
  const compose = lines(
    'name: shop',
    'x-base: &base',
    '  image: ghcr.io/acme/base:1.4',
    '  restart: unless-stopped',
    'x-unused: &unused',
    '  image: ghcr.io/acme/unused:1',
    'services:',
    '  web:',
    '    image: "nginx:1.27-alpine"',
    '    ports: ["80:80"]',
    '  api:',
    '    build: ./api',
    '    image: ghcr.io/acme/api:${API_TAG:-latest}',
    '  db:',
    '    image: postgres:${PG_VERSION}',
    '  cache:',
    "    image: 'redis:${REDIS-7}${SUFFIX:+-$SUFFIX}'",
    '  worker:',
    '    <<: *base',
    '    command: ["work"]',
    '  cron:',
    '    <<: *base',
    `    image: ghcr.io/acme/cron@${DIGEST}`,
    '  migrate:',
    '    image: $REGISTRY/migrate:1',
    '  required:',
    '    image: app:${TAG:?set TAG}',
    '  escaped:',
    '    image: app:$$TAG',
    '  nested:',
    '    image: ${IMAGE:-${REGISTRY:-docker.io}/library/busybox:1.36}',
    '  local:',
    '    build: .',
    'volumes:',
    '  data:',
    '    image: not-a-service:1',
  );

  it('reports services.<name>.image, applying ${VAR:-default} and skipping other interpolation', () => {
    const uses = findImageUses('docker-compose.yml', compose);
    assert.deepEqual(references(uses), [
      'ghcr.io/acme/base:1.4',
      'nginx:1.27-alpine',
      'ghcr.io/acme/api:latest',
      'redis:7',
      `ghcr.io/acme/cron@${DIGEST}`,
      'docker.io/library/busybox:1.36',
    ]);
    assert.ok(uses.every((u) => u.kind === 'compose'));
    // The merged image is reported once, where it is written.
    assert.deepEqual([uses[0].line, uses[0].column], [2, 9]);
    assert.equal(writtenAt(compose, uses[2]), 'ghcr.io/acme/api:${API_TAG:-latest}');
    assert.equal(writtenAt(compose, uses[3]), 'redis:${REDIS-7}${SUFFIX:+-$SUFFIX}');
  });

  it('points inside the quotes of a quoted image, and at a plain one', () => {
    const uses = findImageUses('compose.yaml', compose);
    const quoted = uses.find((u) => u.reference === 'nginx:1.27-alpine');
    assert.deepEqual(quoted && [quoted.line, quoted.column, quoted.length], [8, 12, 17]);
    const plain = uses.filter((u) => !writtenAt(compose, u).includes('$'));
    assert.deepEqual(references(plain), ['ghcr.io/acme/base:1.4', 'nginx:1.27-alpine', `ghcr.io/acme/cron@${DIGEST}`]);
    assertPointsAtReferences(compose, plain);
  });

  it('reads compose files by name only; the same text elsewhere is not Compose', () => {
    for (const name of ['compose.yml', 'deploy/docker-compose.prod.yaml', 'compose.override.yaml', 'docker-compose-dev.yml']) {
      assert.equal(findImageUses(name, compose).length, 6, name);
    }
    assert.deepEqual(findImageUses('stack.yml', compose), []);
    assert.deepEqual(findImageUses('composer.yml', compose), []);
  });
});

describe('image uses: Kubernetes', () => {
  const manifests = lines(
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  replicas: 2',
    '  template:',
    '    metadata:',
    '      labels: {app: web}',
    '    spec:',
    '      initContainers:',
    '        - name: migrate',
    '          image: ghcr.io/acme/migrate:1.2.0',
    '      containers:',
    '        - name: web',
    '          image: "ghcr.io/acme/web:1.2.0"',
    '          env:',
    '            - name: SIDECAR_IMAGE',
    '              value: busybox:1.36',
    '        - name: proxy',
    '          image: envoyproxy/envoy:v1.31.0',
    '---',
    'apiVersion: batch/v1',
    'kind: CronJob',
    'metadata:',
    '  name: backup',
    'spec:',
    '  schedule: "0 3 * * *"',
    '  jobTemplate:',
    '    spec:',
    '      template:',
    '        spec:',
    '          restartPolicy: OnFailure',
    '          containers:',
    '            - name: backup',
    `              image: 'docker.io/library/postgres:16@${DIGEST}'`,
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata: {name: web}',
    'spec:',
    '  selector: {app: web}',
    '  ports: [{port: 80, targetPort: 8080}]',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata: {name: settings}',
    'data:',
    '  image: not/an-image:1',
    '  values.yaml: |',
    '    containers:',
    '      - image: also-not:2',
    '---',
    '# a debugging pod',
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: debug}',
    'spec:',
    "  containers: [{name: shell, image: 'alpine:3.20'}]",
    '  ephemeralContainers:',
    '    - name: dbg',
    '      image: busybox:1.36',
    '---',
    'apiVersion: v1',
    'kind: List',
    'items:',
    '  - apiVersion: apps/v1',
    '    kind: DaemonSet',
    '    metadata: {name: agent}',
    '    spec: {template: {spec: {containers: [{name: agent, image: datadog/agent:7}]}}}',
    '  - apiVersion: batch/v1',
    '    kind: Job',
    '    spec:',
    '      template:',
    '        spec:',
    '          containers: [{name: once, image: "ghcr.io/acme/once:3"}]',
    '---',
    'apiVersion: argoproj.io/v1alpha1',
    'kind: Rollout',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: canary',
    '          image: ghcr.io/acme/canary:4',
  );

  it('reports the containers of pod specs in every document, and nothing from Services or ConfigMaps', () => {
    const uses = findImageUses('deploy/k8s/app.yaml', manifests);
    assert.deepEqual(references(uses), [
      'ghcr.io/acme/migrate:1.2.0',
      'ghcr.io/acme/web:1.2.0',
      'envoyproxy/envoy:v1.31.0',
      `docker.io/library/postgres:16@${DIGEST}`,
      'alpine:3.20',
      'busybox:1.36',
      'datadog/agent:7',
      'ghcr.io/acme/once:3',
      'ghcr.io/acme/canary:4',
    ]);
    assert.ok(uses.every((u) => u.kind === 'kubernetes'));
    assert.deepEqual(uses.map((u) => u.line), [12, 15, 20, 35, 58, 61, 69, 75, 84]);
    assertPointsAtReferences(manifests, uses);
    const quoted = uses[1];
    assert.deepEqual([quoted.column, quoted.length], [18, 22]);
  });

  it('does not report image keys of a Helm values file or other YAML without a kind', () => {
    const values = lines(
      'replicaCount: 2',
      'image:',
      '  repository: ghcr.io/acme/web',
      '  tag: "1.2.0"',
      'sidecar:',
      '  image: busybox:1.36',
      'containers:',
      '  - name: extra',
      '    image: nginx:1.27',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - image: nginx:1.27',
      'ci:',
      '  image: node:20',
      'workload:',
      '  kind: Deployment',
      '  spec:',
      '    template:',
      '      spec:',
      '        containers:',
      '          - image: nginx:1.27',
    );
    assert.deepEqual(findImageUses('charts/web/values.yaml', values), []);
    const kindCluster = lines(
      'kind: Cluster',
      'apiVersion: kind.x-k8s.io/v1alpha4',
      'nodes:',
      '  - role: control-plane',
      '    image: kindest/node:v1.30.0',
    );
    assert.deepEqual(findImageUses('kind-config.yaml', kindCluster), []);
    assert.deepEqual(findImageUses('.gitlab-ci.yml', lines('image: node:20', 'test:', '  image: python:3.12', '  script: [pytest]')), []);
  });

  it('skips templated images and keeps the documents that parse', () => {
    const text = lines(
      'apiVersion: apps/v1',
      'kind: Deployment',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: app',
      '          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
      '        - name: sidecar',
      '          image: {{ .Values.sidecar }}',
      '        - name: env',
      '          image: ${IMAGE}',
      '        - name: bad',
      '          image: [not, a, string]',
      '        - name: number',
      '          image: 42',
      '        - name: escaped',
      '          image: "ghcr.io/acme/esc\\u0061ped:1"',
      '---',
      'kind: Pod',
      'spec:',
      '  containers:',
      '    - image: "unterminated',
      '---',
      'kind: Pod',
      'spec:',
      '  containers:',
      '    - image: ghcr.io/acme/ok:1',
    );
    const uses = findImageUses('templates/deployment.yaml', text);
    assert.deepEqual(references(uses), ['ghcr.io/acme/escaped:1', 'ghcr.io/acme/ok:1']);
    // An escaped scalar is pointed at as a whole, inside its quotes.
    assert.equal(writtenAt(text, uses[0]), 'ghcr.io/acme/esc\\u0061ped:1');
    assert.equal(uses[1].line, 27);
  });
});

describe('image uses: GitHub workflows', () => {
  const workflow = lines(
    'name: ci',
    'on: [push]',
    'jobs:',
    '  test:',
    '    runs-on: ubuntu-latest',
    '    container: node:20-bookworm',
    '    services:',
    '      postgres:',
    '        image: postgres:16',
    '        env: {POSTGRES_PASSWORD: postgres}',
    '      redis: redis:7',
    '    steps:',
    '      - uses: actions/checkout@v4',
    '      - uses: docker://alpine:3.20',
    '        with: {args: echo hi}',
    '      - name: lint',
    '        uses: "docker://ghcr.io/acme/lint:1"',
    '      - run: docker run --rm busybox:1.36 true',
    '  matrix:',
    '    runs-on: ubuntu-latest',
    '    strategy: {matrix: {node: [18, 20]}}',
    '    container:',
    '      image: node:${{ matrix.node }}',
    '      credentials: {username: x, password: "${{ secrets.TOKEN }}"}',
    '    services:',
    '      db:',
    '        image: ${{ vars.DB_IMAGE }}',
    '      cache: ${{ vars.CACHE_IMAGE }}',
    '    steps:',
    '      - uses: docker://${{ vars.TOOL }}',
    '  build:',
    '    runs-on: ubuntu-latest',
    '    container:',
    "      image: 'ghcr.io/acme/builder:2'",
    '      options: --cpus 2',
    '    steps:',
    '      - uses: ./.github/actions/setup',
  );

  it('reports job containers, services and docker:// steps, skipping ${{ }} expressions', () => {
    const uses = findImageUses('.github/workflows/ci.yml', workflow);
    assert.deepEqual(references(uses), [
      'node:20-bookworm',
      'postgres:16',
      'redis:7',
      'alpine:3.20',
      'ghcr.io/acme/lint:1',
      'ghcr.io/acme/builder:2',
    ]);
    assert.ok(uses.every((u) => u.kind === 'workflow'));
    assertPointsAtReferences(workflow, uses);
    // docker:// is left out of both the reference and its span; quotes are too.
    assert.deepEqual(uses.slice(3, 5).map((u) => [u.line, u.column]), [[13, 23], [16, 24]]);
    assert.deepEqual([uses[5].line, uses[5].column], [33, 14]);
  });

  it('reads workflows only under .github/workflows', () => {
    assert.equal(findImageUses('.github/workflows/release.yaml', workflow).length, 6);
    assert.equal(findImageUses('sub/project/.github/workflows/ci.yml', workflow).length, 6);
    assert.deepEqual(findImageUses('ci/ci.yml', workflow), []);
    assert.deepEqual(findImageUses('.github/dependabot.yml', workflow), []);
  });

  it('reports the docker:// image of a Docker container action', () => {
    const action = lines('name: scan', 'runs:', '  using: docker', '  image: docker://ghcr.io/acme/scanner:3', '  args: ["--all"]');
    const uses = findImageUses('action.yml', action);
    assert.deepEqual(uses.map((u) => [u.reference, u.kind, u.line, u.column]), [['ghcr.io/acme/scanner:3', 'workflow', 3, 18]]);
    assert.deepEqual(findImageUses('action.yaml', lines('runs:', '  using: docker', '  image: Dockerfile')), []);
  });
});

describe('image uses: line endings', () => {
  it('gives the same positions with CRLF line endings and a BOM', () => {
    const k8s = lines('kind: Pod', 'spec:', '  containers:', '    - name: a', '      image: "ghcr.io/acme/a:1"', '    - {name: b, image: ghcr.io/acme/b:2}');
    const workflow = lines('jobs:', '  j:', '    container: node:20', '    steps:', "      - uses: 'docker://alpine:3.20'");
    const compose = lines('services:', '  s:', "    image: 'nginx:1.27'");
    for (const [path, text] of [['pod.yaml', k8s], ['.github/workflows/w.yml', workflow], ['compose.yaml', compose]]) {
      const lf = findImageUses(path, text);
      const crlf = findImageUses(path, '\uFEFF' + text.replace(/\n/g, '\r\n'));
      assert.ok(lf.length >= 1, path);
      assert.deepEqual(crlf, lf, path);
      assertPointsAtReferences(text, lf);
    }
  });
});
