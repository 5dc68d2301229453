/**
 * The trust policy: which identities, keys and roots are trusted for which files.
 * Parsed with positions so every problem can be shown where it is in the editor.
 *
 *   {"version": 1, "rules": [{"name": …, "match": ["<glob>"], "images": ["<glob>"], "identities": [{"subject" | "subjectRegExp",
 *     "issuer" | "issuerRegExp", "extensions": {…}}], "keys": ["<pem>"], "openpgpKeys": ["<file>"],
 *     "trustedRoot": "<path>"}]}
 *
 * `match` covers workspace files (see globMatcher), `images` container images (see
 * imageGlobMatcher); a rule may have either or both, and each lookup only reads its own field.
 */
import { createPublicKey } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import picomatch from 'picomatch';
import { readLimited } from '../artifacts/artifact';
import { parseImageReference, type ImageReference } from '../oci/reference';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../trust/trustedRoot';
import { FULCIO_EXTENSIONS, FULCIO_OID_PREFIX } from '../verify/certificate';
import { openPgpKeyText } from '../verify/openpgpSignature';
import type { NamedOpenPgpKeys, NamedPublicKey } from '../verify/trustInputs';

export const DEFAULT_POLICY_PATH = '.sigstore/policy.json';
const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_KEY_FILE_BYTES = 10 * 1024 * 1024;
const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;

export interface PolicyDiagnostic {
  readonly message: string;
  readonly severity: 'error' | 'warning';
  /** Where in the policy file (character offset and length). */
  readonly offset: number;
  readonly length: number;
}

export interface IdentityMatcher {
  readonly subject: ValueMatcher;
  readonly issuer: ValueMatcher;
  /** Required Fulcio extension values, by OID. */
  readonly extensions: ReadonlyMap<string, { readonly key: string; readonly value: string }>;
  readonly description: string;
}

export interface ValueMatcher {
  readonly test: (value: string | undefined) => boolean;
  readonly description: string;
}

export interface PolicyRule {
  readonly index: number;
  /** "rule 2 (release artifacts)": how reports name it. */
  readonly label: string;
  readonly matches: (relativePath: string) => boolean;
  /** The rule's `images` globs, as written. */
  readonly images: readonly string[];
  /** Whether an image repository (`registry/repository`, as {@link imageName} writes it) is covered by `images`. */
  readonly matchesImage: (name: string) => boolean;
  readonly identities: readonly IdentityMatcher[];
  readonly keys: readonly NamedPublicKey[];
  readonly openpgpKeys: readonly NamedOpenPgpKeys[];
  readonly trustedRoot?: LoadedTrustedRoot;
}

export interface TrustPolicy {
  readonly path: string;
  /** Globs match paths relative to this folder (see `policyBase`). */
  readonly base: string;
  readonly rules: readonly PolicyRule[];
}

/** A loaded policy, or the problems that make it unusable (then nothing counts as verified). */
export type PolicyLoad = (
  | { readonly ok: true; readonly policy: TrustPolicy; readonly diagnostics: readonly PolicyDiagnostic[] }
  | { readonly ok: false; readonly path: string; readonly diagnostics: readonly PolicyDiagnostic[] }
) & {
  /** The key and trusted-root files the policy names: when one changes, the policy must be loaded again. */
  readonly references?: readonly string[];
};

/**
 * The folder globs are relative to: the one holding `.sigstore/` when the policy lives
 * there (the default), else the policy file's own folder.
 */
export function policyBase(policyPath: string): string {
  const dir = dirname(policyPath);
  return basename(dir) === '.sigstore' ? dirname(dir) : dir;
}

/** Reads and compiles a policy file; problems come back as diagnostics, never as exceptions. */
export async function loadPolicyFile(path: string): Promise<PolicyLoad> {
  let text: string;
  try {
    text = (await readLimited(path, MAX_POLICY_BYTES)).toString('utf8');
  } catch (e) {
    return broken(path, `The trust policy ${path} cannot be read: ${(e as Error).message}`);
  }
  return compilePolicy(path, text);
}

/** Compiles policy text (as saved at `path`, which relative key and root paths are resolved against). */
export async function compilePolicy(path: string, text: string): Promise<PolicyLoad> {
  const diagnostics: PolicyDiagnostic[] = [];
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  for (const e of errors) {
    diagnostics.push({ message: `Not valid JSON: ${printParseErrorCode(e.error)}.`, severity: 'error', offset: e.offset, length: Math.max(1, e.length) });
  }
  if (!tree || errors.length) return { ok: false, path, diagnostics: diagnostics.length ? diagnostics : [at(undefined, 'The trust policy is empty.')] };
  const checker = new Checker(diagnostics, dirname(path));
  const rules = await checker.policy(tree);
  const references = [...checker.references];
  if (!rules || diagnostics.some((d) => d.severity === 'error')) return { ok: false, path, diagnostics, references };
  return { ok: true, policy: { path, base: policyBase(path), rules }, diagnostics, references };
}

