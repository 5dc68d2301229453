/**
 * Image references in a Dockerfile/Containerfile, read the way BuildKit reads the file:
 * parser directives (`# escape=`), comments, line continuations (comment and empty lines
 * inside them skipped), heredocs (their bodies are not instructions), case-insensitive
 * instructions, and global `ARG`s substituted in `FROM`.
 *
 * Reported: `FROM <image>` (not `scratch`, not an earlier stage), `COPY --from=<image>` (not a
 * stage name or index) and `RUN --mount=…,from=<image>` (not a stage).
 */
import type { ImageUse } from './imageUses';
import { DOCKERFILE_SYNTAX, substitute, type Lookup, type Variable } from './substitution';

/** A logical line: instruction text with, for each character, its offset in the file. */
interface LogicalLine {
  readonly text: string;
  readonly offsets: readonly number[];
}

interface Word {
  /** As written (quotes and escapes kept). */
  readonly raw: string;
  /** Index in the logical line. */
  readonly start: number;
}

interface Instruction {
  readonly keyword: string;
  readonly line: LogicalLine;
  /** Words after the keyword. */
  readonly words: readonly Word[];
}

/** Arguments BuildKit sets itself: their values depend on the build, not on the file. */
const BUILTIN_ARGS = [
  'TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT',
  'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT', 'TARGETSTAGE',
];

const HEREDOC = /^(\d*)<<(-?)([^<]*)$/;

/** A span of the file (offset and length), for the reference as written. */
export interface Span {
  readonly offset: number;
  readonly length: number;
}

export function findDockerfileImageUses(text: string, toUse: (reference: string, span: Span) => ImageUse | undefined): ImageUse[] {
  const uses: ImageUse[] = [];
  const report = (reference: string, span: Span | undefined): void => {
    if (span === undefined) return;
    const use = toUse(reference, span);
    if (use) uses.push(use);
  };
  const lines = physicalLines(text);
  const escape = escapeCharacter(lines);
  const instructions = parseInstructions(lines, escape);
  const syntax = DOCKERFILE_SYNTAX(escape);

  const allStages = new Set<string>();
  for (const instruction of instructions) {
    if (instruction.keyword === 'from') {
      const name = stageName(instruction.words);
      if (name !== undefined) allStages.add(name);
    }
  }

  const globals = new Map<string, Variable>(BUILTIN_ARGS.map((name) => [name, 'unknown']));
  const globalLookup: Lookup = (name) => globals.get(name) ?? 'unset';
  let stage: Map<string, Variable> | undefined;
  // Names not declared in the stage may come from the base image's environment.
  const stageLookup: Lookup = (name) => stage?.get(name) ?? 'unknown';
  const earlierStages = new Set<string>();

  const isStage = (value: string, stages: ReadonlySet<string>): boolean => stages.has(value.toLowerCase()) || /^\d+$/.test(value);
  const isScratch = (value: string): boolean => value.toLowerCase() === 'scratch';

  for (const instruction of instructions) {
    const { keyword, line, words } = instruction;
    switch (keyword) {
      case 'from': {
        const { args } = splitFlags(words);
        const image = args[0];
        if (image !== undefined) {
          const value = substitute(image.raw, globalLookup, syntax);
          if (value !== undefined && value !== '' && !isScratch(value) && !earlierStages.has(value.toLowerCase())) {
            report(value, spanOf(line, image.start, image.raw));
          }
        }
        const name = stageName(words);
        if (name !== undefined) earlierStages.add(name);
        stage = new Map();
        break;
      }
      case 'arg': {
        for (const word of words) {
          const eq = word.raw.indexOf('=');
          const name = eq < 0 ? word.raw : word.raw.slice(0, eq);
          if (name === '') continue;
          if (stage === undefined) {
            if (eq >= 0) globals.set(name, known(substitute(word.raw.slice(eq + 1), globalLookup, syntax)));
            else if (!globals.has(name)) globals.set(name, 'unset');
          } else if (eq >= 0) {
            stage.set(name, known(substitute(word.raw.slice(eq + 1), stageLookup, syntax)));
          } else {
            stage.set(name, globals.get(name) ?? 'unset');
          }
        }
        break;
      }
      case 'env': {
        if (stage === undefined || words.length === 0) break;
        if (!words[0].raw.includes('=')) {
          // Legacy `ENV NAME value with spaces`.
          const rest = line.text.slice(words[1]?.start ?? line.text.length).trim();
          stage.set(words[0].raw, known(substitute(rest, stageLookup, syntax)));
          break;
        }
        for (const word of words) {
          const eq = word.raw.indexOf('=');
          if (eq <= 0) continue;
          stage.set(word.raw.slice(0, eq), known(substitute(word.raw.slice(eq + 1), stageLookup, syntax)));
        }
        break;
      }
      case 'copy': {
        for (const flag of splitFlags(words).flags) {
          if (flag.name !== 'from') continue;
          // BuildKit refuses variables in COPY --from: any is unresolved, only quotes are removed.
          const value = substitute(flag.value, () => 'unknown', syntax);
          if (value === undefined || value === '' || isScratch(value) || isStage(value, allStages)) continue;
          report(value, spanOf(line, flag.valueStart, flag.value));
        }
        break;
      }
      case 'run': {
        for (const flag of splitFlags(words).flags) {
          if (flag.name !== 'mount') continue;
          for (const field of csvFields(flag.value)) {
            if (field.key.toLowerCase() !== 'from') continue;
            const value = substitute(field.value, stageLookup, syntax);
            if (value === undefined || value === '' || isScratch(value) || isStage(value, allStages)) continue;
            report(value, spanOf(line, flag.valueStart + field.valueStart, field.value));
          }
        }
        break;
      }
    }
  }
  return uses;
}

