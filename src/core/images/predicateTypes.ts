/** In-toto predicate types seen on container images, and how the view and the CLI name them. */

/** cosign v3 `sign`: a signature made as an in-toto statement about the image. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

const LABELS: Readonly<Record<string, string>> = {
  'https://slsa.dev/provenance/v1': 'SLSA provenance v1',
  'https://slsa.dev/provenance/v0.2': 'SLSA provenance v0.2',
  'https://slsa.dev/provenance/v0.1': 'SLSA provenance v0.1',
  'https://spdx.dev/Document': 'SPDX SBOM',
  'https://spdx.dev/Document/v2.3': 'SPDX 2.3 SBOM',
  'https://cyclonedx.org/bom': 'CycloneDX SBOM',
  'https://cyclonedx.org/bom/v1.4': 'CycloneDX 1.4 SBOM',
  'https://cyclonedx.org/bom/v1.5': 'CycloneDX 1.5 SBOM',
  'https://cyclonedx.org/bom/v1.6': 'CycloneDX 1.6 SBOM',
  'https://openvex.dev/ns': 'OpenVEX',
  'https://openvex.dev/ns/v0.2.0': 'OpenVEX v0.2.0',
  'https://cosign.sigstore.dev/attestation/v1': 'custom (cosign)',
  'https://cosign.sigstore.dev/attestation/vuln/v1': 'vulnerability scan (cosign)',
  'https://in-toto.io/Link/v1': 'in-toto link',
  'https://in-toto.io/attestation/link/v0.3': 'in-toto link v0.3',
  'https://in-toto.io/attestation/vulns/v0.1': 'vulnerability scan',
  'https://in-toto.io/attestation/release/v0.1': 'release',
  'https://in-toto.io/attestation/test-result/v0.1': 'test result',
  [COSIGN_SIGN_PREDICATE]: 'signature (cosign v3)',
};

/** A short human name for a predicate type: the known ones by name, others as they are written. */
export function predicateLabel(predicateType: string | undefined): string {
  if (!predicateType) return 'unknown predicate';
  return LABELS[predicateType] ?? predicateType;
}
