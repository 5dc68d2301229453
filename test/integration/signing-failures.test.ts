/**
 * Signing when a Sigstore service is down or answers nonsense: signFileAndWrite must fail
 * with an error naming the service and its URL, and leave the folder as it was (no
 * companion, no temp file, an existing companion byte-identical).
 */
import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCosignKeyPair, readCosignPrivateKey } from '../../src/core/sign/cosignKey';
import { signFileAndWrite, type FileSigner } from '../../src/core/sign/fileSigning';
import { createKeylessSession, SigningError, type SigstoreServices } from '../../src/core/sign/keylessSigner';
import { KeySigningError, publicKeyPemOf } from '../../src/core/sign/keySigner';
import { logKeySignature } from '../../src/core/sign/rekorUpload';
import { startSigstoreInstance, type SigstoreInstance } from '../support/sigstore-instance';
import { listenOnLoopback, stopServer } from '../support/loopback-server';

type Service = 'Fulcio' | 'Rekor' | 'TSA';
type Breakage = 'down' | 'garbage' | 'html-500';

/** A server that answers every request the same broken way, and counts them. */
async function startBrokenServer(breakage: Exclude<Breakage, 'down'>): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => {
      if (breakage === 'garbage') res.writeHead(200, { 'content-type': 'text/plain' }).end('this is not what the service would say \u0000\u0001');
      else res.writeHead(500, { 'content-type': 'text/html' }).end('<html><body><h1>500 Internal Server Error</h1></body></html>');
    });
  });
  return { url: `http://${await listenOnLoopback(server)}`, requests: () => requests, close: () => stopServer(server) };
}

