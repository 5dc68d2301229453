// A small stand-in for Rekor v1's search API on 127.0.0.1, serving log entries taken from
// bundles the local Sigstore instance made (the instance's own Rekor only accepts new
// entries). It answers like Rekor: POST /api/v1/log/entries/retrieve with `entries`
// (proposed entries, matched on digest and signature) or `entryUUIDs`, and
// POST /api/v1/index/retrieve with `hash`.
import crypto from 'node:crypto';
import http from 'node:http';
import type { SerializedBundle } from '@sigstore/bundle';
import { listenOnLoopback, stopServer } from './loopback-server';

/** A Rekor v1 LogEntry's value (the API wraps it as `{ "<uuid>": entry }`). */
export interface RekorLogEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    signedEntryTimestamp: string;
    inclusionProof?: { checkpoint: string; hashes: string[]; logIndex: number; rootHash: string; treeSize: number };
  };
}

export interface RekorStubOptions {
  /** Answer proposed-entry searches with nothing, so only the index path finds entries. */
  indexOnly?: boolean;
  /** Replaces the answer to every request (status and raw body), e.g. errors or junk. */
  override?: (path: string, request: unknown) => { status: number; body: string | Buffer } | undefined;
  /** Called when a request arrives, before answering. */
  onRequest?: (path: string) => void;
  /** Never answer (to test cancellation). */
  hang?: boolean;
}

export interface RekorStub {
  url: string;
  /** Request paths in order. */
  requests: string[];
  close(): Promise<void>;
}

/** The entry of the first tlog entry of `bundle`, as Rekor v1 would serve it. */
export function rekorEntryOf(bundle: SerializedBundle): { uuid: string; entry: RekorLogEntry } {
  const t = bundle.verificationMaterial.tlogEntries[0];
  if (!t) throw new Error('the bundle has no tlog entry');
  const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
  const entry: RekorLogEntry = {
    body: t.canonicalizedBody,
    integratedTime: Number(t.integratedTime),
    logID: hex(t.logId.keyId),
    logIndex: Number(t.logIndex),
    verification: { signedEntryTimestamp: t.inclusionPromise?.signedEntryTimestamp ?? '' },
  };
  const proof = t.inclusionProof;
  if (proof) {
    entry.verification.inclusionProof = {
      checkpoint: proof.checkpoint.envelope,
      hashes: (proof.hashes ?? []).map(hex),
      logIndex: Number(proof.logIndex ?? 0),
      rootHash: hex(proof.rootHash),
      treeSize: Number(proof.treeSize),
    };
  }
  return { uuid: uuidOf(entry), entry };
}

export async function startRekorStub(entries: readonly RekorLogEntry[], options: RekorStubOptions = {}): Promise<RekorStub> {
  const byUUID = new Map(entries.map((e) => [uuidOf(e), e]));
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      requests.push(path);
      options.onRequest?.(path);
      if (options.hang) return;
      let request: unknown;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        request = undefined;
      }
      const answer = options.override?.(path, request) ?? answerOf(path, request);
      res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(answer.body);
    });
  });

  function answerOf(path: string, request: unknown): { status: number; body: string } {
    const q = (request ?? {}) as { entries?: unknown[]; entryUUIDs?: string[]; hash?: string };
    if (path === '/api/v1/index/retrieve') {
      const hex = q.hash?.replace(/^sha256:/, '');
      return json([...byUUID].filter(([, e]) => hashOf(e) === hex).map(([uuid]) => uuid));
    }
    if (path === '/api/v1/log/entries/retrieve') {
      if (q.entryUUIDs) return json(q.entryUUIDs.flatMap((u) => (byUUID.has(u) ? [{ [u]: byUUID.get(u)! }] : [])));
      if (q.entries) {
        if (options.indexOnly) return json([]);
        const found = q.entries.flatMap((proposed) => {
          const p = proposed as { spec?: { data?: { hash?: { value?: string } }; signature?: { content?: string } } };
          return [...byUUID].filter(([, e]) => hashOf(e) === p.spec?.data?.hash?.value && signatureOf(e) === p.spec?.signature?.content);
        });
        return json(found.map(([uuid, e]) => ({ [uuid]: e })));
      }
      return { status: 422, body: JSON.stringify({ code: 422, message: 'bad query' }) };
    }
    return { status: 404, body: JSON.stringify({ code: 404, message: 'not found' }) };
  }

  const host = await listenOnLoopback(server);
  return { url: `http://${host}`, requests, close: () => stopServer(server) };
}

function json(value: unknown): { status: number; body: string } {
  return { status: 200, body: JSON.stringify(value) };
}

function bodyOf(e: RekorLogEntry): { spec?: { data?: { hash?: { value?: string } }; signature?: { content?: string } } } {
  return JSON.parse(Buffer.from(e.body, 'base64').toString('utf8')) as ReturnType<typeof bodyOf>;
}

function hashOf(e: RekorLogEntry): string | undefined {
  return bodyOf(e).spec?.data?.hash?.value;
}

function signatureOf(e: RekorLogEntry): string | undefined {
  return bodyOf(e).spec?.signature?.content;
}

/** Rekor's UUID: the Merkle leaf hash of the canonical body. */
function uuidOf(e: RekorLogEntry): string {
  return crypto.createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(e.body, 'base64')])).digest('hex');
}
