/**
 * A small OCI distribution client on the built-in `fetch`: manifests and indexes, blobs, tags
 * and referrers, with Bearer/Basic auth; and the writes signing needs (blob uploads, manifest
 * PUTs) with a `pull,push` scope. Every answer is untrusted: objects asked for by digest are
 * checked against it, bodies are capped while they stream, every request has a timeout and
 * honours the caller's AbortSignal, only blob downloads follow redirects (and uploads only their
 * registry's own Location), credentials never reach another origin (but for a same-site
 * HTTPS token service, see mayReceiveCredentials) or travel over plain HTTP to a non-loopback
 * host, at most 6 requests are in flight per origin, and every list it pages through is capped.
 */
import { basicAuthorization, parseAuthenticate, parseTokenResponse, repositoryScope, TokenCache, type Challenge, type RegistryCredential, type RepositoryAccess } from './auth';
import { digestHasher, digestTag, isDigest, sha256Digest, shortDigest } from './digest';
import type { CredentialSource } from './dockerCredentials';
import { abortable } from '../abortable';
import { cancelled, OciError } from './errors';
import { parseNextLink, retryAfterSeconds } from './link';
import { filterByArtifactType, parseManifest, type Descriptor, type FetchedManifest } from './manifest';
import { MANIFEST_ACCEPT, OCI_INDEX, baseMediaType, isImageManifestMediaType, isIndexMediaType } from './mediaTypes';
import { checkReference, isLoopbackHost, registryEndpoint, type ImageReference } from './reference';
import { PlainHttpServer, Transport, type Exchange } from './transport';
import { printable } from '../text/printable';

export interface RegistryClientOptions {
  /** From `dockerCredentials()`, or a fixed map (`staticCredentials`). Default: none (anonymous). */
  readonly credentials?: CredentialSource;
  /** `host[:port]` reachable over plain HTTP; localhost, 127.0.0.0/8 and ::1 always are (HTTPS is tried first). */
  readonly insecureRegistries?: readonly string[];
  /** Extra PEM CA certificates trusted for TLS, besides the public roots. */
  readonly caCertificates?: readonly string[];
  /** Per request, headers and body together. Default 30 s. */
  readonly timeoutMs?: number;
  /** Default cap of getBlob. Default 64 MiB. Manifests are always capped at 4 MiB. */
  readonly maxBlobBytes?: number;
  readonly fetch?: typeof fetch;
  readonly userAgent?: string;
  /** `n` of tags/list. Default 1000. */
  readonly tagPageSize?: number;
  /** listTags stops after this many pages. Default 100. */
  readonly maxTagPages?: number;
  /** listTags stops once it has this many tags. Default 10,000. */
  readonly maxTags?: number;
  /** Requests in flight at once to one origin (a registry, its token service, its blob store). Default 6. */
  readonly maxRequestsPerRegistry?: number;
}

export type ReferrersSource = 'referrers' | 'fallback-tag';

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TOKEN_RESPONSE_BYTES = 256 * 1024;
const MAX_TAG_PAGE_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 16 * 1024;
const MAX_REDIRECTS = 5;
/** Pages of one referrers API answer; each holds up to hundreds of descriptors. */
const MAX_REFERRER_PAGES = 20;
const TAG = /^[\w][\w.-]{0,127}$/;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CLIENT_ID = 'sigstore-vscode';
/** Blobs up to this size are kept by the client once read (payloads, envelopes, SBOMs) … */
const SHARED_BLOB_BYTES = 1024 * 1024;
/** … up to this much in all, the oldest forgotten first. */
const SHARED_BLOBS_TOTAL_BYTES = 16 * 1024 * 1024;

interface CredentialLookup {
  readonly credential?: RegistryCredential;
  readonly problem?: OciError;
}

type KnownChallenge = { readonly scheme: 'bearer'; readonly realm: string; readonly service?: string } | { readonly scheme: 'basic' };

/** What the client learned about one registry endpoint. */
interface RegistryState {
  scheme?: 'https' | 'http';
  /** The first request to the endpoint, in flight: others wait for what it learns (scheme, challenge). */
  firstContact?: Promise<void>;
  challenge?: KnownChallenge;
  referrersUnsupported?: boolean;
}

/** How a request was authorized, for messages and for redirects. */
interface Authorization {
  readonly header?: string;
  /** The user whose credentials obtained it, if any. */
  readonly user?: string;
  readonly usedCredentials: boolean;
  readonly kind?: 'bearer' | 'basic';
  /** A token fetched during this very request (not from the cache), and the challenge it answered. */
  readonly fresh?: { realm: string; service?: string; scope: string };
}

interface Sent {
  readonly exchange: Exchange;
  readonly authorization: Authorization;
}

/** One request to a registry, as send() makes it. */
interface RegistryRequest {
  readonly accept: string;
  readonly signal?: AbortSignal;
  /** Default GET. */
  readonly method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly body?: Uint8Array;
  readonly contentType?: string;
  /** Which token scope it needs: reads `pull` (the default), writes `pull,push`. */
  readonly access?: RepositoryAccess;
}

const ANONYMOUS: Authorization = { usedCredentials: false };

export class RegistryClient {
  private readonly transport: Transport;
  private readonly credentials?: CredentialSource;
  private readonly insecure: ReadonlySet<string>;
  private readonly maxBlobBytes: number;
  private readonly tagPageSize: number;
  private readonly maxTagPages: number;
  private readonly maxTags: number;
  private readonly tokens = new TokenCache();
  private readonly states = new Map<string, RegistryState>();
  private readonly credentialLookups = new Map<string, Promise<CredentialLookup>>();
  private readonly blobs = new BlobMemory(SHARED_BLOBS_TOTAL_BYTES);

