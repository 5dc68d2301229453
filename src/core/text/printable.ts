/**
 * Text from untrusted sources (file names, certificates, registries, identity providers) made
 * safe to show a person. One rule for every place: control characters (C0, DEL, C1), format
 * characters (bidirectional overrides, zero-width marks) and line or paragraph separators can
 * move a terminal's cursor, hide text or reorder it, so they never reach output as they are.
 */

// \p{Cc}: C0, DEL and C1 controls; \p{Cf}: format characters such as U+202E; \p{Zl}\p{Zp}: U+2028/U+2029.
const UNSAFE_RUNS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu;
const UNSAFE_OR_BACKSLASH = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\]/gu;

/** One line of display text: each run of unsafe characters becomes one space; cut to `max` with "…". */
export function printable(text: string, max = Infinity): string {
  const clean = text.replace(UNSAFE_RUNS, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * Text shown exactly but unambiguously (file names in command-line output): each unsafe
 * character is written as an escape (`\r`, `\x1b`, `\u202e`) and a backslash as `\\`, so a
 * name can neither rewrite the line nor pass for another name.
 */
export function escapedText(text: string): string {
  return text.replace(UNSAFE_OR_BACKSLASH, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
