/** Routes each companion to the verifier of its kind; content decides where the name cannot. */
import { open } from 'node:fs/promises';
import type { Artifact } from '../artifacts/artifact';
import { isRegularFile, readLimited } from '../artifacts/artifact';
import type { Companion } from '../artifacts/companions';
import { ParsedCompanions } from '../artifacts/parsedCompanions';
import { outsideRoots } from '../artifacts/workspaceBoundary';
import { attestationTargets, verifyAttestations } from './attestations';
import { MAX_COMPANION_BYTES, verifyBundleFile, verifyBundleObject } from './bundleVerifier';
import { checksumEntriesFor, MAX_CHECKSUM_FILE_BYTES, verifyChecksum, verifyChecksumFile } from './checksum';
import { verifyCosignSignature } from './cosignSignature';
import { EvidenceBuilder } from './evidenceBuilder';
import { isLegacyCosignBundle, verifyLegacyBundle } from './legacyBundle';
import { isOpenPgpSignature, verifyOpenPgpSignature } from './openpgpSignature';
import type { Evidence } from './result';
import { parseStrictJson } from './strictJson';
import type { TrustInputs } from './trustInputs';

const CERTIFICATE_SUFFIXES = ['.pem', '.crt', '.cert'];

// A SHA256SUMS naming thousands of files is parsed once, not once for each of them.
const checksumLists = new ParsedCompanions((text, path) => checksumEntriesFor(path, text), MAX_CHECKSUM_FILE_BYTES);

/**
 * The evidence one companion gives about one artifact (several for JSON-lines files). The
 * caller has checked the companion against `allowedRoots`; files found here (a .sig's
 * certificate) are checked too.
 */
export async function verifyCompanion(
  companion: Companion,
  artifactPath: string,
  artifact: Artifact,
  inputs: TrustInputs,
  signal?: AbortSignal,
  allowedRoots?: readonly string[],
): Promise<Evidence[]> {
  const root = inputs.trustedRoot;
  const needsRoot = (kind: Evidence['kind']): Evidence | undefined =>
    'error' in root ? new EvidenceBuilder(kind, companion.path).stop('timestamps', 'unverifiable', root.error, root.remedy) : undefined;

  switch (companion.kind) {
    case 'certificate':
      // Not evidence on its own: it is read with the artifact's .sig.
      return [];
    case 'sigstore-bundle':
      return [needsRoot('sigstore-bundle') ?? (await verifyBundleFile(companion.path, artifact, { trustedRoot: rootOf(inputs), keys: inputs.publicKeys }))];
    case 'bundle': {
      let json: unknown;
      try {
        json = parseStrictJson((await readLimited(companion.path, MAX_COMPANION_BYTES)).toString('utf8'), { keys: 'protojson' });
      } catch {
        // Not JSON, or ambiguous JSON: let the bundle verifier say what is wrong with it.
        return [needsRoot('sigstore-bundle') ?? (await verifyBundleFile(companion.path, artifact, { trustedRoot: rootOf(inputs), keys: inputs.publicKeys }))];
      }
      if (isLegacyCosignBundle(json)) return [needsRoot('cosign-legacy-bundle') ?? (await verifyLegacyBundle(companion.path, artifact, inputs))];
      return [needsRoot('sigstore-bundle') ?? (await verifyBundleObject(companion.path, json, artifact, { trustedRoot: rootOf(inputs), keys: inputs.publicKeys }))];
    }
    case 'signature': {
      if (isOpenPgpSignature(await head(companion.path))) return [await verifyOpenPgpSignature(companion.path, artifact, artifactPath, inputs, signal)];
      const certificate = await certificateOf(artifactPath);
      const outside = certificate && (await outsideRoots(certificate, allowedRoots));
      if (outside) return [new EvidenceBuilder('cosign-signature', companion.path).stop('read', 'unverifiable', outside.message, outside.remedy)];
      return [await verifyCosignSignature(companion.path, certificate, artifact, inputs, signal)];
    }
    case 'openpgp':
      return [await verifyOpenPgpSignature(companion.path, artifact, artifactPath, inputs, signal)];
    case 'checksum':
      return [await verifyChecksumFile(companion.path, artifactPath, artifact)];
    case 'checksum-list': {
      let entry;
      try {
        entry = (await checksumLists.read(companion.path)).get(artifactPath);
      } catch (e) {
        return [new EvidenceBuilder('checksum', companion.path).stop('parse', 'failed', (e as Error).message, 'Download the checksum list again.')];
      }
      if (!entry) return [];
      return [await verifyChecksum(companion.path, entry, artifact)];
    }
    case 'attestations':
      return needsRoot('intoto-attestation') ? [needsRoot('intoto-attestation')!] : verifyAttestations(companion.path, artifactPath, artifact, { trustedRoot: rootOf(inputs), keys: inputs.publicKeys });
  }
}

function rootOf(inputs: TrustInputs) {
  if ('error' in inputs.trustedRoot) throw new Error('checked by the caller');
  return inputs.trustedRoot;
}

/** The first bytes of a file (enough to tell OpenPGP from cosign), or none. */
async function head(path: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } catch {
    return Buffer.alloc(0);
  } finally {
    await handle?.close();
  }
}

async function certificateOf(artifactPath: string): Promise<string | undefined> {
  for (const suffix of CERTIFICATE_SUFFIXES) {
    if (await isRegularFile(artifactPath + suffix)) return artifactPath + suffix;
  }
  return undefined;
}

/**
 * The files a content-defined companion (checksum list, attestations) is about; none for
 * one whose real path leaves `allowedRoots` (it is not read).
 */
export async function companionTargets(companion: Companion, allowedRoots?: readonly string[]): Promise<string[]> {
  if (await outsideRoots(companion.path, allowedRoots)) return [];
  if (companion.kind === 'checksum-list') return [...(await checksumLists.read(companion.path)).keys()];
  if (companion.kind === 'attestations') return attestationTargets(companion.path);
  return [];
}
