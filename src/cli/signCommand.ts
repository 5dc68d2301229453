/**
 * `sigstore sign`: signs files keylessly (one sign-in, one certificate, one Rekor entry per
 * file) or with a cosign key, writing the same companions as the editor command.
 * Exit status: 0 every file signed, 1 some file not signed (the others still are), 2 usage
 * or setup error (nothing signed), 130 interrupted.
 */
import { lstat, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { abortable } from '../core/abortable';
import { companionsToWrite, signFileAndWrite, type FileSigner, type SignedFile } from '../core/sign/fileSigning';
import { createKeylessSession } from '../core/sign/keylessSigner';
import { publicKeyPemOf } from '../core/sign/keySigner';
import { logKeySignature } from '../core/sign/rekorUpload';
import { checkURL, display, identityFor, interruptible, KEYLESS_ONLY_FLAGS, messageOf, readKey, SERVICE_FLAGS, ServiceCalls, servicesOf, SetupError, type ServiceFlags } from './signingSetup';

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

interface SignOptions extends ServiceFlags {
  key?: string;
  bundle?: string;
  overwrite: boolean;
  tlogUpload: boolean;
  files: string[];
}

function parseArgs(args: string[]): SignOptions {
  const o: SignOptions = { overwrite: false, browser: false, tlogUpload: false, files: [] };
  const valued: Record<string, keyof SignOptions> = { ...SERVICE_FLAGS, '--key': 'key', '--bundle': 'bundle' };
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
    const keyless = KEYLESS_ONLY_FLAGS.filter((f) => args.includes(f));
    if (keyless.length) throw new SetupError(`${keyless.join(', ')} ${keyless.length > 1 ? 'are' : 'is'} for keyless signing and cannot be combined with --key`, true);
  } else if (o.tlogUpload) {
    throw new SetupError('--tlog-upload is for --key signing: keyless signatures are always logged in Rekor', true);
  }
  return o;
}

export function signCommand(args: string[]): Promise<number> {
  return interruptible(SIGN_USAGE, 'signed or written', (signal) => run(args, signal));
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

async function keylessSigner(o: SignOptions, calls: ServiceCalls, signal: AbortSignal): Promise<FileSigner> {
  const services = servicesOf(o);
  for (const [name, url] of Object.entries(services)) checkURL(name, url as string);
  const identity = await identityFor(o, signal);
  const session = createKeylessSession(identity.token, services);
  return {
    kind: 'keyless',
    session: {
      signFile: (path, sig) => calls.around(() => session.signFile(path, sig)),
      signStatement: (path, sig) => calls.around(() => session.signStatement(path, sig)),
      signMessageBytes: (data, sig) => calls.around(() => session.signMessageBytes(data, sig)),
      signStatementBytes: (data, sig) => calls.around(() => session.signStatementBytes(data, sig)),
    },
  };
}

async function keySigner(o: SignOptions, calls: ServiceCalls, signal: AbortSignal): Promise<FileSigner> {
  const key = await readKey(o.key!, signal);
  const rekorURL = servicesOf(o).rekorURL;
  if (o.tlogUpload) checkURL('rekorURL', rekorURL);
  return {
    kind: 'key',
    key,
    publicKeyPem: publicKeyPemOf(key),
    ...(o.tlogUpload ? { logSignature: (s: { bundle: object; publicKeyPem: string }, sig?: AbortSignal) => calls.around(() => logKeySignature(s, rekorURL, sig)) } : {}),
  };
}

