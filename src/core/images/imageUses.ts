/**
 * The image references a workspace uses, found in file contents: Dockerfile/Containerfile
 * `FROM` (and `COPY --from`, `RUN --mount=from=`), Compose `services.*.image`, Kubernetes pod
 * spec containers, and GitHub workflow (and Docker action) images. Pure: text in, references
 * with their positions out; never throws.
 */
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node, type Scalar, type YAMLMap } from 'yaml';
import { findDockerfileImageUses, type Span } from './dockerfile';
import { COMPOSE_SYNTAX, substitute } from './substitution';

export type ImageUseKind = 'dockerfile' | 'compose' | 'kubernetes' | 'workflow';

export interface ImageUse {
  /** The reference as it will be pulled: build args substituted where literal. */
  readonly reference: string;
  /**
   * Where it is written (0-based line and column of the reference text, and its length), for
   * "click → open at the line". The span covers the text as written: for a substituted
   * reference (`FROM node:${NODE}`) that is the written word, not the substituted value.
   * Columns count UTF-16 code units, as editor positions do; a leading BOM is not counted.
   */
  readonly line: number;
  readonly column: number;
  readonly length: number;
  readonly kind: ImageUseKind;
}

const DOCKERFILE_NAMES = ['Dockerfile', 'dockerfile', 'Containerfile', 'containerfile'];
const DOCKERFILE_SET = `{${DOCKERFILE_NAMES.join(',')}}`;

/**
 * Which files can hold image references (globs for `vscode.workspace.findFiles` and a file
 * watcher). Every YAML file is a candidate (Kubernetes manifests have no fixed name); the
 * content decides. `isImageFile` accepts exactly what these match, minus `*.dockerignore`.
 */
export const IMAGE_FILE_GLOBS: readonly string[] = [
  `**/${DOCKERFILE_SET}`,
  `**/${DOCKERFILE_SET}.*`,
  `**/*.${DOCKERFILE_SET}`,
  '**/*.{yaml,yml}',
];

type FileKind = 'dockerfile' | 'compose' | 'workflow' | 'action' | 'kubernetes';

function fileKind(relativePath: string): FileKind | undefined {
  const path = relativePath.replace(/\\/g, '/');
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (/\.ya?ml$/.test(base)) {
    if (/(^|\/)\.github\/workflows\/[^/]+$/.test(path)) return 'workflow';
    const lower = base.toLowerCase();
    if (lower === 'action.yml' || lower === 'action.yaml') return 'action';
    // compose.yaml, docker-compose.yml, docker-compose.prod.yml, compose.override.yaml,
    // docker-compose-dev.yml, podman-compose.yml (not composer.yml).
    if (/^(?:.*[._-])?compose(?:[._-].*)?\.ya?ml$/.test(lower)) return 'compose';
    return 'kubernetes';
  }
  if (base.endsWith('.dockerignore') || base.endsWith('.containerignore')) return undefined;
  for (const name of DOCKERFILE_NAMES) {
    if (base === name || base.startsWith(`${name}.`) || base.endsWith(`.${name}`)) return 'dockerfile';
  }
  return undefined;
}

/** Whether a path (workspace-relative, '/' separators) is one of those files, by name. */
export function isImageFile(relativePath: string): boolean {
  return fileKind(relativePath) !== undefined;
}

/** The image references in one file's text; never throws on bad input (returns what it could find). */
export function findImageUses(relativePath: string, text: string): ImageUse[] {
  const uses: ImageUse[] = [];
  try {
    const kind = fileKind(relativePath);
    if (kind === undefined || typeof text !== 'string') return [];
    const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
    if (kind === 'dockerfile') {
      const lines = lineStarts(source);
      for (const use of findDockerfileImageUses(source, (reference, span) => toUse(reference, span, 'dockerfile', source, (offset) => positionIn(lines, offset)))) uses.push(use);
    } else {
      findYamlImageUses(kind, source, uses);
    }
  } catch {
    // Return what was found before the input broke something.
  }
  return orderAndDedupe(uses);
}

