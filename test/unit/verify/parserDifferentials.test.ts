// Companions other verifiers (cosign 2.5, sigstore-go) refuse must not verify here: a bundle
// with a key twice, base64 with junk or blanks inside, JSON nested without bound. Each case
// starts from a companion that verifies, so only the ambiguity makes it fail.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerializedBundle } from '@sigstore/bundle';
import { digestArtifact, fileArtifact } from '../../../src/core/artifacts/artifact';
import { classify } from '../../../src/core/artifacts/companions';
import { parseTrustedRoot, type LoadedTrustedRoot } from '../../../src/core/trust/trustedRoot';
import { verifyArtifact } from '../../../src/core/verify/artifactVerifier';
import { verifyBundleBytes } from '../../../src/core/verify/bundleVerifier';
import { verifyCosignSignature } from '../../../src/core/verify/cosignSignature';
import { verifyLegacyBundle } from '../../../src/core/verify/legacyBundle';
import type { Evidence } from '../../../src/core/verify/result';
import type { TrustInputs } from '../../../src/core/verify/trustInputs';
import { inTotoStatement, sha256Hex, signFile, signStatement, startSigstoreInstance, type SigstoreInstance } from '../../support/sigstore-instance';

const OFFLINE = { allowed: false, rekorURL: 'http://127.0.0.1:9' };

/** `text` with `"key":` (its first occurrence) preceded by `"key": value,`: the key twice, the original last. */
function withKeyBefore(text: string, key: string, value: string): string {
  const at = text.indexOf(`"${key}":`);
  assert.ok(at >= 0, `no ${key} in the text`);
  return `${text.slice(0, at)}"${key}":${value},${text.slice(at)}`;
}

/** The text with the first `"key":"value"` string value changed by `change`. */
function withStringValue(text: string, key: string, change: (value: string) => string): string {
  const json = JSON.stringify(key);
  const at = text.indexOf(`${json}:"`);
  assert.ok(at >= 0, `no string ${key} in the text`);
  const start = at + json.length + 2;
  const end = text.indexOf('"', start);
  return text.slice(0, start) + change(text.slice(start, end)) + text.slice(end);
}

function assertRefused(e: Evidence, check: string, what: string): void {
  assert.equal(e.state, 'failed', `${what}: ${e.summary}`);
  assert.equal(e.failure?.check, check, `${what}: ${e.failure?.message}`);
}

