/**
 * Stands in for `make-fetch-happen` in our bundles (scripts/build.mjs aliases it here): the
 * Sigstore libraries call it for Fulcio, Rekor, the TSA and TUF. Its agent stack breaks inside
 * VS Code's extension host, whose proxy support patches Node's http agents ("Cannot set
 * headers after they are sent"); Node's built-in fetch works there, proxies included. Only
 * the call shape the libraries use is provided. Answers are untrusted: redirects are refused
 * (a POST carrying an identity token must not be replayed elsewhere) and bodies are capped.
 */
import { Readable } from 'node:stream';

export interface FetchOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Uint8Array;
  /** Milliseconds; 0 or absent: the default below. */
  timeout?: number;
  /** Ignored: the callers retry by themselves. */
  retry?: unknown;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** A fully read response, with a Node stream body as make-fetch-happen gives. */
export class BufferedResponse {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    private readonly bytes: Buffer,
    readonly url: string,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get body(): Readable {
    return Readable.from([this.bytes]);
  }

  async buffer(): Promise<Buffer> {
    return this.bytes;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.bytes.buffer.slice(this.bytes.byteOffset, this.bytes.byteOffset + this.bytes.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return this.bytes.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.bytes.toString('utf8'));
  }
}

export default async function builtinFetch(url: string | URL, options: FetchOptions = {}): Promise<BufferedResponse> {
  const timeoutMs = options.timeout || DEFAULT_TIMEOUT_MS;
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, a redirect…).
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new Error(`cannot reach ${new URL(url).origin}: ${why}`);
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) {
    await response.body?.cancel();
    throw new Error(`${new URL(url).origin} sent ${declared} bytes, more than the ${MAX_BODY_BYTES} accepted`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    size += next.value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader?.cancel();
      throw new Error(`${new URL(url).origin} sent more than the ${MAX_BODY_BYTES} bytes accepted`);
    }
    chunks.push(next.value);
  }
  return new BufferedResponse(response.status, response.statusText, response.headers, Buffer.concat(chunks), response.url);
}
