/**
 * `sigstore sign`: signs files keylessly (one sign-in, one certificate, one Rekor entry per
 * file) or with a cosign key, writing the same companions as the editor command.
 * Exit status: 0 every file signed, 1 some file not signed (the others still are), 2 usage
 * or setup error (nothing signed), 130 interrupted.
 */
import { spawn } from 'node:child_process';
import { lstat, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { abortable } from '../core/abortable';
import { PUBLIC_GOOD } from '../core/publicGood';
import { readLimited } from '../core/artifacts/artifact';
import { SigstoreError } from '../core/errors';
import type { DeviceCode } from '../core/oidc/deviceFlow';
import { describeIdentityToken, obtainIdentityToken, type IdentityToken } from '../core/oidc/identityToken';
import { readCosignPrivateKey } from '../core/sign/cosignKey';
import { companionsToWrite, signFileAndWrite, type FileSigner, type SignedFile } from '../core/sign/fileSigning';
import { createKeylessSession, PUBLIC_GOOD_SERVICES, type SigstoreServices } from '../core/sign/keylessSigner';
import { publicKeyPemOf } from '../core/sign/keySigner';
import { logKeySignature } from '../core/sign/rekorUpload';

export const SIGN_USAGE = `usage: sigstore sign [--key FILE] [--identity-token TOKEN] [--bundle OUT] [--overwrite]
                     [--fulcio-url URL] [--rekor-url URL] [--tsa-url URL] [--oidc-issuer URL] [--oidc-client-id ID]
                     [--browser] [--tlog-upload] FILE...
  Keyless (no --key): signs in once (an ambient CI token, else a code to confirm in any browser;
  --browser: this machine's browser) and writes FILE.sigstore.json for each FILE.
  --key cosign.key: signs with a cosign key (password from COSIGN_PASSWORD, else asked on the
  terminal), writes FILE.sigstore.json and FILE.sig; --tlog-upload also logs it in Rekor.
  --bundle OUT: the bundle's name, for a single FILE. Existing companions are kept unless --overwrite.
  Environment: SIGSTORE_FULCIO_URL, SIGSTORE_REKOR_URL, SIGSTORE_TSA_URL, SIGSTORE_OIDC_ISSUER,
  SIGSTORE_OIDC_CLIENT_ID (flags win), SIGSTORE_ID_TOKEN, COSIGN_PASSWORD.
  Exit status: 0 all signed, 1 some not signed, 2 usage or setup error, 130 interrupted.`;

const MAX_KEY_BYTES = 64 * 1024;
const EXIT_INTERRUPTED = 130;

/** A problem with the command line or the setup: exit 2, nothing was signed. */
class SetupError extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

interface SignOptions {
  key?: string;
  identityToken?: string;
  bundle?: string;
  overwrite: boolean;
  fulcioURL?: string;
  rekorURL?: string;
  tsaURL?: string;
  issuer?: string;
  clientId?: string;
  browser: boolean;
  tlogUpload: boolean;
  files: string[];
}

function parseArgs(args: string[]): SignOptions {
  const o: SignOptions = { overwrite: false, browser: false, tlogUpload: false, files: [] };
  const valued: Record<string, keyof SignOptions> = {
    '--key': 'key',
    '--identity-token': 'identityToken',
    '--bundle': 'bundle',
    '--fulcio-url': 'fulcioURL',
    '--rekor-url': 'rekorURL',
    '--tsa-url': 'tsaURL',
    '--oidc-issuer': 'issuer',
    '--oidc-client-id': 'clientId',
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const field = valued[arg];
    if (field) {
      const v = args[++i];
      if (v === undefined || v === '') throw new SetupError(`${arg} needs a value`, true);
      (o as unknown as Record<string, string>)[field] = v;
    } else if (arg === '--overwrite') o.overwrite = true;
    else if (arg === '--browser') o.browser = true;
    // cosign spells it --tlog-upload=true|false.
    else if (arg === '--tlog-upload' || arg === '--tlog-upload=true') o.tlogUpload = true;
    else if (arg === '--tlog-upload=false') o.tlogUpload = false;
    else if (arg === '--') o.files.push(...args.splice(i + 1));
    else if (arg.startsWith('-')) throw new SetupError(`unknown option ${arg}`, true);
    else o.files.push(arg);
  }
  if (o.files.length === 0) throw new SetupError('no FILE given', true);
  if (o.bundle && o.files.length !== 1) throw new SetupError(`--bundle names one bundle, so it needs exactly one FILE (${o.files.length} given)`, true);
  if (o.key) {
    const keyless = ['--identity-token', '--browser', '--fulcio-url', '--tsa-url', '--oidc-issuer', '--oidc-client-id'].filter((f) => args.includes(f));
    if (keyless.length) throw new SetupError(`${keyless.join(', ')} ${keyless.length > 1 ? 'are' : 'is'} for keyless signing and cannot be combined with --key`, true);
  } else if (o.tlogUpload) {
    throw new SetupError('--tlog-upload is for --key signing: keyless signatures are always logged in Rekor', true);
  }
  return o;
}

export async function signCommand(args: string[]): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(EXIT_INTERRUPTED);
    process.stderr.write('\nCancelling: nothing more will be signed or written (Ctrl-C again to quit at once).\n');
    controller.abort(new SigstoreError('CANCELLED', 'Signing was cancelled.'));
  };
  process.on('SIGINT', onSigint);
  try {
    return await run(args, controller.signal);
  } catch (e) {
    if (controller.signal.aborted) {
      process.stderr.write('Cancelled.\n');
      // A request still waiting on a service would keep the process alive until it times
      // out; whatever it returns is discarded (nothing is written after the abort).
      process.exit(EXIT_INTERRUPTED);
    }
    if (e instanceof SetupError) {
      process.stderr.write(`error: ${e.message}\n${e.showUsage ? `${SIGN_USAGE}\n` : ''}`);
      return 2;
    }
    process.stderr.write(`error: ${messageOf(e)}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * Tells when a file is waiting on a service (Fulcio, Rekor, TSA): cancelling then can stop
 * at once, since signFileAndWrite checks the signal before writing. Outside those calls the
 * file's companions may be being written, and cancelling waits for that (local, short).
 */
class ServiceCalls {
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

async function run(args: string[], signal: AbortSignal): Promise<number> {
  const o = parseArgs(args);
  const files = await checkFiles(o);
  const calls = new ServiceCalls();
  const signer = o.key ? await keySigner(o, calls, signal) : await keylessSigner(o, calls, signal);

  let failed = 0;
  const report = (file: string, signed: SignedFile) => {
    const details = [...(signed.logIndex ? [`log index ${signed.logIndex}`] : []), ...(signed.identity ? [`identity ${signed.identity}`] : [])];
    process.stdout.write(`signed ${display(file)} -> ${signed.written.map(display).join(', ')}${details.length ? ` (${details.join(', ')})` : ''}\n`);
  };
  for (const [n, file] of files.entries()) {
    if (signal.aborted) break;
    const signing = signFileAndWrite(file, signer, { overwrite: o.overwrite, bundleOut: o.bundle && resolve(o.bundle), signal });
    let signed: SignedFile;
    try {
      signed = await abortable(signing, signal);
    } catch (e) {
      if (signal.aborted) {
        // Mid-write: let the companions land whole (or not at all) before exiting.
        if (!calls.waiting) await signing.then((s) => report(file, s), () => undefined);
        break;
      }
      failed++;
      process.stderr.write(`error: ${display(file)} was not signed: ${messageOf(e)}\n`);
      // Fulcio refusing the token (or the token being unusable) would refuse every file alike.
      const code = (e as { code?: string }).code;
      if (signer.kind === 'keyless' && (code === 'FULCIO' || code === 'IDENTITY_TOKEN') && n + 1 < files.length) {
        const rest = files.slice(n + 1);
        failed += rest.length;
        process.stderr.write(`error: not signed either, for the same reason: ${rest.map(display).join(', ')}\n`);
        break;
      }
      continue;
    }
    report(file, signed);
  }
  if (signal.aborted) throw signal.reason;
  if (failed) process.stderr.write(`${failed} of ${files.length} file(s) not signed.\n`);
  return failed ? 1 : 0;
}

/**
 * Every FILE is a regular file and none of its companions exists (unless --overwrite):
 * checked before anyone signs in or anything is logged.
 */
async function checkFiles(o: SignOptions): Promise<string[]> {
  const files = [...new Set(o.files.map((f) => resolve(f)))];
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (!info) throw new SetupError(`${display(file)} does not exist`);
    if (!info.isFile()) throw new SetupError(`${display(file)} is not a regular file`);
  }
  if (o.bundle) {
    const folder = await stat(dirname(resolve(o.bundle))).catch(() => undefined);
    if (!folder?.isDirectory()) throw new SetupError(`the folder of --bundle ${o.bundle} does not exist`);
  }
  if (!o.overwrite) {
    const kind = o.key ? 'key' : 'keyless';
    for (const file of files) {
      for (const companion of companionsToWrite(file, kind, o.bundle && resolve(o.bundle))) {
        if (await lstat(companion).then(() => true, () => false)) {
          throw new SetupError(`${display(companion)} already exists; nothing was signed (pass --overwrite to replace it)`);
        }
      }
    }
  }
  return files;
}

function servicesOf(o: SignOptions): SigstoreServices {
  const env = process.env;
  const tsaURL = o.tsaURL ?? (env.SIGSTORE_TSA_URL || undefined);
  return {
    fulcioURL: o.fulcioURL ?? (env.SIGSTORE_FULCIO_URL || PUBLIC_GOOD_SERVICES.fulcioURL),
    rekorURL: o.rekorURL ?? (env.SIGSTORE_REKOR_URL || PUBLIC_GOOD_SERVICES.rekorURL),
    ...(tsaURL ? { tsaURL } : {}),
  };
}

async function keylessSigner(o: SignOptions, calls: ServiceCalls, signal: AbortSignal): Promise<FileSigner> {
  const services = servicesOf(o);
  for (const [name, url] of Object.entries(services)) checkURL(name, url as string);
  let identity: IdentityToken;
  try {
    identity = o.identityToken ? describeIdentityToken(o.identityToken) : await signIn(o, signal);
  } catch (e) {
    if (signal.aborted) throw e;
    throw new SetupError(`no identity token: ${messageOf(e)}`);
  }
  process.stderr.write(`Signing as ${identity.identity} (issuer ${identity.issuer}, token from ${identity.source}).\n`);
  const session = createKeylessSession(identity.token, services);
  return {
    kind: 'keyless',
    session: {
      signFile: (path, sig) => calls.around(() => session.signFile(path, sig)),
      signStatement: (path, sig) => calls.around(() => session.signStatement(path, sig)),
    },
  };
}

function signIn(o: SignOptions, signal: AbortSignal): Promise<IdentityToken> {
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

/** Text from the provider, without the control characters that could rewrite the terminal. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
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

async function keySigner(o: SignOptions, calls: ServiceCalls, signal: AbortSignal): Promise<FileSigner> {
  const keyPath = resolve(o.key!);
  let pem: string;
  try {
    pem = (await readLimited(keyPath, MAX_KEY_BYTES)).toString('utf8');
  } catch (e) {
    throw new SetupError(`cannot read the key ${display(keyPath)}: ${messageOf(e)}`);
  }
  const password = await passwordFor(keyPath, signal);
  let key;
  try {
    key = await readCosignPrivateKey(pem, password);
  } catch (e) {
    throw new SetupError(`${display(keyPath)}: ${messageOf(e)}`);
  }
  const rekorURL = servicesOf(o).rekorURL;
  if (o.tlogUpload) checkURL('rekorURL', rekorURL);
  return {
    kind: 'key',
    key,
    publicKeyPem: publicKeyPemOf(key),
    ...(o.tlogUpload ? { logSignature: (s: { bundle: object; publicKeyPem: string }, sig?: AbortSignal) => calls.around(() => logKeySignature(s, rekorURL, sig)) } : {}),
  };
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


function checkURL(name: string, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SetupError(`${url} is not a URL (${name})`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new SetupError(`${url} is not an http(s) URL (${name})`);
}

function messageOf(e: unknown): string {
  if (e instanceof SigstoreError) return `${e.message}${e.remedy ? ` ${e.remedy}` : ''}`;
  return (e as Error)?.message ?? String(e);
}

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith(`..${sep}`) && !isAbsolute(rel) ? rel.split(sep).join('/') : path;
}
