// cosign 2.5 speaks Fulcio's v1 API; the local Sigstore instance (test/support/sandbox.ts)
// serves v2. Shared by the cosign interop tests and the image tests.
import http from 'node:http';
import { listenOnLoopback, stopServer } from './loopback-server';

/**
 * cosign 2.5 asks Fulcio's v1 API (POST /api/v1/signingCert: token in the Authorization
 * header, PEM public key, a PEM chain back); the sandbox's Fulcio serves only v2. This
 * translates one request into the other.
 */
export async function startFulcioV1Adapter(fulcioURL: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (req.method !== 'POST' || req.url !== '/api/v1/signingCert') {
          res.writeHead(404).end();
          return;
        }
        const v1 = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { publicKey: { content: string }; signedEmailAddress: string };
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        const v2 = await fetch(`${fulcioURL}/api/v2/signingCert`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            credentials: { oidcIdentityToken: token },
            publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: Buffer.from(v1.publicKey.content, 'base64').toString('utf8') }, proofOfPossession: v1.signedEmailAddress },
          }),
        });
        const answer = (await v2.json()) as { signedCertificateEmbeddedSct?: { chain: { certificates: string[] } } };
        const chain = answer.signedCertificateEmbeddedSct?.chain.certificates;
        if (!chain) {
          res.writeHead(v2.status >= 400 ? v2.status : 502).end(JSON.stringify(answer));
          return;
        }
        res.writeHead(201, { 'Content-Type': 'application/pem-certificate-chain' }).end(chain.join(''));
      })().catch((e: unknown) => res.writeHead(500).end(String(e)));
    });
  });
  const host = await listenOnLoopback(server);
  return { url: `http://${host}`, close: () => stopServer(server) };
}
