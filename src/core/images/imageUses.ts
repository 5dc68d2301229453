/**
 * The image references a workspace uses, found in file contents: Dockerfile/Containerfile
 * `FROM` (and `COPY --from`, `RUN --mount=from=`), Compose `services.*.image`, Kubernetes pod
 * spec containers, and GitHub workflow (and Docker action) images. Pure: text in, references
 * with their positions out; never throws.
 */
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, visit, type Alias, type Document, type Node, type Scalar, type YAMLMap } from 'yaml';
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
    if (isComposeName(lower)) return 'compose';
    return 'kubernetes';
  }
  if (base.endsWith('.dockerignore') || base.endsWith('.containerignore')) return undefined;
  for (const name of DOCKERFILE_NAMES) {
    if (base === name || base.startsWith(`${name}.`) || base.endsWith(`.${name}`)) return 'dockerfile';
  }
  return undefined;
}

const NAME_SEPARATORS = '._-';

/**
 * `compose` as a whole word of the name before `.yml`/`.yaml` (words split at `.`, `_`, `-`).
 * By hand: the regular expression it replaces backtracked quadratically on names like
 * `compose-compose-…`.
 */
function isComposeName(lower: string): boolean {
  const stem = lower.slice(0, lower.lastIndexOf('.'));
  const word = 'compose';
  for (let at = stem.indexOf(word); at >= 0; at = stem.indexOf(word, at + 1)) {
    const before = at === 0 || NAME_SEPARATORS.includes(stem[at - 1]!);
    const after = at + word.length === stem.length || NAME_SEPARATORS.includes(stem[at + word.length]!);
    if (before && after) return true;
  }
  return false;
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

/**
 * Mapping and sequence entries one document may cost to scan, per character of its text.
 * Aliases and merge keys let a small file name the same nodes over and over (a "billion
 * laughs"); each node is scanned a few times at most, so honest files stay far below this.
 */
const WORK_PER_CHARACTER = 16;

/** The scan of one document went over its budget: keep what it found so far. */
class WorkLimitReached extends Error {}

class YamlFile {
  /** Each alias's node, found in one pass (yaml's `Alias.resolve` walks the whole document per call). */
  private readonly anchored = new Map<Alias, Node | undefined>();
  /** Error spans sorted by start, with the furthest end so far: an overlap test in log time. */
  private readonly errorStarts: number[] = [];
  private readonly errorEnds: number[] = [];
  private readonly scanned = new Map<string, Set<Node>>();
  private work: number;

  constructor(
    /** The whole file. */
    private readonly text: string,
    private readonly lines: readonly number[],
    doc: Document.Parsed,
    /** Where the document's chunk starts in the file (node ranges are relative to it). */
    private readonly offset: number,
    private readonly kind: ImageUseKind,
    private readonly uses: ImageUse[],
    chunkLength: number,
  ) {
    this.work = WORK_PER_CHARACTER * chunkLength + 1024;
    // As yaml resolves an alias: the last node with its anchor before it, in document order.
    const anchors = new Map<string, Node>();
    visit(doc, {
      Node: (_key, node) => {
        if (isAlias(node)) this.anchored.set(node, anchors.get(node.source));
        else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
    const spans = doc.errors.map((error) => error.pos).sort((a, b) => a[0] - b[0]);
    let furthest = -Infinity;
    for (const [start, end] of spans) {
      furthest = Math.max(furthest, end);
      this.errorStarts.push(start);
      this.errorEnds.push(furthest);
    }
  }

  private charge(entries: number): void {
    this.work -= entries + 1;
    if (this.work < 0) throw new WorkLimitReached();
  }

  /** True the first time a node is scanned as `role`: one reached again through an alias gives nothing new. */
  firstVisit(role: string, node: Node | undefined): boolean {
    if (node === undefined) return false;
    let nodes = this.scanned.get(role);
    if (!nodes) this.scanned.set(role, (nodes = new Set()));
    if (nodes.has(node)) return false;
    nodes.add(node);
    return true;
  }

  /** The node itself, or the node an alias points to (never an alias: an anchored node cannot be one). */
  deref(node: unknown): Node | undefined {
    if (isAlias(node)) return this.anchored.get(node);
    return node === null || node === undefined ? undefined : (node as Node);
  }

  map(node: unknown): YAMLMap | undefined {
    const n = this.deref(node);
    return isMap(n) ? n : undefined;
  }

  /** The mappings a `<<` merge key's value names, in order. */
  private mergeSources(value: unknown): YAMLMap[] {
    const node = this.deref(value);
    const sources = isSeq(node) ? node.items : [node];
    this.charge(sources.length);
    return sources.map((source) => this.map(source)).filter((m): m is YAMLMap => m !== undefined);
  }

  /**
   * The mapping and those its `<<` merge keys name, depth first, each once (a mapping seen
   * before adds no key, and aliases can make cycles).
   */
  private *mergeOrder(start: YAMLMap): Generator<YAMLMap> {
    const seen = new Set<YAMLMap>();
    const stack = [start];
    while (stack.length > 0) {
      const map = stack.pop()!;
      if (seen.has(map)) continue;
      seen.add(map);
      yield map;
      const sources: YAMLMap[] = [];
      for (const pair of map.items) {
        const k = this.deref(pair.key);
        if (isScalar(k) && k.value === '<<') sources.push(...this.mergeSources(pair.value));
      }
      for (let i = sources.length - 1; i >= 0; i--) stack.push(sources[i]!);
    }
  }

  /** A key's value in a mapping, following `<<` merge keys as Compose and Kubernetes tools do. */
  get(node: unknown, key: string): Node | undefined {
    const start = this.map(node);
    if (!start) return undefined;
    for (const map of this.mergeOrder(start)) {
      this.charge(map.items.length);
      for (const pair of map.items) {
        const k = this.deref(pair.key);
        if (isScalar(k) && k.value === key) return this.deref(pair.value);
      }
    }
    return undefined;
  }

  path(node: unknown, ...keys: string[]): Node | undefined {
    let current: Node | undefined = this.deref(node);
    for (const key of keys) current = this.get(current, key);
    return current;
  }

  /** The mapping's values, merge keys included (an explicit key wins over a merged one, an earlier merge over a later). */
  entries(node: unknown): Node[] {
    const start = this.map(node);
    if (!start) return [];
    const values = new Map<unknown, Node | undefined>();
    for (const map of this.mergeOrder(start)) {
      this.charge(map.items.length);
      for (const pair of map.items) {
        const k = this.deref(pair.key);
        const name = isScalar(k) ? k.value : k;
        if (name === '<<') continue;
        if (map === start) values.set(name, this.deref(pair.value));
        else if (!values.has(name)) values.set(name, this.deref(pair.value));
      }
    }
    return [...values.values()].filter((n): n is Node => n !== undefined);
  }

  items(node: unknown): Node[] {
    const seq = this.deref(node);
    if (!isSeq(seq)) return [];
    this.charge(seq.items.length);
    return seq.items.map((item) => this.deref(item)).filter((n): n is Node => n !== undefined);
  }

  string(node: unknown): Scalar<string> | undefined {
    const n = this.deref(node);
    return isScalar(n) && typeof n.value === 'string' ? (n as Scalar<string>) : undefined;
  }

  /** Whether a parse error's span meets [from, to]. */
  private overlapsError(from: number, to: number): boolean {
    // The last error starting at or before `to`, then whether any up to it reaches `from`.
    let lo = 0;
    let hi = this.errorStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.errorStarts[mid]! <= to) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && this.errorEnds[lo - 1]! >= from;
  }

  /**
   * Report a string scalar. `reference` is what it resolves to; `prefix` is written before
   * the reference (`docker://`) and left out of the span.
   */
  report(node: Scalar<string>, reference: string, prefix = ''): void {
    const range = node.range;
    if (!range) return;
    // A scalar the parser had to repair (an unterminated quote) is not a reference as written.
    if (this.overlapsError(range[0], range[2])) return;
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
      try {
        const file = new YamlFile(text, lines, doc, chunk.offset, useKind, uses, chunk.text.length);
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
    if (!file.firstVisit('service', service)) continue;
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
  if (!file.firstVisit('object', object)) return;
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
    if (!file.firstVisit('pod spec', podSpec)) continue;
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
    if (!file.firstVisit('job', job)) continue;
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
    if (!file.firstVisit('step', step)) continue;
    const uses = file.string(file.get(step, 'uses'));
    if (uses) dockerUse(file, uses);
  }
}

function dockerUse(file: YamlFile, node: Scalar<string>): void {
  if (!node.value.startsWith(DOCKER_SCHEME) || node.value.includes(EXPRESSION)) return;
  file.report(node, node.value.slice(DOCKER_SCHEME.length), DOCKER_SCHEME);
}
