// OpenPGP detached signatures (armored `.asc`, binary `.sig`), mutated: evidence every
// time, no hang, and never `verified` once the artifact changed or no signature packet
// is left whose signed part and signature values are an original's.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Key, PrivateKey } from 'openpgp' with { 'resolution-mode': 'import' };
import { verifyOpenPgpSignature } from '../../src/core/verify/openpgpSignature';
import type { TrustInputs } from '../../src/core/verify/trustInputs';
import {
  artifactMutation,
  assertEvidenceShape,
  bounded,
  byteOps,
  checkKind,
  memoryArtifact,
  mutateArtifact,
  mutateBytes,
  outcomeOf,
  sometimes,
} from './support';

type OpenPgp = typeof import('openpgp', { with: { 'resolution-mode': 'import' } });
// Required like src/core/verify/openpgpSignature.ts does: the ESM build cannot be imported from CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const openpgp = require('openpgp') as OpenPgp;

const ARTIFACT = Buffer.from('apache-widget-1.0-src.tar.gz\nsecond line of the pretend release\n');

interface Base {
  readonly name: string;
  /** The signature packets, binary. */
  readonly packets: Buffer;
  readonly armored: boolean;
  /** Text-mode signatures cover the text with CRLF line ends, so line-end changes keep them valid. */
  readonly text: boolean;
}

/** What identifies a signature: the hashed part (version … hashed subpackets), the salt and the values. */
interface SignatureParts {
  signatureData?: Uint8Array | null;
  salt?: Uint8Array;
  writeParams(): Uint8Array;
}

function identity(packet: unknown): string {
  const p = packet as SignatureParts;
  return [p.signatureData, p.salt, p.writeParams()].map((b) => Buffer.from(b ?? []).toString('hex')).join('|');
}

/** Identities of the signature packets in `file`, read both ways the verifier might (armored, binary). */
async function signaturesIn(file: Buffer): Promise<string[]> {
  const found: string[] = [];
  const attempts = [() => openpgp.readSignature({ armoredSignature: file.toString('utf8') }), () => openpgp.readSignature({ binarySignature: new Uint8Array(file) })];
  for (const read of attempts) {
    try {
      const signature = await read();
      for (const p of signature.packets) if (p instanceof openpgp.SignaturePacket) found.push(identity(p));
    } catch {
      // Not readable this way.
    }
  }
  return found;
}

/** Text with every line end as CRLF, as a text-mode signature hashes it. */
function canonicalText(data: Buffer): string {
  return data.toString('latin1').replace(/\r?\n/g, '\r\n');
}