/** Not a reference as written: empty, or with whitespace, quotes or leftover interpolation syntax. */
function isPlausibleReference(reference: string): boolean {
  return reference.length > 0 && reference.length <= 1024 && /^[A-Za-z0-9[][^\s"'`$\\{}<>|;,*?()]*$/.test(reference);
}

function toUse(reference: string, span: Span, kind: ImageUseKind, text: string, position: (offset: number) => { line: number; column: number }): ImageUse | undefined {
  if (!isPlausibleReference(reference)) return undefined;
  let length = Math.max(0, Math.min(span.length, text.length - span.offset));
  const lineBreak = text.slice(span.offset, span.offset + length).search(/[\r\n]/);
  if (lineBreak >= 0) length = lineBreak;
  const { line, column } = position(span.offset);
  return { reference, line, column, length, kind };
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function positionIn(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, column: offset - starts[lo] };
}

function orderAndDedupe(uses: readonly ImageUse[]): ImageUse[] {
  const seen = new Set<string>();
  const unique = uses.filter((use) => {
    const key = `${use.line}:${use.column}:${use.reference}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.line - b.line || a.column - b.column);
}

// ---------------------------------------------------------------------------------------
// YAML

/** Anchors, aliases and merge keys are followed at most this deep. */
const MAX_DEPTH = 16;

class YamlFile {
  constructor(
    /** The whole file. */
    private readonly text: string,
    private readonly lines: readonly number[],
    private readonly doc: Document.Parsed,
    /** Where the document's chunk starts in the file (node ranges are relative to it). */
    private readonly offset: number,
    private readonly kind: ImageUseKind,
    private readonly uses: ImageUse[],
  ) {}

  /** The node itself, or the node an alias points to. */
  deref(node: unknown, depth = 0): Node | undefined {
    if (isAlias(node)) return depth < MAX_DEPTH ? this.deref(node.resolve(this.doc), depth + 1) : undefined;
    return node === null || node === undefined ? undefined : (node as Node);
  }

  map(node: unknown): YAMLMap | undefined {
    const n = this.deref(node);
    return isMap(n) ? n : undefined;
  }

  /** A key's value in a mapping, following `<<` merge keys as Compose and Kubernetes tools do. */
  get(node: unknown, key: string, depth = 0): Node | undefined {
    const map = this.map(node);
    if (!map || depth > MAX_DEPTH) return undefined;
    const merges: unknown[] = [];
    for (const pair of map.items) {
      const k = this.deref(pair.key);
      const name = isScalar(k) ? k.value : undefined;
      if (name === key) return this.deref(pair.value);
      if (name === '<<') merges.push(pair.value);
    }
    for (const merge of merges) {
      const value = this.deref(merge);
      const sources = isSeq(value) ? value.items : [value];
      for (const source of sources) {
        const found = this.get(source, key, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  path(node: unknown, ...keys: string[]): Node | undefined {
    let current: Node | undefined = this.deref(node);
    for (const key of keys) current = this.get(current, key);
    return current;
  }

  /** The mapping's values, merge keys included (an explicit key wins over a merged one). */
  entries(node: unknown, depth = 0): Node[] {
    const map = this.map(node);
    if (!map || depth > MAX_DEPTH) return [];
    const values = new Map<unknown, Node | undefined>();
    const merged: Node[] = [];
    for (const pair of map.items) {
      const k = this.deref(pair.key);
      const name = isScalar(k) ? k.value : k;
      if (name === '<<') {
        const value = this.deref(pair.value);
        for (const source of isSeq(value) ? value.items : [value]) merged.push(...this.entries(source, depth + 1));
      } else {
        values.set(name, this.deref(pair.value));
      }
    }
    return [...values.values(), ...merged].filter((n): n is Node => n !== undefined);
  }

  items(node: unknown): Node[] {
    const seq = this.deref(node);
    return isSeq(seq) ? seq.items.map((item) => this.deref(item)).filter((n): n is Node => n !== undefined) : [];
  }

  string(node: unknown): Scalar<string> | undefined {
    const n = this.deref(node);
    return isScalar(n) && typeof n.value === 'string' ? (n as Scalar<string>) : undefined;
  }

  /**
   * Report a string scalar. `reference` is what it resolves to; `prefix` is written before
   * the reference (`docker://`) and left out of the span.
   */
  report(node: Scalar<string>, reference: string, prefix = ''): void {
    const range = node.range;
    if (!range) return;
    // A scalar the parser had to repair (an unterminated quote) is not a reference as written.
    if (this.doc.errors.some((error) => error.pos[0] <= range[2] && error.pos[1] >= range[0])) return;
    let [start, end] = [this.offset + range[0], this.offset + range[1]];
    if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') {
      const quote = this.text[start];
      start += 1;
      if (end > start && this.text[end - 1] === quote) end -= 1;
    }
    const written = this.text.slice(start, end);
    const at = written.indexOf(node.value);
    // Escapes (`"\x41"`) make the written text differ from the value: then the whole scalar.
    const skip = at < 0 && written.startsWith(prefix) ? prefix.length : 0;
    const span: Span = at >= 0
      ? { offset: start + at + prefix.length, length: node.value.length - prefix.length }
      : { offset: start + skip, length: end - start - skip };
    const use = toUse(reference, span, this.kind, this.text, (offset) => positionIn(this.lines, offset));
    if (use) this.uses.push(use);
  }
}

function findYamlImageUses(kind: Exclude<FileKind, 'dockerfile'>, text: string, uses: ImageUse[]): void {
  // A cheap test before parsing every YAML file of a workspace.
  if ((kind === 'kubernetes' || kind === 'compose') && !text.includes('image')) return;
  if (kind === 'kubernetes' && !text.includes('kind')) return;
  if (kind === 'action' && !text.includes('docker://')) return;
  const lines = lineStarts(text);
  const useKind: ImageUseKind = kind === 'action' ? 'workflow' : kind;
  for (const chunk of documentChunks(text)) {
    let docs: Document.Parsed[];
    try {
      docs = Array.from(parseAllDocuments(chunk.text, { uniqueKeys: false, prettyErrors: false }));
    } catch {
      continue;
    }
    for (const doc of docs) {
      const file = new YamlFile(text, lines, doc, chunk.offset, useKind, uses);
      try {
        if (kind === 'compose') composeUses(file, doc.contents);
        else if (kind === 'kubernetes') kubernetesUses(file, doc.contents, 0);
        else if (kind === 'workflow') workflowUses(file, doc.contents);
        else actionUses(file, doc.contents);
      } catch {
        // Keep what this and the other documents gave.
      }
    }
  }
}

/**
 * The file cut at its `---` document markers, each part parsed alone: a line starting with
 * `---` always starts a document, and this way a broken document (an unterminated quote)
 * cannot swallow the ones after it.
 */
function documentChunks(text: string): { offset: number; text: string }[] {
  const starts = [0];
  for (const match of text.matchAll(/^---(?=[ \t\r]|$)/gm)) if (match.index > 0) starts.push(match.index);
  return starts.map((start, i) => ({ offset: start, text: text.slice(start, starts[i + 1] ?? text.length) }));
}

/** Compose: `services.<name>.image`, with `${VAR:-default}` / `${VAR-default}` defaults applied. */
function composeUses(file: YamlFile, root: unknown): void {
  for (const service of file.entries(file.get(root, 'services'))) {
    const image = file.string(file.get(service, 'image'));
    if (!image) continue;
    // Variables come from the environment or `.env`: unset as far as this file says.
    const reference = substitute(image.value, () => 'unset', COMPOSE_SYNTAX);
    if (reference !== undefined) file.report(image, reference);
  }
}

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'];

/**
 * Kubernetes: containers of the pod specs of objects with a `kind` — `Pod` (`spec`),
 * `PodTemplate` (`template.spec`), `CronJob` (`spec.jobTemplate.spec.template.spec`), and
 * any kind with `spec.template.spec` (Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * ReplicationController, Job, and custom resources built the same way); `*List` kinds
 * through their `items`.
 */
function kubernetesUses(file: YamlFile, root: unknown, depth: number): void {
  const object = file.map(root);
  const kind = file.string(file.get(object, 'kind'))?.value;
  if (!object || kind === undefined || depth > 4) return;
  if (kind.endsWith('List')) {
    for (const item of file.items(file.get(object, 'items'))) kubernetesUses(file, item, depth + 1);
  }
  const podSpecs = new Set<Node>();
  const add = (node: Node | undefined): void => {
    if (isMap(node)) podSpecs.add(node);
  };
  if (kind === 'Pod') add(file.get(object, 'spec'));
  if (kind === 'PodTemplate') add(file.path(object, 'template', 'spec'));
  add(file.path(object, 'spec', 'template', 'spec'));
  add(file.path(object, 'spec', 'jobTemplate', 'spec', 'template', 'spec'));
  for (const podSpec of podSpecs) {
    for (const list of CONTAINER_LISTS) {
      for (const container of file.items(file.get(podSpec, list))) {
        const image = file.string(file.get(container, 'image'));
        if (image) file.report(image, image.value);
      }
    }
  }
}

const EXPRESSION = '${{';
const DOCKER_SCHEME = 'docker://';

/** GitHub workflows: `jobs.<id>.container`, `jobs.<id>.services.<name>`, `steps[].uses: docker://…`. */
function workflowUses(file: YamlFile, root: unknown): void {
  for (const job of file.entries(file.get(root, 'jobs'))) {
    const containers = [file.get(job, 'container'), ...file.entries(file.get(job, 'services'))];
    for (const container of containers) {
      const image = file.string(container) ?? file.string(file.get(container, 'image'));
      if (image && !image.value.includes(EXPRESSION)) file.report(image, image.value);
    }
    dockerSteps(file, file.get(job, 'steps'));
  }
}

/** Docker container actions (`action.yml`): `runs.image: docker://…`, and composite steps using `docker://`. */
function actionUses(file: YamlFile, root: unknown): void {
  const runs = file.get(root, 'runs');
  const image = file.string(file.get(runs, 'image'));
  if (image) dockerUse(file, image);
  dockerSteps(file, file.get(runs, 'steps'));
}

function dockerSteps(file: YamlFile, steps: unknown): void {
  for (const step of file.items(steps)) {
    const uses = file.string(file.get(step, 'uses'));
    if (uses) dockerUse(file, uses);
  }
}

function dockerUse(file: YamlFile, node: Scalar<string>): void {
  if (!node.value.startsWith(DOCKER_SCHEME) || node.value.includes(EXPRESSION)) return;
  file.report(node, node.value.slice(DOCKER_SCHEME.length), DOCKER_SCHEME);
}
