/** A `fetch` for the registry client's unit tests: answers from a handler and records every call. */

export interface Call {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  readonly signal?: AbortSignal;
}
export type Handler = (call: Call) => Response | Promise<Response>;

/** A fetch that answers from `handler` and records every call, its body and its signal. */
export function scripted(handler: Handler): typeof fetch & { calls: Call[] } {
  const calls: Call[] = [];
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const raw = init?.body as Uint8Array | string | undefined;
    const call: Call = {
      url: new URL(String(input)),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      ...(raw !== undefined && raw !== null ? { body: Buffer.from(raw as Uint8Array) } : {}),
      ...(init?.signal ? { signal: init.signal } : {}),
    };
    calls.push(call);
    return handler(call);
  };
  return Object.assign(f as typeof fetch, { calls });
}

/** What fetch throws for a failed connection with `code`. */
export function failure(code: string, message = code): Error {
  return Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) });
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
