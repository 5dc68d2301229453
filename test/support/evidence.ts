/** Hand-made signers and evidence, for testing what the trust policy decides about them. */
import type { Evidence, SignerInfo } from '../../src/core/verify/result';

/** A certificate signer with the given identity, issuer and Fulcio extensions (by OID). */
export function certificateSignerOf(identity: string, issuer: string, extensions: Record<string, string> = {}): SignerInfo {
  return {
    kind: 'certificate',
    identity,
    issuer,
    extensions: Object.entries(extensions).map(([oid, value]) => ({ oid, name: oid, value })),
    notBefore: new Date(0),
    notAfter: new Date(0),
    certificateIssuer: 'CN=test',
    serialNumber: '01',
  };
}

/** Evidence that is cryptographically valid, signed by `signer`, before the policy is applied. */
export function validEvidence(signer: SignerInfo): Evidence {
  return { kind: 'sigstore-bundle', companion: '/c', state: 'verified', summary: 'valid', checks: [], signer, tlogEntries: [], timestamps: [], notes: [] };
}
