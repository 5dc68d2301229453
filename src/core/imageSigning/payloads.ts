/**
 * What gets signed when an image is signed or attested: cosign's simple-signing payload (for
 * the `.sig` tag), and in-toto statements about the image digest (cosign v3's signature
 * statement, and attestations with a person's predicate).
 */
import { COSIGN_SIGN_PREDICATE } from '../images/predicateTypes';
import { repositoryName, type ImageReference } from '../oci/reference';
import { SigstoreError } from '../errors';

export class ImageSigningError extends SigstoreError {}

export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** `key=value` annotations (cosign `-a`): a key is not empty and appears once. */
export function parseAnnotations(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at).trim() : '';
    if (!key) throw new ImageSigningError('BAD_ANNOTATION', `"${pair}" is not an annotation: write key=value.`, 'Give each annotation as key=value, for example -a env=prod.');
    if (Object.hasOwn(out, key)) throw new ImageSigningError('BAD_ANNOTATION', `The annotation "${key}" is given twice.`, 'Give each annotation key once.');
    out[key] = pair.slice(at + 1);
  }
  return out;
}

/** The repository a signature names as `docker-reference`: registry and path, no tag or digest (as cosign). */
export function dockerReference(repo: ImageReference): string {
  return repositoryName(repo);
}

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new ImageSigningError('BAD_DIGEST', `Only sha256 image digests can be signed, not ${digest.slice(0, 80)}.`, 'Sign an image whose manifest digest is sha256.');
  return m[1]!;
}

/** cosign's simple-signing payload for `repo@digest`, with optional annotations. */
export function simpleSigningPayload(repo: ImageReference, digest: string, annotations: Readonly<Record<string, string>> = {}): Buffer {
  hexOf(digest);
  const payload = {
    critical: { identity: { 'docker-reference': dockerReference(repo) }, image: { 'docker-manifest-digest': digest }, type: SIMPLE_SIGNING_TYPE },
    optional: Object.keys(annotations).length ? { ...annotations } : null,
  };
  return Buffer.from(JSON.stringify(payload));
}

/** An in-toto v1 statement about `repo@digest` with the given predicate. */
export function imageStatement(repo: ImageReference, digest: string, predicateType: string, predicate: unknown): Buffer {
  const statement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: dockerReference(repo), digest: { sha256: hexOf(digest) } }],
    predicateType,
    predicate,
  };
  return Buffer.from(JSON.stringify(statement));
}

/** cosign v3's signature: a statement with predicate type `https://sigstore.dev/cosign/sign/v1`, annotations as the predicate. */
export function signatureStatement(repo: ImageReference, digest: string, annotations: Readonly<Record<string, string>> = {}): Buffer {
  return imageStatement(repo, digest, COSIGN_SIGN_PREDICATE, Object.keys(annotations).length ? { annotations: { ...annotations } } : {});
}

/** Reads a predicate file's JSON: an object, as in-toto requires. */
export function parsePredicate(bytes: Buffer, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ImageSigningError('BAD_PREDICATE', `${where} is not JSON: ${(e as Error).message}.`, 'Choose a JSON file holding the predicate (for SLSA, the provenance; for SPDX or CycloneDX, the SBOM document).');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImageSigningError('BAD_PREDICATE', `${where} holds JSON, but not an object.`, 'An in-toto predicate is a JSON object; choose the document itself.');
  }
  return value as Record<string, unknown>;
}

/** Predicate types by the short names cosign `attest --type` takes; anything else must be a URI. */
export const PREDICATE_TYPE_NAMES: Readonly<Record<string, string>> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
  custom: 'https://cosign.sigstore.dev/attestation/v1',
};

/** A predicate type from a short name or a URI. */
export function predicateTypeOf(type: string): string {
  const named = PREDICATE_TYPE_NAMES[type.trim().toLowerCase()];
  if (named) return named;
  let url: URL | undefined;
  try {
    url = new URL(type.trim());
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol)) {
    throw new ImageSigningError(
      'BAD_PREDICATE_TYPE',
      `"${type.slice(0, 100)}" is neither a known predicate type nor a URI.`,
      `Use one of ${Object.keys(PREDICATE_TYPE_NAMES).join(', ')}, or the predicate type's URI.`,
    );
  }
  return type.trim();
}
