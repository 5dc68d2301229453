import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParsedCompanions } from '../../../src/core/artifacts/parsedCompanions';

describe('ParsedCompanions', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sigstore-parsed-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('parses a file once for many reads, and again once it is written', async () => {
    const parsed: string[] = [];
    const files = new ParsedCompanions((text) => (parsed.push(text), text.length), 1024);
    const path = join(dir, 'SHA256SUMS');
    await writeFile(path, 'one');
    const reads = await Promise.all(Array.from({ length: 200 }, () => files.read(path)));
    assert.ok(reads.every((n) => n === 3));
    assert.deepEqual(parsed, ['one'], 'one parse for 200 files named');
    await writeFile(path, 'three');
    assert.equal(await files.read(path), 5);
    assert.deepEqual(parsed, ['one', 'three']);
  });

  it('keeps only the most recent files, and forgets a failed read', async () => {
    let parses = 0;
    const files = new ParsedCompanions(() => ++parses, 4, 2);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, n));
    for (const p of [a!, b!, c!]) await writeFile(p, 'x');
    await files.read(a!);
    await files.read(b!);
    await files.read(c!);
    assert.equal(parses, 3);
    await files.read(c!);
    assert.equal(parses, 3, 'c is still kept');
    await files.read(a!);
    assert.equal(parses, 4, 'a was dropped to keep two');
    await writeFile(b!, 'too large');
    await assert.rejects(files.read(b!), /more than the 4 B/);
    await writeFile(b!, 'ok');
    await files.read(b!);
    assert.equal(parses, 5);
  });
});
