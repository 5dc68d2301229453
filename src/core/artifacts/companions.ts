/**
 * Which files are companions (evidence about other files) and which files they are about.
 * Most are named after their file (`F.sig` is about `F`); checksum lists and attestation
 * files (JSON lines) name the files they cover inside, so their targets come from content.
 */
import { basename } from 'node:path';

export type CompanionKind =
  /** `F.sigstore.json`, `F.sigstore`: a Sigstore bundle. */
  | 'sigstore-bundle'
  /** `F.bundle`: a Sigstore bundle or cosign's legacy bundle, told apart by content. */
  | 'bundle'
  /** `F.sig`: cosign's base64 signature or an OpenPGP binary signature, told apart by content. */
  | 'signature'
  /** `F.pem`, `F.crt`, `F.cert`: the certificate of a keyless cosign `F.sig` (not evidence alone). */
  | 'certificate'
  /** `F.asc`: an armored OpenPGP signature. */
  | 'openpgp'
  /** `F.sha256`, `F.sha512`, `F.sha1`, `F.md5`, …: a checksum of one file. */
  | 'checksum'
  /** `SHA256SUMS` and the like: checksums of many files. */
  | 'checksum-list'
  /** `*.intoto.jsonl`, `sha256:<hex>.jsonl`: one bundle per line, about the files their statements name. */
  | 'attestations';

export interface Companion {
  readonly path: string;
  readonly kind: CompanionKind;
  /** For a single-file checksum: the algorithm its name says. */
  readonly algorithm?: ChecksumAlgorithm;
}

export type ChecksumAlgorithm = 'sha256' | 'sha384' | 'sha512' | 'sha1' | 'md5';

interface SuffixRule {
  readonly suffix: string;
  readonly kind: CompanionKind;
  readonly algorithm?: ChecksumAlgorithm;
}

// Longest suffix first, so "F.sigstore.json" is not read as a ".json" of something.
const SUFFIX_RULES: readonly SuffixRule[] = [
  { suffix: '.sigstore.json', kind: 'sigstore-bundle' },
  { suffix: '.sigstore', kind: 'sigstore-bundle' },
  { suffix: '.bundle', kind: 'bundle' },
  { suffix: '.sig', kind: 'signature' },
  { suffix: '.asc', kind: 'openpgp' },
  { suffix: '.pem', kind: 'certificate' },
  { suffix: '.crt', kind: 'certificate' },
  { suffix: '.cert', kind: 'certificate' },
  { suffix: '.sha256sum', kind: 'checksum', algorithm: 'sha256' },
  { suffix: '.sha512sum', kind: 'checksum', algorithm: 'sha512' },
  { suffix: '.sha256', kind: 'checksum', algorithm: 'sha256' },
  { suffix: '.sha384', kind: 'checksum', algorithm: 'sha384' },
  { suffix: '.sha512', kind: 'checksum', algorithm: 'sha512' },
  { suffix: '.sha1', kind: 'checksum', algorithm: 'sha1' },
  { suffix: '.md5', kind: 'checksum', algorithm: 'md5' },
];

const CHECKSUM_LIST = /^(?:(?:sha(?:1|224|256|384|512)|md5|b2)sums|checksums)(?:\.txt)?$|(?:^|[._-])checksums\.txt$/i;
const CHECKSUM_LIST_ALGORITHM = /^(sha1|sha256|sha384|sha512|md5)sums/i;
const ATTESTATIONS = /\.intoto\.jsonl$|^sha256:[0-9a-f]{64}\.jsonl$/;

/** Globs that find every companion in a workspace. */
export const COMPANION_GLOBS: readonly string[] = [
  `**/*{${SUFFIX_RULES.map((r) => r.suffix).join(',')}}`,
  // Broad on purpose (VS Code's globs have no empty alternative); `classify` decides.
  '**/*SUMS',
  '**/*SUMS.txt',
  '**/*checksums.txt',
  '**/*.jsonl',
];

/** How a path is a companion: the artifact it is named after, or that its content decides. */
export type CompanionMatch =
  | { readonly by: 'name'; readonly artifact: string; readonly companion: Companion }
  | { readonly by: 'content'; readonly companion: Companion };

export function classify(path: string): CompanionMatch | undefined {
  const name = basename(path);
  if (ATTESTATIONS.test(name)) return { by: 'content', companion: { path, kind: 'attestations' } };
  if (CHECKSUM_LIST.test(name)) {
    const algorithm = CHECKSUM_LIST_ALGORITHM.exec(name)?.[1]?.toLowerCase() as ChecksumAlgorithm | undefined;
    return { by: 'content', companion: { path, kind: 'checksum-list', algorithm } };
  }
  for (const rule of SUFFIX_RULES) {
    if (name.length > rule.suffix.length && name.endsWith(rule.suffix)) {
      return { by: 'name', artifact: path.slice(0, -rule.suffix.length), companion: { path, kind: rule.kind, algorithm: rule.algorithm } };
    }
  }
  return undefined;
}

/** If `path` is named after the file it is about, that file and the companion. */
export function companionOf(path: string): { artifact: string; companion: Companion } | undefined {
  const match = classify(path);
  return match?.by === 'name' ? { artifact: match.artifact, companion: match.companion } : undefined;
}

/** The file Verify reports on for `path`: the artifact a companion is named after, else `path` itself. */
export function artifactOf(path: string): string {
  return companionOf(path)?.artifact ?? path;
}

/** The name-derived companion paths an artifact may have, whether or not they exist. */
export function candidateCompanions(artifact: string): Companion[] {
  return SUFFIX_RULES.map((rule) => ({ path: artifact + rule.suffix, kind: rule.kind, algorithm: rule.algorithm }));
}

export function isCompanion(path: string): boolean {
  return classify(path) !== undefined;
}
