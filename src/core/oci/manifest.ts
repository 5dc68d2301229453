/**
 * Manifests and indexes, shape-checked: a registry's answer is untrusted, so nothing reaches
 * the caller unless it has the fields the OCI image spec requires, with the right types.
 */
import { isDigest } from './digest';
import { OciError } from './errors';
import { baseMediaType, isImageManifestMediaType, isIndexMediaType } from './mediaTypes';

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly urls?: readonly string[];
  readonly data?: string;
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

interface FetchedCommon {
  /** The digest of `bytes`, checked. */
  readonly digest: string;
  /** From the document's `mediaType`, else the response's Content-Type. */
  readonly mediaType: string;
  /** Exactly what the registry sent (what the digest is over). */
  readonly bytes: Buffer;
}
export type FetchedManifest =
  | (FetchedCommon & { readonly kind: 'manifest'; readonly manifest: ImageManifest })
  | (FetchedCommon & { readonly kind: 'index'; readonly manifest: ImageIndex });

export type ParsedManifest =
  | { readonly kind: 'manifest'; readonly mediaType: string; readonly manifest: ImageManifest }
  | { readonly kind: 'index'; readonly mediaType: string; readonly manifest: ImageIndex };

type Json = Record<string, unknown>;

class ShapeError extends Error {}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(o: Json, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ShapeError(`${path}.${key} is not a string`);
  return v;
}

function stringMap(v: unknown, path: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new ShapeError(`${path} is not an object`);
  for (const [k, s] of Object.entries(v)) if (typeof s !== 'string') throw new ShapeError(`${path}["${k}"] is not a string`);
  return v as Record<string, string>;
}

function stringArray(v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ShapeError(`${path} is not a list of strings`);
  return v as string[];
}

function platformOf(v: unknown, path: string): Platform | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new ShapeError(`${path} is not an object`);
  const architecture = optionalString(v, 'architecture', path);
  const os = optionalString(v, 'os', path);
  if (architecture === undefined || os === undefined) throw new ShapeError(`${path} lacks architecture or os`);
  const variant = optionalString(v, 'variant', path);
  const osVersion = optionalString(v, 'os.version', path);
  const osFeatures = stringArray(v['os.features'], `${path}["os.features"]`);
  return {
    architecture,
    os,
    ...(variant !== undefined ? { variant } : {}),
    ...(osVersion !== undefined ? { 'os.version': osVersion } : {}),
    ...(osFeatures !== undefined ? { 'os.features': osFeatures } : {}),
  };
}

/** Checks one descriptor (media type, digest, size; optional fields typed). */
export function descriptorOf(v: unknown, path: string): Descriptor {
  if (!isObject(v)) throw new ShapeError(`${path} is not an object`);
  const mediaType = optionalString(v, 'mediaType', path);
  if (!mediaType) throw new ShapeError(`${path}.mediaType is missing`);
  if (!isDigest(v.digest)) throw new ShapeError(`${path}.digest is not a sha256 or sha512 digest`);
  const size = v.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new ShapeError(`${path}.size is not a non-negative integer`);
  const artifactType = optionalString(v, 'artifactType', path);
  const annotations = stringMap(v.annotations, `${path}.annotations`);
  const platform = platformOf(v.platform, `${path}.platform`);
  const urls = stringArray(v.urls, `${path}.urls`);
  const data = optionalString(v, 'data', path);
  return {
    mediaType,
    digest: v.digest,
    size,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
    ...(platform !== undefined ? { platform } : {}),
    ...(urls !== undefined ? { urls } : {}),
    ...(data !== undefined ? { data } : {}),
  };
}

function descriptorList(v: unknown, path: string): Descriptor[] {
  if (!Array.isArray(v)) throw new ShapeError(`${path} is not a list`);
  return v.map((d, i) => descriptorOf(d, `${path}[${i}]`));
}

/**
 * Parses manifest or index bytes. `what` names the object in messages ("ghcr.io/octo/app:1.2").
 * Throws BAD_RESPONSE for anything that is not JSON of the right shape or of a type we read.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null | undefined, what: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new OciError('BAD_RESPONSE', `The registry sent a manifest for ${what} that is not valid JSON.`, 'The registry or a proxy in front of it is misbehaving; try again later.');
  }
  try {
    if (!isObject(doc)) throw new ShapeError('it is not a JSON object');
    const declared = optionalString(doc, 'mediaType', 'manifest');
    const mediaType = declared ?? baseMediaType(contentType);
    const kind = isIndexMediaType(mediaType) ? 'index' : isImageManifestMediaType(mediaType) ? 'manifest' : !declared && Array.isArray(doc.manifests) ? 'index' : !declared && isObject(doc.config) ? 'manifest' : undefined;
    if (!kind) throw new ShapeError(`its media type "${mediaType || 'none'}" is not an OCI or Docker v2 manifest or index`);
    if (doc.schemaVersion !== 2) throw new ShapeError('schemaVersion is not 2');
    const artifactType = optionalString(doc, 'artifactType', 'manifest');
    const subject = doc.subject === undefined ? undefined : descriptorOf(doc.subject, 'subject');
    const annotations = stringMap(doc.annotations, 'annotations');
    const common = {
      schemaVersion: 2 as const,
      ...(declared !== undefined ? { mediaType: declared } : {}),
      ...(artifactType !== undefined ? { artifactType } : {}),
      ...(subject !== undefined ? { subject } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    };
    if (kind === 'index') {
      return { kind, mediaType, manifest: { ...common, manifests: descriptorList(doc.manifests, 'manifests') } };
    }
    return { kind, mediaType, manifest: { ...common, config: descriptorOf(doc.config, 'config'), layers: descriptorList(doc.layers, 'layers') } };
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new OciError('BAD_RESPONSE', `The registry sent a manifest for ${what} that is not usable: ${e.message}.`, 'The image may use a format this extension does not read (for example Docker schema 1); push it again with a current tool.');
  }
}

/** The descriptors of an index (such as a referrers answer), filtered by artifact type when one is given. */
export function filterByArtifactType(descriptors: readonly Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType === undefined ? [...descriptors] : descriptors.filter((d) => d.artifactType === artifactType);
}
