/**
 * `sigstore tree REF`: what the Images view shows for one image, like `cosign tree` with
 * verification results. Lists the cosign tags and OCI referrers of the image (and of each
 * platform manifest of a multi-arch index), verifies every signature and attestation under the
 * trust policy's `images` rules, and prints a tree, or with --json:
 *
 *   {"reference", "digest", "manifests": [{"digest", "platform", "signatures": [...], "attestations": [...], "sboms": [...]}]}
 *
 * Each item: `digest` (layer or referrer manifest), `source` (`referrers` | `fallback-tag` |
 * `cosign-tag`), `state` (the five ids; `unsigned` for SBOMs, which carry no signature),
 * `predicateType` (attestations), `signer` (or null) and `reason`; a failure adds `check` and
 * `remedy`. A manifest gets `others` (unknown referrers) and `errors` (sources that could not
 * be read) only when there are some, and `notRead` ({count, more}: attachments beyond
 * --max-attachments) when some were left unread; the document gets `platformsNotRead` when
 * an index lists more platforms than --max-attachments.
 * Exit status: 0 nothing failed, 1 something failed or could not be listed, 2 usage error or the image cannot be read.
 */
import { DEFAULT_MAX_ATTACHMENTS, listAttachments, MAX_ATTACHMENTS_LIMIT, platformLabel, type Attachment, type ImageAttachments, type ManifestAttachments, type NotRead } from '../core/images/attachments';
import { attachmentState, verifyAttachments, type AttachmentState } from '../core/images/imageVerifier';
import { predicateLabel } from '../core/images/predicateTypes';
import { dockerCredentials } from '../core/oci/dockerCredentials';
import { OciError } from '../core/oci/errors';
import { parseImageReference } from '../core/oci/reference';
import { RegistryClient } from '../core/oci/registryClient';
import type { Evidence, SignerInfo } from '../core/verify/result';
import { policyState, trustedRootOf } from './trustFlags';

export const TREE_USAGE = `usage: sigstore tree [--policy FILE] [--trusted-root FILE] [--insecure-registry HOST]... [--max-attachments N] [--json] REF
  Lists the signatures, attestations and SBOMs attached to the image REF (cosign's
  sha256-<hex>.sig/.att/.sbom tags and OCI referrers; for a multi-arch image, the index and each
  platform manifest) and verifies each under the trust policy's "images" rules.
  --max-attachments N: read at most N platforms of an index and N attachments of each manifest
  (1-${MAX_ATTACHMENTS_LIMIT}, default ${DEFAULT_MAX_ATTACHMENTS}); what is left unread is reported as "N more not read".
  Credentials come from the Docker configuration ($DOCKER_CONFIG or ~/.docker/config.json).
  Plain HTTP only for localhost, 127.0.0.0/8 and the --insecure-registry hosts.
  Exit status: 0 nothing failed, 1 something failed or could not be listed, 2 usage error or REF unreadable.`;

class TreeUsageError extends Error {}

interface TreeOptions {
  policy?: string;
  trustedRoot?: string;
  insecure: string[];
  maxAttachments: number;
  json: boolean;
  reference: string;
}

function parseArgs(args: string[]): TreeOptions {
  const o: Partial<TreeOptions> & { insecure: string[]; json: boolean; maxAttachments: number } = { insecure: [], json: false, maxAttachments: DEFAULT_MAX_ATTACHMENTS };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new TreeUsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--policy') o.policy = value();
    else if (arg === '--trusted-root') o.trustedRoot = value();
    else if (arg === '--insecure-registry') o.insecure.push(value());
    else if (arg === '--max-attachments') {
      const text = value();
      const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
      if (!(n >= 1 && n <= MAX_ATTACHMENTS_LIMIT)) throw new TreeUsageError(`--max-attachments takes a whole number from 1 to ${MAX_ATTACHMENTS_LIMIT}`);
      o.maxAttachments = n;
    } else if (arg === '--json') o.json = true;
    else if (arg.startsWith('--')) throw new TreeUsageError(`unknown option ${arg}`);
    else if (o.reference !== undefined) throw new TreeUsageError('give one image reference');
    else o.reference = arg;
  }
  if (o.reference === undefined) throw new TreeUsageError('no image reference given');
  return o as TreeOptions;
}