function known(value: string | undefined): Variable {
  return value === undefined ? 'unknown' : { value };
}

function stageName(words: readonly Word[]): string | undefined {
  const { args } = splitFlags(words);
  return args.length >= 3 && args[1].raw.toLowerCase() === 'as' ? args[2].raw.toLowerCase() : undefined;
}

interface Flag {
  readonly name: string;
  readonly value: string;
  /** Index of the value in the logical line. */
  readonly valueStart: number;
}

/** Leading `--name=value` words are flags (as BuildKit's `extractBuilderFlags`); the rest are arguments. */
function splitFlags(words: readonly Word[]): { flags: Flag[]; args: readonly Word[] } {
  const flags: Flag[] = [];
  let i = 0;
  for (; i < words.length && words[i].raw.startsWith('--'); i++) {
    const { raw, start } = words[i];
    const eq = raw.indexOf('=');
    const name = (eq < 0 ? raw.slice(2) : raw.slice(2, eq)).toLowerCase();
    flags.push({ name, value: eq < 0 ? '' : raw.slice(eq + 1), valueStart: eq < 0 ? start + raw.length : start + eq + 1 });
  }
  return { flags, args: words.slice(i) };
}

/** The `key=value` fields of a `--mount` value (CSV, as BuildKit reads it), with where each value starts. */
function csvFields(value: string): { key: string; value: string; valueStart: number }[] {
  const fields: { key: string; value: string; valueStart: number }[] = [];
  let start = 0;
  while (start <= value.length) {
    let end = start;
    let quoted = false;
    while (end < value.length && (quoted || value[end] !== ',')) {
      if (value[end] === '"') quoted = !quoted;
      end++;
    }
    let field = value.slice(start, end);
    let fieldStart = start;
    if (field.length >= 2 && field.startsWith('"') && field.endsWith('"')) {
      field = field.slice(1, -1).replace(/""/g, '"');
      fieldStart += 1;
    }
    const eq = field.indexOf('=');
    if (eq > 0) fields.push({ key: field.slice(0, eq).trim(), value: field.slice(eq + 1), valueStart: fieldStart + eq + 1 });
    start = end + 1;
  }
  return fields;
}

/** Where a word is written: inside its quotes when the whole word is quoted; clipped to its first line. */
function spanOf(line: LogicalLine, start: number, raw: string): Span | undefined {
  let from = start;
  let to = start + raw.length;
  if (raw.length >= 2 && (raw[0] === '"' || raw[0] === "'") && raw[raw.length - 1] === raw[0]) {
    from += 1;
    to -= 1;
  }
  if (from >= to || to > line.offsets.length) return undefined;
  const offset = line.offsets[from];
  let end = offset + 1;
  for (let i = from + 1; i < to && line.offsets[i] === end; i++) end++;
  return { offset, length: end - offset };
}

interface PhysicalLine {
  /** Without its line break. */
  readonly text: string;
  readonly offset: number;
}

function physicalLines(text: string): PhysicalLine[] {
  const lines: PhysicalLine[] = [];
  let offset = 0;
  while (offset <= text.length) {
    const nl = text.indexOf('\n', offset);
    const end = nl < 0 ? text.length : nl;
    const content = text.slice(offset, end);
    lines.push({ text: content.endsWith('\r') ? content.slice(0, -1) : content, offset });
    if (nl < 0) break;
    offset = nl + 1;
  }
  return lines;
}

