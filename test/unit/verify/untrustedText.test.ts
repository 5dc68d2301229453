import { strict as assert } from 'node:assert';
import { firstSyntaxError, parseJsonText, withoutValues } from '../../../src/core/untrustedText';

describe('messages about untrusted text', () => {
  it('says where JSON breaks (line, column), never what it holds', () => {
    const cases: [string, string][] = [
      ['{"a": SECRET}', 'is not valid JSON (line 1, column 7)'],
      ['{"a": 1,\n  "b": [1, 2,]\n}', 'is not valid JSON (line 2, column 14)'],
      ['{"a": "x\u0001"}', 'is not valid JSON (line 1, column 9)'],
      ['{"a": "\\q"}', 'is not valid JSON (line 1, column 8)'],
      ['[01]', 'is not valid JSON (line 1, column 3)'],
      ['{"a": 1} trailing', 'is not valid JSON (line 1, column 10)'],
      ['{"a": [1,\n2', 'is not valid JSON (it ends early, on line 2)'],
      ['"unterminated', 'is not valid JSON (it ends early, on line 1)'],
      ['  \n', 'is empty, not JSON'],
    ];
    for (const [text, problem] of cases) {
      const parsed = parseJsonText(text);
      assert.deepEqual(parsed, { ok: false, problem }, text);
    }
    assert.deepEqual(parseJsonText('{"a": [1, {"b": null}], "c": "\\u00e9"}'), { ok: true, value: { a: [1, { b: null }], c: 'é' } });
  });

  it('finds the error in one pass, however deep the nesting', () => {
    assert.equal(firstSyntaxError('['.repeat(200_000)), 200_000);
    assert.equal(firstSyntaxError(`${'['.repeat(100_000)}x`), 100_000);
  });

  it('drops the values libraries print after a colon or dash, and messages that quote', () => {
    assert.equal(withoutValues(new Error('unsupported hashedrekord version: SECRET')), 'unsupported hashedrekord version');
    assert.equal(withoutValues(new Error('kind/version mismatch - expected: a/b, received: SECRET')), 'kind/version mismatch');
    assert.equal(withoutValues(new Error('Unrecognized enum value SECRET for enum HashAlgorithm')), 'a value that is not a known HashAlgorithm');
    assert.equal(withoutValues(new Error('Unexpected token \'S\', "SECRET" is not valid JSON')), 'an error in the file\'s structure');
    assert.equal(withoutValues(new Error('signature verification failed')), 'signature verification failed');
  });
});
