import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify } from '../../../src/core/artifacts/companions';
import { isWithin, outsideRoots } from '../../../src/core/artifacts/workspaceBoundary';
import { verifyArtifact } from '../../../src/core/verify/artifactVerifier';
import { companionTargets } from '../../../src/core/verify/companionVerifier';
import { assertNoMarker, MARKER } from '../../support/planted-marker';

const DATA = Buffer.from('the artifact\n');
const SHA256 = createHash('sha256').update(DATA).digest('hex');
const OPTIONS = { policy: { kind: 'none' as const }, trustedRoot: { error: 'no root in this test', remedy: 'none' }, network: { allowed: false, rekorURL: 'http://127.0.0.1:9' } };

describe('files outside the workspace, by their real path', () => {
  let dir: string;
  let ws: string;
  let outside: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-boundary-'));
    ws = join(dir, 'ws');
    outside = join(dir, 'outside');
    await mkdir(ws);
    await mkdir(outside);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const companion = (path: string) => classify(path)!.companion;
  const verify = (artifact: string, companions: string[], roots: string[] | 'no boundary' = [ws]) =>
    verifyArtifact(artifact, companions.map(companion), { ...OPTIONS, allowedRoots: roots === 'no boundary' ? undefined : roots });

  it('refuses a file under a linked folder, not only a link itself', async () => {
    await writeFile(join(outside, 'app.txt'), DATA);
    await writeFile(join(outside, 'app.txt.sha256'), `${SHA256}  app.txt\n`);
    await symlink(outside, join(ws, 'linked'));
    const result = await verify(join(ws, 'linked', 'app.txt'), [join(ws, 'linked', 'app.txt.sha256')]);
    assert.equal(result.state, 'unverifiable', result.summary);
    assert.equal(result.evidence[0]?.failure?.check, 'read');
    assert.match(result.summary, /linked\/app\.txt leads through a symbolic link to .*outside\/app\.txt, outside the workspace, so it was not read/);
    assert.match(result.evidence[0]!.failure!.remedy, /Copy the file into the workspace/);
    assert.equal(result.evidence[0]?.kind, 'checksum');
    // No roots (the conformance CLI, tests): no boundary.
    assert.equal((await verify(join(ws, 'linked', 'app.txt'), [join(ws, 'linked', 'app.txt.sha256')], 'no boundary')).state, 'integrity');
  });

  it('refuses a companion linked outside without reading it, so nothing of it is quoted', async () => {
    await writeFile(join(ws, 'app.txt'), DATA);
    await writeFile(join(outside, 'token.json'), `{"token": ${MARKER}}`);
    await symlink(join(outside, 'token.json'), join(ws, 'app.txt.sigstore.json'));
    const result = await verify(join(ws, 'app.txt'), [join(ws, 'app.txt.sigstore.json')]);
    assert.equal(result.state, 'unverifiable');
    assert.match(result.summary, /outside the workspace/);
    assertNoMarker(result, 'a refused link');
  });

  it('a refused link never hides a failure, nor lifts anything', async () => {
    await writeFile(join(ws, 'app.txt'), DATA);
    await writeFile(join(ws, 'app.txt.sha256'), `${'0'.repeat(64)}  app.txt\n`);
    await writeFile(join(outside, 'app.txt.sha512'), 'whatever');
    await symlink(join(outside, 'app.txt.sha512'), join(ws, 'app.txt.sha512'));
    const result = await verify(join(ws, 'app.txt'), [join(ws, 'app.txt.sha256'), join(ws, 'app.txt.sha512')]);
    assert.equal(result.state, 'failed', result.summary);
    assert.deepEqual(result.evidence.map((e) => e.state), ['failed', 'unverifiable']);
  });

  it('follows links that stay inside the workspace, and a workspace folder that is itself a link', async () => {
    await mkdir(join(ws, 'real'));
    await writeFile(join(ws, 'real', 'app.txt'), DATA);
    await writeFile(join(ws, 'real', 'app.txt.sha256'), `${SHA256}  app.txt\n`);
    await symlink(join(ws, 'real'), join(ws, 'alias'));
    assert.equal((await verify(join(ws, 'alias', 'app.txt'), [join(ws, 'alias', 'app.txt.sha256')])).state, 'integrity');
    await symlink(ws, join(dir, 'ws-link'));
    const viaLink = join(dir, 'ws-link', 'real');
    assert.equal((await verify(join(viaLink, 'app.txt'), [join(viaLink, 'app.txt.sha256')], [join(dir, 'ws-link')])).state, 'integrity');
  });

  it('refuses a cosign certificate linked outside, and reads no list or attestations linked outside', async () => {
    await writeFile(join(ws, 'app.txt'), DATA);
    await writeFile(join(ws, 'app.txt.sig'), Buffer.from('a signature').toString('base64'));
    await writeFile(join(outside, 'cert.pem'), `-----BEGIN ${MARKER}-----\nAAAA\n-----END ${MARKER}-----\n`);
    await symlink(join(outside, 'cert.pem'), join(ws, 'app.txt.pem'));
    const result = await verify(join(ws, 'app.txt'), [join(ws, 'app.txt.sig'), join(ws, 'app.txt.pem')]);
    assert.equal(result.state, 'unverifiable', result.summary);
    assert.match(result.summary, /app\.txt\.pem leads through a symbolic link/);
    assertNoMarker(result, 'a refused certificate');

    await writeFile(join(outside, 'SHA256SUMS'), `${SHA256}  app.txt\n`);
    await symlink(join(outside, 'SHA256SUMS'), join(ws, 'SHA256SUMS'));
    assert.deepEqual(await companionTargets(companion(join(ws, 'SHA256SUMS')), [ws]), []);
    assert.deepEqual(await companionTargets(companion(join(ws, 'SHA256SUMS'))), [join(ws, 'app.txt')]);
  });

  it('compares whole path components', () => {
    assert.ok(isWithin('/a/ws', '/a/ws'));
    assert.ok(isWithin('/a/ws', '/a/ws/x/y'));
    assert.ok(!isWithin('/a/ws', '/a/ws2/x'));
    assert.ok(!isWithin('/a/ws', '/a'));
    assert.ok(isWithin('/a/ws', '/a/ws/..x'));
  });

  it('a missing file is no refusal: the verifiers report it', async () => {
    assert.equal(await outsideRoots(join(ws, 'nope'), [ws]), undefined);
  });
});