/** The first rule whose globs match `artifact` (absolute), or undefined. */
export function ruleFor(policy: TrustPolicy, artifact: string): PolicyRule | undefined {
  const rel = relative(policy.base, artifact).split(sep).join('/');
  if (rel.startsWith('../') || isAbsolute(rel)) return undefined;
  return policy.rules.find((r) => r.matches(rel));
}

/**
 * The first rule whose `images` globs cover the image, or undefined. `reference` is an image
 * reference (`ghcr.io/octo/app:1.2`, `alpine@sha256:…`); its tag and digest do not matter, and
 * text that is not a reference matches no rule.
 */
export function ruleForImage(policy: TrustPolicy, reference: string | ImageReference): PolicyRule | undefined {
  let ref: ImageReference;
  try {
    ref = typeof reference === 'string' ? parseImageReference(reference) : reference;
  } catch {
    return undefined;
  }
  const name = imageName(ref);
  return policy.rules.find((r) => r.matchesImage(name));
}

/** What `images` globs are matched against: `registry/repository`, Docker Hub as `docker.io/library/alpine`. */
export function imageName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

function broken(path: string, message: string): PolicyLoad {
  return { ok: false, path, diagnostics: [at(undefined, message)] };
}

function at(node: Node | undefined, message: string, severity: 'error' | 'warning' = 'error'): PolicyDiagnostic {
  return { message, severity, offset: node?.offset ?? 0, length: node?.length ?? 1 };
}

const RULE_FIELDS = new Set(['name', 'match', 'images', 'identities', 'keys', 'openpgpKeys', 'trustedRoot']);
const IDENTITY_FIELDS = new Set(['subject', 'subjectRegExp', 'issuer', 'issuerRegExp', 'extensions']);
const EXTENSION_KEYS = new Map(
  Object.entries(FULCIO_EXTENSIONS)
    .filter(([arc]) => arc !== '1' && arc !== '8')
    .map(([arc, { key }]) => [key, `${FULCIO_OID_PREFIX}${arc}`]),
);

/** Validates the tree and builds rules, recording a diagnostic at each problem. */
class Checker {
  private readonly roots = new Map<string, Promise<LoadedTrustedRoot | undefined>>();
  readonly references = new Set<string>();

  constructor(
    private readonly diagnostics: PolicyDiagnostic[],
    private readonly dir: string,
  ) {}

  private error(node: Node | undefined, message: string): undefined {
    this.diagnostics.push(at(node, message));
    return undefined;
  }

  async policy(tree: Node): Promise<PolicyRule[] | undefined> {
    if (tree.type !== 'object') return this.error(tree, 'The trust policy must be a JSON object: {"version": 1, "rules": [...]}.');
    for (const prop of tree.children ?? []) {
      const key = prop.children?.[0]?.value;
      if (key !== 'version' && key !== 'rules' && key !== '$schema') this.diagnostics.push(at(prop.children?.[0], `Unknown field "${key}" (ignored).`, 'warning'));
    }
    const version = findNodeAtLocation(tree, ['version']);
    if (version?.value !== 1) return this.error(version ?? tree, '"version" must be 1.');
    const rules = findNodeAtLocation(tree, ['rules']);
    if (!rules || rules.type !== 'array') return this.error(rules ?? tree, '"rules" must be an array of rules.');
    const compiled = await Promise.all((rules.children ?? []).map((r, i) => this.rule(r, i)));
    return compiled.every((r): r is PolicyRule => r !== undefined) ? compiled : undefined;
  }

