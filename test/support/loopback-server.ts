// Starting and stopping the small HTTP servers the tests stand in for services with.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on a free port of `host` (loopback); resolves with `host:port`. */
export async function listenOnLoopback(server: http.Server, host = '127.0.0.1'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return `${host}:${(server.address() as AddressInfo).port}`;
}

/** Stops `server` at once: clients keep connections alive, and close() alone waits for them. */
export async function stopServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
