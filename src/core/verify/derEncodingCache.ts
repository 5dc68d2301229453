/**
 * @sigstore/core re-encodes the same certificates to DER and re-verifies the same CA
 * signatures for every bundle: most of a bundle's cost, and identical for every bundle of
 * one trusted root. Both are deterministic on immutable parsed objects, so they are
 * remembered per object. Installed once, on first import.
 */
import { ASN1Obj, X509Certificate } from '@sigstore/core';

let enabled = true;
const encodings = new WeakMap<ASN1Obj, Buffer>();
const caSignatures = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>();
const INSTALLED = Symbol.for('sigstore-vscode.derEncodingCache');

type Patched = { [INSTALLED]?: true };

if (!(ASN1Obj.prototype as Patched)[INSTALLED]) {
  (ASN1Obj.prototype as Patched)[INSTALLED] = true;

  const encode = ASN1Obj.prototype.toDER;
  ASN1Obj.prototype.toDER = function toDER(this: ASN1Obj): Buffer {
    if (!enabled) return encode.call(this);
    let der = encodings.get(this);
    if (!der) {
      der = encode.call(this);
      encodings.set(this, der);
    }
    // A copy: some callers change the bytes they get (RFC 3161 re-tags signed attributes).
    return Buffer.from(der);
  };

  const verify = X509Certificate.prototype.verify;
  X509Certificate.prototype.verify = function (this: X509Certificate, issuer?: X509Certificate): boolean {
    // Only a CA's signature by its issuer repeats across bundles; leaves are always checked.
    if (!enabled || !issuer || !this.isCA) return verify.call(this, issuer);
    let byIssuer = caSignatures.get(this);
    if (!byIssuer) caSignatures.set(this, (byIssuer = new WeakMap()));
    let valid = byIssuer.get(issuer);
    if (valid === undefined) {
      valid = verify.call(this, issuer);
      byIssuer.set(issuer, valid);
    }
    return valid;
  };
}

/** Turns the caches off and on: the benchmark measures plain @sigstore/verify in the same process. */
export function setDerEncodingCache(on: boolean): void {
  enabled = on;
}
