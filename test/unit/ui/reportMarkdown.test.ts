import { strict as assert } from 'node:assert';
import { code, renderReport, text } from '../../../src/ui/reportMarkdown';
import type { Evidence } from '../../../src/core/verify/result';
import { resultOf } from '../../../src/core/verify/result';

const evidence: Evidence = {
  kind: 'sigstore-bundle',
  companion: '/w/a.txt.sigstore.json',
  state: 'failed',
  summary: 'Failed: signature mismatch',
  checks: [
    { id: 'parse', title: 'Companion is JSON', outcome: 'passed' },
    { id: 'signature', title: 'Signature matches the file', outcome: 'failed', detail: 'signature verification failed' },
  ],
  failure: { check: 'signature', message: 'signature verification failed', remedy: 'Get the original file.' },
  signer: {
    kind: 'certificate',
    identity: 'evil](javascript:alert(1)) <img src=x onerror=alert(1)>',
    issuer: 'https://issuer.example.test',
    extensions: [{ oid: '1.3.6.1.4.1.57264.1.12', name: 'Source Repository URI', value: 'https://example.test/a|b' }],
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2026-01-01T00:10:00Z'),
    certificateIssuer: 'O=sigstore.dev, CN=sigstore-intermediate',
    serialNumber: '01ab',
  },
  tlogEntries: [{ logId: 'abcd', logIndex: '42', kind: 'hashedrekord 0.0.1', integratedTime: new Date('2026-01-01T00:01:00Z'), inclusionPromise: true }],
  timestamps: [{ source: 'transparency-log', time: new Date('2026-01-01T00:01:00Z') }],
  trustedRoot: { source: 'Sigstore public-good', ignored: [] },
  notes: [],
};

describe('verification report (Markdown)', () => {
  const report = renderReport(resultOf('/w/a.txt', [evidence], new Date('2026-01-02T00:00:00Z')));

  it('names the failed check, the reason and the remedy', () => {
    assert.match(report, /\*\*Result: Failed\*\* \(`failed`\)/);
    assert.match(report, /Check: \*\*Signature matches the file\*\* \(`signature`\)/);
    assert.match(report, /What you can do: Get the original file\\\./);
  });

  it('shows signer, certificate extensions, log entry and trusted root', () => {
    assert.match(report, /Issuer: `https:\/\/issuer\.example\.test`/);
    assert.match(report, /Source Repository URI \(1\.3\.6\.1\.4\.1\.57264\.1\.12\) \| https:\/\/example\\\.test\/a\\\|b \|/);
    assert.match(report, /Log index `42`/);
    assert.match(report, /Inclusion promise \(signed entry timestamp\): present/);
    assert.match(report, /Sigstore public\\-good/);
    assert.match(report, /as claimed by the evidence, not verified/);
  });

  it('cannot be broken out of by text from the evidence', () => {
    // Markdown renders a code span's content as text, so HTML may appear only inside one.
    const outsideCode = report.replace(/`+[^`]*`+/g, '');
    assert.ok(report.includes('<img'), 'the identity is shown');
    assert.ok(!outsideCode.includes('<img'), 'raw HTML must not pass through');
    assert.equal(text('a<b>[c](d)'), 'a\\<b\\>\\[c\\]\\(d\\)');
    assert.equal(code('x`y'), '``x`y``');
    assert.equal(code('`'), '`` ` ``');
  });
});