interface Verified {
  readonly attachment: Attachment;
  readonly evidence: Evidence | undefined;
  readonly state: AttachmentState;
}

function signerJSON(signer: SignerInfo | undefined): object | null {
  if (!signer) return null;
  if (signer.kind === 'certificate') return { kind: 'certificate', identity: signer.identity, issuer: signer.issuer ?? null };
  if (signer.kind === 'key') return { kind: 'key', source: signer.source ?? null, ...(signer.hint ? { hint: signer.hint } : {}) };
  return { kind: 'openpgp', fingerprint: signer.fingerprint, userIds: signer.userIds, source: signer.source ?? null };
}

function predicateOf(v: Verified): string | null {
  return v.evidence?.bundle?.predicateType ?? v.attachment.predicateType ?? null;
}

function itemJSON(v: Verified): object {
  const e = v.evidence;
  return {
    digest: v.attachment.digest,
    source: v.attachment.source,
    state: v.state,
    ...(v.attachment.kind === 'attestation' ? { predicateType: predicateOf(v) } : {}),
    signer: signerJSON(e?.signer),
    mediaType: v.attachment.mediaType,
    reason: e?.summary ?? (v.attachment.kind === 'sbom' ? 'An SBOM attachment: it carries no signature.' : 'An artifact without a signature.'),
    ...(e?.failure ? { check: e.failure.check, remedy: e.failure.remedy } : {}),
  };
}

const BADGES: Record<AttachmentState, string> = { verified: '✓', untrusted: '!', integrity: '#', failed: '✗', unverifiable: '?', unsigned: '-' };
const SOURCES: Record<Attachment['source'], string> = { 'cosign-tag': 'cosign tag', referrers: 'referrers API', 'fallback-tag': 'referrers fallback tag' };
const GROUPS: Array<[Attachment['kind'], string]> = [
  ['signature', 'Signatures'],
  ['attestation', 'Attestations'],
  ['sbom', 'SBOMs'],
  ['other', 'Other artifacts'],
];

/** `3 more not read`, `20+ more not read` when the registry had more pages still. */
function notReadText(n: NotRead | number, what: string): string {
  const { count, more } = typeof n === 'number' ? { count: n, more: false } : n;
  return `${count}${more ? '+' : ''} more ${what} not read (raise --max-attachments to read them)`;
}

