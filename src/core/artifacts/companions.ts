/**
 * Which files are companions (evidence about another file) and which file each one is about.
 * More kinds (.sig, checksums, OpenPGP) plug in here.
 */
export type CompanionKind = 'sigstore-bundle';

export interface Companion {
  readonly path: string;
  readonly kind: CompanionKind;
}

interface CompanionRule {
  readonly suffix: string;
  readonly kind: CompanionKind;
}

const RULES: readonly CompanionRule[] = [{ suffix: '.sigstore.json', kind: 'sigstore-bundle' }];

/** Glob patterns that find every companion in a workspace. */
export const COMPANION_GLOBS: readonly string[] = RULES.map((r) => `**/*${r.suffix}`);

/** If `path` is a companion, the artifact it is about and its kind; else undefined. */
export function companionOf(path: string): { artifact: string; companion: Companion } | undefined {
  for (const rule of RULES) {
    if (path.endsWith(rule.suffix) && !isSeparator(path.charAt(path.length - rule.suffix.length - 1))) {
      return { artifact: path.slice(0, -rule.suffix.length), companion: { path, kind: rule.kind } };
    }
  }
  return undefined;
}

/** The companion paths an artifact may have, whether or not they exist. */
export function candidateCompanions(artifact: string): Companion[] {
  return RULES.map((rule) => ({ path: artifact + rule.suffix, kind: rule.kind }));
}

export function isCompanion(path: string): boolean {
  return companionOf(path) !== undefined;
}

function isSeparator(c: string): boolean {
  return c === '/' || c === '\\' || c === '';
}