  constructor(options: RegistryClientOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.transport = new Transport({
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      timeoutMs,
      caCertificates: options.caCertificates,
      userAgent: options.userAgent ?? CLIENT_ID,
      ...(options.maxRequestsPerRegistry !== undefined ? { maxPerOrigin: options.maxRequestsPerRegistry } : {}),
    });
    this.credentials = options.credentials;
    this.insecure = new Set((options.insecureRegistries ?? []).map((r) => r.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '').toLowerCase()));
    this.maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
    this.tagPageSize = options.tagPageSize ?? 1000;
    this.maxTagPages = options.maxTagPages ?? 100;
    this.maxTags = options.maxTags ?? 10_000;
  }

  /** HTTP requests made so far: registry, token and redirect requests, failed ones included. */
  get requestCount(): number {
    return this.transport.requestCount;
  }

  /**
   * Reads the Docker configuration again on the next request that needs credentials, and
   * drops the tokens obtained so far: after `docker login`, a retry must use the new login.
   */
  forgetCredentials(): void {
    this.credentialLookups.clear();
    this.tokens.clear();
  }

  /** Releases the connections kept for extra CA certificates. */
  close(): Promise<void> {
    return this.transport.close();
  }

  /**
   * GETs the manifest or index for a tag or digest, with all four manifest media types in
   * Accept. Its sha256 (or sha512) is checked against the digest asked for, or against
   * Docker-Content-Digest when asked by tag. Throws NOT_FOUND for a 404.
   */
  async getManifest(ref: ImageReference, tagOrDigest: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const found = await this.fetchManifest(ref, tagOrDigest, signal);
    if (found) return found;
    const byDigest = isDigest(tagOrDigest);
    throw new OciError(
      'NOT_FOUND',
      `${nameOf(ref)} has no ${byDigest ? `manifest ${shortDigest(tagOrDigest)}` : `tag "${tagOrDigest}"`}.`,
      byDigest ? 'The image may have been deleted; check the reference.' : 'Check the tag, or refresh if it was just pushed.',
    );
  }

  /** Like getManifest, but undefined for a 404 (optional tags such as `sha256-<hex>.sig`). */
  findManifest(ref: ImageReference, tagOrDigest: string, signal?: AbortSignal): Promise<FetchedManifest | undefined> {
    return this.fetchManifest(ref, tagOrDigest, signal);
  }

  /**
   * A blob, checked against its digest and capped at `maxBytes` while it streams. Redirects are
   * followed (at most 5), never with our Authorization header to another origin.
   */
  async getBlob(ref: ImageReference, digest: string, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    if (!isDigest(digest)) throw new OciError('BAD_REFERENCE', `"${String(digest).slice(0, 80)}" is not a sha256 or sha512 digest.`);
    checkReference(ref);
    const maxBytes = options.maxBytes ?? this.maxBlobBytes;
    // Content-addressed and checked: one download serves everyone asking for the same blob
    // (two keys signing one image share one simple-signing payload).
    const key = `${registryEndpoint(ref.registry)}/${ref.repository}@${digest}<${maxBytes}`;
    const shared = this.blobs.get(key);
    if (shared) {
      try {
        return await abortable(shared, options.signal);
      } catch (e) {
        // Someone else's Cancel is not ours: fetch it ourselves.
        if (!(e instanceof OciError && e.code === 'CANCELLED') || options.signal?.aborted) throw e;
      }
    }
    const pending = this.fetchBlob(ref, digest, maxBytes, options.signal);
    this.blobs.set(key, pending);
    pending.then(
      (bytes) => {
        if (bytes.length > SHARED_BLOB_BYTES) this.blobs.delete(key);
        else this.blobs.keep(key, bytes.length);
      },
      () => {
        if (this.blobs.get(key) === pending) this.blobs.delete(key);
      },
    );
    return pending;
  }

  private async fetchBlob(ref: ImageReference, digest: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const what = `blob ${shortDigest(digest)} of ${nameOf(ref)}`;
    const sent = await this.send(ref, `/v2/${ref.repository}/blobs/${digest}`, { accept: '*/*', signal });
    let exchange = sent.exchange;
    const registryOrigin = exchange.url.origin;
    for (let hops = 0; REDIRECTS.has(exchange.response.status); hops++) {
      const location = exchange.response.headers.get('location');
      await exchange.discard();
      if (hops >= MAX_REDIRECTS) throw new OciError('BAD_RESPONSE', `The ${what} was redirected more than ${MAX_REDIRECTS} times.`, 'The registry or its storage is misconfigured; try again later.');
      const target = location ? safeUrl(location, exchange.url) : undefined;
      if (!target || (target.protocol !== 'https:' && target.protocol !== 'http:')) {
        throw new OciError('BAD_RESPONSE', `The registry redirected the ${what} to an unusable location.`, 'The registry is misconfigured; try again later.');
      }
      if (target.protocol === 'http:' && !this.httpAllowed(target.host)) {
        throw new OciError('INSECURE_REGISTRY', `The registry redirected the ${what} to plain HTTP on ${target.host}.`, `If you trust the network to ${target.host}, add it to the insecure registries setting.`);
      }
      // Our Authorization header only ever goes back to the registry itself.
      const headers: Record<string, string> = { accept: '*/*' };
      if (target.origin === registryOrigin && sent.authorization.header) headers.authorization = sent.authorization.header;
      exchange = await this.sendPlain(target, headers, signal);
    }
    if (exchange.response.status !== 200) throw await this.statusError(exchange, ref, what, sent.authorization);
    const hasher = digestHasher(digest);
    const bytes = await exchange.body(
      maxBytes,
      (limit) =>
        new OciError(
          'TOO_LARGE',
          `The ${what} is larger than ${formatBytes(limit)}.`,
          limit === this.maxBlobBytes ? 'Raise the maximum blob size setting if you expect blobs this large, or inspect it with cosign or oras.' : 'It is more than this extension reads for this kind of content; inspect it with cosign or oras.',
        ),
      (chunk) => hasher.update(chunk),
    );
    const actual = hasher.digest();
    if (actual !== digest) throw mismatch(what, actual, digest);
    return bytes;
  }

  /**
   * The repository's tags, page by page (`?n=`, `Link: <…>; rel="next"`). Stops on an empty
   * page, a page with no new tag, a repeated or foreign next URL, after maxTagPages pages, or
   * with maxTags tags (the rest of a longer page is dropped).
   */
  async listTags(ref: ImageReference, signal?: AbortSignal): Promise<string[]> {
    const base = `/v2/${ref.repository}/tags/list`;
    const tags: string[] = [];
    const known = new Set<string>();
    const visited = new Set<string>();
    let next: string | undefined = `${base}?n=${this.tagPageSize}`;
    for (let page = 0; next !== undefined && page < this.maxTagPages; page++) {
      if (visited.has(next)) break;
      visited.add(next);
      const { exchange, authorization } = await this.send(ref, next, { accept: 'application/json', signal });
      if (exchange.response.status !== 200) throw await this.statusError(exchange, ref, `the tags of ${nameOf(ref)}`, authorization);
      const body = await exchange.body(MAX_TAG_PAGE_BYTES, (limit) => new OciError('TOO_LARGE', `A page of tags of ${nameOf(ref)} is larger than ${formatBytes(limit)}.`, 'The registry is misbehaving; try again later.'));
      const pageTags = tagsOf(body, nameOf(ref));
      let added = 0;
      for (const t of pageTags) {
        if (tags.length >= this.maxTags) break;
        if (!TAG.test(t) || known.has(t)) continue;
        known.add(t);
        tags.push(t);
        added++;
      }
      const link = parseNextLink(exchange.response.headers.get('link'), exchange.url);
      if (added === 0 || !link || tags.length >= this.maxTags) break;
      if (link.origin !== exchange.url.origin || link.pathname !== exchange.url.pathname) break;
      next = `${link.pathname}${link.search}`;
    }
    return tags;
  }

  /**
   * The OCI 1.1 referrers of a digest: the referrers API first (a 404, 400 or non-JSON answer
   * means the registry has none, remembered per registry), else the `sha256-<hex>` fallback
   * tag's index. Filtered by `artifactType` when given. Says which source answered. With
   * `enough`, the API's pages stop being followed once that many referrers are known; `more`
   * then says a next page was left unread.
   */
  async referrers(ref: ImageReference, digest: string, options: { artifactType?: string; signal?: AbortSignal; enough?: number } = {}): Promise<{ source: ReferrersSource; manifests: Descriptor[]; more?: boolean }> {
    if (!isDigest(digest)) throw new OciError('BAD_REFERENCE', `"${String(digest).slice(0, 80)}" is not a sha256 or sha512 digest.`);
    const { artifactType, signal } = options;
    const state = this.stateOf(registryEndpoint(ref.registry));
    const what = `the referrers of ${nameOf(ref)}@${shortDigest(digest)}`;
    if (!state.referrersUnsupported) {
      const query = artifactType !== undefined ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
      const { exchange, authorization } = await this.send(ref, `/v2/${ref.repository}/referrers/${digest}${query}`, { accept: OCI_INDEX, signal });
      const status = exchange.response.status;
      const contentType = baseMediaType(exchange.response.headers.get('content-type'));
      if (status === 200 && (contentType === OCI_INDEX || contentType === 'application/json')) {
        const pages = await this.referrerPages(ref, exchange, what, signal, options.enough ?? Infinity);
        return { source: 'referrers', manifests: filterByArtifactType(pages.manifests, artifactType), ...(pages.more ? { more: true } : {}) };
      }
      if (status === 200 || status === 404 || status === 400 || status === 405) {
        const text = await exchange.text(MAX_ERROR_BODY_BYTES);
        // A 404 naming the repository says nothing about the API: fall back without remembering.
        if (!errorCodesOf(text).includes('NAME_UNKNOWN')) state.referrersUnsupported = true;
      } else {
        throw await this.statusError(exchange, ref, what, authorization);
      }
    }
    const tag = digestTag(digest);
    if (!TAG.test(tag)) return { source: 'fallback-tag', manifests: [] };
    const index = await this.findManifest(ref, tag, signal);
    if (!index) return { source: 'fallback-tag', manifests: [] };
    if (index.kind !== 'index') {
      throw new OciError('BAD_RESPONSE', `The referrers fallback tag ${nameOf(ref)}:${tag} holds an image manifest, not an index.`, 'Something other than an OCI referrers writer uses that tag; inspect it with oras or crane.');
    }
    return { source: 'fallback-tag', manifests: filterByArtifactType(index.manifest.manifests, artifactType) };
  }

  /**
   * The referrers API's answer, following `Link: <…>; rel="next"` (OCI distribution 1.1 lets a
   * registry page it) on the same origin and path, at most MAX_REFERRER_PAGES pages, stopping
   * at a repeated URL or a page that adds nothing new, or once `enough` referrers are known.
   */
  private async referrerPages(ref: ImageReference, first: Exchange, what: string, signal: AbortSignal | undefined, enough: number): Promise<{ manifests: Descriptor[]; more: boolean }> {
    const all: Descriptor[] = [];
    const seen = new Set<string>();
    const visited = new Set<string>([`${first.url.pathname}${first.url.search}`]);
    let exchange: Exchange | undefined = first;
    for (let page = 1; exchange; page++) {
      const bytes = await exchange.body(MAX_MANIFEST_BYTES, (limit) => tooLargeManifest(what, limit));
      const parsed = parseManifest(bytes, OCI_INDEX, what);
      if (parsed.kind !== 'index') throw new OciError('BAD_RESPONSE', `The registry answered ${what} with a manifest, not an index.`, 'The registry\'s referrers API is misbehaving; try again later.');
      let added = 0;
      for (const d of parsed.manifest.manifests) {
        if (seen.has(d.digest)) continue;
        seen.add(d.digest);
        all.push(d);
        added++;
      }
      const link = parseNextLink(exchange.response.headers.get('link'), exchange.url);
      const next = link && link.origin === exchange.url.origin && link.pathname === exchange.url.pathname ? `${link.pathname}${link.search}` : undefined;
      if (added === 0 || !next || visited.has(next)) break;
      if (page >= MAX_REFERRER_PAGES || all.length >= enough) return { manifests: all, more: true };
      visited.add(next);
      const sent = await this.send(ref, next, { accept: OCI_INDEX, signal });
      if (sent.exchange.response.status !== 200) throw await this.statusError(sent.exchange, ref, what, sent.authorization);
      exchange = sent.exchange;
    }
    return { manifests: all, more: false };
  }

  // --- writes ----------------------------------------------------------------------------

  /** Whether the repository holds the blob (HEAD /v2/<repo>/blobs/<digest>): true on 200, false on 404. */
  blobExists(ref: ImageReference, digest: string, signal?: AbortSignal): Promise<boolean> {
    if (!isDigest(digest)) return Promise.reject(new OciError('BAD_REFERENCE', `"${String(digest).slice(0, 80)}" is not a sha256 or sha512 digest.`));
    return this.headBlob(ref, digest, 'pull', signal);
  }

  /**
   * Uploads a blob unless the repository already has it (HEAD first): POST /v2/<repo>/blobs/uploads/,
   * then a monolithic PUT <Location>?digest=<digest> with the bytes (Content-Type application/octet-stream).
   * Computes the sha256 digest itself; checks the registry's Docker-Content-Digest answer when present.
   * Returns { digest, size }.
   */
  async pushBlob(ref: ImageReference, bytes: Uint8Array, signal?: AbortSignal): Promise<{ digest: string; size: number }> {
    checkReference(ref);
    const digest = sha256Digest(bytes);
    const size = bytes.byteLength;
    const what = `blob ${shortDigest(digest)} of ${nameOf(ref)}`;
    // On the push scope: the one token then serves the HEAD, the upload and the manifest after it.
    if (await this.headBlob(ref, digest, 'push', signal)) return { digest, size };

    const start = await this.send(ref, `/v2/${ref.repository}/blobs/uploads/`, { method: 'POST', accept: '*/*', access: 'push', signal });
    if (start.exchange.response.status !== 202) throw await this.statusError(start.exchange, ref, what, start.authorization, 'push');
    const location = start.exchange.response.headers.get('location');
    await start.exchange.discard();
    const target = uploadTarget(location, start.exchange.url, digest, what);

    const { exchange, authorization } = await this.send(ref, target, { method: 'PUT', accept: '*/*', body: bytes, contentType: 'application/octet-stream', access: 'push', signal });
    const status = exchange.response.status;
    if (status !== 201 && status !== 200 && status !== 204) throw await this.statusError(exchange, ref, what, authorization, 'push');
    await exchange.discard();
    checkStoredDigest(exchange, bytes, what);
    return { digest, size };
  }

  /**
   * PUTs a manifest or index under a tag or its digest (Content-Type = mediaType). Checks the bytes
   * parse as JSON with that mediaType (never send what we could not read back), that a digest
   * reference equals sha256(bytes), and that the registry's Docker-Content-Digest (if sent) equals
   * sha256(bytes). Returns the digest.
   */
  async putManifest(ref: ImageReference, tagOrDigest: string, bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<string> {
    checkReference(ref);
    const byDigest = isDigest(tagOrDigest);
    if (!byDigest && !TAG.test(tagOrDigest)) throw new OciError('BAD_REFERENCE', `"${String(tagOrDigest).slice(0, 80)}" is neither a tag nor a sha256/sha512 digest.`);
    const what = `manifest ${nameOf(ref)}${byDigest ? `@${shortDigest(tagOrDigest)}` : `:${tagOrDigest}`}`;
    if (bytes.byteLength > MAX_MANIFEST_BYTES) {
      throw new OciError('TOO_LARGE', `The ${what} to push is ${formatBytes(bytes.byteLength)}, more than ${formatBytes(MAX_MANIFEST_BYTES)}, the most a manifest may be.`, 'Registries and clients refuse manifests this large; split it (an index of smaller manifests).');
    }
    checkPushableManifest(bytes, mediaType, what);
    const hasher = digestHasher(byDigest ? tagOrDigest : 'sha256:');
    hasher.update(bytes);
    const digest = hasher.digest();
    if (byDigest && digest !== tagOrDigest) {
      throw new OciError('BAD_REFERENCE', `The ${what} to push has digest ${shortDigest(digest)}, not the ${shortDigest(tagOrDigest)} it would be stored under.`, 'Push it under its own digest, or under a tag.');
    }
    const { exchange, authorization } = await this.send(ref, `/v2/${ref.repository}/manifests/${tagOrDigest}`, { method: 'PUT', accept: '*/*', body: bytes, contentType: mediaType, access: 'push', signal });
    const status = exchange.response.status;
    if (status !== 201 && status !== 200 && status !== 204) throw await this.statusError(exchange, ref, what, authorization, 'push');
    await exchange.discard();
    checkStoredDigest(exchange, bytes, what);
    return digest;
  }

  /** HEAD of a blob: true on 200 (or a redirect to its storage, which the registry only sends for a blob it has), false on 404. */
  private async headBlob(ref: ImageReference, digest: string, access: RepositoryAccess, signal?: AbortSignal): Promise<boolean> {
    const { exchange, authorization } = await this.send(ref, `/v2/${ref.repository}/blobs/${digest}`, { method: 'HEAD', accept: '*/*', access, signal });
    const status = exchange.response.status;
    if (status === 200 || status === 404 || REDIRECTS.has(status)) {
      await exchange.discard();
      return status !== 404;
    }
    throw await this.statusError(exchange, ref, `blob ${shortDigest(digest)} of ${nameOf(ref)}`, authorization, access);
  }

  // --- manifests -------------------------------------------------------------------------

  private async fetchManifest(ref: ImageReference, tagOrDigest: string, signal?: AbortSignal): Promise<FetchedManifest | undefined> {
    const byDigest = isDigest(tagOrDigest);
    if (!byDigest && !TAG.test(tagOrDigest)) throw new OciError('BAD_REFERENCE', `"${String(tagOrDigest).slice(0, 80)}" is neither a tag nor a sha256/sha512 digest.`);
    const what = `${nameOf(ref)}${byDigest ? `@${shortDigest(tagOrDigest)}` : `:${tagOrDigest}`}`;
    const { exchange, authorization } = await this.send(ref, `/v2/${ref.repository}/manifests/${tagOrDigest}`, { accept: MANIFEST_ACCEPT, signal });
    const { response } = exchange;
    if (response.status === 404) {
      await exchange.discard();
      return undefined;
    }
    if (REDIRECTS.has(response.status)) {
      await exchange.discard();
      throw new OciError('BAD_RESPONSE', `The registry redirected the manifest request for ${what}; only blob downloads may be redirected.`, 'The registry is misconfigured, or something in between rewrites requests.');
    }
    if (response.status !== 200) throw await this.statusError(exchange, ref, what, authorization);
    let expected: string | undefined = byDigest ? tagOrDigest : undefined;
    if (!byDigest) {
      const header = response.headers.get('docker-content-digest');
      if (header !== null && !isDigest(header.trim())) {
        await exchange.discard();
        throw new OciError('BAD_RESPONSE', `The registry sent ${what} with an unreadable Docker-Content-Digest header.`, 'The registry is misbehaving; try again later.');
      }
      expected = header?.trim();
    }
    const hasher = digestHasher(expected ?? 'sha256:');
    const bytes = await exchange.body(MAX_MANIFEST_BYTES, (limit) => tooLargeManifest(what, limit), (chunk) => hasher.update(chunk));
    const digest = hasher.digest();
    if (expected !== undefined && digest !== expected) throw mismatch(`manifest ${what}`, digest, expected);
    const parsed = parseManifest(bytes, response.headers.get('content-type'), what);
    return parsed.kind === 'index' ? { kind: 'index', digest, mediaType: parsed.mediaType, manifest: parsed.manifest, bytes } : { kind: 'manifest', digest, mediaType: parsed.mediaType, manifest: parsed.manifest, bytes };
  }

  // --- requests and authentication -------------------------------------------------------

  private stateOf(endpoint: string): RegistryState {
    let state = this.states.get(endpoint);
    if (!state) this.states.set(endpoint, (state = {}));
    return state;
  }

  private httpAllowed(hostPort: string): boolean {
    const hp = hostPort.toLowerCase();
    return isLoopbackHost(hp) || this.insecure.has(hp) || this.insecure.has(hp.replace(/:\d+$/, ''));
  }

  /** Whether user credentials may be sent to this URL: over HTTPS, or plain HTTP on loopback. */
  private static mayCarryCredentials(url: URL): boolean {
    return url.protocol === 'https:' || isLoopbackHost(url.host);
  }

  /**
   * One registry request with authentication: whatever we already know (a cached token, a
   * token for a known realm, Basic for a Basic registry), else anonymous; on a 401 one
   * answer to the challenge and one retry, never more.
   */
  private async send(ref: ImageReference, pathAndQuery: string, opts: RegistryRequest): Promise<Sent> {
    checkReference(ref);
    const endpoint = registryEndpoint(ref.registry);
    const state = this.stateOf(endpoint);
    // Requests made together to a registry not met yet would each probe HTTPS and each meet
    // the 401 challenge: the first goes alone, the rest follow with what it learned.
    while (state.firstContact) {
      await abortable(state.firstContact, opts.signal).catch(() => {
        throw cancelled();
      });
    }
    if (!state.scheme) {
      let done!: () => void;
      state.firstContact = new Promise<void>((resolve) => (done = resolve));
      try {
        return await this.sendAuthorized(ref, endpoint, state, pathAndQuery, opts);
      } finally {
        state.firstContact = undefined;
        done();
      }
    }
    return this.sendAuthorized(ref, endpoint, state, pathAndQuery, opts);
  }

  private async sendAuthorized(ref: ImageReference, endpoint: string, state: RegistryState, pathAndQuery: string, opts: RegistryRequest): Promise<Sent> {
    const access = opts.access ?? 'pull';
    const scope = repositoryScope(ref.repository, access);
    let authorization = await this.knownAuthorization(ref, endpoint, state, scope, access, opts.signal);
    let exchange = await this.sendToRegistry(endpoint, state, pathAndQuery, opts, authorization.header);
    if (exchange.response.status !== 401) return { exchange, authorization };

    const challenges = parseAuthenticate(exchange.response.headers.get('www-authenticate'));
    await exchange.discard();
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      // A write needs its pull,push token even where the registry's challenge names less (a HEAD asks for pull).
      const challenge = { realm: bearer.params.realm!, service: bearer.params.service, scope: access === 'push' ? withScope(scope, bearer.params.scope) : bearer.params.scope || scope };
      state.challenge = { scheme: 'bearer', realm: challenge.realm, ...(challenge.service !== undefined ? { service: challenge.service } : {}) };
      if (authorization.kind === 'bearer') this.tokens.delete(endpoint, scope);
      const f = authorization.fresh;
      // A token we just fetched for this very challenge would only be fetched again: no loop.
      if (f && f.realm === challenge.realm && f.service === challenge.service && f.scope === challenge.scope) throw await this.unauthorized(ref, authorization, bearer, undefined, access);
      authorization = await this.bearerAuthorization(ref, endpoint, state, challenge, scope, opts.signal, access);
    } else if (basic) {
      state.challenge = { scheme: 'basic' };
      if (authorization.kind === 'basic') throw await this.unauthorized(ref, authorization, basic, undefined, access);
      const basicAuth = await this.basicAuthorization(ref, endpoint, state);
      if (!basicAuth) throw await this.unauthorized(ref, ANONYMOUS, basic, undefined, access);
      authorization = basicAuth;
    } else {
      const schemes = challenges.map((c) => c.scheme).join(', ');
      throw new OciError('AUTH_REQUIRED', `${nameOf(ref)} asks for ${schemes ? `an authentication scheme this extension does not support (${schemes})` : 'authentication without saying how (401 without WWW-Authenticate)'}.`, 'Use a registry that supports Docker\'s token or Basic authentication.');
    }
    exchange = await this.sendToRegistry(endpoint, state, pathAndQuery, opts, authorization.header);
    if (exchange.response.status === 401) {
      const again = parseAuthenticate(exchange.response.headers.get('www-authenticate'));
      await exchange.discard();
      if (authorization.kind === 'bearer') this.tokens.delete(endpoint, scope); // it does not work: never reuse it
      throw await this.unauthorized(ref, authorization, again.find((c) => c.scheme === 'bearer' || c.scheme === 'basic'), undefined, access);
    }
    return { exchange, authorization };
  }

  /**
   * Sends to the registry; decides HTTPS or (where allowed) plain HTTP on the first request.
   * `pathAndQuery` starts with `/` and is appended to the endpoint, never resolved against it
   * (a path beginning `//` must not name another host).
   */
  private async sendToRegistry(endpoint: string, state: RegistryState, pathAndQuery: string, opts: RegistryRequest, authorization: string | undefined): Promise<Exchange> {
    const headers: Record<string, string> = { accept: opts.accept };
    if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
    if (authorization) headers.authorization = authorization;
    const { signal, body, method } = opts;
    const at = (scheme: string) => new URL(`${scheme}://${endpoint}${pathAndQuery.startsWith('/') ? '' : '/'}${pathAndQuery}`);
    if (state.scheme) return this.sendPlain(at(state.scheme), headers, signal, body, method);
    try {
      const exchange = await this.transport.send(at('https'), { headers, signal, body, method });
      state.scheme = 'https';
      return exchange;
    } catch (e) {
      if (!(e instanceof PlainHttpServer)) throw e;
      if (!this.httpAllowed(endpoint)) throw insecureRegistry(endpoint);
      state.scheme = 'http';
      return this.sendPlain(at('http'), headers, signal, body, method);
    }
  }

  private async sendPlain(url: URL, headers: Record<string, string>, signal?: AbortSignal, body?: string | Uint8Array, method?: RegistryRequest['method']): Promise<Exchange> {
    try {
      return await this.transport.send(url, { headers, signal, body, method });
    } catch (e) {
      if (e instanceof PlainHttpServer) throw insecureRegistry(url.host);
      throw e;
    }
  }

  /** An Authorization for a registry whose challenge we already know, without asking it first. */
  private async knownAuthorization(ref: ImageReference, endpoint: string, state: RegistryState, scope: string, access: RepositoryAccess, signal?: AbortSignal): Promise<Authorization> {
    const known = state.challenge;
    if (!known) return ANONYMOUS;
    if (known.scheme === 'basic') return (await this.basicAuthorization(ref, endpoint, state)) ?? ANONYMOUS;
    const cached = this.tokens.get(endpoint, scope, Date.now());
    if (cached) return { header: `Bearer ${cached.token}`, kind: 'bearer', usedCredentials: cached.usedCredentials === true, user: cached.user };
    return this.bearerAuthorization(ref, endpoint, state, { realm: known.realm, service: known.service, scope }, scope, signal, access);
  }

  private async basicAuthorization(ref: ImageReference, _endpoint: string, state: RegistryState): Promise<Authorization | undefined> {
    const { credential } = await this.usableCredential(ref, state);
    if (credential?.username === undefined || credential.password === undefined) return undefined;
    return { header: basicAuthorization(credential.username, credential.password), kind: 'basic', usedCredentials: true, user: credential.username };
  }

  /** Credentials for the registry, unless it is reached over plain HTTP off loopback. */
  private async usableCredential(ref: ImageReference, state: RegistryState): Promise<CredentialLookup & { withheld?: boolean }> {
    const lookup = await this.lookupCredential(ref.registry);
    const endpoint = registryEndpoint(ref.registry);
    if (lookup.credential && state.scheme === 'http' && !isLoopbackHost(endpoint)) return { withheld: true };
    return lookup;
  }

  private lookupCredential(registry: string): Promise<CredentialLookup> {
    let lookup = this.credentialLookups.get(registry);
    if (!lookup) {
      lookup = (async (): Promise<CredentialLookup> => {
        if (!this.credentials) return {};
        try {
          const credential = await this.credentials.get(registry);
          return credential ? { credential } : {};
        } catch (e) {
          if (e instanceof OciError) return { problem: e };
          return { problem: new OciError('CREDENTIALS', `Reading the credentials for ${registry} failed: ${(e as Error).message}.`, 'Check the Docker configuration.') };
        }
      })();
      this.credentialLookups.set(registry, lookup);
    }
    return lookup;
  }

  /** Gets a token from the realm (anonymous, Basic, or the identity token by POST), caches it per scope. */
  private async bearerAuthorization(
    ref: ImageReference,
    endpoint: string,
    state: RegistryState,
    challenge: { realm: string; service?: string; scope: string },
    cacheScope: string,
    signal?: AbortSignal,
    access: RepositoryAccess = 'pull',
  ): Promise<Authorization> {
    const realm = safeUrl(challenge.realm);
    if (!realm || (realm.protocol !== 'https:' && realm.protocol !== 'http:') || realm.username || realm.password) {
      throw new OciError('BAD_RESPONSE', `${nameOf(ref)} names an unusable token service ("${challenge.realm.slice(0, 100)}").`, 'The registry is misconfigured.');
    }
    if (realm.protocol === 'http:' && !this.httpAllowed(realm.host)) {
      throw new OciError('INSECURE_REGISTRY', `${nameOf(ref)} sends us for tokens to ${realm.host} over plain HTTP.`, `If you trust the network to ${realm.host}, add it to the insecure registries setting.`);
    }
    const lookup = await this.usableCredential(ref, state);
    const registryOrigin = new URL(`${state.scheme ?? 'https'}://${endpoint}`);
    const credential = lookup.credential && RegistryClient.mayCarryCredentials(realm) && mayReceiveCredentials(realm, registryOrigin) ? lookup.credential : undefined;
    const fresh = { realm: challenge.realm, ...(challenge.service !== undefined ? { service: challenge.service } : {}), scope: challenge.scope };
    if (credential?.registryToken) {
      return { header: `Bearer ${credential.registryToken}`, kind: 'bearer', usedCredentials: true, user: credential.username, fresh };
    }

    const params = new URLSearchParams();
    if (challenge.service !== undefined) params.set('service', challenge.service);
    for (const s of challenge.scope.split(' ').filter(Boolean)) params.append('scope', s);
    let exchange: Exchange | undefined;
    if (credential?.identityToken) {
      // distribution's OAuth2 token spec: the identity token is a refresh token, exchanged by POST.
      const form = new URLSearchParams(params);
      form.set('grant_type', 'refresh_token');
      form.set('client_id', CLIENT_ID);
      form.set('refresh_token', credential.identityToken);
      exchange = await this.sendPlain(realm, { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' }, signal, form.toString(), 'POST');
      // Realms without the OAuth2 endpoint: Docker falls back to GET.
      if (exchange.response.status === 404 || exchange.response.status === 405) {
        await exchange.discard();
        exchange = undefined;
      }
    }
    if (!exchange) {
      const url = new URL(realm);
      for (const [k, v] of params) url.searchParams.append(k, v);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (credential?.username !== undefined && credential.password !== undefined) headers.authorization = basicAuthorization(credential.username, credential.password);
      exchange = await this.sendPlain(url, headers, signal);
    }
    const status = exchange.response.status;
    if (status !== 200) {
      if (status === 401 || status === 403) {
        await exchange.discard();
        if (credential) {
          if (status === 401) {
            throw new OciError('AUTH_REQUIRED', `${realm.host} rejected the credentials${credential.username ? ` of ${credential.username}` : ''} for ${ref.registry}.`, `Run ${loginHint(ref.registry)} again (the extension uses the credentials of your Docker configuration).`);
          }
          if (access === 'push') {
            throw new OciError('DENIED', `${realm.host} refused ${credential.username ?? 'your account'} a token to push to ${nameOf(ref)}: the credentials may not write to ${ref.repository}.`, pushRemedy(ref));
          }
          throw new OciError('DENIED', `${realm.host} refused ${credential.username ?? 'your account'} a token for ${nameOf(ref)}.`, 'Check that the account has access to the repository.');
        }
        throw await this.unauthorized(ref, ANONYMOUS, undefined, lookup, access);
      }
      throw await this.statusError(exchange, ref, `a token for ${nameOf(ref)} from ${realm.host}`, ANONYMOUS);
    }
    const bytes = await exchange.body(MAX_TOKEN_RESPONSE_BYTES, (limit) => new OciError('TOO_LARGE', `The token service ${realm.host} sent more than ${formatBytes(limit)}.`, 'The token service is misbehaving; try again later.'));
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new OciError('BAD_RESPONSE', `The token service ${realm.host} answered with something that is not JSON.`, 'The registry\'s token service is misbehaving; try again later.');
    }
    const issued = parseTokenResponse(body, realm.host, Date.now());
    this.tokens.set(endpoint, cacheScope, { ...issued, usedCredentials: credential !== undefined, ...(credential?.username !== undefined ? { user: credential.username } : {}) });
    return { header: `Bearer ${issued.token}`, kind: 'bearer', usedCredentials: credential !== undefined, user: credential?.username, fresh };
  }

  /** The error for a registry that still says 401: why, and what the user can do. */
  private async unauthorized(ref: ImageReference, authorization: Authorization, challenge: Challenge | undefined, known?: CredentialLookup & { withheld?: boolean }, access: RepositoryAccess = 'pull'): Promise<OciError> {
    const lookup = known ?? (await this.usableCredential(ref, this.stateOf(registryEndpoint(ref.registry))));
    const login = loginHint(ref.registry);
    if (authorization.usedCredentials) {
      if (authorization.kind === 'basic') {
        return new OciError('AUTH_REQUIRED', `${ref.registry} rejected the username and password${authorization.user ? ` of ${authorization.user}` : ''}.`, `Run ${login} again (the extension uses the credentials of your Docker configuration).`);
      }
      const why = challenge?.params.error ? ` (${printable(challenge.params.error, 60)})` : '';
      if (access === 'push') {
        // A token obtained with the user's credentials, fetched fresh for the push scope, and still refused.
        return new OciError('DENIED', `${ref.registry} does not let ${authorization.user ?? 'your account'} push to ${ref.repository}${why}: ${pushRefusal}.`, pushRemedy(ref));
      }
      return new OciError('DENIED', `${ref.registry} does not let ${authorization.user ?? 'your account'} read ${ref.repository}${why}.`, `Check that the account has access to ${ref.repository}, or ${login} with one that does.`);
    }
    if (lookup.problem) {
      return new OciError('CREDENTIALS', `${nameOf(ref)} requires sign-in, and the credentials could not be read: ${lookup.problem.message}`, lookup.problem.remedy);
    }
    if (lookup.withheld) {
      return new OciError('INSECURE_REGISTRY', `${nameOf(ref)} requires sign-in, and credentials are never sent over plain HTTP to ${registryEndpoint(ref.registry)}.`, 'Serve the registry over HTTPS (extra CA certificates can be added in the settings).');
    }
    if (access === 'push') {
      return new OciError('AUTH_REQUIRED', `${nameOf(ref)} requires sign-in to push to it.`, pushRemedy(ref));
    }
    return new OciError('AUTH_REQUIRED', `${nameOf(ref)} requires sign-in to read it, or does not exist.`, `Run ${login} (the extension uses the credentials of your Docker configuration), and check the repository name.`);
  }

  /**
   * An OciError for a status we do not handle in place; reads (a little of) the body for the
   * registry's words. Writes (`access` 'push') get their own words for 403, 404, 400 and 413.
   */
  private async statusError(exchange: Exchange, ref: ImageReference, what: string, authorization: Authorization, access: RepositoryAccess = 'pull'): Promise<OciError> {
    const { status, statusText } = exchange.response;
    const headers = exchange.response.headers;
    let text = '';
    try {
      text = await exchange.text(MAX_ERROR_BODY_BYTES);
    } catch (e) {
      if (e instanceof OciError && e.code === 'CANCELLED') return e;
    }
    const said = registrySays(text);
    if (access === 'push') {
      const refused = pushStatusError(exchange, ref, what, authorization, text, said);
      if (refused) return refused;
    }
    switch (status) {
      case 401:
        return this.unauthorized(ref, authorization, parseAuthenticate(headers.get('www-authenticate'))[0], undefined, access);
      case 403:
        return new OciError('DENIED', `${exchange.url.host} refused access to ${what} (403${said}).`, `Check that ${authorization.user ?? 'your account'} has access, or ${loginHint(ref.registry)} with an account that does.`);
      case 404:
        return new OciError('NOT_FOUND', `${exchange.url.host} has no ${what} (404${said}).`, 'Check the reference.');
      case 429: {
        const wait = retryAfterSeconds(headers.get('retry-after'), Date.now());
        return new OciError(
          'RATE_LIMITED',
          `${exchange.url.host} is rate-limiting requests (429${said})${wait !== undefined ? `; Retry-After: ${wait} s` : ''}.`,
          `${wait !== undefined ? `Wait ${wait} s and retry` : 'Wait a while and retry'}; signing in (${loginHint(ref.registry)}) usually raises the limit.`,
        );
      }
      default:
        return new OciError(
          'BAD_RESPONSE',
          `${exchange.url.host} answered ${status}${statusText ? ` ${printable(statusText, 40)}` : ''} to the request for ${what}${said ? ` (${said.slice(2)})` : ''}.`,
          status >= 500 ? 'The registry has a problem; retry later.' : 'The registry does not accept this request; check the reference.',
          status,
        );
    }
  }
}

