/**
 * `sigstore verify`: the extension's checks for CI and scripts, over the same core.
 *   sigstore verify [--policy FILE] [--trusted-root FILE] [--rekor-url URL] [--offline] [--json] [--strict] PATH...
 * Exit status: 0 when no result is failed or unsigned and every file could be checked (with
 * --strict: every result is verified and every named file has evidence), 1 otherwise, 2 usage errors.
 *   sigstore sign [--key FILE] … FILE...   (signCommand.ts)
 *   sigstore tree [--policy FILE] … REF     (treeCommand.ts)
 *   sigstore sign-image [--key FILE] … REF   (signImageCommand.ts)
 *   sigstore attest-image --predicate F --type T … REF  (attestImageCommand.ts)
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileFingerprint, isRegularFile } from '../core/artifacts/artifact';
import { candidateCompanions, classify } from '../core/artifacts/companions';
import { ruleExpectingSignature, unsignedResult } from '../core/policy/evaluate';
import { escapedText } from '../core/text/printable';
import { verifyArtifact } from '../core/verify/artifactVerifier';
import { companionTargets } from '../core/verify/companionVerifier';
import type { SignerInfo, VerificationResult } from '../core/verify/result';
import { PUBLIC_GOOD_REKOR_URL } from '../core/verify/trustInputs';
import { VerificationCache } from '../core/verify/verificationCache';
import { ATTEST_IMAGE_USAGE, attestImageCommand } from './attestImageCommand';
import { SIGN_USAGE, signCommand } from './signCommand';
import { SIGN_IMAGE_USAGE, signImageCommand } from './signImageCommand';
import { TREE_USAGE, treeCommand } from './treeCommand';
import { useEnvironmentProxy } from './environmentProxy';
import { policyState, trustedRootOf } from './trustFlags';
import { MissingPathError, walkWorkspace } from './workspaceWalk';

class UsageError extends Error {}

const USAGE = `usage: sigstore verify [--policy FILE] [--trusted-root FILE] [--rekor-url URL] [--offline] [--json] [--strict] PATH...
  PATH is a file or a folder (walked like the Explorer, skipping .git and node_modules).
  Links that lead outside the PATHs given (a file's own folder) are not followed or read.
  A file a policy rule covers that has no evidence is "unsigned"; a file named on the command
  line that has neither evidence nor a rule is reported as "no evidence".
  Exit status: 0 when nothing failed, is unsigned or broke the verifier (--strict: all verified,
  and every named file has evidence), 1 otherwise, 2 usage error.
${SIGN_USAGE}
${TREE_USAGE}
${SIGN_IMAGE_USAGE}
${ATTEST_IMAGE_USAGE}`;

interface Options {
  policy?: string;
  trustedRoot?: string;
  rekorURL: string;
  offline: boolean;
  json: boolean;
  strict: boolean;
  paths: string[];
}

function parseArgs(args: string[]): Options {
  const o: Options = { rekorURL: PUBLIC_GOOD_REKOR_URL, offline: false, json: false, strict: false, paths: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--policy') o.policy = value();
    else if (arg === '--trusted-root') o.trustedRoot = value();
    else if (arg === '--rekor-url') o.rekorURL = value();
    else if (arg === '--offline') o.offline = true;
    else if (arg === '--json') o.json = true;
    else if (arg === '--strict') o.strict = true;
    else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else o.paths.push(resolve(arg));
  }
  if (o.paths.length === 0) throw new UsageError('no PATH given');
  return o;
}

function signerJSON(signer: SignerInfo | undefined): object | undefined {
  if (!signer) return undefined;
  if (signer.kind === 'certificate') return { kind: 'certificate', identity: signer.identity, issuer: signer.issuer };
  if (signer.kind === 'key') return { kind: 'key', source: signer.source, hint: signer.hint || undefined };
  return { kind: 'openpgp', fingerprint: signer.fingerprint, userIds: signer.userIds, source: signer.source };
}

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith(`..${sep}`) && !isAbsolute(rel) ? rel.split(sep).join('/') : path;
}

export async function verifyCommand(args: string[]): Promise<number> {
  const o = parseArgs(args);
  const [policy, trustedRoot] = await Promise.all([policyState(o.policy), trustedRootOf(o.trustedRoot)]);
  const network = { allowed: !o.offline, rekorURL: o.rekorURL };
  const walk = await walkWorkspace(o.paths).catch((e: unknown) => Promise.reject(e instanceof MissingPathError ? new UsageError(e.message) : e));
  for (const note of walk.notes) process.stderr.write(`warning: ${escapedText(note)}\n`);
  const allowedRoots = walk.roots;

  const cache = new VerificationCache({
    verify: (artifact, companions, signal) => verifyArtifact(artifact, companions, { policy, trustedRoot, network, allowedRoots, signal }),
    targetsOf: (companion) => companionTargets(companion, allowedRoots),
    fingerprint: fileFingerprint,
    exists: isRegularFile,
    onDidChange: () => undefined,
    onError: (artifact, e) => process.stderr.write(`error: verifying ${escapedText(artifact)}: ${escapedText(String((e as Error).stack ?? e))}\n`),
  });
  const files = walk.files;
  const named = new Set(files);
  for (const file of files) {
    cache.changed(file);
    // A file given by name whose companions sit elsewhere in the tree still finds them.
    if (!classify(file)) for (const c of candidateCompanions(file)) if (!named.has(c.path) && (await isRegularFile(c.path))) cache.changed(c.path);
  }
  await cache.whenIdle();

  const results: VerificationResult[] = [];
  const withoutEvidence: string[] = [];
  for (const path of [...new Set(files.concat(cache.verifiablePaths()))].sort((a, b) => a.localeCompare(b))) {
    const result = cache.get(path);
    if (result) {
      results.push(result);
      continue;
    }
    // Companions are evidence, not files to judge.
    if (classify(path) || cache.companionsOf(path).length) continue;
    const rule = ruleExpectingSignature(policy, path);
    if (rule) results.push(unsignedResult(path, rule));
    else if (named.has(path) && o.paths.includes(path)) withoutEvidence.push(path);
  }

  if (o.json) {
    const doc = {
      results: results.map((r) => ({
        path: display(r.artifact),
        state: r.state,
        summary: r.summary,
        ...(r.internalError ? { internalError: r.internalError } : {}),
        evidence: r.evidence.map((e) => ({
          kind: e.kind,
          companion: display(e.companion),
          ...(e.line ? { line: e.line } : {}),
          state: e.state,
          reason: e.summary,
          ...(e.failure ? { check: e.failure.check, remedy: e.failure.remedy } : {}),
          ...(e.rule ? { rule: e.rule } : {}),
        })),
        signer: signerJSON(r.evidence.find((e) => e.state === r.state)?.signer),
      })),
      withoutEvidence: withoutEvidence.map(display),
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    // Names, identities and registry text are the workspace's words: escaped, so none can forge a line.
    for (const r of results) process.stdout.write(`${r.state.padEnd(12)} ${escapedText(display(r.artifact))}: ${escapedText(r.summary)}\n`);
    for (const p of withoutEvidence) process.stdout.write(`${'no evidence'.padEnd(12)} ${escapedText(display(p))}: no signature, bundle, attestation or checksum names it, and no policy rule covers it\n`);
    const counts = new Map<string, number>();
    for (const r of results) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    const without = withoutEvidence.length ? `; ${withoutEvidence.length} named file(s) without evidence` : '';
    process.stdout.write(`${results.length} file(s) with evidence or a rule: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}${without}\n`);
  }
  const broken = results.filter((r) => r.internalError);
  for (const r of broken) process.stderr.write(`error: the verifier broke on ${escapedText(display(r.artifact))}: ${escapedText(r.internalError!)}\n`);
  const failed =
    broken.length > 0 ||
    results.some((r) => r.state === 'failed' || r.state === 'unsigned') ||
    (o.strict && (withoutEvidence.length > 0 || results.some((r) => r.state !== 'verified')));
  return failed ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'verify') return await verifyCommand(rest);
    if (command === 'sign') return await signCommand(rest);
    if (command === 'tree') return await treeCommand(rest);
    if (command === 'sign-image') return await signImageCommand(rest);
    if (command === 'attest-image') return await attestImageCommand(rest);
    if (command === '--help' || command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    throw new UsageError(command ? `unknown command ${command}` : 'no command given');
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 2;
  }
}

useEnvironmentProxy();
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
