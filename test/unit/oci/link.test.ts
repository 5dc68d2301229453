import { strict as assert } from 'node:assert';

import { parseNextLink, retryAfterSeconds } from '../../../src/core/oci/link';

describe('Link and Retry-After headers', () => {
  const base = new URL('https://r.example/v2/a/tags/list?n=2');

  it('finds rel="next", relative or absolute, among several links', () => {
    assert.equal(parseNextLink('</v2/a/tags/list?n=2&last=b>; rel="next"', base)?.toString(), 'https://r.example/v2/a/tags/list?n=2&last=b');
    assert.equal(parseNextLink('<https://r.example/v2/a/tags/list?last=c>; rel=next', base)?.toString(), 'https://r.example/v2/a/tags/list?last=c');
    assert.equal(parseNextLink('</prev>; rel="prev", </next>; title="x"; rel="next"', base)?.pathname, '/next');
    assert.equal(parseNextLink('</both>; rel="prev next"', base)?.pathname, '/both');
  });

  it('gives undefined without a next link or for junk', () => {
    for (const h of [null, undefined, '', '</x>; rel="prev"', 'garbage', '<>', '</x>', '</x>; rel="nextish"']) assert.equal(parseNextLink(h, base), undefined, String(h));
    assert.equal(parseNextLink('<http://[bad>; rel="next"', base), undefined);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(retryAfterSeconds('42', now), 42);
    assert.equal(retryAfterSeconds('Wed, 01 Jan 2025 00:01:00 GMT', now), 60);
    assert.equal(retryAfterSeconds('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
    assert.equal(retryAfterSeconds('soon', now), undefined);
    assert.equal(retryAfterSeconds(null, now), undefined);
  });
});
