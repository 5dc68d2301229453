/**
 * Keyless signing against the sandbox (local OpenID provider, Fulcio with token checks,
 * Rekor, TSA): our batch (one sign-in, one certificate, one Rekor entry and one bundle
 * write per file, through dist/core.js as the product runs it) against a plain
 * @sigstore/sign loop (a Fulcio certificate per file, as one `cosign sign-blob` per file
 * gets), and the device-flow sign-in with the person approving over HTTP.
 *   npm run bench
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness } from '@sigstore/sign';
import type { CoreApi } from '../src/coreLoader';
import { approveDeviceCode } from '../test/support/device-flow-person';
import { startSandbox } from '../test/support/sandbox';

const FILES = 20;
const FILE_BYTES = 1024 * 1024;

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = require(resolve(__dirname, '../dist/core.js')) as CoreApi;
  const dir = await mkdtemp(join(tmpdir(), 'sigstore-bench-sign-'));
  const sandbox = await startSandbox(join(dir, 'sandbox'));
  try {
    const now = Math.floor(Date.now() / 1000);
    const token = await sandbox.oidc.mintIdToken({ iss: sandbox.issuer, aud: 'sigstore', sub: sandbox.email, email: sandbox.email, email_verified: true, iat: now, exp: now + 600 });
    const services = { fulcioURL: sandbox.fulcioURL, rekorURL: sandbox.rekorURL, tsaURL: sandbox.tsaURL };
    const files: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const path = join(dir, `file-${i}.bin`);
      await writeFile(path, Buffer.alloc(FILE_BYTES, i));
      files.push(path);
    }
    const { readFile } = await import('node:fs/promises');

    // Warm both paths once (module loading, keep-alive connections).
    await core.createKeylessSession(token, services).signFile(files[0]!);
    await plainBuilder(token, services).create({ data: await readFile(files[0]!) });

    const fulcioBefore = sandbox.tokensSeen.length;
    let t = performance.now();
    const session = core.createKeylessSession(token, services);
    for (const f of files) await core.signFileAndWrite(f, { kind: 'keyless', session }, { overwrite: true });
    const ours = performance.now() - t;
    const oursFulcio = sandbox.tokensSeen.length - fulcioBefore;

    const plainBefore = sandbox.tokensSeen.length;
    t = performance.now();
    const builder = plainBuilder(token, services);
    for (const f of files) await builder.create({ data: await readFile(f) });
    const plain = performance.now() - t;
    const plainFulcio = sandbox.tokensSeen.length - plainBefore;

    // The sign-in a person goes through: device code, approval in the browser, token.
    t = performance.now();
    let approval: Promise<void> | undefined;
    await core.obtainIdentityToken({
      issuer: sandbox.issuer,
      clientId: sandbox.clientId,
      flow: 'device',
      env: {},
      onDeviceCode: (code) => {
        approval = approveDeviceCode(code.verificationUriComplete ?? code.verificationUri);
      },
      openBrowser: () => undefined,
    });
    await approval;
    const signIn = performance.now() - t;

    console.log(`keyless signing, ${FILES} files of ${FILE_BYTES / 1024} KiB, sandbox Fulcio + Rekor + TSA on loopback:`);
    console.log(`  ours (one certificate, bundles written): ${ours.toFixed(0)} ms, ${(ours / FILES).toFixed(1)} ms per file, ${oursFulcio} Fulcio request(s)`);
    console.log(`  plain @sigstore/sign loop (a certificate per file): ${plain.toFixed(0)} ms, ${(plain / FILES).toFixed(1)} ms per file, ${plainFulcio} Fulcio request(s)`);
    console.log(`  ratio ours / plain: ${(ours / plain).toFixed(2)}x`);
    console.log(`  device-flow sign-in (provider interval 1 s, approval over HTTP): ${signIn.toFixed(0)} ms`);
  } finally {
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function plainBuilder(token: string, services: { fulcioURL: string; rekorURL: string; tsaURL: string }): MessageSignatureBundleBuilder {
  return new MessageSignatureBundleBuilder({
    signer: new FulcioSigner({ fulcioBaseURL: services.fulcioURL, identityProvider: { getToken: async () => token } }),
    witnesses: [new RekorWitness({ rekorBaseURL: services.rekorURL }), new TSAWitness({ tsaBaseURL: services.tsaURL })],
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
