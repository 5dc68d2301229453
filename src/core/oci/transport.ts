/**
 * One HTTP exchange with a registry, a token realm or a blob store: a timeout that covers the
 * body too, the caller's cancellation, extra CA certificates, a request counter, size caps
 * while streaming, and failures turned into OciErrors that say what happened.
 */
import { rootCertificates } from 'node:tls';

import { OciError, cancelled } from './errors';

export interface TransportOptions {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  readonly caCertificates?: readonly string[];
  readonly userAgent: string;
  /** Requests in flight at once to one origin (scheme, host, port); the rest wait their turn. Default 6. */
  readonly maxPerOrigin?: number;
}

export interface SendInit {
  readonly method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly headers?: Record<string, string>;
  /** Sent as is; the timeout and the caller's signal cover its upload too. */
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
}

/** The answer to one request; the timeout keeps running until its body is read or discarded. */
export interface Exchange {
  readonly url: URL;
  readonly response: Response;
  /** Reads the body, failing with `tooLarge()` as soon as it exceeds `maxBytes`; `onChunk` sees every chunk. */
  body(maxBytes: number, tooLarge: (limit: number) => OciError, onChunk?: (chunk: Uint8Array) => void): Promise<Buffer>;
  /** Reads at most `maxBytes` of the body as text, silently cutting the rest (for error messages). */
  text(maxBytes: number): Promise<string>;
  discard(): Promise<void>;
}

/** Whether an HTTPS attempt failed because the server speaks plain HTTP. */
export class PlainHttpServer extends Error {}

const TLS_NOT_SPOKEN = /wrong version number|packet length too long|http request|unknown protocol/i;

interface Cause {
  code?: string;
  message?: string;
}

function causeOf(e: unknown): Cause {
  const err = e as { cause?: Cause; code?: string; message?: string };
  return err?.cause ?? err ?? {};
}

/** Node's error codes for TLS certificates that do not verify. */
function isCertificateError(cause: Cause): boolean {
  const code = cause.code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|HOSTNAME_MISMATCH/.test(code);
}

/** Browsers' and Docker's own number of connections per host. */
export const DEFAULT_REQUESTS_PER_ORIGIN = 6;

/**
 * Turns to send a request, per origin: a hostile index of 20,000 platforms must not open
 * 20,000 sockets. A turn is held from sending until the body is read or discarded, the
 * request fails or its timeout fires; waiting turns are served in order.
 */
class OriginTurns {
  private readonly origins = new Map<string, { active: number; waiting: Array<() => void> }>();
  /** One abort listener per signal, whatever the number of requests waiting on it. */
  private readonly watched = new WeakMap<AbortSignal, Set<() => void>>();

  constructor(private readonly max: number) {}

  /**
   * The function that gives the turn back (idempotent): at once when one is free, else a
   * promise of it, rejected with CANCELLED if `signal` aborts while waiting.
   */
  take(origin: string, signal?: AbortSignal): (() => void) | Promise<() => void> {
    let entry = this.origins.get(origin);
    if (!entry) this.origins.set(origin, (entry = { active: 0, waiting: [] }));
    const queue = entry;
    const turn = () => {
      let given = false;
      return () => {
        if (given) return;
        given = true;
        // The turn passes straight to the next in line, or the count drops.
        const next = queue.waiting.shift();
        if (next) return next();
        queue.active--;
        if (queue.active === 0) this.origins.delete(origin);
      };
    };
    if (queue.active < this.max) {
      queue.active++;
      return turn();
    }
    return new Promise<() => void>((resolve, reject) => {
      const go = () => {
        unwatch();
        resolve(turn());
      };
      const unwatch = signal
        ? this.watch(signal, () => {
            const at = queue.waiting.indexOf(go);
            if (at >= 0) queue.waiting.splice(at, 1);
            reject(cancelled());
          })
        : () => undefined;
      queue.waiting.push(go);
    });
  }

  private watch(signal: AbortSignal, cancel: () => void): () => void {
    let waiters = this.watched.get(signal);
    if (!waiters) {
      const set = (waiters = new Set());
      this.watched.set(signal, set);
      signal.addEventListener(
        'abort',
        () => {
          for (const c of [...set]) c();
          set.clear();
        },
        { once: true },
      );
    }
    const set = waiters;
    set.add(cancel);
    return () => set.delete(cancel);
  }
}

export class Transport {
  private count = 0;
  private dispatcher: Promise<unknown> | undefined;
  private readonly turns: OriginTurns;

  constructor(private readonly options: TransportOptions) {
    this.turns = new OriginTurns(Math.max(1, options.maxPerOrigin ?? DEFAULT_REQUESTS_PER_ORIGIN));
  }

  get requestCount(): number {
    return this.count;
  }