  private async rule(node: Node, index: number): Promise<PolicyRule | undefined> {
    if (node.type !== 'object') return this.error(node, `Rule ${index + 1} must be an object.`);
    for (const prop of node.children ?? []) {
      const key = prop.children?.[0]?.value;
      if (!RULE_FIELDS.has(key)) this.diagnostics.push(at(prop.children?.[0], `Unknown field "${key}" in rule ${index + 1} (ignored).`, 'warning'));
    }
    const nameNode = findNodeAtLocation(node, ['name']);
    if (nameNode && nameNode.type !== 'string') this.error(nameNode, '"name" must be a string.');
    const label = `rule ${index + 1}${typeof nameNode?.value === 'string' ? ` (${nameNode.value})` : ''}`;

    const matchNode = findNodeAtLocation(node, ['match']);
    const match = this.strings(matchNode, `"match" of ${label}`, true);
    const matchers = match ? this.globs(matchNode!) : [];
    const images = findNodeAtLocation(node, ['images']);
    const imageGlobs = images ? this.strings(images, `"images" of ${label}`, false) : [];
    const imageMatchers = images && imageGlobs ? this.imageGlobs(images) : [];
    if (!findNodeAtLocation(node, ['match']) && !images) this.error(node, `${label} needs "match": an array of globs of the files it covers.`);
    const identities = await this.identities(findNodeAtLocation(node, ['identities']), label);
    const keys = await this.keys(findNodeAtLocation(node, ['keys']), label);
    const openpgpKeys = await this.openpgpKeys(findNodeAtLocation(node, ['openpgpKeys']), label);
    const rootNode = findNodeAtLocation(node, ['trustedRoot']);
    let trustedRoot: LoadedTrustedRoot | undefined;
    if (rootNode) {
      if (rootNode.type !== 'string') return this.error(rootNode, '"trustedRoot" must be a path to a trusted_root.json.');
      trustedRoot = await this.trustedRoot(rootNode);
    }
    const trusts = ['identities', 'keys', 'openpgpKeys'].some((f) => findNodeAtLocation(node, [f]));
    if (!trusts) {
      this.diagnostics.push(at(node, `${label} trusts nobody: add "identities", "keys" or "openpgpKeys".`, 'warning'));
    }
    return {
      index,
      label,
      matches: (rel) => matchers.some((m) => m(rel)),
      images: imageGlobs ?? [],
      matchesImage: (name) => imageMatchers.some((m) => m(name)),
      identities: identities ?? [],
      keys: keys ?? [],
      openpgpKeys: openpgpKeys ?? [],
      trustedRoot,
    };
  }

  private strings(node: Node | undefined, what: string, required: boolean): string[] | undefined {
    if (!node) return required ? undefined : [];
    if (node.type !== 'array' || !(node.children ?? []).every((c) => c.type === 'string' && c.value !== '')) {
      return this.error(node, `${what} must be an array of non-empty strings.`);
    }
    return (node.children ?? []).map((c) => c.value as string);
  }

  /** Each glob compiled, or a diagnostic on the one that cannot be. */
  private globs(node: Node): Array<(rel: string) => boolean> {
    const out: Array<(rel: string) => boolean> = [];
    for (const child of node.children ?? []) {
      const glob = child.value as string;
      try {
        out.push(globMatcher(glob));
      } catch (e) {
        this.error(child, `${JSON.stringify(glob)} is not a usable glob: ${(e as Error).message}.`);
      }
    }
    return out;
  }

  /** Each image glob compiled, or a diagnostic on the one that cannot be. */
  private imageGlobs(node: Node): Array<(name: string) => boolean> {
    const out: Array<(name: string) => boolean> = [];
    for (const child of node.children ?? []) {
      const glob = child.value as string;
      try {
        out.push(imageGlobMatcher(glob));
      } catch (e) {
        this.error(child, `${JSON.stringify(glob)} is not a usable image glob: ${(e as Error).message}.`);
      }
    }
    return out;
  }

  private async identities(node: Node | undefined, label: string): Promise<IdentityMatcher[] | undefined> {
    if (!node) return [];
    if (node.type !== 'array') return this.error(node, `"identities" of ${label} must be an array.`);
    const out: IdentityMatcher[] = [];
    for (const item of node.children ?? []) {
      const id = this.identity(item, label);
      if (id) out.push(id);
    }
    return out;
  }

