import { ASN1Obj, type X509Certificate } from '@sigstore/core';
import { X509Certificate as StrictX509 } from 'node:crypto';
import type { CertificateExtension, SignerInfo } from './result';

// Fulcio's OIDs under 1.3.6.1.4.1.57264.1: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
/** Fulcio extension arcs: display name and the key a trust policy uses for it. */
export const FULCIO_EXTENSIONS: Readonly<Record<number, { readonly name: string; readonly key: string }>> = {
  1: { name: 'Issuer (v1)', key: 'issuerV1' },
  2: { name: 'GitHub Workflow Trigger', key: 'githubWorkflowTrigger' },
  3: { name: 'GitHub Workflow SHA', key: 'githubWorkflowSHA' },
  4: { name: 'GitHub Workflow Name', key: 'githubWorkflowName' },
  5: { name: 'GitHub Workflow Repository', key: 'githubWorkflowRepository' },
  6: { name: 'GitHub Workflow Ref', key: 'githubWorkflowRef' },
  8: { name: 'Issuer', key: 'issuer' },
  9: { name: 'Build Signer URI', key: 'buildSignerURI' },
  10: { name: 'Build Signer Digest', key: 'buildSignerDigest' },
  11: { name: 'Runner Environment', key: 'runnerEnvironment' },
  12: { name: 'Source Repository URI', key: 'sourceRepositoryURI' },
  13: { name: 'Source Repository Digest', key: 'sourceRepositoryDigest' },
  14: { name: 'Source Repository Ref', key: 'sourceRepositoryRef' },
  15: { name: 'Source Repository Identifier', key: 'sourceRepositoryIdentifier' },
  16: { name: 'Source Repository Owner URI', key: 'sourceRepositoryOwnerURI' },
  17: { name: 'Source Repository Owner Identifier', key: 'sourceRepositoryOwnerIdentifier' },
  18: { name: 'Build Config URI', key: 'buildConfigURI' },
  19: { name: 'Build Config Digest', key: 'buildConfigDigest' },
  20: { name: 'Build Trigger', key: 'buildTrigger' },
  21: { name: 'Run Invocation URI', key: 'runInvocationURI' },
  22: { name: 'Source Repository Visibility At Signing', key: 'sourceRepositoryVisibilityAtSigning' },
};
export const FULCIO_OID_PREFIX = '1.3.6.1.4.1.57264.1.';
// Arcs 1–6 hold the raw string; later ones a DER UTF8String.
const RAW_STRING_ARCS = new Set([1, 2, 3, 4, 5, 6]);

/** Reads who a Fulcio certificate was issued to, and the claims Fulcio embedded. */
export function certificateSigner(cert: X509Certificate): SignerInfo {
  const extensions: CertificateExtension[] = [];
  for (const ext of cert.extensions) {
    const oid = ext.subs[0]?.toOID();
    if (!oid?.startsWith(FULCIO_OID_PREFIX)) continue;
    const arc = Number(oid.slice(FULCIO_OID_PREFIX.length));
    const name = FULCIO_EXTENSIONS[arc]?.name;
    if (!name) continue;
    const raw = ext.subs[ext.subs.length - 1]?.value ?? Buffer.alloc(0);
    extensions.push({ oid, name, value: decodeExtension(raw, RAW_STRING_ARCS.has(arc)) });
  }
  const issuer =
    extensions.find((e) => e.oid === `${FULCIO_OID_PREFIX}8`)?.value ?? extensions.find((e) => e.oid === `${FULCIO_OID_PREFIX}1`)?.value;
  return {
    kind: 'certificate',
    identity: identityOf(cert),
    issuer,
    extensions,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    certificateIssuer: distinguishedName(cert.issuer),
    serialNumber: cert.serialNumber.toString('hex'),
  };
}

function identityOf(cert: X509Certificate): string {
  const san = cert.extSubjectAltName;
  return san?.rfc822Name ?? san?.uri ?? san?.otherName('1.3.6.1.4.1.57264.1.7') ?? cert.subjectAltName ?? '(no subject alternative name)';
}

function decodeExtension(raw: Buffer, rawString: boolean): string {
  if (rawString) return raw.toString('utf8');
  // OCTET STRING content: UTF8String (0x0c) with a DER length.
  if (raw[0] === 0x0c && raw.length >= 2) {
    let offset = 2;
    let length = raw[1] ?? 0;
    if (length & 0x80) {
      const n = length & 0x7f;
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + (raw[2 + i] ?? 0);
      offset = 2 + n;
    }
    return raw.subarray(offset, offset + length).toString('utf8');
  }
  return raw.toString('utf8');
}

/** A readable form of an X.500 name: the CN and O attributes. */
export function distinguishedName(der: Buffer): string {
  const names: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.6': 'C' };
  const parts: string[] = [];
  try {
    const seq = ASN1Obj.parseBuffer(der as Buffer<ArrayBuffer>);
    for (const set of seq.subs) {
      for (const attr of set.subs) {
        const oid = attr.subs[0]?.toOID();
        const label = oid ? names[oid] : undefined;
        if (label) parts.push(`${label}=${attr.subs[1]?.value.toString('utf8')}`);
      }
    }
  } catch {
    return '(unreadable name)';
  }
  return parts.join(', ') || '(empty name)';
}

/**
 * Why a certificate's DER is not what a strict X.509 parser takes, or undefined. The
 * parser @sigstore/core uses ignores the tags of the outer signature algorithm and value,
 * the BIT STRING's unused-bits byte and trailing bytes, none of which the CA's signature
 * covers: such a changed certificate would still verify (cosign, with Go's strict parser,
 * rejects it). OpenSSL must accept it, its structure must be exactly
 * SEQUENCE { TBSCertificate, AlgorithmIdentifier, BIT STRING with no unused bits }, and
 * the algorithm inside and outside the signed part must be the same.
 */
export function certificateDerProblem(der: Buffer): string | undefined {
  try {
    new StrictX509(der);
    const root = ASN1Obj.parseBuffer(der as Buffer<ArrayBuffer>);
    if (!root.toDER().equals(der)) return 'the certificate is not in canonical DER (or has bytes after its end)';
    const [tbs, outerAlgorithm, signature, ...extra] = root.subs;
    const sequence = (o: ASN1Obj | undefined) => o !== undefined && o.tag.isUniversal() && o.tag.constructed && o.tag.number === 0x10;
    if (der[0] !== 0x30 || !sequence(tbs) || !sequence(outerAlgorithm) || extra.length > 0) return 'the certificate is not an X.509 structure';
    if (!signature?.tag.isBitString() || signature.tag.constructed || signature.value[0] !== 0) return "the certificate's signature is not a plain BIT STRING";
    // TBSCertificate: [0] version (optional), serialNumber, signature AlgorithmIdentifier, …
    const innerAlgorithm = tbs!.subs[tbs!.subs[0]?.tag.isContextSpecific(0) ? 2 : 1];
    if (!innerAlgorithm || !outerAlgorithm!.toDER().equals(innerAlgorithm.toDER())) {
      return "the certificate's signature algorithm differs from the one it signs";
    }
    return undefined;
  } catch {
    return 'the certificate is not valid DER';
  }
}
