/**
 * Messages about untrusted files that say what is wrong and where, never what the file holds:
 * `JSON.parse`'s own messages quote the input ("Unexpected token 'x', "…" is not valid JSON"),
 * libraries print the values they reject, and a companion may be a link to someone's secrets.
 */

export type JsonParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

/**
 * Parses `text`; when it is not JSON, `problem` says so and where ("is not valid JSON (line 3,
 * column 7)"), to follow a subject: `The companion ${problem}.`
 */
export function parseJsonText(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, problem: jsonProblem(text) };
  }
}

/** What is wrong with text that `JSON.parse` refused, by position only. */
export function jsonProblem(text: string): string {
  if (text.trim() === '') return 'is empty, not JSON';
  const offset = firstSyntaxError(text);
  if (offset >= text.length) return `is not valid JSON (it ends early, on line ${lineColumn(text, text.length).line})`;
  const { line, column } = lineColumn(text, offset);
  return `is not valid JSON (line ${line}, column ${column})`;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
// A string's body: anything but a quote, backslash or control character, and escapes.
// eslint-disable-next-line no-control-regex -- JSON forbids exactly these characters in strings
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

type Expect = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'comma-or-end' | 'done';

/**
 * The offset of the first character that makes `text` not JSON (text.length when it ends
 * early). One pass, an explicit stack: linear, whatever the nesting.
 */
export function firstSyntaxError(text: string): number {
  const stack: ('{' | '[')[] = [];
  let expect: Expect = 'value';
  let i = 0;
  const afterValue = (): Expect => (stack.length === 0 ? 'done' : 'comma-or-end');
  const sticky = (pattern: RegExp): number => {
    pattern.lastIndex = i;
    return pattern.test(text) ? pattern.lastIndex : -1;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (expect === 'done') return i;
    if (expect === 'colon') {
      if (c !== ':') return i;
      expect = 'value';
      i++;
      continue;
    }
    if (expect === 'comma-or-end') {
      const open = stack[stack.length - 1];
      if (c === ',') expect = open === '{' ? 'key' : 'value';
      else if ((c === '}' && open === '{') || (c === ']' && open === '[')) {
        stack.pop();
        expect = afterValue();
      } else return i;
      i++;
      continue;
    }
    if (expect === 'key' || expect === 'key-or-end') {
      if (c === '}' && expect === 'key-or-end') {
        stack.pop();
        expect = afterValue();
        i++;
        continue;
      }
      if (c !== '"') return i;
      const end = sticky(STRING);
      if (end < 0) return stringError(text, i);
      i = end;
      expect = 'colon';
      continue;
    }
    // A value, or (after "[") the end of the array.
    if (c === ']' && expect === 'value-or-end') {
      stack.pop();
      expect = afterValue();
      i++;
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push(c);
      expect = c === '{' ? 'key-or-end' : 'value-or-end';
      i++;
      continue;
    }
    const end = c === '"' ? sticky(STRING) : sticky(c === 't' || c === 'f' || c === 'n' ? LITERAL : NUMBER);
    if (end < 0) return c === '"' ? stringError(text, i) : i;
    i = end;
    expect = afterValue();
  }
  // Valid JSON has no error (text.length too): callers only ask after JSON.parse refused.
  return text.length;
}

/** Where a string starting at `start` goes wrong: a control character, a bad escape, or no end. */
function stringError(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i;
    if (c < 0x20) return i;
    if (c === 0x5c) {
      const next = text[i + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return i;
        i += 5;
      } else if (next !== undefined && '"\\/bfnrt'.includes(next)) i++;
      else return i;
    }
  }
  return text.length;
}

/**
 * A library's error message about untrusted input, without the values it prints: libraries
 * put them after a colon or a dash ("unsupported version: …", "kind/version mismatch -
 * expected: …", "Unrecognized enum value … for enum HashAlgorithm").
 */
export function withoutValues(e: unknown): string {
  const message = (e instanceof Error ? e.message : String(e)).trim();
  const enumValue = /^Unrecognized enum value [\s\S]* for enum (\w+)$/.exec(message);
  if (enumValue) return `a value that is not a known ${enumValue[1]}`;
  const head = message.split(/:| - |\n/)[0]!.replace(/\.$/, '').trim();
  // Quotes or great length: no longer the library's fixed wording, maybe the input itself.
  return head.length > 0 && head.length <= 120 && !/["'`]/.test(head) ? head : 'an error in the file\'s structure';
}
