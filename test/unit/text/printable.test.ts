import { strict as assert } from 'node:assert';
import { escapedText, printable } from '../../../src/core/text/printable';

describe('printable and escapedText (untrusted text shown to people)', () => {
  it('printable turns every run of control, format and separator characters into one space', () => {
    assert.equal(printable('a\r\n\x1b[2Kb\u202ec\u2028d\u200be\x85f'), 'a [2Kb c d e f');
    assert.equal(printable('  edge\t'), 'edge');
    assert.equal(printable('0123456789', 4), '0123…');
  });

  it('escapedText keeps the text exact but unambiguous', () => {
    assert.equal(escapedText('a.txt\rverified   b.txt'), 'a.txt\\rverified   b.txt');
    assert.equal(escapedText('\x1b[32m\u202e\t\n'), '\\x1b[32m\\u202e\\t\\n');
    assert.equal(escapedText('C:\\x1b'), 'C:\\\\x1b', 'a backslash in a name cannot pass for an escape');
    assert.equal(escapedText('plain ünïcode ✓'), 'plain ünïcode ✓');
  });
});
