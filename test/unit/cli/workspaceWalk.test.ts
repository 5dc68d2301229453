import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { MissingPathError, walkWorkspace } from '../../../src/cli/workspaceWalk';

describe('the command line\'s folder walk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-walk-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const rel = (paths: readonly string[]) => paths.map((p) => relative(dir, p)).sort();

  it('walks each real folder once: links back up the tree are loops, not more files', async () => {
    await mkdir(join(dir, 'ws', 'sub'), { recursive: true });
    await writeFile(join(dir, 'ws', 'one.txt'), '1');
    await writeFile(join(dir, 'ws', 'sub', 'two.txt'), '2');
    await symlink('.', join(dir, 'ws', 'a'));
    await symlink('.', join(dir, 'ws', 'b'));
    await symlink('..', join(dir, 'ws', 'sub', 'up'));
    const walk = await walkWorkspace([join(dir, 'ws')]);
    assert.deepEqual(rel(walk.files), ['ws/one.txt', 'ws/sub/two.txt']);
    assert.deepEqual(walk.notes, []);
    assert.deepEqual(walk.roots, [join(dir, 'ws')]);
  });

  it('does not follow a link to a folder outside the PATHs, and says so', async () => {
    await mkdir(join(dir, 'ws'));
    await mkdir(join(dir, 'outside'));
    await writeFile(join(dir, 'outside', 'secret.txt'), 's');
    await symlink(join(dir, 'outside'), join(dir, 'ws', 'linked'));
    await symlink(join(dir, 'outside', 'secret.txt'), join(dir, 'ws', 'file-link.txt'));
    const walk = await walkWorkspace([join(dir, 'ws')]);
    // A link to a file is listed (verifying it refuses what it leads to); a linked folder is not entered.
    assert.deepEqual(rel(walk.files), ['ws/file-link.txt']);
    assert.equal(walk.notes.length, 1);
    assert.match(walk.notes[0]!, /ws\/linked is a link to a folder outside the folders given; it was not followed/);
    // Named as a PATH, the folder is the user's choice: walked.
    const named = await walkWorkspace([join(dir, 'ws', 'linked')]);
    assert.deepEqual(rel(named.files), ['ws/linked/secret.txt']);
    // A link inside the PATHs is followed.
    const both = await walkWorkspace([join(dir, 'ws'), join(dir, 'outside')]);
    assert.deepEqual(rel(both.files), ['outside/secret.txt', 'ws/file-link.txt']);
    assert.deepEqual(both.notes, []);
  });

  it('stops at the depth bound and at the entry bound, saying so', async () => {
    let deep = join(dir, 'ws');
    for (let i = 0; i < 5; i++) deep = join(deep, `d${i}`);
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'bottom.txt'), 'b');
    await writeFile(join(dir, 'ws', 'top.txt'), 't');
    const shallow = await walkWorkspace([join(dir, 'ws')], { maxDepth: 3, maxEntries: 100 });
    assert.deepEqual(rel(shallow.files), ['ws/top.txt']);
    assert.equal(shallow.notes.length, 1);
    assert.match(shallow.notes[0]!, /d3 is more than 3 folders deep; it was not walked/);
    assert.deepEqual(rel((await walkWorkspace([join(dir, 'ws')], { maxDepth: 5, maxEntries: 100 })).files), ['ws/d0/d1/d2/d3/d4/bottom.txt', 'ws/top.txt']);

    for (let i = 0; i < 10; i++) await writeFile(join(dir, 'ws', `f${i}.txt`), 'f');
    const capped = await walkWorkspace([join(dir, 'ws')], { maxDepth: 64, maxEntries: 4 });
    assert.ok(capped.files.length <= 4);
    assert.match(capped.notes.at(-1)!, /Stopped after 4 entries: files past that were not checked/);
  });

  it('rejects a PATH that does not exist; a file PATH\'s root is its folder', async () => {
    await assert.rejects(walkWorkspace([join(dir, 'nope')]), MissingPathError);
    await writeFile(join(dir, 'a.txt'), 'a');
    const walk = await walkWorkspace([join(dir, 'a.txt')]);
    assert.deepEqual(walk.files, [join(dir, 'a.txt')]);
    assert.deepEqual(walk.roots, [dir]);
  });
});
