/**
 * Variable substitution as Dockerfile (BuildKit's shell lexer) and Compose do it, for one
 * word, against what the file itself says. A variable is either known (a literal value),
 * `unset` (declared without a default, or not declared: empty in a build without options), or
 * `unknown` (set from outside the file: a built-in platform argument, an image's environment).
 * A word that needs a value the file does not give is unresolved.
 */

export type Variable = { readonly value: string } | 'unset' | 'unknown';
export type Lookup = (name: string) => Variable;

export interface SubstitutionSyntax {
  /** Dockerfile: `'…'` and `"…"` are removed, and the escape character escapes the next one. */
  readonly shellQuotes: boolean;
  /** The Dockerfile escape character (`\` or the `# escape=` directive's). */
  readonly escape?: string;
  /** Compose: `$$` is a literal `$`. */
  readonly doubleDollar: boolean;
}

export const DOCKERFILE_SYNTAX = (escape: string): SubstitutionSyntax => ({ shellQuotes: true, escape, doubleDollar: false });
export const COMPOSE_SYNTAX: SubstitutionSyntax = { shellQuotes: false, doubleDollar: true };

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** `${A:-${B:-…}}` nested deeper than this is unresolved: real files nest a few levels, and recursion must stay bounded. */
const MAX_NESTING = 32;

/**
 * The word with its variables substituted (and, for Dockerfiles, its quotes removed), or
 * `undefined` when it depends on a value the file does not give. Supports `$NAME`, `${NAME}`,
 * `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`, `${NAME:?word}` and
 * `${NAME?word}` (the words may nest); any other form is unresolved.
 */
export function substitute(word: string, lookup: Lookup, syntax: SubstitutionSyntax): string | undefined {
  let pos = 0;
  let unresolved = false;
  let nesting = 0;

  const readName = (): string | undefined => {
    NAME.lastIndex = pos;
    const match = NAME.exec(word);
    if (!match) return undefined;
    pos += match[0].length;
    return match[0];
  };

  const skipToClosingBrace = (): void => {
    let depth = 1;
    while (pos < word.length && depth > 0) {
      const c = word[pos++];
      if (c === '{') depth++;
      else if (c === '}') depth--;
    }
  };

  const plain = (name: string): string => {
    const v = lookup(name);
    if (typeof v === 'object') return v.value;
    unresolved = true;
    return '';
  };

  const withModifier = (name: string, op: string, arg: string, argResolved: boolean): string => {
    const v = lookup(name);
    if (v === 'unknown') {
      unresolved = true;
      return '';
    }
    const isSet = typeof v === 'object';
    const value = isSet ? v.value : '';
    const useArg = (): string => {
      if (!argResolved) unresolved = true;
      return arg;
    };
    switch (op) {
      case ':-': return isSet && value !== '' ? value : useArg();
      case '-': return isSet ? value : useArg();
      case ':+': return isSet && value !== '' ? useArg() : '';
      case '+': return isSet ? useArg() : '';
      case ':?': if (isSet && value !== '') return value; break;
      case '?': if (isSet) return value; break;
    }
    unresolved = true;
    return '';
  };

  const dollar = (): string => {
    const next = word[pos + 1];
    if (syntax.doubleDollar && next === '$') {
      pos += 2;
      return '$';
    }
    if (next === '{') {
      pos += 2;
      const name = readName();
      if (name === undefined) {
        unresolved = true;
        skipToClosingBrace();
        return '';
      }
      if (word[pos] === '}') {
        pos++;
        return plain(name);
      }
      let op: string;
      if (word[pos] === ':' && '-+?'.includes(word[pos + 1] ?? '.')) {
        op = word.slice(pos, pos + 2);
        pos += 2;
      } else if ('-+?'.includes(word[pos] ?? '.')) {
        op = word[pos];
        pos += 1;
      } else {
        // ${NAME#pattern}, ${NAME%pattern}, ${NAME/a/b}, ${NAME:1:2}…: not a literal.
        unresolved = true;
        skipToClosingBrace();
        return '';
      }
      if (nesting >= MAX_NESTING) {
        unresolved = true;
        skipToClosingBrace();
        return '';
      }
      const before = unresolved;
      unresolved = false;
      nesting++;
      const arg = read(true);
      nesting--;
      const argResolved = !unresolved;
      unresolved = before;
      if (word[pos] === '}') pos++;
      else unresolved = true; // unterminated
      return withModifier(name, op, arg, argResolved);
    }
    if (next !== undefined && /[A-Za-z_]/.test(next)) {
      pos += 1;
      return plain(readName() ?? '');
    }
    if (next !== undefined && /[0-9@*#?$!-]/.test(next)) {
      // Positional and special parameters: never literal.
      pos += 2;
      unresolved = true;
      return '';
    }
    pos += 1;
    return '$';
  };

  const read = (inBraces: boolean): string => {
    let out = '';
    let doubleQuoted = false;
    while (pos < word.length) {
      const c = word[pos];
      if (inBraces && !doubleQuoted && c === '}') return out;
      if (syntax.shellQuotes) {
        if (c === syntax.escape) {
          const next = word[pos + 1];
          if (next === undefined) {
            out += c;
            pos += 1;
          } else if (doubleQuoted && next !== '$' && next !== '"' && next !== syntax.escape) {
            out += c + next;
            pos += 2;
          } else {
            out += next;
            pos += 2;
          }
          continue;
        }
        if (c === "'" && !doubleQuoted) {
          const end = word.indexOf("'", pos + 1);
          out += word.slice(pos + 1, end < 0 ? word.length : end);
          pos = end < 0 ? word.length : end + 1;
          continue;
        }
        if (c === '"') {
          doubleQuoted = !doubleQuoted;
          pos += 1;
          continue;
        }
      }
      if (c === '$') {
        out += dollar();
        continue;
      }
      out += c;
      pos += 1;
    }
    return out;
  };

  const result = read(false);
  return unresolved ? undefined : result;
}
