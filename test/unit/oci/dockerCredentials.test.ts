import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  configKeyHost,
  credentialFor,
  credentialFromAuthEntry,
  dockerConfigPath,
  dockerCredentials,
  parseDockerConfig,
  spawnHelper,
  staticCredentials,
  type HelperRunner,
} from '../../../src/core/oci/dockerCredentials';
import { OciError } from '../../../src/core/oci/errors';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const isCredentialsError = (re: RegExp) => (e: unknown) => e instanceof OciError && e.code === 'CREDENTIALS' && re.test(e.message) && !!e.remedy;

/** A helper runner answering from a table (server URL → credential JSON), recording what it was asked. */
function fakeHelpers(table: Record<string, Record<string, string>>): HelperRunner & { asked: string[] } {
  const asked: string[] = [];
  const run = async (helper: string, serverUrl: string) => {
    asked.push(`${helper} ${serverUrl}`);
    const answer = table[`${helper} ${serverUrl}`];
    if (!answer) return { exitCode: 1, stdout: 'credentials not found in native keychain\n', stderr: '' };
    return { exitCode: 0, stdout: JSON.stringify(answer), stderr: '' };
  };
  return Object.assign(run, { asked });
}

describe('Docker credentials: config.json', () => {
  it('finds config.json in $DOCKER_CONFIG, else ~/.docker', () => {
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: '/cfg' }, '/home/u'), path.join('/cfg', 'config.json'));
    assert.equal(dockerConfigPath({}, '/home/u'), path.join('/home/u', '.docker', 'config.json'));
  });

  it('normalises config keys as Docker does (scheme and path dropped)', () => {
    assert.equal(configKeyHost('https://index.docker.io/v1/'), 'index.docker.io');
    assert.equal(configKeyHost('http://Registry.Example:5000/v2/'), 'registry.example:5000');
    assert.equal(configKeyHost('ghcr.io'), 'ghcr.io');
  });

  it('parses auths, credHelpers and credsStore, ignoring ill-typed parts', () => {
    const config = parseDockerConfig(JSON.stringify({ auths: { a: { auth: 'x' }, b: 'junk' }, credHelpers: { 'gcr.io': 'gcloud', bad: 5 }, credsStore: 'desktop', other: 1 }));
    assert.deepEqual(config, { auths: { a: { auth: 'x' } }, credHelpers: { 'gcr.io': 'gcloud' }, credsStore: 'desktop' });
    assert.deepEqual(parseDockerConfig('{}'), { auths: {}, credHelpers: {} });
    assert.throws(() => parseDockerConfig('{nope', '/x/config.json'), isCredentialsError(/\/x\/config\.json is not valid JSON/));
    assert.throws(() => parseDockerConfig('[]'), isCredentialsError(/not a JSON object/));
  });

  it('decodes auth entries: base64 user:pass (password may hold colons), identitytoken, registrytoken', () => {
    assert.deepEqual(credentialFromAuthEntry({ auth: b64('alice:pa:ss') }), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(credentialFromAuthEntry({ username: 'bob', password: 'pw' }), { username: 'bob', password: 'pw' });
    assert.deepEqual(credentialFromAuthEntry({ auth: b64('alice:'), identitytoken: 'refresh' }), { username: 'alice', password: '', identityToken: 'refresh' });
    assert.deepEqual(credentialFromAuthEntry({ registrytoken: 'bearer-token' }), { registryToken: 'bearer-token' });
    assert.equal(credentialFromAuthEntry({}), undefined);
    assert.throws(() => credentialFromAuthEntry({ auth: b64('no-colon') }, 'cfg', 'r.example'), isCredentialsError(/"auth" of r\.example in cfg is not base64 of user:password/));
    assert.throws(() => credentialFromAuthEntry({ auth: '!!!' }), isCredentialsError(/not base64/));
  });

  it('matches auths keys for Docker Hub and for host:port registries', async () => {
    const none = fakeHelpers({});
    const config = parseDockerConfig(
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:1') },
          'http://registry.example:5000/v2/': { auth: b64('five:2') },
          'registry.example': { auth: b64('plain:3') },
          'https://ghcr.io': { auth: b64('gh:4') },
        },
      }),
    );
    assert.deepEqual(await credentialFor(config, 'docker.io', none), { username: 'hub', password: '1' });
    assert.deepEqual(await credentialFor(config, 'registry.example:5000', none), { username: 'five', password: '2' });
    assert.deepEqual(await credentialFor(config, 'registry.example', none), { username: 'plain', password: '3' });
    assert.deepEqual(await credentialFor(config, 'ghcr.io', none), { username: 'gh', password: '4' });
    assert.equal(await credentialFor(config, 'quay.io', none), undefined);
    assert.deepEqual(none.asked, []);
  });

  it('asks credHelpers[registry] first, then credsStore, then auths; Docker Hub as https://index.docker.io/v1/', async () => {
    const helpers = fakeHelpers({
      'ecr 123.dkr.ecr.example:443': { ServerURL: 'x', Username: 'AWS', Secret: 'ecr-secret' },
      'desktop https://index.docker.io/v1/': { ServerURL: 'x', Username: 'hubby', Secret: 'hub-secret' },
      'desktop ghcr.io': { ServerURL: 'x', Username: '<token>', Secret: 'refresh-token' },
    });
    const config = parseDockerConfig(JSON.stringify({ credHelpers: { '123.dkr.ecr.example:443': 'ecr' }, credsStore: 'desktop', auths: { 'quay.io': { auth: b64('q:1') } } }));
    assert.deepEqual(await credentialFor(config, '123.dkr.ecr.example:443', helpers), { username: 'AWS', password: 'ecr-secret' });
    assert.deepEqual(await credentialFor(config, 'docker.io', helpers), { username: 'hubby', password: 'hub-secret' });
    assert.deepEqual(await credentialFor(config, 'ghcr.io', helpers), { identityToken: 'refresh-token' });
    // The store has nothing for quay.io: the auths entry is used.
    assert.deepEqual(await credentialFor(config, 'quay.io', helpers), { username: 'q', password: '1' });
    assert.equal(await credentialFor(config, 'nothing.example', helpers), undefined);
    assert.deepEqual(helpers.asked, ['ecr 123.dkr.ecr.example:443', 'desktop https://index.docker.io/v1/', 'desktop ghcr.io', 'desktop quay.io', 'desktop nothing.example']);
  });

  it('turns a failing or misbehaving helper into CREDENTIALS without quoting secrets', async () => {
    const config = parseDockerConfig(JSON.stringify({ credsStore: 'broken' }));
    const runs: Array<[HelperRunner, RegExp]> = [
      [async () => ({ exitCode: 3, stdout: '', stderr: 'keychain locked\nmore' }), /docker-credential-broken get failed for r\.example \(exit 3: keychain locked\)/],
      [async () => ({ exitCode: 0, stdout: 'not json', stderr: '' }), /not JSON/],
      [async () => ({ exitCode: 0, stdout: '{"Username":"u"}', stderr: '' }), /without a Secret/],
    ];
    for (const [run, re] of runs) await assert.rejects(credentialFor(config, 'r.example', run), isCredentialsError(re));
    await assert.rejects(credentialFor(parseDockerConfig(JSON.stringify({ credsStore: '../../bin/sh' })), 'r.example', runs[0]![0]), isCredentialsError(/not a plain name/));
  });

  it('reads the file each time: none is fine, junk is a CREDENTIALS error', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docker-cfg-'));
    try {
      const source = dockerCredentials({ env: { DOCKER_CONFIG: dir }, runHelper: fakeHelpers({}) });
      assert.equal(await source.get('ghcr.io'), undefined);
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: b64('a:b') } } }));
      assert.deepEqual(await source.get('ghcr.io'), { username: 'a', password: 'b' });
      await fs.writeFile(path.join(dir, 'config.json'), '{"auths": ');
      await assert.rejects(source.get('ghcr.io'), isCredentialsError(/config\.json is not valid JSON/));
      const home = dockerCredentials({ env: {}, homedir: dir, runHelper: fakeHelpers({}) });
      await fs.mkdir(path.join(dir, '.docker'));
      await fs.writeFile(path.join(dir, '.docker', 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: b64('h:1') } } }));
      assert.deepEqual(await home.get('ghcr.io'), { username: 'h', password: '1' });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('serves a fixed map with staticCredentials', async () => {
    const source = staticCredentials({ 'r.example': { username: 'u', password: 'p' } });
    assert.deepEqual(await source.get('r.example'), { username: 'u', password: 'p' });
    assert.equal(await source.get('other.example'), undefined);
  });
});