// --- helpers -------------------------------------------------------------------------------

function nameOf(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

function loginHint(registry: string): string {
  return registry === 'docker.io' ? 'docker login' : `docker login ${registry}`;
}

function safeUrl(text: string, base?: URL): URL | undefined {
  try {
    return new URL(text, base);
  } catch {
    return undefined;
  }
}

function insecureRegistry(hostPort: string): OciError {
  return new OciError('INSECURE_REGISTRY', `${hostPort} does not speak HTTPS, and plain HTTP is only used for localhost and the insecure registries you list.`, `If you trust the network to ${hostPort}, add it to the insecure registries setting.`);
}

/** Why a push with accepted credentials is refused, for messages. */
const pushRefusal = 'the credentials are accepted but may not write there (they can at most read it: a read-only token or account, without the push scope)';

function pushRemedy(ref: ImageReference): string {
  return `Run ${loginHint(ref.registry)} with an account that may push to ${ref.repository} (the extension uses the credentials of your Docker configuration), or ask the registry's owner for push access.`;
}

/** The statuses a write gets its own words for: refused (403), no such repository (404), rejected content (400), too large (413). */
function pushStatusError(exchange: Exchange, ref: ImageReference, what: string, authorization: Authorization, text: string, said: string): OciError | undefined {
  const { status } = exchange.response;
  const host = exchange.url.host;
  const codes = errorCodesOf(text);
  switch (status) {
    case 403:
      if (authorization.usedCredentials) {
        return new OciError('DENIED', `${host} refused to let ${authorization.user ?? 'your account'} push to ${ref.repository} (403${said}): ${pushRefusal}.`, pushRemedy(ref));
      }
      return new OciError('DENIED', `${host} refused an anonymous push to ${ref.repository} (403${said}).`, pushRemedy(ref));
    case 404:
      if (codes.includes('BLOB_UPLOAD_UNKNOWN')) {
        return new OciError('NOT_FOUND', `${host} no longer knows the upload of the ${what} (404${said}).`, 'The upload may have expired or been cancelled by the registry; push again.');
      }
      return new OciError(
        'NOT_FOUND',
        codes.includes('NAME_UNKNOWN') ? `${host} has no repository ${ref.repository} to push the ${what} to (404${said}).` : `${host} answered 404 to the push of the ${what}${said ? ` (${said.slice(2)})` : ''}.`,
        'Check the repository name; some registries need the repository created before the first push.',
      );
    case 413:
      return new OciError('TOO_LARGE', `${host} refused the ${what} as too large (413${said}).`, 'The registry limits the size of what it accepts; check its limits.');
    case 400:
      if (codes.includes('MANIFEST_BLOB_UNKNOWN') || codes.includes('BLOB_UNKNOWN')) {
        return new OciError('BAD_RESPONSE', `${host} refused the ${what}: it references a blob ${ref.repository} does not have (400${said}).`, `Push the blobs the manifest references (its config and layers) to ${ref.repository} first.`);
      }
      return new OciError('BAD_RESPONSE', `${host} refused the ${what} (400${said}).`, 'The registry does not accept this content; check the manifest\'s media types, descriptors and digests.');
    default:
      return undefined;
  }
}

/** Checks the Docker-Content-Digest a registry answers a write with (if it sends one) against the bytes sent. */
function checkStoredDigest(exchange: Exchange, bytes: Uint8Array, what: string): void {
  const header = exchange.response.headers.get('docker-content-digest');
  if (header === null) return;
  const said = header.trim();
  if (!isDigest(said)) {
    throw new OciError('BAD_RESPONSE', `${exchange.url.host} answered the push of the ${what} with an unreadable Docker-Content-Digest header.`, 'The registry is misbehaving; check what it stored before relying on it.');
  }
  // The registry may name the bytes with another algorithm than ours: hash them with its.
  const hasher = digestHasher(said);
  hasher.update(bytes);
  const actual = hasher.digest();
  if (actual !== said) {
    throw new OciError(
      'DIGEST_MISMATCH',
      `${exchange.url.host} says it stored the ${what} as ${shortDigest(said)}, but the bytes sent have digest ${shortDigest(actual)}.`,
      'The upload was changed by the registry or on the way: do not rely on what it stored. Retry, and report it to the registry\'s owner if it persists.',
    );
  }
}

/**
 * Where to PUT the bytes of an upload: the registry's Location (relative or absolute), only on
 * the registry's own origin, with its query (the upload state) kept and `digest=` added.
 */
function uploadTarget(location: string | null, registry: URL, digest: string, what: string): string {
  const target = location ? safeUrl(location, registry) : undefined;
  if (!target || (target.protocol !== 'https:' && target.protocol !== 'http:')) {
    throw new OciError('BAD_RESPONSE', `${registry.host} started the upload of the ${what} without a usable Location.`, 'The registry is misbehaving; try again later.');
  }
  if (target.origin !== registry.origin) {
    throw new OciError(
      'BAD_RESPONSE',
      `${registry.host} sent the upload of the ${what} to another server (${printable(target.origin, 100)}); the extension only uploads to the registry itself, where its credentials may go.`,
      'The registry is misconfigured or something in between rewrites its answers; nothing was sent there.',
    );
  }
  return `${target.pathname}${target.search ? `${target.search}&` : '?'}digest=${encodeURIComponent(digest)}`;
}

/**
 * Throws INVALID_MANIFEST unless `bytes` is a manifest or index of `mediaType` that this client
 * would read back (JSON of the right shape, no other `mediaType` declared inside).
 */
function checkPushableManifest(bytes: Uint8Array, mediaType: string, what: string): void {
  const base = baseMediaType(mediaType);
  const invalid = (why: string) => new OciError('INVALID_MANIFEST', `The ${what} to push ${why}; nothing was sent.`, 'This is a bug in what produced the manifest; report it.');
  if (!isImageManifestMediaType(base) && !isIndexMediaType(base)) throw invalid(`has media type "${printable(mediaType, 100)}", not an OCI or Docker v2 manifest or index`);
  try {
    JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw invalid('is not valid JSON');
  }
  let parsed: ReturnType<typeof parseManifest>;
  try {
    parsed = parseManifest(bytes, base, what);
  } catch (e) {
    if (!(e instanceof OciError)) throw e;
    // parseManifest words it as the registry's answer; keep only the reason ("config is not an object").
    const reason = /not usable: (.*)\.$/.exec(e.message)?.[1];
    throw invalid(`is not a usable ${base}${reason ? `: ${reason}` : ''}`);
  }
  if (parsed.mediaType !== base) throw invalid(`declares media type "${printable(parsed.mediaType, 100)}", not the ${base} it would be sent as`);
}

function mismatch(what: string, actual: string, expected: string): OciError {
  return new OciError('DIGEST_MISMATCH', `The registry sent ${what} with digest ${shortDigest(actual)}, not the ${shortDigest(expected)} asked for.`, 'The content was changed by the registry or on the way: do not trust it. Report it to the registry\'s owner.');
}

function tooLargeManifest(what: string, limit: number): OciError {
  return new OciError('TOO_LARGE', `The manifest ${what} is larger than ${formatBytes(limit)}, the most a manifest may be.`, 'The registry is misbehaving or hostile; do not use this image.');
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round((n / 1024 / 1024) * 10) / 10} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;
}

