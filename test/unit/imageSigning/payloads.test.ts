/**
 * What is signed for an image: cosign's simple-signing payload, in-toto statements about the
 * digest, annotations and predicate types as cosign's flags take them. The key signer's DSSE
 * signature is checked with Node's own crypto over the pre-authentication encoding.
 */
import { strict as assert } from 'node:assert';
import { generateKeyPairSync, verify } from 'node:crypto';

import { cosignAnnotations, keyImageSigner, pae } from '../../../src/core/imageSigning/imageSigner';
import { imageStatement, parseAnnotations, parsePredicate, predicateTypeOf, signatureStatement, simpleSigningPayload } from '../../../src/core/imageSigning/payloads';
import { parseImageReference } from '../../../src/core/oci/reference';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const repo = parseImageReference('registry.example:5000/team/app:1.0');

describe('image signing: payloads', () => {
  it('writes cosign\'s simple-signing payload naming the repository and the digest', () => {
    const payload = JSON.parse(simpleSigningPayload(repo, DIGEST).toString()) as Record<string, unknown>;
    assert.deepEqual(payload, {
      critical: { identity: { 'docker-reference': 'registry.example:5000/team/app' }, image: { 'docker-manifest-digest': DIGEST }, type: 'cosign container image signature' },
      optional: null,
    });
    const annotated = JSON.parse(simpleSigningPayload(repo, DIGEST, { env: 'prod' }).toString()) as { optional: unknown };
    assert.deepEqual(annotated.optional, { env: 'prod' });
  });

  it('refuses to sign anything but a sha256 digest', () => {
    assert.throws(() => simpleSigningPayload(repo, `sha512:${'ab'.repeat(64)}`), /Only sha256/);
    assert.throws(() => signatureStatement(repo, 'latest'), /Only sha256/);
  });

  it('states the image digest as the subject, with cosign v3\'s signature predicate or the person\'s', () => {
    const signature = JSON.parse(signatureStatement(repo, DIGEST, { a: 'b' }).toString()) as Record<string, unknown>;
    assert.equal(signature._type, 'https://in-toto.io/Statement/v1');
    assert.deepEqual(signature.subject, [{ name: 'registry.example:5000/team/app', digest: { sha256: 'ab'.repeat(32) } }]);
    assert.equal(signature.predicateType, 'https://sigstore.dev/cosign/sign/v1');
    assert.deepEqual(signature.predicate, { annotations: { a: 'b' } });
    const attestation = JSON.parse(imageStatement(repo, DIGEST, 'https://slsa.dev/provenance/v1', { buildDefinition: {} }).toString()) as Record<string, unknown>;
    assert.equal(attestation.predicateType, 'https://slsa.dev/provenance/v1');
    assert.deepEqual(attestation.predicate, { buildDefinition: {} });
  });

  it('reads annotations as cosign -a does, refusing a missing key or a key given twice', () => {
    assert.deepEqual(parseAnnotations(['env=prod', 'note=a=b', 'empty=']), { env: 'prod', note: 'a=b', empty: '' });
    assert.throws(() => parseAnnotations(['=x']), /key=value/);
    assert.throws(() => parseAnnotations(['novalue']), /key=value/);
    assert.throws(() => parseAnnotations(['a=1', 'a=2']), /given twice/);
  });

  it('knows cosign\'s --type names and takes URIs, refusing anything else', () => {
    assert.equal(predicateTypeOf('slsaprovenance'), 'https://slsa.dev/provenance/v0.2');
    assert.equal(predicateTypeOf('slsaprovenance1'), 'https://slsa.dev/provenance/v1');
    assert.equal(predicateTypeOf('SPDXJSON'), 'https://spdx.dev/Document');
    assert.equal(predicateTypeOf('cyclonedx'), 'https://cyclonedx.org/bom');
    assert.equal(predicateTypeOf('openvex'), 'https://openvex.dev/ns');
    assert.equal(predicateTypeOf('https://example.test/predicate/v1'), 'https://example.test/predicate/v1');
    assert.throws(() => predicateTypeOf('provenance'), /neither a known predicate type nor a URI/);
    assert.throws(() => predicateTypeOf('file:///etc/passwd'), /neither/);
  });

  it('takes a predicate that is a JSON object, and says what is wrong otherwise', () => {
    assert.deepEqual(parsePredicate(Buffer.from('{"a":1}'), 'p.json'), { a: 1 });
    assert.throws(() => parsePredicate(Buffer.from('{"a":'), 'p.json'), /p\.json is not JSON/);
    assert.throws(() => parsePredicate(Buffer.from('[1]'), 'p.json'), /not an object/);
  });
});

describe('image signing: signatures', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('signs a payload with a cosign key: ECDSA over the payload bytes, no annotations without a log', async () => {
    const payload = simpleSigningPayload(repo, DIGEST);
    const signed = await keyImageSigner(privateKey).signPayload(payload);
    assert.ok(verify('sha256', payload, publicKey, Buffer.from(signed.signature, 'base64')));
    assert.deepEqual(signed.annotations, {});
  });

  it('signs a statement as DSSE: the signature covers the pre-authentication encoding, and the bundle holds the envelope', async () => {
    const statement = signatureStatement(repo, DIGEST);
    const signed = await keyImageSigner(privateKey).signStatement(statement);
    assert.equal(signed.envelope.payloadType, 'application/vnd.in-toto+json');
    assert.deepEqual(Buffer.from(signed.envelope.payload, 'base64'), statement);
    assert.ok(verify('sha256', pae('application/vnd.in-toto+json', statement), publicKey, Buffer.from(signed.envelope.signatures[0]!.sig, 'base64')));
    assert.ok(!verify('sha256', statement, publicKey, Buffer.from(signed.envelope.signatures[0]!.sig, 'base64')), 'not over the bare statement');
    assert.deepEqual((signed.bundle as { dsseEnvelope: unknown }).dsseEnvelope, signed.envelope);
    assert.equal(pae('t', Buffer.from('xy')).toString(), 'DSSEv1 1 t 2 xy');
  });

  it('turns a bundle\'s certificate, log entry and timestamp into cosign\'s layer annotations', () => {
    const der = Buffer.from('not really a certificate, but bytes');
    const annotations = cosignAnnotations({
      verificationMaterial: {
        certificate: { rawBytes: der.toString('base64') },
        tlogEntries: [{ logIndex: '42', logId: { keyId: Buffer.from([0xc0, 0xff, 0xee]).toString('base64') }, integratedTime: '1700000000', inclusionPromise: { signedEntryTimestamp: 'U0VU' }, canonicalizedBody: 'Ym9keQ==' }],
        timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: 'VFNB' }] },
      },
    });
    const pem = annotations['dev.sigstore.cosign/certificate']!;
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    assert.deepEqual(Buffer.from(pem.split('\n').slice(1, -2).join(''), 'base64'), der);
    assert.deepEqual(JSON.parse(annotations['dev.sigstore.cosign/bundle']!), {
      SignedEntryTimestamp: 'U0VU',
      Payload: { body: 'Ym9keQ==', integratedTime: 1700000000, logIndex: 42, logID: 'c0ffee' },
    });
    assert.deepEqual(JSON.parse(annotations['dev.sigstore.cosign/rfc3161timestamp']!), { SignedRFC3161Timestamp: 'VFNB' });
    assert.deepEqual(cosignAnnotations({}), {}, 'a key signature without a log has none');
  });
});
