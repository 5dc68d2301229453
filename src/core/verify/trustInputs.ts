import type { KeyObject } from 'node:crypto';
import type { LoadedTrustedRoot } from '../trust/trustedRoot';
import { PUBLIC_GOOD } from '../publicGood';

/** A trusted root, or why none could be loaded (then nothing that needs one can be checked). */
export type TrustedRootChoice = LoadedTrustedRoot | { readonly error: string; readonly remedy: string };

export interface NamedPublicKey {
  /** Where the key came from (a path in the policy), shown in reports. */
  readonly source: string;
  readonly key: KeyObject;
}

export interface NamedOpenPgpKeys {
  /** Where the keys came from (an armored key file or an Apache-style KEYS file). */
  readonly source: string;
  /** The file's text: one or more armored public key blocks, possibly with other text around them. */
  readonly armored: string;
}

/**
 * What a verifier may trust for one artifact: assembled from the settings and the trust
 * policy rule that matches the artifact. Verifiers never fetch keys themselves.
 */
export interface TrustInputs {
  readonly trustedRoot: TrustedRootChoice;
  readonly publicKeys: readonly NamedPublicKey[];
  readonly openpgpKeys: readonly NamedOpenPgpKeys[];
  /** Whether looking things up online is allowed (off by default and in untrusted workspaces). */
  readonly network: { readonly allowed: boolean; readonly rekorURL: string };
}

export const PUBLIC_GOOD_REKOR_URL = PUBLIC_GOOD.rekorURL;

export function offlineTrust(trustedRoot: TrustedRootChoice): TrustInputs {
  return { trustedRoot, publicKeys: [], openpgpKeys: [], network: { allowed: false, rekorURL: PUBLIC_GOOD_REKOR_URL } };
}