function textOf(listing: ImageAttachments, verified: ReadonlyMap<ManifestAttachments, Verified[]>): string {
  const lines: string[] = [`${listing.reference}@${listing.digest}`];
  const platformsNotRead = listing.image.platformsNotRead;
  listing.manifests.forEach((m, mi) => {
    const lastManifest = mi === listing.manifests.length - 1 && platformsNotRead === 0;
    const what = mi === 0 ? (listing.image.kind === 'index' ? 'index' : 'image') : platformLabel(m.platform) || 'manifest';
    lines.push(`${lastManifest ? '└── ' : '├── '}${m.digest} (${what})`);
    const indent = lastManifest ? '    ' : '│   ';
    const items = verified.get(m) ?? [];
    const groups = GROUPS.map(([kind, title]) => [title, items.filter((v) => v.attachment.kind === kind)] as const).filter(([, vs]) => vs.length > 0);
    const rows: Array<{ text: string; children: string[] }> = groups.map(([title, vs]) => ({
      text: `${title} (${vs.length})`,
      children: vs.map((v) => {
        const e = v.evidence;
        const label = v.attachment.kind === 'attestation' ? `${predicateLabel(predicateOf(v) ?? undefined)} ` : v.attachment.kind === 'signature' ? '' : `${v.attachment.mediaType} `;
        const why = e ? e.summary : 'no signature';
        return `${BADGES[v.state]} ${v.state.padEnd(12)} ${v.attachment.digest} ${label}[${SOURCES[v.attachment.source]}]: ${why}`;
      }),
    }));
    for (const p of m.problems) rows.push({ text: `error: ${p.message}${p.remedy ? ` ${p.remedy}` : ''}`, children: [] });
    if (m.notRead) rows.push({ text: notReadText(m.notRead, 'attachment(s)'), children: [] });
    if (rows.length === 0) rows.push({ text: '(nothing attached)', children: [] });
    rows.forEach((row, ri) => {
      const lastRow = ri === rows.length - 1;
      lines.push(`${indent}${lastRow ? '└── ' : '├── '}${row.text}`);
      row.children.forEach((child, ci) => lines.push(`${indent}${lastRow ? '    ' : '│   '}${ci === row.children.length - 1 ? '└── ' : '├── '}${child}`));
    });
  });
  if (platformsNotRead > 0) lines.push(`└── ${notReadText(platformsNotRead, 'platform manifest(s)')}`);
  const all = [...verified.values()].flat();
  const counts = new Map<string, number>();
  for (const v of all) counts.set(v.state, (counts.get(v.state) ?? 0) + 1);
  const problems = listing.manifests.reduce((n, m) => n + m.problems.length, 0);
  const unread = listing.manifests.reduce((n, m) => n + (m.notRead?.count ?? 0), 0);
  const notReadNote = `${unread ? `; ${unread} more attachment(s) not read` : ''}${platformsNotRead ? `; ${platformsNotRead} more platform manifest(s) not read` : ''}`;
  lines.push(`${all.length} attachment(s): ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}${problems ? `; ${problems} source(s) could not be read` : ''}${notReadNote}`);
  return `${lines.join('\n')}\n`;
}

export async function treeCommand(args: string[]): Promise<number> {
  let o: TreeOptions;
  try {
    o = parseArgs(args);
    parseImageReference(o.reference);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n${TREE_USAGE}\n`);
    return 2;
  }
  const [policy, trustedRoot] = await Promise.all([policyState(o.policy), trustedRootOf(o.trustedRoot)]);
  const client = new RegistryClient({ credentials: dockerCredentials(), insecureRegistries: o.insecure });
  try {
    let listing: ImageAttachments;
    try {
      listing = await listAttachments(client, o.reference, { prefetch: true, maxAttachments: o.maxAttachments });
    } catch (e) {
      if (!(e instanceof OciError)) throw e;
      process.stderr.write(`error: ${e.message}${e.remedy ? `\n  ${e.remedy}` : ''}\n`);
      return 2;
    }
    const trust = { policy, trustedRoot };
    const verified = new Map<ManifestAttachments, Verified[]>();
    for (const m of listing.manifests) {
      const results = await verifyAttachments(m.attachments, m.digest, listing.image.reference, trust);
      verified.set(
        m,
        results.map(({ attachment, evidence }) => ({ attachment, evidence, state: attachmentState(evidence) })),
      );
    }
    if (o.json) {
      const doc = {
        reference: listing.reference,
        digest: listing.digest,
        manifests: listing.manifests.map((m) => {
          const items = verified.get(m) ?? [];
          const of = (kind: Attachment['kind']) => items.filter((v) => v.attachment.kind === kind).map(itemJSON);
          const others = of('other');
          return {
            digest: m.digest,
            platform: m.platform ?? null,
            signatures: of('signature'),
            attestations: of('attestation'),
            sboms: of('sbom'),
            ...(others.length ? { others } : {}),
            ...(m.problems.length ? { errors: m.problems.map((p) => ({ source: p.source, location: p.location, code: p.code, message: p.message, ...(p.remedy ? { remedy: p.remedy } : {}) })) } : {}),
            ...(m.notRead ? { notRead: { count: m.notRead.count, more: m.notRead.more } } : {}),
          };
        }),
        ...(listing.image.platformsNotRead ? { platformsNotRead: listing.image.platformsNotRead } : {}),
      };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      process.stdout.write(textOf(listing, verified));
    }
    const failed = [...verified.values()].flat().some((v) => v.state === 'failed') || listing.manifests.some((m) => m.problems.length > 0);
    return failed ? 1 : 0;
  } finally {
    await client.close();
  }
}