  private identity(node: Node, label: string): IdentityMatcher | undefined {
    if (node.type !== 'object') return this.error(node, `Each identity of ${label} must be an object.`);
    for (const prop of node.children ?? []) {
      const key = prop.children?.[0]?.value;
      if (!IDENTITY_FIELDS.has(key)) this.error(prop.children?.[0], `Unknown identity field "${key}": use subject or subjectRegExp, issuer or issuerRegExp, extensions.`);
    }
    const subject = this.valueMatcher(node, 'subject', label);
    const issuer = this.valueMatcher(node, 'issuer', label);
    const extensions = new Map<string, { key: string; value: string }>();
    const extNode = findNodeAtLocation(node, ['extensions']);
    if (extNode) {
      if (extNode.type !== 'object') return this.error(extNode, '"extensions" must map Fulcio extension names to exact values.');
      for (const prop of extNode.children ?? []) {
        const [keyNode, valueNode] = prop.children ?? [];
        const key = String(keyNode?.value);
        const oid = EXTENSION_KEYS.get(key) ?? (key.startsWith(FULCIO_OID_PREFIX) ? key : undefined);
        if (!oid) {
          this.error(keyNode, `Unknown Fulcio extension "${key}". Known: ${[...EXTENSION_KEYS.keys()].join(', ')} (or an OID under ${FULCIO_OID_PREFIX}).`);
        } else if (valueNode?.type !== 'string') {
          this.error(valueNode, `The value of "${key}" must be a string (matched exactly).`);
        } else {
          extensions.set(oid, { key, value: valueNode.value as string });
        }
      }
    }
    if (!subject || !issuer) return undefined;
    const ext = [...extensions.values()].map((e) => `${e.key}=${e.value}`).join(', ');
    return { subject, issuer, extensions, description: `${subject.description} from ${issuer.description}${ext ? ` with ${ext}` : ''}` };
  }

  /** `subject` (exact) or `subjectRegExp` (anchored), exactly one of them; likewise issuer. */
  private valueMatcher(node: Node, field: 'subject' | 'issuer', label: string): ValueMatcher | undefined {
    const exact = findNodeAtLocation(node, [field]);
    const pattern = findNodeAtLocation(node, [`${field}RegExp`]);
    if (exact && pattern) return this.error(pattern, `Give either "${field}" or "${field}RegExp", not both.`);
    if (!exact && !pattern) return this.error(node, `An identity of ${label} needs "${field}" (exact) or "${field}RegExp".`);
    const source = exact ?? pattern!;
    if (source.type !== 'string' || source.value === '') return this.error(source, `"${field}${pattern ? 'RegExp' : ''}" must be a non-empty string.`);
    const value = source.value as string;
    if (exact) return { test: (v) => v === value, description: JSON.stringify(value) };
    let re: RegExp;
    try {
      // Anchored: the whole value must match, as cosign's --certificate-identity-regexp documents.
      re = new RegExp(`^(?:${value})$`, 'u');
    } catch (e) {
      return this.error(source, `"${field}RegExp" is not a valid regular expression: ${(e as Error).message}`);
    }
    return { test: (v) => v !== undefined && re.test(v), description: `/${value}/` };
  }

  private async keys(node: Node | undefined, label: string): Promise<NamedPublicKey[] | undefined> {
    const paths = this.pathList(node, `"keys" of ${label}`);
    if (!paths) return undefined;
    const out: NamedPublicKey[] = [];
    for (const [p, n] of paths) {
      const text = await this.readKeyFile(p, n);
      if (text === undefined) continue;
      try {
        out.push({ source: p, key: createPublicKey(text) });
      } catch (e) {
        this.error(n, `${p} is not a PEM public key (as cosign.pub): ${(e as Error).message}`);
      }
    }
    return out;
  }

  private async openpgpKeys(node: Node | undefined, label: string): Promise<NamedOpenPgpKeys[] | undefined> {
    const paths = this.pathList(node, `"openpgpKeys" of ${label}`);
    if (!paths) return undefined;
    const out: NamedOpenPgpKeys[] = [];
    for (const [p, n] of paths) {
      const bytes = await this.readKeyBytes(p, n);
      if (bytes === undefined) continue;
      // An armored key or KEYS file, or a binary key (an OpenPGP packet: bit 7 of the first byte).
      const armored = bytes.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----');
      if (!armored && !((bytes[0] ?? 0) & 0x80)) {
        this.error(n, `${p} holds no OpenPGP public key (armored "-----BEGIN PGP PUBLIC KEY BLOCK-----" or binary).`);
        continue;
      }
      out.push({ source: p, armored: openPgpKeyText(bytes) });
    }
    return out;
  }

  /** Paths relative to the policy file, resolved, with their nodes. */
  private pathList(node: Node | undefined, what: string): Array<[string, Node]> | undefined {
    if (!node) return [];
    if (node.type !== 'array' || !(node.children ?? []).every((c) => c.type === 'string' && c.value !== '')) {
      return this.error(node, `${what} must be an array of paths (relative to the policy file).`);
    }
    return (node.children ?? []).map((c) => [this.resolve(c.value as string), c]);
  }

  private resolve(p: string): string {
    const path = isAbsolute(p) ? p : join(this.dir, p);
    this.references.add(path);
    return path;
  }

  private async readKeyFile(path: string, node: Node): Promise<string | undefined> {
    return (await this.readKeyBytes(path, node))?.toString('utf8');
  }