describe('Docker credentials: running docker-credential-<name>', function () {
  this.timeout(20_000);
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cred-helpers-'));
    const helper = async (name: string, body: string) => fs.writeFile(path.join(dir, `docker-credential-${name}`), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    await helper('echo', '[ "$1" = get ] || exit 2\nread -r server\nprintf \'{"ServerURL":"%s","Username":"u","Secret":"s-%s"}\' "$server" "$server"');
    await helper('hang', 'exec sleep 30');
    await helper('chatty', 'yes x');
    env = { PATH: `${dir}:${process.env.PATH ?? ''}` };
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('writes the server URL to stdin of "get" and reads the JSON answer', async () => {
    const result = await spawnHelper(env, 5_000)('echo', 'https://index.docker.io/v1/');
    assert.equal(result.exitCode, 0);
    assert.deepEqual(JSON.parse(result.stdout), { ServerURL: 'https://index.docker.io/v1/', Username: 'u', Secret: 's-https://index.docker.io/v1/' });
  });

  it('gives up on a helper that does not answer within the timeout', async () => {
    const started = Date.now();
    await assert.rejects(spawnHelper(env, 300)('hang', 'r.example'), isCredentialsError(/did not answer within/));
    assert.ok(Date.now() - started < 5_000);
  });

  it('stops a helper that writes too much', async () => {
    await assert.rejects(spawnHelper(env, 10_000)('chatty', 'r.example'), isCredentialsError(/more than 65536 bytes/));
  });

  it('says which helper is missing from PATH', async () => {
    await assert.rejects(spawnHelper(env, 5_000)('absent', 'r.example'), isCredentialsError(/docker-credential-absent, which is not on PATH/));
  });
});
