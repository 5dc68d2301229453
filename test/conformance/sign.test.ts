/**
 * bin/conformance sign-bundle as the upstream harness drives it, against the local Sigstore
 * instance named by a signing config; the bundle must then pass verify-bundle.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSigstoreInstance, type SigstoreInstance } from '../support/sigstore-instance';

const CLI = resolve(__dirname, '../../bin/conformance');
const ISSUER = 'https://issuer.example.test';

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}${stderr}`.trim() });
    });
  });
}

/** The local Fulcio decodes tokens without checking them; the sandbox's gate is a later step. */
function token(email: string, iat: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: ISSUER, sub: email, email, email_verified: true, aud: 'sigstore', iat, exp: iat + 600 })}.`;
}

describe('bin/conformance sign-bundle', function () {
  this.timeout(30_000);
  let inst: SigstoreInstance;
  let dir: string;
  let config: string;
  let root: string;
  before(async () => {
    inst = await startSigstoreInstance();
    dir = await mkdtemp(join(tmpdir(), 'sigstore-sign-bundle-'));
    config = join(dir, 'signing_config.json');
    root = join(dir, 'trusted_root.json');
    await writeFile(
      config,
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
        caUrls: [{ url: inst.fulcioURL, majorApiVersion: 1 }],
        rekorTlogUrls: [{ url: inst.rekorURL, majorApiVersion: 1 }],
        tsaUrls: [{ url: inst.tsaURL, majorApiVersion: 1 }],
      }),
    );
    await writeFile(root, JSON.stringify(inst.trustedRoot));
  });
  after(async () => {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  });

  const idToken = () => token('signer@example.test', Math.floor(inst.clock.getTime() / 1000));

  it('signs a file, and verify-bundle accepts the result with the signer identity', async () => {
    const file = join(dir, 'a.txt');
    const out = join(dir, 'a.txt.sigstore.json');
    await writeFile(file, 'artifact to sign\n');
    const signed = await run(['sign-bundle', '--identity-token', idToken(), '--bundle', out, '--trusted-root', root, '--signing-config', config, file]);
    assert.equal(signed.code, 0, signed.output);
    assert.ok(!signed.output.includes(idToken().split('.')[1]!), 'the token is not printed');
    const verify = (identity: string) => run(['verify-bundle', '--bundle', out, '--certificate-identity', identity, '--certificate-oidc-issuer', ISSUER, '--trusted-root', root, file]);
    assert.equal((await verify('signer@example.test')).code, 0);
    assert.equal((await verify('someone-else@example.test')).code, 1);
    await writeFile(file, 'artifact to sign, changed\n');
    assert.equal((await verify('signer@example.test')).code, 1);
  });

  it('--in-toto signs a statement whose subject verify-bundle then checks', async () => {
    const artifact = Buffer.from('the subject\n');
    const statement = join(dir, 'statement.json');
    await writeFile(join(dir, 'subject.bin'), artifact);
    await writeFile(
      statement,
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'subject.bin', digest: { sha256: createHash('sha256').update(artifact).digest('hex') } }],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {},
      }),
    );
    const out = join(dir, 'statement.sigstore.json');
    const signed = await run(['sign-bundle', '--in-toto', '--identity-token', idToken(), '--bundle', out, '--signing-config', config, statement]);
    assert.equal(signed.code, 0, signed.output);
    assert.ok(JSON.parse(await readFile(out, 'utf8')).dsseEnvelope, 'a DSSE bundle');
    const verified = await run(['verify-bundle', '--bundle', out, '--certificate-identity', 'signer@example.test', '--certificate-oidc-issuer', ISSUER, '--trusted-root', root, join(dir, 'subject.bin')]);
    assert.equal(verified.code, 0, verified.output);
  });

  it('exits 1 with the failing service named when a service is down, 2 for usage errors', async () => {
    const file = join(dir, 'b.txt');
    await writeFile(file, 'b\n');
    const down = join(dir, 'down.json');
    await writeFile(down, JSON.stringify({ caUrls: [{ url: 'http://127.0.0.1:9' }], rekorTlogUrls: [{ url: inst.rekorURL }] }));
    const failed = await run(['sign-bundle', '--identity-token', idToken(), '--bundle', join(dir, 'b.json'), '--signing-config', down, file]);
    assert.equal(failed.code, 1);
    assert.match(failed.output, /Fulcio \(http:\/\/127\.0\.0\.1:9\) issued no certificate/);
    assert.equal((await run(['sign-bundle', '--bundle', join(dir, 'b.json'), file])).code, 2);
  });
});
