/**
 * JSON and base64 read as strictly as the verifiers others use (cosign, sigstore-go) read
 * them, so a companion never means one thing here and another there (a parser differential):
 * a key twice in one object, nesting deeper than any bundle needs, and base64 with junk or
 * blanks are refused, where `JSON.parse` and `Buffer.from(…, 'base64')` quietly pick a reading.
 */
import { createScanner } from 'jsonc-parser';
import { SigstoreError } from '../errors';

/** Deeper than any bundle, envelope or statement nests; deeper still stops before anything recursive meets it. */
export const MAX_JSON_DEPTH = 64;

/**
 * How a reader matches an object's keys, so "twice" means what it means there:
 * `exact`; `go-struct` (Go's encoding/json fills struct fields case-insensitively, with Unicode
 * folding: `Cert`, `cert` and `ceRT` are one field); `protojson` (a field by its JSON name or
 * its proto name: `rawBytes` and `raw_bytes` are one field).
 */
export type KeyMatching = 'exact' | 'go-struct' | 'protojson';

export interface StrictJsonOptions {
  readonly keys?: KeyMatching;
  /** Objects nested at most this deep are matched by `keys`; deeper ones (free-form maps) exactly. Default: all. */
  readonly structDepth?: number;
}

/** The text is JSON that other verifiers would read differently, or not at all. */
export class StrictJsonError extends SigstoreError {
  constructor(message: string) {
    super('JSON_AMBIGUOUS', message, 'The file is damaged or was written to mislead a verifier. Get it again from its signer.');
  }
}

// jsonc-parser's SyntaxKind is a const enum, which isolated modules cannot import.
const OPEN_BRACE = 1;
const CLOSE_BRACE = 2;
const OPEN_BRACKET = 3;
const CLOSE_BRACKET = 4;
const COMMA = 5;
const STRING = 10;
const EOF = 17;

interface Level {
  /** The keys seen so far in an object (as matched); undefined in an array. */
  readonly keys?: Set<string>;
  expectKey: boolean;
}

/**
 * `JSON.parse(text)` after one linear, non-recursive scan that refuses duplicate keys and
 * nesting deeper than MAX_JSON_DEPTH (`StrictJsonError`). Syntax errors are `JSON.parse`'s.
 */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  const matching = options.keys ?? 'exact';
  const structDepth = options.structDepth ?? MAX_JSON_DEPTH;
  const scanner = createScanner(text, true);
  const levels: Level[] = [];
  for (let token = scanner.scan(); token !== EOF; token = scanner.scan()) {
    const top = levels[levels.length - 1];
    switch (token) {
      case OPEN_BRACE:
      case OPEN_BRACKET:
        if (levels.length >= MAX_JSON_DEPTH) {
          throw new StrictJsonError(`The JSON nests deeper than ${MAX_JSON_DEPTH} levels (at character ${scanner.getTokenOffset()}), which no Sigstore file does.`);
        }
        levels.push(token === OPEN_BRACE ? { keys: new Set(), expectKey: true } : { expectKey: false });
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        levels.pop();
        break;
      case COMMA:
        if (top?.keys) top.expectKey = true;
        break;
      case STRING:
        if (top?.keys && top.expectKey) {
          top.expectKey = false;
          const key = matchedKey(scanner.getTokenValue(), levels.length <= structDepth ? matching : 'exact');
          if (top.keys.has(key)) {
            throw new StrictJsonError(
              `The JSON has the same key twice in one object (at character ${scanner.getTokenOffset()}): verifiers disagree on which one counts, so neither does.`,
            );
          }
          top.keys.add(key);
        }
        break;
    }
  }
  return JSON.parse(text);
}

function matchedKey(key: string, matching: KeyMatching): string {
  switch (matching) {
    case 'exact':
      return key;
    case 'go-struct':
      // Upper then lower case folds as Go's EqualFold does for the letters that matter here (ſ, K).
      return key.toUpperCase().toLowerCase();
    case 'protojson':
      return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  }
}

const STANDARD_ALPHABET = /^[A-Za-z0-9+/]*$/;
const URL_ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Without the CR and LF Go's base64 decoders skip wherever they are. */
function withoutLineBreaks(text: string): string {
  return text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, '') : text;
}

/** `body` (no padding) and its `=` padding: at most two, at the end only. */
function splitPadding(text: string): { body: string; padding: number } | undefined {
  let end = text.length;
  while (end > 0 && text[end - 1] === '=') end--;
  const padding = text.length - end;
  return padding > 2 ? undefined : { body: text.slice(0, end), padding };
}

/**
 * Go's `base64.StdEncoding.DecodeString`, which cosign uses for `.sig` files and for the
 * fields of its own bundles: the standard alphabet, padded, CR and LF ignored anywhere; no
 * other blanks or characters. Undefined when Go would refuse the text.
 */
export function decodeStdBase64(text: string): Buffer | undefined {
  const parts = splitPadding(withoutLineBreaks(text));
  if (!parts || !STANDARD_ALPHABET.test(parts.body)) return undefined;
  const { body, padding } = parts;
  if ((body.length + padding) % 4 !== 0 || (padding > 0 && body.length % 4 !== 4 - padding)) return undefined;
  return Buffer.from(body, 'base64');
}

/**
 * Whether protojson (sigstore-go, so cosign's `.sigstore.json`) reads `text` as bytes:
 * standard or, with `-` or `_`, URL-safe alphabet; padded when the length is a multiple of
 * four, unpadded otherwise; CR and LF ignored. `Buffer.from` reads any text at all.
 */
export function isProtojsonBase64(text: string): boolean {
  const url = text.includes('-') || text.includes('_');
  const padded = text.length % 4 === 0;
  const parts = splitPadding(withoutLineBreaks(text));
  if (!parts || !(url ? URL_ALPHABET : STANDARD_ALPHABET).test(parts.body)) return false;
  const { body, padding } = parts;
  if (!padded) return padding === 0 && body.length % 4 !== 1;
  return (body.length + padding) % 4 === 0 && (padding === 0 || body.length % 4 === 4 - padding);
}