/** The escape character from the `# escape=` parser directive (only in the leading directive lines). */
function escapeCharacter(lines: readonly PhysicalLine[]): string {
  let escape = '\\';
  const seen = new Set<string>();
  for (const line of lines) {
    const trimmed = line.text.trimStart();
    if (!trimmed.startsWith('#')) break;
    const directive = parseDirective(trimmed.slice(1));
    if (!directive) break;
    const key = directive.key.toLowerCase();
    if (!['syntax', 'escape', 'check'].includes(key) || seen.has(key)) break;
    seen.add(key);
    if (key === 'escape' && (directive.value === '`' || directive.value === '\\')) escape = directive.value;
  }
  return escape;
}

/**
 * `key=value` after a directive's `#`: a name (a letter, then letters and digits), `=`, and a
 * non-empty value on one line, whitespace around each trimmed. Scanned by hand: the regular
 * expression this replaces backtracked quadratically over whitespace inside the value.
 */
function parseDirective(text: string): { key: string; value: string } | undefined {
  const rest = text.trimStart();
  let end = 0;
  if (!isAsciiLetter(rest.charCodeAt(0))) return undefined;
  while (end < rest.length && (isAsciiLetter(rest.charCodeAt(end)) || isAsciiDigit(rest.charCodeAt(end)))) end++;
  const key = rest.slice(0, end);
  const afterKey = rest.slice(end).trimStart();
  if (!afterKey.startsWith('=')) return undefined;
  const value = afterKey.slice(1).trim();
  if (value === '' || /[\n\r\u2028\u2029]/.test(value)) return undefined;
  return { key, value };
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isAsciiDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isComment(text: string): boolean {
  return text.trimStart().startsWith('#');
}

function parseInstructions(lines: readonly PhysicalLine[], escape: string): Instruction[] {
  const e = escape === '\\' ? '\\\\' : escape;
  const continuation = new RegExp(`(^|[^${e}])${e}[ \\t]*$`);
  const instructions: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i++];
    const lead = first.text.length - first.text.trimStart().length;
    if (first.text.trim() === '' || isComment(first.text)) continue;
    let text = '';
    const offsets: number[] = [];
    const append = (line: PhysicalLine, from: number): boolean => {
      const match = continuation.exec(line.text);
      const end = match ? match.index + match[1].length : line.text.length;
      for (let k = from; k < end; k++) offsets.push(line.offset + k);
      text += line.text.slice(from, end);
      return match !== null;
    };
    let continued = append(first, lead);
    while (continued && i < lines.length) {
      const next = lines[i++];
      if (isComment(next.text) || next.text.trim() === '') continue;
      continued = append(next, 0);
    }
    const line: LogicalLine = { text, offsets };
    const all = splitWords(text, 0, escape);
    if (all.length === 0) continue;
    const keyword = all[0].raw.toLowerCase();
    const words = all.slice(1);
    instructions.push({ keyword, line, words });

    // Heredocs (RUN, COPY, ADD, and those after ONBUILD): their bodies are not instructions.
    const inner = keyword === 'onbuild' ? words[0]?.raw.toLowerCase() : keyword;
    if ((inner === 'run' || inner === 'copy' || inner === 'add') && text.includes('<<')) {
      const rest = keyword === 'onbuild' ? words.slice(1) : words;
      const args = splitFlags(rest).args;
      if (args[0]?.raw.startsWith('[')) continue; // exec form
      for (const word of args) {
        const match = HEREDOC.exec(word.raw);
        if (!match) continue;
        const name = match[3].replace(/["']/g, '');
        if (name === '') continue;
        const chomp = match[2] === '-';
        while (i < lines.length) {
          const body = lines[i++].text;
          if ((chomp ? body.replace(/^\t+/, '') : body) === name) break;
        }
      }
    }
  }
  return instructions;
}

/** Words separated by unquoted whitespace; quotes and escapes are kept in `raw`. */
function splitWords(text: string, from: number, escape: string): Word[] {
  const words: Word[] = [];
  let i = from;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) break;
    const start = i;
    let quote: string | undefined;
    while (i < text.length) {
      const c = text[i];
      if (quote === undefined && /\s/.test(c)) break;
      if (c === escape && quote !== "'") {
        i += 2;
        continue;
      }
      if (quote === undefined && (c === '"' || c === "'")) quote = c;
      else if (c === quote) quote = undefined;
      i++;
    }
    i = Math.min(i, text.length);
    words.push({ raw: text.slice(start, i), start });
  }
  return words;
}
