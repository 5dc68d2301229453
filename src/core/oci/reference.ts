/**
 * Image references as Docker reads them (distribution's `reference.ParseNormalizedNamed`):
 * `alpine` is `docker.io/library/alpine:latest`, a first component is a registry only if it
 * has a `.` or a `:` or is `localhost`, repositories are lowercase, and a reference may carry
 * both a tag and a digest (the digest decides what is fetched).
 */
import { OciError } from './errors';

export interface ImageReference {
  /** `host[:port]`, lowercase; Docker Hub is `docker.io` (requests go to {@link registryEndpoint}). */
  readonly registry: string;
  /** The repository path, with `library/` added for Docker Hub's single-component names. */
  readonly repository: string;
  /** `latest` when the text names neither a tag nor a digest. */
  readonly tag?: string;
  /** `sha256:<64 hex>` or `sha512:<128 hex>`. */
  readonly digest?: string;
  /** The text as given. */
  readonly original: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';
const LEGACY_DOCKER_HUB = 'index.docker.io';
const NAME_TOTAL_LENGTH_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const BARE_HEX_ID = /^[a-f0-9]{64}$/;

const REMEDY = 'Write it as [registry/]repository[:tag][@sha256:digest], e.g. ghcr.io/octo/app:1.2 or alpine:3.19.';

function bad(text: string, why: string, remedy = REMEDY): OciError {
  return new OciError('BAD_REFERENCE', `"${text}" is not an image reference: ${why}.`, remedy);
}

export function parseImageReference(text: string): ImageReference {
  const original = text;
  const trimmed = text.trim();
  if (!trimmed) throw bad(text, 'it is empty');
  if (BARE_HEX_ID.test(trimmed)) throw bad(text, 'a bare 64-hex string is an image ID, not a reference', 'Prefix the repository: repository@sha256:<hex>.');

  let rest = trimmed;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(text, `"${digest}" is not a sha256 or sha512 digest in lowercase hex`);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(text, `"${tag}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: a registry has a dot or a port, or is localhost; uppercase means a host too.
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first.toLowerCase();
      repository = rest.slice(slash + 1);
      if (!DOMAIN.test(first)) throw bad(text, `"${first}" is not a registry host[:port]`);
    }
  }
  if (registry === LEGACY_DOCKER_HUB) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && repository && !repository.includes('/')) repository = `library/${repository}`;

  if (!repository) throw bad(text, 'the repository name is empty');
  if (repository !== repository.toLowerCase()) {
    throw bad(text, 'repository names must be lowercase', `Registries only know lowercase names: try ${repository.toLowerCase()}.`);
  }
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw bad(text, `"${component}" is not a valid repository path component (lowercase letters and digits, separated by . _ __ or -)`);
    }
  }
  if (registry.length + 1 + repository.length > NAME_TOTAL_LENGTH_MAX) throw bad(text, `the name is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}), original };
}

/**
 * Throws BAD_REFERENCE unless `ref` has a registry host[:port] and a repository path as
 * parseImageReference makes them: a reference built by hand must not steer a request
 * elsewhere (`..` segments, `@` or `/` in the host).
 */
export function checkReference(ref: ImageReference): void {
  const name = `${ref.registry}/${ref.repository}`;
  if (typeof ref.registry !== 'string' || !DOMAIN.test(ref.registry)) throw bad(name, `"${String(ref.registry).slice(0, 80)}" is not a registry host[:port]`);
  if (typeof ref.repository !== 'string' || !ref.repository.split('/').every((c) => PATH_COMPONENT.test(c))) {
    throw bad(name, `"${String(ref.repository).slice(0, 120)}" is not a repository path`);
  }
}

/** The canonical form: `docker.io/library/alpine:3.19`, or `…@sha256:…` when a digest is given in `opts`. */
export function formatReference(ref: ImageReference, opts?: { digest?: string }): string {
  const name = `${ref.registry}/${ref.repository}`;
  if (opts?.digest) return `${name}@${opts.digest}`;
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The host[:port] requests go to: Docker Hub's API lives on registry-1.docker.io. */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** `host` without the port (IPv6 keeps its brackets). */
export function hostOf(hostPort: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(hostPort);
  return (m?.[1] ?? hostPort).toLowerCase();
}

/** localhost, 127.0.0.0/8 and ::1 (any port): Docker treats these as insecure registries by default. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostOf(hostPort);
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** `registry/repository`: the repository as cosign names it in signatures and as messages show it. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}