  private async readKeyBytes(path: string, node: Node): Promise<Buffer | undefined> {
    try {
      return await readLimited(path, MAX_KEY_FILE_BYTES);
    } catch (e) {
      const code = (e as { code?: string }).code;
      return this.error(node, `${path} cannot be read: ${code === 'NOT_FOUND' ? 'no such file' : (e as Error).message.replace(/\.$/, '')}.`);
    }
  }

  private async trustedRoot(node: Node): Promise<LoadedTrustedRoot | undefined> {
    const path = this.resolve(node.value as string);
    let pending = this.roots.get(path);
    if (!pending) {
      pending = readLimited(path, MAX_TRUSTED_ROOT_BYTES).then(
        (bytes) => parseTrustedRoot(bytes, path),
        (e: Error) => {
          throw new Error(`${path} cannot be read: ${e.message}`);
        },
      );
      this.roots.set(path, pending);
    }
    try {
      return await pending;
    } catch (e) {
      return this.error(node, (e as Error).message);
    }
  }
}

/**
 * Gitignore-like: a pattern without "/" matches the file name in any folder; a leading
 * "/" (or "./") anchors it to the base folder.
 */
function globMatcher(glob: string): (rel: string) => boolean {
  const anchored = glob.startsWith('/') || glob.startsWith('./');
  const pattern = glob.replace(/^\.?\//, '');
  if (!pattern) throw new Error('it names no files');
  return picomatch(pattern, { dot: true, matchBase: !anchored && !pattern.includes('/') });
}

const GLOB_ONLY_COMPONENT = /^[*?]+$/;

/**
 * Image globs cover repositories, whatever the tag or digest. A glob is matched against the
 * whole `registry/repository` name ({@link imageName}): `*` stays within one path component,
 * `**` spans any number, `?`, `[…]` and `{a,b}` as in `match`. Globs are normalised the way
 * Docker normalises references: a first component without `.` or `:` that is not `localhost`
 * (nor a bare `*`/`**`) means Docker Hub, so `alpine` is `docker.io/library/alpine` and
 * `octo/*` is `docker.io/octo/*`; `index.docker.io` is `docker.io`; hosts are lowercase.
 * `*` or `**` alone covers every image. IPv6 hosts cannot be written. A tag or digest in a glob is an error: rules name repositories.
 */
export function imageGlobMatcher(glob: string): (name: string) => boolean {
  const pattern = glob.trim();
  if (!pattern) throw new Error('it names no image');
  // picomatch would read a leading "!" as "every image but": a rule would then trust its signers for all others.
  if (pattern.startsWith('!')) throw new Error('it starts with "!": image globs cannot exclude; list what the rule covers');
  if (pattern.includes('@')) throw new Error('it names a digest; image globs name repositories (ghcr.io/octo/app), and cover all their tags and digests');
  const components = pattern.split('/');
  if (components.some((c) => c === '')) throw new Error('it has an empty path component');
  const [first, ...rest] = components as [string, ...string[]];
  if (rest.length === 0 && (first.includes('.') || /^[^:]+:\d+$/.test(first) || first.toLowerCase() === 'localhost')) {
    throw new Error(`it names a registry only; write ${first}/** for every image in it`);
  }
  const isHost = rest.length > 0 && (/[.:]/.test(first) || first.toLowerCase() === 'localhost');
  if ((isHost ? rest : components).some((c) => c.includes(':'))) {
    throw new Error('it names a tag; image globs name repositories (ghcr.io/octo/app), and cover all their tags and digests');
  }
  let normalised: string;
  if (isHost) {
    const host = first.toLowerCase() === 'index.docker.io' ? 'docker.io' : first.toLowerCase();
    // As Docker spells it: docker.io/alpine is docker.io/library/alpine.
    normalised = [host, ...(host === 'docker.io' && rest.length === 1 && !GLOB_ONLY_COMPONENT.test(rest[0]!) ? ['library'] : []), ...rest].join('/');
  } else if (GLOB_ONLY_COMPONENT.test(first)) {
    // `*` or `**` alone: every image; `*/…`: any registry.
    normalised = rest.length === 0 ? '**' : pattern;
  } else {
    normalised = rest.length === 0 ? `docker.io/library/${first}` : `docker.io/${pattern}`;
  }
  const path = normalised.split('/').slice(1).join('/');
  if (path !== path.toLowerCase()) throw new Error('repository names are lowercase, so it would never match');
  return picomatch(normalised, { dot: true, nonegate: true });
}
