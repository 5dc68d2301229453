import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial, type KeyFinderFunc } from '@sigstore/verify';
import { TrustedRootError } from '../errors';
import { parseJsonText, withoutValues } from '../untrustedText';

/** A trusted root ready for verification, with what the report says about it. */
export interface LoadedTrustedRoot {
  /** Where it came from: "Sigstore public-good (embedded)" or a file path. */
  readonly source: string;
  readonly root: TrustedRoot;
  /** Authorities dropped because they are unusable, with the reason (shown in reports). */
  readonly ignored: readonly string[];
}

export const PUBLIC_GOOD_SOURCE = 'Sigstore public-good (embedded in the extension)';
const TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const MAX_ROOT_BYTES = 4 * 1024 * 1024;

let publicGood: LoadedTrustedRoot | undefined;

/** The public-good trusted root shipped with `@sigstore/tuf`'s seed data: works offline. */
export function publicGoodTrustedRoot(): LoadedTrustedRoot {
  if (!publicGood) {
    // Loaded on first use: the seed file is large and most activations never verify.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets: Record<string, string> }>;
    const encoded = seeds[TUF_MIRROR]?.targets['trusted_root.json'];
    if (!encoded) {
      throw new TrustedRootError('TRUSTED_ROOT_MISSING', 'The embedded public-good trusted root is missing from @sigstore/tuf.');
    }
    publicGood = parseTrustedRoot(Buffer.from(encoded, 'base64'), PUBLIC_GOOD_SOURCE);
  }
  return publicGood;
}

/** Parses a `trusted_root.json` (protobuf-specs JSON form). */
export function parseTrustedRoot(bytes: Uint8Array, source: string): LoadedTrustedRoot {
  if (bytes.byteLength > MAX_ROOT_BYTES) {
    throw new TrustedRootError('TRUSTED_ROOT_TOO_LARGE', `The trusted root ${source} is larger than 4 MiB.`, 'Point the setting at a real trusted_root.json.');
  }
  const parsed = parseJsonText(Buffer.from(bytes).toString('utf8'));
  if (!parsed.ok) {
    throw new TrustedRootError('TRUSTED_ROOT_INVALID', `The trusted root ${source} ${parsed.problem}.`, 'Check the file, or clear the trusted root setting to use the public-good root.');
  }
  const json = parsed.value;
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    throw new TrustedRootError('TRUSTED_ROOT_INVALID', `${source} is not a Sigstore trusted root (its mediaType is not application/vnd.dev.sigstore.trustedroot…).`, 'Use the trusted_root.json of your Sigstore deployment (cosign: `cosign trusted-root create`, or the TUF target).');
  }
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (e) {
    throw new TrustedRootError('TRUSTED_ROOT_INVALID', `The trusted root ${source} could not be parsed: ${withoutValues(e)}`);
  }
  return sanitize(root, source);
}

/**
 * Drops authorities without a validity start. The specification requires it; sigstore-js
 * treats a missing start as "valid since 1970", which would let a key vouch for entries
 * from before it existed.
 */
function sanitize(root: TrustedRoot, source: string): LoadedTrustedRoot {
  const ignored: string[] = [];
  const keep = <T>(items: T[], kind: string, start: (t: T) => Date | undefined, name: (t: T) => string): T[] =>
    items.filter((item) => {
      if (start(item)) return true;
      ignored.push(`${kind} ${name(item)}: no validFor.start`);
      return false;
    });
  const logName = (t: TrustedRoot['tlogs'][number]) => t.baseUrl || Buffer.from(t.logId?.keyId ?? []).toString('hex');
  const caName = (c: TrustedRoot['certificateAuthorities'][number]) => c.uri || c.subject?.commonName || 'unnamed';
  const sanitized: TrustedRoot = {
    ...root,
    tlogs: keep(root.tlogs, 'transparency log', (t) => t.publicKey?.validFor?.start, logName),
    ctlogs: keep(root.ctlogs, 'CT log', (t) => t.publicKey?.validFor?.start, logName),
    certificateAuthorities: keep(root.certificateAuthorities, 'certificate authority', (c) => c.validFor?.start, caName),
    timestampAuthorities: keep(root.timestampAuthorities, 'timestamp authority', (c) => c.validFor?.start, caName),
  };
  return { source, root: sanitized, ignored };
}

const materials = new WeakMap<LoadedTrustedRoot, TrustMaterial>();

/**
 * Trust material for `@sigstore/verify`, with an optional finder for key-based bundles.
 * Built once per root (it parses every certificate and key): verifying a folder reuses it.
 */
export function trustMaterialOf(loaded: LoadedTrustedRoot, keyFinder?: KeyFinderFunc): TrustMaterial {
  let material = materials.get(loaded);
  if (!material) {
    material = toTrustMaterial(loaded.root);
    materials.set(loaded, material);
  }
  return keyFinder ? { ...material, publicKey: keyFinder } : material;
}
