// The sandbox of DESIGN.md: a local OpenID provider and a local Sigstore instance whose
// Fulcio makes the real token checks, all on 127.0.0.1. The VS Code tests and `npm start`
// point the extension at it with workspace settings (settingsFor).
//
// As a program: `node --import tsx test/support/sandbox.ts DIR` writes DIR/trusted_root.json
// and DIR/sandbox.json, prints one line "sandbox-ready <sandbox.json>" and serves until
// it is stopped (SIGINT/SIGTERM).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { createFulcioGate, type FulcioGate } from './fulcio-gate';
import { startOidcProvider, type OidcProvider, type OidcProviderOptions } from './oidc-provider';
import { startSigstoreInstance, type SigstoreInstance, type TrustedRootJSON } from './sigstore-instance';

/** The folder of files waiting to be signed that pointWorkspaceAt adds. */
export const TO_SIGN_FOLDER = 'to-sign';

/** Where everything is: what sandbox.json holds. */
export interface SandboxDescription {
  issuer: string;
  clientId: string;
  /** The identity the provider signs everyone in as. */
  email: string;
  fulcioURL: string;
  rekorURL: string;
  tsaURL: string;
  trustedRootPath: string;
}

export interface Sandbox extends SandboxDescription {
  oidc: OidcProvider;
  sigstore: SigstoreInstance;
  /** Every identity token Fulcio was shown, so tests can look for leaks of them. */
  tokensSeen: readonly string[];
  close(): Promise<void>;
}

export async function startSandbox(dir: string, oidcOptions: OidcProviderOptions = {}): Promise<Sandbox> {
  // 127.0.0.2: the device page must open from code-server as it is (see OidcProviderOptions.host).
  const oidc = await startOidcProvider({ host: '127.0.0.2', ...oidcOptions });
  const tokensSeen: string[] = [];
  const gate = createFulcioGate({ issuer: oidc.issuer });
  const recordingGate: FulcioGate = (body) => {
    const token = (safeJson(body) as { credentials?: { oidcIdentityToken?: unknown } } | undefined)?.credentials?.oidcIdentityToken;
    if (typeof token === 'string') tokensSeen.push(token);
    return gate(body);
  };
  let sigstore: SigstoreInstance;
  try {
    sigstore = await startSigstoreInstance({ fulcioGate: recordingGate });
  } catch (e) {
    await oidc.close();
    throw e;
  }
  await mkdir(dir, { recursive: true });
  const trustedRootPath = path.join(dir, 'trusted_root.json');
  await writeFile(trustedRootPath, `${JSON.stringify(sigstore.trustedRoot, null, 2)}\n`);
  return {
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    email: oidc.email,
    fulcioURL: sigstore.fulcioURL,
    rekorURL: sigstore.rekorURL,
    tsaURL: sigstore.tsaURL,
    trustedRootPath,
    oidc,
    sigstore,
    tokensSeen,
    close: async () => {
      await Promise.allSettled([oidc.close(), sigstore.close()]);
    },
  };
}

export function describeSandbox(s: SandboxDescription): SandboxDescription {
  const { issuer, clientId, email, fulcioURL, rekorURL, tsaURL, trustedRootPath } = s;
  return { issuer, clientId, email, fulcioURL, rekorURL, tsaURL, trustedRootPath };
}

/** The workspace settings that make the extension sign and verify with the sandbox. */
export function settingsFor(s: SandboxDescription, trustedRootPath = s.trustedRootPath): Record<string, unknown> {
  return {
    'sigstore.oidcIssuer': s.issuer,
    'sigstore.oidcClientId': s.clientId,
    'sigstore.fulcioURL': s.fulcioURL,
    'sigstore.rekorURL': s.rekorURL,
    'sigstore.tsaURL': s.tsaURL,
    'sigstore.trustedRoot': trustedRootPath,
  };
}

/**
 * One trusted root that trusts both instances: a private deployment's root may list several
 * CAs and logs, and the fixture workspace was signed by another instance than the sandbox.
 */
export function mergeTrustedRoots(a: TrustedRootJSON, b: TrustedRootJSON): TrustedRootJSON {
  const merged: TrustedRootJSON = { ...a };
  for (const key of ['certificateAuthorities', 'tlogs', 'ctlogs', 'timestampAuthorities']) {
    merged[key] = [...((a[key] as unknown[] | undefined) ?? []), ...((b[key] as unknown[] | undefined) ?? [])];
  }
  return merged;
}

/**
 * Points a fixture workspace (test/support/fixtures.ts) at the sandbox: its trusted_root.json
 * then trusts both the fixtures' instance and the sandbox, and its settings send signing and
 * sign-in to the sandbox. The fixtures' own settings win where both set something.
 */
export async function pointWorkspaceAt(workspace: string, sandbox: Sandbox): Promise<void> {
  // Files to sign, and a rule that trusts the sandbox's identity for them, so a file signed
  // there turns verified (the other files keep the fixtures' rule).
  await mkdir(path.join(workspace, TO_SIGN_FOLDER), { recursive: true });
  await writeFile(path.join(workspace, TO_SIGN_FOLDER, 'release-notes.md'), '# Release 1.0\n\nSign me: right-click → Sign Artifact.\n');
  await writeFile(path.join(workspace, TO_SIGN_FOLDER, 'app.tar.gz'), Buffer.alloc(64 * 1024, 7));
  const policyFile = path.join(workspace, '.sigstore', 'policy.json');
  const policy = JSON.parse(await readFile(policyFile, 'utf8')) as { rules: unknown[] };
  policy.rules.push({ name: 'signed in the sandbox', match: [`${TO_SIGN_FOLDER}/**`], identities: [{ subject: sandbox.email, issuer: sandbox.issuer }] });
  await writeFile(policyFile, `${JSON.stringify(policy, null, 2)}\n`);

  const rootFile = path.join(workspace, 'trusted_root.json');
  const fixtureRoot = JSON.parse(await readFile(rootFile, 'utf8')) as TrustedRootJSON;
  await writeFile(rootFile, `${JSON.stringify(mergeTrustedRoots(fixtureRoot, sandbox.sigstore.trustedRoot), null, 2)}\n`);
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(await readFile(settingsFile, 'utf8')) as Record<string, unknown>;
  await writeFile(settingsFile, `${JSON.stringify({ ...settingsFor(sandbox), ...settings }, null, 2)}\n`);
}

function safeJson(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

async function main(dir: string): Promise<void> {
  const sandbox = await startSandbox(path.resolve(dir));
  const description = describeSandbox(sandbox);
  await writeFile(path.join(path.resolve(dir), 'sandbox.json'), `${JSON.stringify(description, null, 2)}\n`);
  process.stdout.write(`sandbox-ready ${JSON.stringify(description)}\n`);
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node --import tsx test/support/sandbox.ts DIR\n');
    process.exit(2);
  }
  main(dir).catch((e: unknown) => {
    process.stderr.write(`sandbox failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
