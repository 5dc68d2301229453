/**
 * What the signing commands (`sign`, `sign-image`, `attest-image`) share: the Sigstore
 * services from flags and environment, the sign-in, the cosign key and its password, Ctrl-C,
 * and how paths and errors are shown.
 */
import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { readLimited } from '../core/artifacts/artifact';
import { SigstoreError } from '../core/errors';
import { PUBLIC_GOOD } from '../core/publicGood';
import type { DeviceCode } from '../core/oidc/deviceFlow';
import { describeIdentityToken, obtainIdentityToken, type IdentityToken } from '../core/oidc/identityToken';
import { readCosignPrivateKey } from '../core/sign/cosignKey';
import { PUBLIC_GOOD_SERVICES, type SigstoreServices } from '../core/sign/keylessSigner';
import { printable } from '../core/text/printable';

export const EXIT_INTERRUPTED = 130;
const MAX_KEY_BYTES = 64 * 1024;

/** Flags every signing command takes for the services and the sign-in. */
export interface ServiceFlags {
  fulcioURL?: string;
  rekorURL?: string;
  tsaURL?: string;
  issuer?: string;
  clientId?: string;
  identityToken?: string;
  browser: boolean;
}

/** Flag name → field, for the parsers. */
export const SERVICE_FLAGS: Readonly<Record<string, keyof ServiceFlags>> = {
  '--identity-token': 'identityToken',
  '--fulcio-url': 'fulcioURL',
  '--rekor-url': 'rekorURL',
  '--tsa-url': 'tsaURL',
  '--oidc-issuer': 'issuer',
  '--oidc-client-id': 'clientId',
};

/** The flags that only make sense without --key. */
export const KEYLESS_ONLY_FLAGS = ['--identity-token', '--browser', '--fulcio-url', '--tsa-url', '--oidc-issuer', '--oidc-client-id'];

/** A problem with the command line or the setup: exit 2, nothing was signed. */
export class SetupError extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

/**
 * Tells when a file is waiting on a service (Fulcio, Rekor, TSA): cancelling then can stop
 * at once, since signFileAndWrite checks the signal before writing. Outside those calls the
 * file's companions may be being written, and cancelling waits for that (local, short).
 */
export class ServiceCalls {
  private pending = 0;
  get waiting(): boolean {
    return this.pending > 0;
  }
  async around<T>(call: () => Promise<T>): Promise<T> {
    this.pending++;
    try {
      return await call();
    } finally {
      this.pending--;
    }
  }
}

export function servicesOf(o: ServiceFlags): SigstoreServices {
  const env = process.env;
  const tsaURL = o.tsaURL ?? (env.SIGSTORE_TSA_URL || undefined);
  return {
    fulcioURL: o.fulcioURL ?? (env.SIGSTORE_FULCIO_URL || PUBLIC_GOOD_SERVICES.fulcioURL),
    rekorURL: o.rekorURL ?? (env.SIGSTORE_REKOR_URL || PUBLIC_GOOD_SERVICES.rekorURL),
    ...(tsaURL ? { tsaURL } : {}),
  };
}

/** The identity token to sign with: --identity-token, else an ambient one, else a sign-in; announced on stderr. */
export async function identityFor(o: ServiceFlags, signal: AbortSignal): Promise<IdentityToken> {
  let identity: IdentityToken;
  try {
    identity = o.identityToken ? describeIdentityToken(o.identityToken) : await signIn(o, signal);
  } catch (e) {
    if (signal.aborted) throw e;
    throw new SetupError(`no identity token: ${messageOf(e)}`);
  }
  process.stderr.write(`Signing as ${identity.identity} (issuer ${identity.issuer}, token from ${identity.source}).\n`);
  return identity;
}

/** Reads and decrypts a cosign private key (password from COSIGN_PASSWORD or the terminal). */
export async function readKey(path: string, signal: AbortSignal): Promise<KeyObject> {
  const keyPath = resolve(path);
  let pem: string;
  try {
    pem = (await readLimited(keyPath, MAX_KEY_BYTES)).toString('utf8');
  } catch (e) {
    throw new SetupError(`cannot read the key ${display(keyPath)}: ${messageOf(e)}`);
  }
  const password = await passwordFor(keyPath, signal);
  try {
    return await readCosignPrivateKey(pem, password);
  } catch (e) {
    throw new SetupError(`${display(keyPath)}: ${messageOf(e)}`);
  }
}

/**
 * Runs a command with Ctrl-C wired to `signal`: the first asks to stop (exit 130 once the
 * command has stopped), a second quits at once. SetupError and others: exit 2.
 */