describe('parser differentials: companions cosign refuses are refused here', function () {
  this.timeout(30_000);
  let inst: SigstoreInstance;
  let root: LoadedTrustedRoot;
  let dir: string;
  let n = 0;
  const data = Buffer.from('one release, read one way only\n');
  const other = Buffer.from('another file\n');
  let message: SerializedBundle;
  let otherMessage: SerializedBundle;
  let dsse: SerializedBundle;

  before(async () => {
    inst = await startSigstoreInstance();
    root = parseTrustedRoot(Buffer.from(JSON.stringify(inst.trustedRoot)), 'test root');
    dir = await mkdtemp(join(tmpdir(), 'sigstore-differential-'));
    [message, otherMessage, dsse] = await Promise.all([signFile(inst, data, 'message'), signFile(inst, other, 'message'), signFile(inst, data, 'dsse', { subjectName: 'a.bin' })]);
  });
  after(async () => {
    await inst.close();
    await rm(dir, { recursive: true, force: true });
  });

  const verifyText = (text: string) => verifyBundleBytes('a.bin.sigstore.json', Buffer.from(text), digestArtifact(sha256Hex(data)), { trustedRoot: root });

  describe('Sigstore bundles (.sigstore.json, .sigstore, .bundle)', () => {
    it('verify as written (the cases below change only what they name)', async () => {
      assert.equal((await verifyText(JSON.stringify(message))).state, 'verified');
      assert.equal((await verifyText(JSON.stringify(dsse))).state, 'verified');
    });

    it('fail "parse" with two messageSignature keys, or two signature keys, whichever comes last', async () => {
      const text = JSON.stringify(message);
      assertRefused(await verifyText(withKeyBefore(text, 'messageSignature', JSON.stringify(otherMessage.messageSignature))), 'parse', 'two messageSignature');
      assertRefused(await verifyText(withKeyBefore(text, 'signature', JSON.stringify(otherMessage.messageSignature!.signature))), 'parse', 'two signature');
      assertRefused(await verifyText(withKeyBefore(text, 'mediaType', JSON.stringify(message.mediaType))), 'parse', 'the same value twice');
      // protojson takes a field by its proto name too: raw_bytes and rawBytes are one field.
      const raw = message.verificationMaterial.x509CertificateChain!.certificates[0]!.rawBytes;
      assertRefused(await verifyText(text.replace(`"rawBytes":"${raw}"`, `"raw_bytes":"${raw}","rawBytes":"${raw}"`)), 'parse', 'raw_bytes and rawBytes');
    });

    it('fail "parse" with junk or blanks inside a base64 field, and verify with what protojson allows (CR/LF)', async () => {
      const text = JSON.stringify(message);
      for (const [label, change] of [
        ['a space', (v: string) => `${v.slice(0, 8)} ${v.slice(8)}`],
        ['a tab', (v: string) => `${v.slice(0, 8)}\\t${v.slice(8)}`],
        ['junk', (v: string) => `${v.slice(0, 8)}!${v.slice(8)}`],
        ['a trailing character', (v: string) => `${v}A`],
      ] as const) {
        assertRefused(await verifyText(withStringValue(text, 'signature', change)), 'parse', `signature with ${label}`);
        assertRefused(await verifyText(withStringValue(text, 'rawBytes', change)), 'parse', `certificate with ${label}`);
        assertRefused(await verifyText(withStringValue(JSON.stringify(dsse), 'payload', change)), 'parse', `DSSE payload with ${label}`);
      }
      // Four line breaks keep the length's remainder, so protojson still expects padding, and skips them.
      const wrapped = withStringValue(text, 'rawBytes', (v) => `${v.slice(0, 64)}\\r\\n\\r\\n${v.slice(64)}`);
      const e = await verifyText(wrapped);
      assert.equal(e.state, 'verified', `CR/LF that protojson skips is no reason to refuse: ${e.failure?.message}`);
    });

    it('fail "parse" when nested 10,000 deep, without throwing', async () => {
      const deep = JSON.stringify({ ...message, extra: 0 }).replace('"extra":0', `"extra":${'['.repeat(10_000)}${']'.repeat(10_000)}`);
      assertRefused(await verifyText(deep), 'parse', '10,000 deep');
    });

    it('fail "schema" when the in-toto statement has a key twice (subject, Subject)', async () => {
      const statement = inTotoStatement([{ name: 'a.bin', sha256: sha256Hex(data) }]).toString();
      const twice = withKeyBefore(statement, 'subject', JSON.stringify([{ name: 'a.bin', digest: { sha256: sha256Hex(other) } }]));
      const cased = statement.replace('"subject"', `"Subject":${JSON.stringify([{ name: 'a.bin', digest: { sha256: sha256Hex(other) } }])},"subject"`);
      for (const [label, text] of [['subject twice', twice], ['Subject and subject', cased]] as const) {
        const bundle = await signStatement(inst, Buffer.from(text));
        assertRefused(await verifyText(JSON.stringify(bundle)), 'schema', label);
      }
    });

    it('.bundle holding a Sigstore bundle: a key twice fails "parse" too', async () => {
      const base = join(dir, `b${++n}.bin`);
      await writeFile(base, data);
      await writeFile(`${base}.bundle`, withKeyBefore(JSON.stringify(message), 'messageSignature', JSON.stringify(otherMessage.messageSignature)));
      const result = await verifyArtifact(base, [classify(`${base}.bundle`)!.companion], { policy: { kind: 'none' }, trustedRoot: root, network: OFFLINE });
      assert.equal(result.evidence.length, 1);
      assertRefused(result.evidence[0]!, 'parse', '.bundle');
    });
  });

  describe('cosign legacy bundles (.bundle)', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const trust: () => TrustInputs = () => ({ trustedRoot: root, publicKeys: [{ source: 'cosign.pub', key: ec.publicKey }], openpgpKeys: [], network: OFFLINE });
    const legacyText = () => JSON.stringify({ base64Signature: sign('sha256', data, ec.privateKey).toString('base64') });
    async function verifyLegacy(text: string): Promise<Evidence> {
      const base = join(dir, `l${++n}.bin`);
      await writeFile(base, data);
      await writeFile(`${base}.bundle`, text);
      return verifyLegacyBundle(`${base}.bundle`, fileArtifact(base), trust());
    }

    it('verify as written, and with the line breaks Go skips', async () => {
      assert.equal((await verifyLegacy(legacyText())).state, 'verified');
      assert.equal((await verifyLegacy(withStringValue(legacyText(), 'base64Signature', (v) => `${v.slice(0, 8)}\\r\\n${v.slice(8)}\\n`))).state, 'verified');
    });

    it('fail "parse" with base64Signature twice, or spelled in another case (Go matches fields case-insensitively)', async () => {
      const wrong = JSON.stringify(sign('sha256', other, ec.privateKey).toString('base64'));
      assertRefused(await verifyLegacy(withKeyBefore(legacyText(), 'base64Signature', wrong)), 'parse', 'twice');
      assertRefused(await verifyLegacy(legacyText().replace('{', `{"Base64Signature":${wrong},`)), 'parse', 'Base64Signature');
      assertRefused(await verifyLegacy(legacyText().replace('{', `{"cert":"","CERT":"",`)), 'parse', 'cert and CERT');
    });

    it('fail "conversion" with a blank or junk inside the base64', async () => {
      for (const change of [(v: string) => `${v.slice(0, 8)} ${v.slice(8)}`, (v: string) => `${v.slice(0, 8)}\\t${v.slice(8)}`, (v: string) => `${v}*`]) {
        assertRefused(await verifyLegacy(withStringValue(legacyText(), 'base64Signature', change)), 'conversion', 'blank or junk');
      }
    });

    it('fail "parse" when nested 10,000 deep, without throwing', async () => {
      assertRefused(await verifyLegacy(legacyText().replace('{', `{"x":${'{"x":'.repeat(10_000)}0${'}'.repeat(10_000)},`)), 'parse', 'deep');
    });
  });

  describe('JSON-lines attestations (.intoto.jsonl)', () => {
    async function verifyLines(lines: string[]): Promise<readonly Evidence[]> {
      const sub = await mkdtemp(join(dir, 'att-'));
      await writeFile(join(sub, 'a.bin'), data);
      await writeFile(join(sub, 'release.intoto.jsonl'), lines.join('\n') + '\n');
      const result = await verifyArtifact(join(sub, 'a.bin'), [classify(join(sub, 'release.intoto.jsonl'))!.companion], {
        policy: { kind: 'none' },
        trustedRoot: root,
        network: OFFLINE,
      });
      return result.evidence;
    }

    it('verify a line as written', async () => {
      const [e] = await verifyLines([JSON.stringify(dsse)]);
      // No trust policy here: a valid signature is "untrusted", never "failed".
      assert.equal(e?.state, 'untrusted', e?.summary);
      assert.equal(e?.failure?.check, 'policy');
    });

    it('fail "parse" on a line with a key twice (the envelope\'s signatures, the payload)', async () => {
      const text = JSON.stringify(dsse);
      for (const [key, value] of [['signatures', '[]'], ['payload', JSON.stringify(dsse.dsseEnvelope!.payload)]] as const) {
        const evidence = await verifyLines([withKeyBefore(text, key, value)]);
        assert.ok(evidence.length >= 1);
        assertRefused(evidence[0]!, 'parse', `${key} twice`);
        assert.equal(evidence[0]!.line, 1);
      }
    });

    it('fail "parse" on a line whose statement has subject twice, naming the line', async () => {
      const statement = inTotoStatement([{ name: 'a.bin', sha256: sha256Hex(data) }]).toString();
      const twice = withKeyBefore(statement, 'subject', JSON.stringify([{ name: 'a.bin', digest: { sha256: sha256Hex(other) } }]));
      const bundle = await signStatement(inst, Buffer.from(twice));
      const [e] = await verifyLines([JSON.stringify(bundle)]);
      assertRefused(e!, 'parse', 'statement subject twice');
      assert.match(e!.summary, /line 1/);
    });
  });

  describe('cosign .sig files', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const trust = (): TrustInputs => ({ trustedRoot: root, publicKeys: [{ source: 'cosign.pub', key: ec.publicKey }], openpgpKeys: [], network: OFFLINE });
    async function verifySig(sig: string): Promise<Evidence> {
      const base = join(dir, `s${++n}.bin`);
      await writeFile(base, data);
      await writeFile(`${base}.sig`, sig);
      return verifyCosignSignature(`${base}.sig`, undefined, fileArtifact(base), trust());
    }
    const b64 = () => sign('sha256', data, ec.privateKey).toString('base64');

    it('verify base64 as cosign writes it, with a trailing newline, or with CR/LF inside (Go skips them)', async () => {
      const b = b64();
      for (const sig of [b, `${b}\n`, `${b}\r\n`, `${b.slice(0, 10)}\n${b.slice(10)}`]) {
        const e = await verifySig(sig);
        assert.equal(e.state, 'verified', `${JSON.stringify(sig)}: ${e.summary}`);
      }
    });

    it('fail "parse" with a blank or junk inside, or blanks around (cosign reads those as raw bytes)', async () => {
      const sig = b64();
      for (const text of [`${sig.slice(0, 10)} ${sig.slice(10)}`, `${sig.slice(0, 10)}\t${sig.slice(10)}`, ` ${sig}`, `${sig} \n`, `${sig}!`]) {
        assertRefused(await verifySig(text), 'parse', JSON.stringify(text));
      }
    });
  });
});