/** A loopback URL nobody listens on: the port was free a moment ago. */
async function deadURL(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

function unsignedToken(inst: SigstoreInstance): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(inst.clock.getTime() / 1000);
  const claims = { iss: 'https://issuer.example.test', sub: 'signer@example.test', email: 'signer@example.test', email_verified: true, aud: 'sigstore', iat, exp: iat + 600 };
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

describe('signing when a Sigstore service fails', function () {
  let inst: SigstoreInstance;
  let root: string;
  let folderNo = 0;
  const content = Buffer.from('a file to sign while things break\n');

  before(async () => {
    inst = await startSigstoreInstance();
    root = await mkdtemp(join(tmpdir(), 'sigstore-signing-failures-'));
  });
  after(async () => {
    await inst?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** A fresh folder holding only F (and `extra` files). */
  async function folder(extra: Record<string, string | Buffer> = {}): Promise<{ dir: string; file: string }> {
    const dir = join(root, `case-${++folderNo}`);
    await mkdir(dir);
    await writeFile(join(dir, 'F'), content);
    for (const [name, bytes] of Object.entries(extra)) await writeFile(join(dir, name), bytes);
    return { dir, file: join(dir, 'F') };
  }

  const services = (broken: Service, url: string): SigstoreServices => ({
    fulcioURL: broken === 'Fulcio' ? url : inst.fulcioURL,
    rekorURL: broken === 'Rekor' ? url : inst.rekorURL,
    tsaURL: broken === 'TSA' ? url : inst.tsaURL,
  });
  const expectedCode: Record<Service, string> = { Fulcio: 'FULCIO', Rekor: 'REKOR', TSA: 'TSA' };
  const serviceName: Record<Service, RegExp> = { Fulcio: /^Fulcio \(/, Rekor: /^Rekor \(/, TSA: /^The timestamp authority \(/ };

  it('signs with every service up (the baseline the failures are measured against)', async () => {
    const { dir, file } = await folder();
    const signed = await signFileAndWrite(file, { kind: 'keyless', session: createKeylessSession(unsignedToken(inst), services('TSA', inst.tsaURL)) }, { overwrite: false });
    assert.deepEqual(signed.written, [`${file}.sigstore.json`]);
    const bundle = JSON.parse(await readFile(`${file}.sigstore.json`, 'utf8')) as { verificationMaterial: { tlogEntries: unknown[]; timestampVerificationData: { rfc3161Timestamps: unknown[] } } };
    assert.equal(bundle.verificationMaterial.tlogEntries.length, 1);
    assert.equal(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
    assert.deepEqual((await readdir(dir)).sort(), ['F', 'F.sigstore.json']);
  });

  for (const service of ['Fulcio', 'Rekor', 'TSA'] as const) {
    for (const breakage of ['down', 'garbage', 'html-500'] as const) {
      it(`keyless: ${service} ${breakage === 'down' ? 'down' : breakage === 'garbage' ? 'answering 200 with garbage' : 'answering an HTML 500'} → SigningError ${expectedCode[service]} naming ${service} and its URL; nothing written`, async () => {
        const server = breakage === 'down' ? undefined : await startBrokenServer(breakage);
        const url = server?.url ?? (await deadURL());
        try {
          const { dir, file } = await folder();
          const session = createKeylessSession(unsignedToken(inst), services(service, url));
          await assert.rejects(signFileAndWrite(file, { kind: 'keyless', session }, { overwrite: false }), (e: unknown) => {
            assert.ok(e instanceof SigningError, `a SigningError, not ${String(e)}`);
            assert.equal(e.code, expectedCode[service], e.message);
            assert.match(e.message, serviceName[service]);
            assert.ok(e.message.includes(url), `the message names ${url}: ${e.message}`);
            assert.ok(e.remedy, 'a remedy');
            return true;
          });
          if (server) assert.ok(server.requests() > 0, `${service} was asked`);
          assert.deepEqual(await readdir(dir), ['F'], 'no companion and no temp file');
        } finally {
          await server?.close();
        }
      });
    }
  }

  it('keyless: an existing bundle stays byte-identical after a failed re-sign with overwrite', async () => {
    const { dir, file } = await folder();
    await signFileAndWrite(file, { kind: 'keyless', session: createKeylessSession(unsignedToken(inst), services('TSA', inst.tsaURL)) }, { overwrite: false });
    const before = await readFile(`${file}.sigstore.json`);
    for (const service of ['Fulcio', 'Rekor', 'TSA'] as const) {
      const session = createKeylessSession(unsignedToken(inst), services(service, await deadURL()));
      await assert.rejects(signFileAndWrite(file, { kind: 'keyless', session }, { overwrite: true }), (e: unknown) => (e as SigningError).code === expectedCode[service]);
      assert.ok((await readFile(`${file}.sigstore.json`)).equals(before), `unchanged after ${service} failed`);
    }
    assert.deepEqual((await readdir(dir)).sort(), ['F', 'F.sigstore.json']);
  });

  describe('a key signature logged in Rekor (--tlog-upload)', () => {
    let signer: (rekorURL: string) => FileSigner;
    before(async () => {
      const pair = await generateCosignKeyPair('password');
      const key = await readCosignPrivateKey(pair.privateKeyPem, 'password');
      signer = (rekorURL) => ({ kind: 'key', key, publicKeyPem: publicKeyPemOf(key), logSignature: (s, signal) => logKeySignature(s, rekorURL, signal) });
    });

    it('logs it: the bundle gets the hashedrekord entry with its inclusion promise and proof', async () => {
      const { dir, file } = await folder();
      const signed = await signFileAndWrite(file, signer(inst.rekorURL), { overwrite: false });
      assert.match(signed.logIndex ?? '', /^\d+$/);
      const bundle = JSON.parse(await readFile(`${file}.sigstore.json`, 'utf8')) as { verificationMaterial: { tlogEntries: Array<Record<string, unknown>> } };
      const [entry] = bundle.verificationMaterial.tlogEntries;
      assert.equal(entry?.logIndex, signed.logIndex);
      assert.deepEqual(entry?.kindVersion, { kind: 'hashedrekord', version: '0.0.1' });
      assert.ok(entry?.inclusionPromise && entry.inclusionProof && entry.canonicalizedBody);
      assert.deepEqual((await readdir(dir)).sort(), ['F', 'F.sig', 'F.sigstore.json']);
    });

    for (const breakage of ['down', 'garbage', 'html-500'] as const) {
      it(`Rekor ${breakage} → KeySigningError REKOR naming Rekor and its URL; no .sig, no bundle, no temp file`, async () => {
        const server = breakage === 'down' ? undefined : await startBrokenServer(breakage);
        const url = server?.url ?? (await deadURL());
        try {
          const { dir, file } = await folder();
          await assert.rejects(signFileAndWrite(file, signer(url), { overwrite: false }), (e: unknown) => {
            assert.ok(e instanceof KeySigningError, `a KeySigningError, not ${String(e)}`);
            assert.equal(e.code, 'REKOR');
            assert.ok(e.message.startsWith(`Rekor (${url}) did not log the signature`), e.message);
            assert.match(e.remedy ?? '', /Rekor URL/);
            return true;
          });
          assert.deepEqual(await readdir(dir), ['F']);
        } finally {
          await server?.close();
        }
      });
    }

    it('Rekor down on a re-sign with overwrite: the existing F.sig and bundle stay byte-identical', async () => {
      const { dir, file } = await folder({ 'F.sig': 'old signature\n', 'F.sigstore.json': '{"old": "bundle"}\n' });
      await assert.rejects(signFileAndWrite(file, signer(await deadURL()), { overwrite: true }), (e: unknown) => (e as KeySigningError).code === 'REKOR');
      assert.equal(await readFile(`${file}.sig`, 'utf8'), 'old signature\n');
      assert.equal(await readFile(`${file}.sigstore.json`, 'utf8'), '{"old": "bundle"}\n');
      assert.deepEqual((await readdir(dir)).sort(), ['F', 'F.sig', 'F.sigstore.json']);
    });

    it('cancelled while Rekor has not answered: stops waiting at once and writes nothing', async () => {
      const { dir, file } = await folder();
      const controller = new AbortController();
      // A Rekor that never answers; the request arriving is the moment the person cancels.
      const hanging = http.createServer((req) => {
        req.resume();
        controller.abort(new Error('cancelled by the user'));
      });
      await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
        await assert.rejects(signFileAndWrite(file, signer(url), { overwrite: false, signal: controller.signal }), /cancelled by the user/);
        assert.deepEqual(await readdir(dir), ['F']);
      } finally {
        hanging.closeAllConnections();
        await new Promise<void>((resolve) => hanging.close(() => resolve()));
      }
    });
  });
});