export async function interruptible(usage: string, what: string, run: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(EXIT_INTERRUPTED);
    process.stderr.write(`\nCancelling: nothing more will be ${what} (Ctrl-C again to quit at once).\n`);
    controller.abort(new SigstoreError('CANCELLED', 'Signing was cancelled.'));
  };
  process.on('SIGINT', onSigint);
  try {
    return await run(controller.signal);
  } catch (e) {
    if (controller.signal.aborted) {
      process.stderr.write('Cancelled.\n');
      // A request still waiting on a service would keep the process alive until it times
      // out; whatever it returns is discarded (nothing is written after the abort).
      process.exit(EXIT_INTERRUPTED);
    }
    if (e instanceof SetupError) {
      process.stderr.write(`error: ${e.message}\n${e.showUsage ? `${usage}\n` : ''}`);
      return 2;
    }
    process.stderr.write(`error: ${messageOf(e)}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function signIn(o: ServiceFlags, signal: AbortSignal): Promise<IdentityToken> {
  const issuer = o.issuer ?? (process.env.SIGSTORE_OIDC_ISSUER || PUBLIC_GOOD.oidcIssuer);
  const clientId = o.clientId ?? (process.env.SIGSTORE_OIDC_CLIENT_ID || PUBLIC_GOOD.oidcClientId);
  checkURL('OIDC issuer', issuer);
  return obtainIdentityToken({
    issuer,
    clientId,
    flow: o.browser ? 'browser' : 'device',
    env: process.env,
    signal,
    onDeviceCode: (code: DeviceCode) => {
      const url = printable(code.verificationUriComplete ?? code.verificationUri);
      process.stderr.write(`To sign in, open ${url} and confirm the code ${printable(code.userCode)}\n`);
      process.stderr.write(`Waiting for the sign-in to be confirmed (the code expires in ${Math.round(code.expiresInSeconds / 60)} min)…\n`);
    },
    openBrowser: (url: string) => {
      process.stderr.write(`To sign in, open ${printable(url)}\nWaiting for the browser to come back…\n`);
      // Only with a person at the terminal: a script has nobody to look at a browser.
      if (process.stderr.isTTY) openInBrowser(url);
    },
  });
}

function openInBrowser(url: string): void {
  // The address comes from the provider's discovery document: web pages only.
  if (!/^https?:$/.test(new URL(url).protocol)) return;
  // No shell anywhere: cmd.exe would cut the URL at "&" and run the rest as commands.
  const [command, ...args] = process.platform === 'darwin' ? ['open'] : process.platform === 'win32' ? ['rundll32', 'url.dll,FileProtocolHandler'] : ['xdg-open'];
  try {
    const child = spawn(command!, [...args, url], { stdio: 'ignore', detached: true });
    // The URL is already printed; a missing opener is not an error.
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // As above.
  }
}


/** COSIGN_PASSWORD (even empty, as cosign), else asked on the terminal without echo. */
async function passwordFor(keyPath: string, signal: AbortSignal): Promise<string> {
  const fromEnv = process.env.COSIGN_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new SetupError(`${display(keyPath)} is encrypted and no password was given: set COSIGN_PASSWORD (stdin is not a terminal to ask on)`);
  }
  return readHidden(`Enter password for private key ${display(keyPath)}: `, signal);
}

/** Reads a line from the terminal in raw mode, echoing nothing. */
function readHidden(prompt: string, signal: AbortSignal): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the prompt shows: what a quick typist sends after it must not appear.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  return new Promise((resolvePassword, reject) => {
    let typed = '';
    const finish = (error?: unknown) => {
      stdin.off('data', onData);
      signal.removeEventListener('abort', onAbort);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolvePassword(typed);
    };
    const onAbort = () => finish(signal.reason);
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        // Raw mode turns Ctrl-C into a character instead of SIGINT.
        if (ch === '\u0003') return process.emit('SIGINT');
        if (ch === '\u0004') return finish(new SetupError('no password was entered'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stdin.resume();
    stdin.on('data', onData);
  });
}



export function checkURL(name: string, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SetupError(`${url} is not a URL (${name})`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new SetupError(`${url} is not an http(s) URL (${name})`);
}

export function messageOf(e: unknown): string {
  if (e instanceof SigstoreError) return `${e.message}${e.remedy ? ` ${e.remedy}` : ''}`;
  return (e as Error)?.message ?? String(e);
}

export function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith(`..${sep}`) && !isAbsolute(rel) ? rel.split(sep).join('/') : path;
}
