import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompanionWriteError, writeCompanion, writeCompanions } from '../../../src/core/sign/companionWriter';

const isCode = (code: string) => (e: unknown) => e instanceof CompanionWriteError && e.code === code;

describe('writing companion files (core)', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-companion-writer-'));
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Everything in the folder: no temp file may ever be left behind. */
  const listing = async () => (await readdir(dir)).sort();

  it('writes a new file (string or bytes), leaving nothing else', async () => {
    await writeCompanion(join(dir, 'F.sig'), 'MEUCIQ==\n', { overwrite: false });
    await writeCompanion(join(dir, 'F.raw'), Buffer.from([0, 1, 2, 255]), { overwrite: false });
    assert.equal(await readFile(join(dir, 'F.sig'), 'utf8'), 'MEUCIQ==\n');
    assert.deepEqual(await readFile(join(dir, 'F.raw')), Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(await listing(), ['F.raw', 'F.sig']);
  });

  it('refuses to replace an existing file unless asked (EXISTS), and then replaces it', async () => {
    await writeFile(join(dir, 'F.sig'), 'old');
    await assert.rejects(writeCompanion(join(dir, 'F.sig'), 'new', { overwrite: false }), isCode('EXISTS'));
    assert.equal(await readFile(join(dir, 'F.sig'), 'utf8'), 'old');
    assert.deepEqual(await listing(), ['F.sig']);
    await writeCompanion(join(dir, 'F.sig'), 'new', { overwrite: true });
    assert.equal(await readFile(join(dir, 'F.sig'), 'utf8'), 'new');
    assert.deepEqual(await listing(), ['F.sig']);
  });

  it('a link, even a dangling one, counts as existing', async () => {
    await symlink(join(dir, 'nowhere'), join(dir, 'F.sig'));
    await assert.rejects(writeCompanion(join(dir, 'F.sig'), 'new', { overwrite: false }), isCode('EXISTS'));
    assert.deepEqual(await listing(), ['F.sig']);
  });

  it('two writers racing without overwrite: exactly one wins, the other gets EXISTS', async () => {
    const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((c) => writeCompanion(join(dir, 'F.sig'), c.repeat(1000), { overwrite: false })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(isCode('EXISTS')(r.reason));
    const content = await readFile(join(dir, 'F.sig'), 'utf8');
    assert.match(content, /^(a{1000}|b{1000}|c{1000}|d{1000})$/);
    assert.deepEqual(await listing(), ['F.sig']);
  });

  it('files that belong together are placed as one: when the second cannot be, the first is taken back', async () => {
    await writeFile(join(dir, 'F.sigstore.json'), 'old bundle');
    // F.sig is a folder: placing the new F.sig fails after the new bundle was placed.
    await mkdir(join(dir, 'F.sig'));
    await assert.rejects(
      writeCompanions([{ path: join(dir, 'F.sigstore.json'), bytes: 'new bundle' }, { path: join(dir, 'F.sig'), bytes: 'new sig' }], { overwrite: true }),
      isCode('WRITE_FAILED'),
    );
    assert.equal(await readFile(join(dir, 'F.sigstore.json'), 'utf8'), 'old bundle', 'the old bundle is back');
    assert.deepEqual(await listing(), ['F.sig', 'F.sigstore.json'], 'no temp or backup file left');

    await rm(join(dir, 'F.sig'), { recursive: true });
    await writeCompanions([{ path: join(dir, 'k.key'), bytes: 'secret', mode: 0o600 }, { path: join(dir, 'k.pub'), bytes: 'public' }], { overwrite: false });
    await assert.rejects(writeCompanions([{ path: join(dir, 'x.key'), bytes: 'a' }, { path: join(dir, 'k.pub'), bytes: 'b' }], { overwrite: false }), isCode('EXISTS'));
    assert.deepEqual(await listing(), ['F.sigstore.json', 'k.key', 'k.pub'], 'nothing of a refused pair was written');
    const { stat } = await import('node:fs/promises');
    assert.equal((await stat(join(dir, 'k.key'))).mode & 0o777, 0o600);
    await writeCompanions([{ path: join(dir, 'k.key'), bytes: 'secret 2', mode: 0o600 }, { path: join(dir, 'k.pub'), bytes: 'public 2' }], { overwrite: true });
    assert.equal(await readFile(join(dir, 'k.pub'), 'utf8'), 'public 2');
    assert.deepEqual(await listing(), ['F.sigstore.json', 'k.key', 'k.pub']);
  });

  it('a failed write leaves the old content and no temp file', async () => {
    // Replacing a folder fails at the rename, after the temp file was written.
    await mkdir(join(dir, 'F.sig'));
    await writeFile(join(dir, 'F.sig', 'inside'), 'keep');
    await assert.rejects(writeCompanion(join(dir, 'F.sig'), 'new', { overwrite: true }), isCode('WRITE_FAILED'));
    assert.equal(await readFile(join(dir, 'F.sig', 'inside'), 'utf8'), 'keep');
    assert.deepEqual(await listing(), ['F.sig']);
    // A folder that does not exist: nothing is created anywhere.
    await assert.rejects(writeCompanion(join(dir, 'missing', 'F.sig'), 'x', { overwrite: true }), isCode('WRITE_FAILED'));
    assert.deepEqual(await listing(), ['F.sig']);
  });
});