describe('property: OpenPGP signatures under mutation', function () {
  this.timeout(600_000);
  let dir: string;
  const bases: Base[] = [];
  let trusted: Set<string>;
  let textSignatures: Set<string>;
  let trust: TrustInputs;
  let decoyPackets: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigstore-property-openpgp-'));
    const generate = (name: string, options: Partial<Parameters<OpenPgp['generateKey']>[0]> = {}) =>
      openpgp.generateKey({ userIDs: [{ name, email: `${name.toLowerCase()}@example.test` }], format: 'object', ...options } as Parameters<OpenPgp['generateKey']>[0]) as unknown as Promise<{ privateKey: PrivateKey; publicKey: Key }>;
    const ecc = await generate('Alice');
    const rsa = await generate('Bob', { type: 'rsa', rsaBits: 2048 });
    const withSubkey = await generate('Carol', { subkeys: [{ sign: true }] });
    const decoy = await generate('Mallory');

    const detached = async (key: PrivateKey, text = false): Promise<Buffer> => {
      const message = text ? await openpgp.createMessage({ text: ARTIFACT.toString('utf8') }) : await openpgp.createMessage({ binary: new Uint8Array(ARTIFACT) });
      return Buffer.from(await openpgp.sign({ message, signingKeys: key, detached: true, format: 'binary' }));
    };
    bases.push(
      { name: 'Ed25519, binary .sig', packets: await detached(ecc.privateKey), armored: false, text: false },
      { name: 'Ed25519, armored .asc', packets: await detached(ecc.privateKey), armored: true, text: false },
      { name: 'RSA-2048, armored', packets: await detached(rsa.privateKey), armored: true, text: false },
      { name: 'signing subkey, armored', packets: await detached(withSubkey.privateKey), armored: true, text: false },
      { name: 'text mode, armored', packets: await detached(ecc.privateKey, true), armored: true, text: true },
    );
    decoyPackets = await detached(decoy.privateKey);

    // A KEYS file: several armored keys with other text between them, as Apache projects publish.
    const keys = [ecc, rsa, withSubkey].map((k) => `pub   ${k.publicKey.getFingerprint()}\n${k.publicKey.armor()}`).join('\n\n');
    trust = { trustedRoot: { error: 'not needed', remedy: '' }, publicKeys: [], openpgpKeys: [{ source: 'KEYS', armored: keys }], network: { allowed: false, rekorURL: 'http://127.0.0.1:9' } };

    trusted = new Set();
    textSignatures = new Set();
    for (const b of bases) {
      for (const id of await signaturesIn(b.packets)) {
        trusted.add(id);
        if (b.text) textSignatures.add(id);
      }
      const path = join(dir, 'f.bin.asc');
      await writeFile(path, fileOf(b, b.packets));
      const e = await verifyOpenPgpSignature(path, memoryArtifact('f.bin', ARTIFACT), join(dir, 'f.bin'), trust);
      assert.equal(e.state, 'verified', `${b.name}: ${e.summary}`);
    }
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function fileOf(base: Base, packets: Buffer): Buffer {
    return base.armored ? Buffer.from(openpgp.armor(openpgp.enums.armor.signature, new Uint8Array(packets))) : packets;
  }

  const input = fc.record({
    base: fc.nat(),
    // Edits of the packets themselves (signed part, subpackets, signature values), armored again if the base is.
    packets: sometimes(byteOps(3), 50),
    // Another signature alongside: by an untrusted key, or another trusted one, before or after.
    combine: sometimes(fc.record({ with: fc.nat(), before: fc.boolean() }), 15),
    // Edits of the file as stored (armor text or binary).
    raw: sometimes(byteOps(3), 30),
    artifact: artifactMutation,
  });

  it('no exception, no hang, never verified after the signature or the artifact changed', async () => {
    await checkKind('OpenPGP signature', input, async (i, keep) => {
      const base = bases[i.base % bases.length]!;
      let packets = i.packets ? mutateBytes(base.packets, i.packets, true) : base.packets;
      if (i.combine) {
        const others = [decoyPackets, ...bases.map((b) => b.packets)];
        const extra = others[i.combine.with % others.length]!;
        packets = Buffer.concat(i.combine.before ? [extra, packets] : [packets, extra]);
      }
      let file = fileOf(base, packets);
      if (i.raw) file = mutateBytes(file, i.raw);
      const content = mutateArtifact(ARTIFACT, i.artifact);
      const sigPath = join(dir, base.armored ? 'f.bin.asc' : 'f.bin.sig');
      keep(base.armored ? 'f.bin.asc' : 'f.bin.sig', file);
      keep('f.bin', content);
      keep('KEYS', trust.openpgpKeys[0]!.armored);
      await writeFile(sigPath, file);

      const e = await bounded('verifyOpenPgpSignature', () => verifyOpenPgpSignature(sigPath, memoryArtifact('f.bin', content), join(dir, 'f.bin'), trust));
      assertEvidenceShape(e, ['verified', 'failed', 'unverifiable']);
      const left = (await signaturesIn(file)).filter((id) => trusted.has(id));
      const reasons: string[] = [];
      if (left.length === 0) reasons.push('no original signature packet is left');
      if (!content.equals(ARTIFACT)) {
        // Only a text-mode signature may accept the same text with other line ends.
        const sameText = canonicalText(content) === canonicalText(ARTIFACT) && left.some((id) => textSignatures.has(id));
        if (!sameText) reasons.push('the artifact changed');
      }
      if (reasons.length) assert.notEqual(e.state, 'verified', `${base.name}: verified although ${reasons.join(', ')}: ${e.summary}`);
      return { state: outcomeOf(e), guarded: reasons.length > 0 };
    });
  });
});