/** The `code`s of a distribution error body (`{"errors":[{"code":…,"message":…}]}`). */
function errorCodesOf(text: string): string[] {
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: unknown }> };
    return Array.isArray(doc.errors) ? doc.errors.map((e) => (typeof e?.code === 'string' ? e.code : '')).filter(Boolean) : [];
  } catch {
    return [];
  }
}

/** `: CODE message` from a distribution error body, or ''. */
function registrySays(text: string): string {
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = Array.isArray(doc.errors) ? doc.errors[0] : undefined;
    if (!first) return '';
    const code = typeof first.code === 'string' ? first.code : '';
    const message = typeof first.message === 'string' ? first.message : '';
    const words = printable(`${code}${code && message ? ' ' : ''}${message}`, 120);
    return words ? `: ${words}` : '';
  } catch {
    return '';
  }
}

function tagsOf(body: Buffer, name: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new OciError('BAD_RESPONSE', `The registry sent a tag list for ${name} that is not valid JSON.`, 'The registry is misbehaving; try again later.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new OciError('BAD_RESPONSE', `The registry sent a tag list for ${name} that is not a JSON object.`, 'The registry is misbehaving; try again later.');
  const tags = (doc as { tags?: unknown }).tags;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags)) throw new OciError('BAD_RESPONSE', `The registry sent a tag list for ${name} whose "tags" is not a list.`, 'The registry is misbehaving; try again later.');
  return tags.filter((t): t is string => typeof t === 'string');
}

