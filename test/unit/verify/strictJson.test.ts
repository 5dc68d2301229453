import { strict as assert } from 'node:assert';
import { decodeStdBase64, isProtojsonBase64, MAX_JSON_DEPTH, parseStrictJson, StrictJsonError } from '../../../src/core/verify/strictJson';

describe('strict JSON and base64 (what cosign and sigstore-go accept)', () => {
  describe('parseStrictJson', () => {
    it('reads what JSON.parse reads when no key repeats', () => {
      const text = '{"a": [1, {"b": "x", "c": null}], "d": {"a": true}, "e": "\\"a\\""}';
      assert.deepEqual(parseStrictJson(text), JSON.parse(text));
      assert.deepEqual(parseStrictJson('[{"a": 1}, {"a": 2}]'), [{ a: 1 }, { a: 2 }], 'the same key in sibling objects is no duplicate');
      assert.equal(parseStrictJson('"a"'), 'a');
    });

    it('refuses a key twice in one object, however it is spelled, at any depth', () => {
      for (const text of ['{"a": 1, "a": 2}', '{"x": {"sig": "A", "y": 1, "sig": "B"}}', '[{"a": 1}, {"b": 1, "b": 2}]', '{"a": 1, "\\u0061": 2}']) {
        assert.throws(() => parseStrictJson(text), StrictJsonError, text);
      }
    });

    it('does not quote the file in its message', () => {
      assert.throws(
        () => parseStrictJson('{"secretKeyName": 1, "secretKeyName": 2}'),
        (e: Error) => e instanceof StrictJsonError && !e.message.includes('secretKeyName') && /twice/.test(e.message),
      );
    });

    it('matches keys as Go structs do (case-insensitively) or as protojson does (JSON or proto name), where asked', () => {
      assert.deepEqual(parseStrictJson('{"cert": 1, "Cert": 2}'), { cert: 1, Cert: 2 });
      for (const text of ['{"cert": 1, "Cert": 2}', '{"base64Signature": 1, "BASE64SIGNATURE": 2}', '{"signature": 1, "ſignature": 2}']) {
        assert.throws(() => parseStrictJson(text, { keys: 'go-struct' }), StrictJsonError, text);
      }
      assert.throws(() => parseStrictJson('{"rawBytes": "", "raw_bytes": ""}', { keys: 'protojson' }), StrictJsonError);
      assert.deepEqual(parseStrictJson('{"a": {"k": 1, "K": 2}}', { keys: 'go-struct', structDepth: 1 }), { a: { k: 1, K: 2 } }, 'free-form maps below the struct depth match exactly');
    });

    it('refuses nesting beyond the bound without recursing, even 10,000 deep', () => {
      const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
      assert.deepEqual(parseStrictJson(deep(MAX_JSON_DEPTH)), JSON.parse(deep(MAX_JSON_DEPTH)));
      assert.throws(() => parseStrictJson(deep(MAX_JSON_DEPTH + 1)), StrictJsonError);
      assert.throws(() => parseStrictJson('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)), StrictJsonError);
    });

    it('leaves syntax errors to JSON.parse', () => {
      assert.throws(() => parseStrictJson('{"a": '), SyntaxError);
      assert.throws(() => parseStrictJson('{"a": 1} // comment'), SyntaxError);
    });
  });

  describe('decodeStdBase64 (Go StdEncoding)', () => {
    it('decodes padded standard base64, skipping CR and LF anywhere', () => {
      assert.deepEqual(decodeStdBase64('aGVsbG8='), Buffer.from('hello'));
      assert.deepEqual(decodeStdBase64('aGVs\r\nbG8=\n'), Buffer.from('hello'));
      assert.deepEqual(decodeStdBase64('aGk='), Buffer.from('hi'));
      assert.deepEqual(decodeStdBase64(''), Buffer.alloc(0));
    });

    it('refuses blanks, junk, URL-safe letters, missing or misplaced padding', () => {
      for (const text of ['aGVs bG8=', 'aGVsbG8=\t', ' aGVsbG8=', 'aGVsbG8=!', 'aGVsbG8', 'aGVsbG8==', 'aG=VsbG8', 'a-_b', 'aGVsbG8===', '\u00a0aGk=']) {
        assert.equal(decodeStdBase64(text), undefined, JSON.stringify(text));
      }
    });
  });

  describe('isProtojsonBase64', () => {
    it('accepts standard or URL-safe, padded or (when not a multiple of four) unpadded', () => {
      for (const text of ['aGVsbG8=', 'aGVsbG8', 'aGk', '-_-_', '-_8', '', 'aGVsbG8=\r\n\r\n']) assert.ok(isProtojsonBase64(text), JSON.stringify(text));
    });

    it('refuses what protojson refuses', () => {
      for (const text of ['aGVs bG8=', 'aGVsbG8=!', 'aGVsbG8==', '-_+/', 'a', 'aGVsbG8=====', 'aG=k', 'aGVsbG8=\t', 'aGVs\nbG8=']) {
        assert.ok(!isProtojsonBase64(text), JSON.stringify(text));
      }
    });
  });
});