  /**
   * Sends one request and never follows redirects (the caller decides). Throws CANCELLED,
   * TIMEOUT, TLS, NETWORK, or PlainHttpServer for an https URL answered in plain HTTP.
   */
  async send(url: URL, init: SendInit = {}): Promise<Exchange> {
    const { signal } = init;
    if (signal?.aborted) throw cancelled();
    const turn = this.turns.take(url.origin, signal);
    const giveBack = typeof turn === 'function' ? turn : await turn;
    // The timeout starts with the turn: waiting in line is not the registry being slow.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
      giveBack();
    }, this.options.timeoutMs);
    const onAbort = () => {
      controller.abort();
      giveBack();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      giveBack();
    };
    const failure = (e: unknown): Error => {
      finish();
      if (e instanceof OciError) return e;
      if (signal?.aborted) return cancelled();
      if (timedOut) {
        return new OciError('TIMEOUT', `${url.host} did not answer within ${formatSeconds(this.options.timeoutMs)}.`, 'Check the network or the registry, then retry.');
      }
      return this.networkError(url, e);
    };

    let dispatcher: unknown;
    try {
      dispatcher = await this.dispatcherFor(url);
    } catch (e) {
      finish();
      throw e;
    }
    this.count++;
    let response: Response;
    try {
      response = await this.options.fetch(url, {
        method: init.method ?? 'GET',
        headers: { 'user-agent': this.options.userAgent, ...init.headers },
        body: init.body,
        redirect: 'manual',
        signal: controller.signal,
        ...(dispatcher ? { dispatcher } : {}),
      } as RequestInit);
    } catch (e) {
      throw failure(e);
    }

    let settled = false;
    const settle = () => {
      if (!settled) finish();
      settled = true;
    };
    const read = async (maxBytes: number, onTooLarge: ((limit: number) => OciError) | undefined, onChunk?: (chunk: Uint8Array) => void): Promise<Buffer> => {
      try {
        const declared = Number(response.headers.get('content-length') ?? NaN);
        if (onTooLarge && Number.isFinite(declared) && declared > maxBytes) {
          await response.body?.cancel().catch(() => undefined);
          throw onTooLarge(maxBytes);
        }
        const chunks: Uint8Array[] = [];
        let size = 0;
        const reader = response.body?.getReader();
        if (reader) {
          for (;;) {
            const next = await reader.read();
            if (next.done) break;
            const room = maxBytes - size;
            if (next.value.byteLength > room) {
              await reader.cancel().catch(() => undefined);
              if (onTooLarge) throw onTooLarge(maxBytes);
              chunks.push(next.value.subarray(0, room));
              break;
            }
            size += next.value.byteLength;
            onChunk?.(next.value);
            chunks.push(next.value);
          }
        }
        settle();
        return Buffer.concat(chunks);
      } catch (e) {
        settled = true;
        throw failure(e);
      }
    };
    return {
      url,
      response,
      body: (maxBytes, tooLarge, onChunk) => read(maxBytes, tooLarge, onChunk),
      text: async (maxBytes) => (await read(maxBytes, undefined)).toString('utf8'),
      discard: async () => {
        settle();
        await response.body?.cancel().catch(() => undefined);
      },
    };
  }

  private networkError(url: URL, e: unknown): Error {
    const cause = causeOf(e);
    const why = cause.code ?? cause.message ?? String(e);
    if (url.protocol === 'https:' && (TLS_NOT_SPOKEN.test(cause.message ?? '') || /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(cause.code ?? ''))) {
      return new PlainHttpServer(`${url.host} answered HTTPS with plain HTTP`);
    }
    if (isCertificateError(cause)) {
      return new OciError(
        'TLS',
        `The TLS certificate of ${url.host} is not trusted (${why}).`,
        this.options.caCertificates?.length
          ? 'None of the extra CA certificates issued it: add the CA that did (PEM) to the CA certificates setting.'
          : 'If the registry uses a private CA, add its certificate (PEM) to the CA certificates setting.',
      );
    }
    return new OciError('NETWORK', `Cannot reach ${url.host}: ${why}.`, 'Check the network, the registry address and any proxy, then retry.');
  }

  /** An undici Agent trusting the public roots plus the extra CAs, made once, only for https with extra CAs. */
  private async dispatcherFor(url: URL): Promise<unknown> {
    if (url.protocol !== 'https:' || !this.options.caCertificates?.length) return undefined;
    this.dispatcher ??= import('undici').then(({ Agent }) => new Agent({ connect: { ca: [...rootCertificates, ...this.options.caCertificates!] } }));
    return this.dispatcher;
  }

  /** Closes the connections of the CA-specific agent, if one was made. */
  async close(): Promise<void> {
    const agent = (await this.dispatcher) as { close(): Promise<void> } | undefined;
    await agent?.close();
  }
}

export function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