/**
 * `ours` plus the scopes a challenge names that it does not cover (`repository:<repo>:pull` or
 * `…:push` of the same repository are covered by `repository:<repo>:pull,push`), space-separated.
 */
function withScope(ours: string, challenged: string | undefined): string {
  const covered = (s: string) => {
    const [type, actions] = [s.slice(0, s.indexOf(':')), s.slice(s.lastIndexOf(':') + 1)];
    const name = s.slice(s.indexOf(':') + 1, s.lastIndexOf(':'));
    return type === 'repository' && `repository:${name}:pull,push` === ours && actions.split(',').every((a) => a === 'pull' || a === 'push');
  };
  const rest = (challenged ?? '').split(' ').filter((s) => s && s !== ours && !covered(s));
  return [ours, ...rest].join(' ');
}

/**
 * Whether a token service may see the registry's credentials: the registry's own origin
 * (scheme, host and port), or an HTTPS realm on the default port of the registry's host or of
 * a host of the same site, for an HTTPS registry: Docker Hub's registry-1.docker.io sends us to
 * auth.docker.io, a GitLab registry on :5050 to its GitLab's https://host/jwt/auth. Another
 * port, a plain-HTTP realm for an HTTPS registry, or another site gets an anonymous token
 * request instead: a port is another server, perhaps someone else's.
 */
