/**
 * The Sigstore conformance protocol's client entry point (sigstore-conformance `client`
 * interface): the official vectors exercise exactly the verifier the extension runs.
 * Exit status: 0 verified, 1 not verified, 2 usage or setup error.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { digestArtifact, fileArtifact, type Artifact } from '../core/artifacts/artifact';
import { SigstoreError } from '../core/errors';
import { PUBLIC_GOOD_SERVICES, signFileKeyless, signStatementKeyless, type SigstoreServices } from '../core/sign/keylessSigner';
import { parseTrustedRoot, publicGoodTrustedRoot, type LoadedTrustedRoot } from '../core/trust/trustedRoot';
import { verifyBundleFile, type BundleExpectation } from '../core/verify/bundleVerifier';
import { useEnvironmentProxy } from './environmentProxy';

class UsageError extends Error {}

const USAGE = `usage:
  conformance verify-bundle [--staging] --bundle FILE --certificate-identity ID --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
  conformance verify-bundle [--staging] --bundle FILE --key PEMFILE [--trusted-root FILE] FILE_OR_DIGEST
  conformance sign-bundle [--staging] [--in-toto] --identity-token TOKEN --bundle OUT [--trusted-root FILE] [--signing-config FILE] FILE`;

const STAGING_SERVICES: SigstoreServices = { fulcioURL: 'https://fulcio.sigstage.dev', rekorURL: 'https://rekor.sigstage.dev' };

interface Parsed {
  flags: Map<string, string>;
  switches: Set<string>;
  positional: string[];
}

function parse(args: string[], valued: readonly string[], switches: readonly string[]): Parsed {
  const result: Parsed = { flags: new Map(), switches: new Set(), positional: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (switches.includes(arg)) {
      result.switches.add(arg);
    } else if (valued.includes(arg)) {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      result.flags.set(arg, value);
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      result.positional.push(arg);
    }
  }
  return result;
}

/** A digest when it looks like one and is not an existing path, as the protocol says. */
function artifactOf(input: string): Artifact {
  if (input.startsWith('sha256:') && input.length === 71 && !existsSync(input)) {
    const hex = input.slice('sha256:'.length);
    if (!/^[0-9a-f]{64}$/i.test(hex)) throw new UsageError(`${input} is not a sha256 digest`);
    return digestArtifact(hex.toLowerCase());
  }
  if (!existsSync(input)) throw new UsageError(`${input} does not exist`);
  return fileArtifact(input);
}

function trustedRootOf(path: string | undefined, staging: boolean): LoadedTrustedRoot {
  if (path) return parseTrustedRoot(readFileSync(path), path);
  if (staging) throw new UsageError('--staging needs --trusted-root: only the production root is embedded');
  return publicGoodTrustedRoot();
}

async function verifyBundleCommand(args: string[]): Promise<number> {
  const p = parse(args, ['--bundle', '--certificate-identity', '--certificate-oidc-issuer', '--key', '--trusted-root'], ['--staging']);
  const bundle = p.flags.get('--bundle');
  if (!bundle) throw new UsageError('--bundle is required');
  if (p.positional.length !== 1) throw new UsageError('exactly one FILE_OR_DIGEST is required');
  const identity = p.flags.get('--certificate-identity');
  const issuer = p.flags.get('--certificate-oidc-issuer');
  const keyPath = p.flags.get('--key');
  let expect: BundleExpectation;
  if (keyPath) {
    if (identity || issuer) throw new UsageError('--key cannot be combined with --certificate-identity/--certificate-oidc-issuer');
    let key: KeyObject;
    try {
      key = createPublicKey(readFileSync(keyPath));
    } catch (e) {
      // Material that cannot verify anything is a verdict, not a usage error.
      process.stderr.write(`failed: signing-key: ${keyPath} is not a valid PEM public key (${(e as Error).message})\n`);
      return 1;
    }
    expect = { publicKey: key };
  } else {
    if (!identity || !issuer) throw new UsageError('--certificate-identity and --certificate-oidc-issuer are required (or --key)');
    expect = { identity: { subject: identity, issuer } };
  }
  const trustedRoot = trustedRootOf(p.flags.get('--trusted-root'), p.switches.has('--staging'));
  const evidence = await verifyBundleFile(bundle, artifactOf(p.positional[0]!), { trustedRoot, expect });
  if (evidence.state === 'verified') {
    process.stdout.write(`verified: ${evidence.summary}\n`);
    return 0;
  }
  process.stderr.write(`${evidence.state}: ${evidence.failure?.check ?? ''}: ${evidence.failure?.message ?? evidence.summary}\n`);
  return 1;
}

/** Service URLs from a SigningConfig (v0.1: caUrl/tlogUrls/tsaUrls; v0.2: caUrls/rekorTlogUrls/tsaUrls). */
function servicesOf(path: string): SigstoreServices {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${path} is not a signing config: ${(e as Error).message}`);
  }
  // Only Rekor v1 entries are written; a v2 log in the config is skipped.
  const first = (key: string, rekor = false): string | undefined => {
    const list = config[key];
    if (!Array.isArray(list)) return undefined;
    const entry = list.find((e: { url?: unknown; majorApiVersion?: unknown }) => typeof e?.url === 'string' && (!rekor || e.majorApiVersion === undefined || e.majorApiVersion === 1));
    return entry?.url as string | undefined;
  };
  const fulcioURL = first('caUrls') ?? (typeof config.caUrl === 'string' ? config.caUrl : undefined);
  const rekorURL = first('rekorTlogUrls', true) ?? first('tlogUrls', true);
  if (!fulcioURL || !rekorURL) throw new UsageError(`${path} names no Fulcio (caUrls) or no Rekor v1 (rekorTlogUrls) service`);
  return { fulcioURL, rekorURL, tsaURL: first('tsaUrls') };
}

async function signBundleCommand(args: string[]): Promise<number> {
  const p = parse(args, ['--identity-token', '--bundle', '--trusted-root', '--signing-config'], ['--staging', '--in-toto']);
  const token = p.flags.get('--identity-token');
  const out = p.flags.get('--bundle');
  if (!token || !out) throw new UsageError('--identity-token and --bundle are required');
  if (p.positional.length !== 1) throw new UsageError('exactly one FILE is required');
  const file = p.positional[0]!;
  const config = p.flags.get('--signing-config');
  const services = config ? servicesOf(config) : p.switches.has('--staging') ? STAGING_SERVICES : PUBLIC_GOOD_SERVICES;
  const sign = p.switches.has('--in-toto') ? signStatementKeyless : signFileKeyless;
  const { bundle, logIndex } = await sign(file, token, services);
  writeFileSync(out, `${JSON.stringify(bundle)}\n`);
  process.stdout.write(`signed ${file}${logIndex ? ` (log index ${logIndex})` : ''}: ${out}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'verify-bundle':
        return await verifyBundleCommand(rest);
      case 'sign-bundle':
        return await signBundleCommand(rest);
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'no command given');
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof SigstoreError) {
      // A signing service that failed is a result (exit 1), not a usage error.
      if (e instanceof SigstoreError && command === 'sign-bundle') {
        process.stderr.write(`error: ${e.message}\n${e.remedy ?? ''}\n`);
        return 1;
      }
      process.stderr.write(`error: ${e.message}\n${e instanceof UsageError ? USAGE : ''}\n`);
      return 2;
    }
    throw e;
  }
}

useEnvironmentProxy();
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