function mayReceiveCredentials(realm: URL, registry: URL): boolean {
  if (realm.origin === registry.origin) return true;
  if (realm.protocol !== 'https:' || registry.protocol !== 'https:' || realm.port !== '') return false;
  if (realm.hostname === registry.hostname) return true;
  // IP addresses and single names (localhost) have no site beyond themselves.
  const named = (host: string) => !/^[\d.]+$|^\[|:/.test(host) && host.includes('.');
  if (!named(registry.hostname) || !named(realm.hostname)) return false;
  const site = (host: string) => host.split('.').slice(-2).join('.');
  return site(realm.hostname) === site(registry.hostname);
}

/** Blob downloads by key: in flight, then (if small) kept until the byte budget needs the room. */
class BlobMemory {
  private readonly entries = new Map<string, { promise: Promise<Buffer>; bytes: number }>();
  private total = 0;

  constructor(private readonly budget: number) {}

  get(key: string): Promise<Buffer> | undefined {
    return this.entries.get(key)?.promise;
  }

  set(key: string, promise: Promise<Buffer>): void {
    this.delete(key);
    this.entries.set(key, { promise, bytes: 0 });
  }

  /** Counts a completed download against the budget, forgetting the oldest kept ones to make room. */
  keep(key: string, bytes: number): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.bytes = bytes;
    this.total += bytes;
    for (const [k, e] of this.entries) {
      if (this.total <= this.budget) break;
      if (e.bytes > 0) this.delete(k);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.total -= entry.bytes;
    this.entries.delete(key);
  }
}
