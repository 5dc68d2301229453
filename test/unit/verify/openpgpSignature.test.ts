import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileArtifact, type Artifact } from '../../../src/core/artifacts/artifact';
import type { Evidence } from '../../../src/core/verify/result';
import { offlineTrust, type NamedOpenPgpKeys, type TrustInputs } from '../../../src/core/verify/trustInputs';
import { isOpenPgpSignature, openPgpKeyText, verifyOpenPgpSignature } from '../../../src/core/verify/openpgpSignature';

/**
 * Signatures here are made by the real GnuPG (Debian package "gnupg"), in a throw-away
 * GNUPGHOME, so the verifier is tested against what releases actually ship.
 */
interface GpgKey {
  readonly uid: string;
  /** Primary key fingerprint, upper-case hex. */
  readonly fingerprint: string;
  readonly armored: string;
  readonly binary: Buffer;
}

const BIG_BYTES = 64 * 1024 * 1024;

describe('OpenPGP detached signatures (made by gpg)', function () {
  this.timeout(60_000);
  let home: string;
  let dir: string;
  let alice: GpgKey; // ed25519
  let bob: GpgKey; // rsa3072
  let carol: GpgKey; // ed25519, never trusted
  let old: GpgKey; // expired since 2020
  let revoked: GpgKey;
  let withSubkey: GpgKey & { subkey: string };
  let file: string;
  let signatures = 0;
  const data = Buffer.from('apache-widget-1.0-src.tar.gz contents\n'.repeat(100));

  const gpg = (args: string[], env: Record<string, string> = {}): Buffer =>
    execFileSync('gpg', ['--batch', '--no-tty', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env: { ...process.env, GNUPGHOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  function fingerprints(uid: string): string[] {
    return gpg(['--with-colons', '--list-keys', uid])
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('fpr:'))
      .map((l) => l.split(':')[9]!);
  }

  function generate(uid: string, algorithm: string, expire = '0', faked?: string): GpgKey {
    gpg([...(faked ? ['--faked-system-time', faked] : []), '--quick-gen-key', uid, algorithm, 'sign', expire]);
    return exported(uid);
  }

  function exported(uid: string): GpgKey {
    return { uid, fingerprint: fingerprints(uid)[0]!, armored: gpg(['--armor', '--export', uid]).toString(), binary: gpg(['--export', uid]) };
  }

  /** Detached signature of `path` by `keyId` (a fingerprint; `!` forces that exact (sub)key). */
  async function sign(path: string, keyId: string, { armor = false, faked }: { armor?: boolean; faked?: string } = {}): Promise<string> {
    const out = `${path}.${keyId.slice(-8)}.${++signatures}${armor ? '.asc' : '.sig'}`;
    gpg([...(faked ? ['--faked-system-time', faked] : []), '--local-user', `${keyId}!`, ...(armor ? ['--armor'] : []), '--output', out, '--detach-sign', path]);
    return out;
  }

  function trust(...keys: (GpgKey | NamedOpenPgpKeys)[]): TrustInputs {
    const openpgpKeys = keys.map((k) => ('uid' in k ? { source: `${k.uid.split(' ')[0]!.toLowerCase()}.asc`, armored: k.armored } : k));
    return { ...offlineTrust({ error: 'not needed', remedy: '' }), openpgpKeys };
  }

  const verify = (sig: string, keys: TrustInputs, path = file, artifact: Artifact = fileArtifact(path), signal?: AbortSignal): Promise<Evidence> =>
    verifyOpenPgpSignature(sig, artifact, path, keys, signal);

  async function flipByte(path: string, offset: number): Promise<void> {
    const handle = await open(path, 'r+');
    try {
      const b = Buffer.alloc(1);
      await handle.read(b, 0, 1, offset);
      b[0] = b[0]! ^ 0x01;
      await handle.write(b, 0, 1, offset);
    } finally {
      await handle.close();
    }
  }

  async function copy(path: string, to: string): Promise<string> {
    await writeFile(to, await readFile(path));
    return to;
  }

  before(async () => {
    try {
      execFileSync('gpg', ['--version'], { stdio: 'ignore' });
    } catch (e) {
      throw new Error(
        `These tests need the real GnuPG, and "gpg --version" failed (${(e as Error).message}). Install the Debian package "gnupg" (apt-get install gnupg).`,
      );
    }
    home = await mkdtemp(join(tmpdir(), 'gpg-'));
    dir = await mkdtemp(join(tmpdir(), 'sigstore-openpgp-'));
    alice = generate('Alice <alice@example.test>', 'ed25519');
    bob = generate('Bob <bob@example.test>', 'rsa3072');
    carol = generate('Carol <carol@example.test>', 'ed25519');
    // Created and used in 2020 with a one-day lifetime: expired long before now, no waiting.
    old = generate('Old <old@example.test>', 'ed25519', '1d', '20200101T000000!');
    revoked = generate('Rev <rev@example.test>', 'ed25519');
    const primary = generate('Sub <sub@example.test>', 'ed25519');
    gpg(['--quick-add-key', primary.fingerprint, 'ed25519', 'sign', '0']);
    withSubkey = { ...exported(primary.uid), subkey: fingerprints(primary.uid)[1]! };
    file = join(dir, 'widget-1.0.tar.gz');
    await writeFile(file, data);
  });

  after(async () => {
    // Stop the gpg-agent our gpg calls started for this home, then drop everything.
    if (home) {
      try {
        execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home }, stdio: 'ignore' });
      } catch {
        // No agent running.
      }
      await rm(home, { recursive: true, force: true });
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function assertVerifiedBy(e: Evidence, key: GpgKey, fingerprint = key.fingerprint): void {
    assert.equal(e.state, 'verified', `${e.summary} / ${e.failure?.remedy ?? ''}`);
    assert.equal(e.kind, 'openpgp-signature');
    assert.equal(e.signer?.kind, 'openpgp');
    if (e.signer?.kind !== 'openpgp') return;
    assert.equal(e.signer.fingerprint, fingerprint);
    assert.match(e.signer.fingerprint, /^[0-9A-F]{40}$/);
    assert.deepEqual(e.signer.userIds, [key.uid]);
    assert.ok(e.summary.includes(fingerprint), e.summary);
    assert.deepEqual(
      e.checks.map((c) => [c.id, c.outcome]),
      [
        ['read', 'passed'],
        ['parse', 'passed'],
        ['openpgp', 'passed'],
      ],
    );
  }

  describe('verified with a trusted key', () => {
    it('armored ed25519 signature (.asc) with the exported armored key', async () => {
      const e = await verify(await sign(file, alice.fingerprint, { armor: true }), trust(alice));
      assertVerifiedBy(e, alice);
      assert.equal(e.signer?.kind === 'openpgp' && e.signer.source, 'alice.asc');
      assert.ok(e.notes.some((n) => n.includes('alice.asc')));
    });

    it('binary rsa3072 signature (.sig) with a binary key file', async () => {
      const e = await verify(await sign(file, bob.fingerprint), trust({ source: 'bob.gpg', armored: openPgpKeyText(bob.binary) }));
      assertVerifiedBy(e, bob);
    });

    it('binary ed25519 and armored rsa3072 signatures', async () => {
      assertVerifiedBy(await verify(await sign(file, alice.fingerprint), trust(alice)), alice);
      assertVerifiedBy(await verify(await sign(file, bob.fingerprint, { armor: true }), trust(bob)), bob);
    });

    it('with an Apache-style KEYS file holding several keys and text between them', async () => {
      const block = (k: GpgKey) => `pub   ${k.fingerprint}\nuid   ${k.uid}\nsig 3 ${k.fingerprint.slice(-16)} 2024-01-01 ${k.uid}\n\n${k.armored}`;
      const keysFile = [
        'This file contains the PGP keys of various developers.',
        '',
        'Users: pgp < KEYS',
        '       gpg --import KEYS',
        '',
        block(carol),
        block(bob),
        block(alice),
        '(end of file)',
      ].join('\n');
      const keys = trust({ source: 'KEYS', armored: keysFile });
      const a = await verify(await sign(file, alice.fingerprint, { armor: true }), keys);
      assertVerifiedBy(a, alice);
      assert.equal(a.signer?.kind === 'openpgp' && a.signer.source, 'KEYS');
      assertVerifiedBy(await verify(await sign(file, bob.fingerprint), keys), bob);
    });

    it('skips a damaged key block in a KEYS file, with a note, and uses the others', async () => {
      const damaged = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZZZZ\n-----END PGP PUBLIC KEY BLOCK-----';
      const keys = trust({ source: 'KEYS', armored: `${damaged}\n${bob.armored}` });
      const e = await verify(await sign(file, bob.fingerprint), keys);
      assertVerifiedBy(e, bob);
      assert.ok(e.notes.some((n) => n.startsWith('Skipped a key block in KEYS')), e.notes.join('\n'));
    });

    it('made by a signing subkey: names the subkey, and its primary key in a note', async () => {
      const e = await verify(await sign(file, withSubkey.subkey), trust(withSubkey));
      assertVerifiedBy(e, withSubkey, withSubkey.subkey);
      assert.notEqual(withSubkey.subkey, withSubkey.fingerprint);
      assert.ok(e.notes.some((n) => n.includes(withSubkey.fingerprint) && n.includes('subkey')));
    });

    it('a file signed by two keys verifies with the one that is trusted, and notes the other', async () => {
      const sig = join(dir, 'two.sig');
      gpg(['--local-user', `${alice.fingerprint}!`, '--local-user', `${bob.fingerprint}!`, '--output', sig, '--detach-sign', file]);
      const e = await verify(sig, trust(bob));
      assertVerifiedBy(e, bob);
      assert.ok(e.notes.some((n) => n.includes(alice.fingerprint) && /not among the trusted keys/.test(n)));
    });
  });

  describe('signed by a key the policy does not name', () => {
    it('with only other keys: failed, as a cosign key signature or a certificate the rule does not name, naming the issuer', async () => {
      for (const armor of [true, false]) {
        const e = await verify(await sign(file, alice.fingerprint, { armor }), trust(carol, bob));
        assert.equal(e.state, 'failed', e.summary);
        assert.ok(e.summary.includes(alice.fingerprint), e.summary);
        assert.match(e.summary, /not among the trusted keys \(carol\.asc, bob\.asc\)/);
      }
    });
  });

  describe('cannot be checked', () => {
    it('with no keys in the trust policy', async () => {
      const e = await verify(await sign(file, alice.fingerprint, { armor: true }), trust());
      assert.equal(e.state, 'unverifiable');
      assert.equal(e.failure?.check, 'openpgp');
      assert.ok(e.summary.includes(alice.fingerprint), e.summary);
      assert.match(e.failure!.remedy, /signer's key or KEYS file in the trust policy/);
    });

    it('when the key expired (signature made while it was valid, in 2020)', async () => {
      const sig = await sign(file, old.fingerprint, { faked: '20200101T010000!' });
      const e = await verify(sig, trust(old));
      assert.equal(e.state, 'unverifiable', e.summary);
      assert.match(e.summary, /signature matches, but the key .* expired on 2020-01-02/);
      assert.ok(e.summary.includes(old.fingerprint));
      assert.equal(e.signer?.kind === 'openpgp' && e.signer.fingerprint, old.fingerprint);
    });

    it('when a key file is binary that was decoded as UTF-8 (bytes lost), saying so', async () => {
      const e = await verify(await sign(file, bob.fingerprint), trust({ source: 'bob.gpg', armored: bob.binary.toString('utf8') }));
      assert.equal(e.state, 'unverifiable');
      assert.ok(e.notes.some((n) => n.includes('bob.gpg') && n.includes('openPgpKeyText')));
    });

    it('when the artifact cannot be read while streaming, as the read error says', async () => {
      const folder = join(dir, 'folder.iso');
      await mkdir(folder);
      const noBytes: Artifact = { name: folder, digest: async () => undefined, bytes: async () => undefined };
      const e = await verify(await sign(file, alice.fingerprint), trust(alice), folder, noBytes);
      assert.equal(e.state, 'unverifiable', e.summary);
      assert.match(e.summary, /folder\.iso could not be read: .*EISDIR/);
    });

    it('when the signature file is missing', async () => {
      const e = await verify(join(dir, 'missing.asc'), trust(alice));
      assert.equal(e.state, 'unverifiable');
      assert.equal(e.failure?.check, 'read');
    });
  });

  describe('failed', () => {
    it('after one byte of the artifact changes (ed25519 and rsa3072)', async () => {
      for (const key of [alice, bob]) {
        const changed = await copy(file, join(dir, `changed-${key.fingerprint.slice(-4)}.tar.gz`));
        const sig = await sign(changed, key.fingerprint, { armor: key === alice });
        await flipByte(changed, 100);
        const e = await verify(sig, trust(alice, bob), changed);
        assert.equal(e.state, 'failed', e.summary);
        assert.equal(e.failure?.check, 'openpgp');
        assert.match(e.summary, /does not match the file/);
        assert.equal(e.signer?.kind === 'openpgp' && e.signer.fingerprint, key.fingerprint);
      }
    });

    it('after one byte of the signature changes (binary and armored)', async () => {
      for (const key of [alice, bob]) {
        const sig = await sign(file, key.fingerprint);
        // The last byte is in the signature value itself.
        await flipByte(sig, (await stat(sig)).size - 1);
        const e = await verify(sig, trust(alice, bob));
        assert.equal(e.state, 'failed', e.summary);
      }
      const asc = await sign(file, alice.fingerprint, { armor: true });
      const text = (await readFile(asc, 'utf8')).split('\n');
      // Change one base64 character of the signature body (armor checksum or signature breaks).
      text[2] = (text[2]![0] === 'A' ? 'B' : 'A') + text[2]!.slice(1);
      await writeFile(asc, text.join('\n'));
      assert.equal((await verify(asc, trust(alice))).state, 'failed');
    });

    it('when the file changed, even if the key has expired since', async () => {
      const changed = await copy(file, join(dir, 'changed-old.tar.gz'));
      const sig = await sign(changed, old.fingerprint, { faked: '20200101T010000!' });
      await flipByte(changed, 0);
      const e = await verify(sig, trust(old), changed);
      assert.equal(e.state, 'failed', e.summary);
      assert.match(e.summary, /does not match the file/);
    });

    it('when the key was revoked by its owner', async () => {
      const sig = await sign(file, revoked.fingerprint, { armor: true });
      const certificate = (await readFile(join(home, 'openpgp-revocs.d', `${revoked.fingerprint}.rev`), 'utf8')).replace(/^:-----/m, '-----');
      const certFile = join(dir, 'rev.cert');
      await writeFile(certFile, certificate);
      gpg(['--import', certFile]);
      const e = await verify(sig, trust(exported(revoked.uid)));
      assert.equal(e.state, 'failed', e.summary);
      assert.match(e.summary, /has been revoked by its owner/);
      assert.ok(e.summary.includes(revoked.fingerprint));
    });

    it('when the signature file is not an OpenPGP signature', async () => {
      const garbage = join(dir, 'garbage.asc');
      await writeFile(garbage, 'MEUCIQDx not a signature');
      const e = await verify(garbage, trust(alice));
      assert.equal(e.state, 'failed');
      assert.equal(e.failure?.check, 'parse');
      await writeFile(garbage, '-----BEGIN PGP SIGNATURE-----\n\nnot base64 !!\n-----END PGP SIGNATURE-----\n');
      assert.equal((await verify(garbage, trust(alice))).failure?.check, 'parse');
    });
  });

  describe('a 64 MiB artifact', () => {
    let big: string;
    let bigSig: string;
    before(async () => {
      big = join(dir, 'big.iso');
      // Varied content, cheaply: a 1 MiB pattern repeated, each copy with its index.
      const chunk = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
      const handle = await open(big, 'w');
      try {
        for (let i = 0; i < BIG_BYTES / chunk.length; i++) {
          chunk.writeUInt32BE(i, 0);
          await handle.write(chunk);
        }
      } finally {
        await handle.close();
      }
      bigSig = await sign(big, bob.fingerprint);
    });

    it('verifies by streaming the file (the artifact is never read whole)', async () => {
      // An artifact that refuses to hand out its bytes or digests: only the stream from the path can work.
      const streamOnly: Artifact = {
        name: big,
        digest: () => Promise.reject(new Error('digest() must not be used')),
        bytes: async (limit) => {
          assert.ok(limit <= 8 * 1024 * 1024, `asked for up to ${limit} bytes`);
          return undefined;
        },
      };
      assertVerifiedBy(await verify(bigSig, trust(bob), big, streamOnly), bob);
    });

    it('fails after one byte in the middle changes, and stops when cancelled', async () => {
      const changed = await copy(big, join(dir, 'big-changed.iso'));
      await flipByte(changed, BIG_BYTES / 2 + 12345);
      const e = await verify(bigSig, trust(bob), changed);
      assert.equal(e.state, 'failed', e.summary);
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(verify(bigSig, trust(bob), big, fileArtifact(big), controller.signal), { name: 'AbortError' });
    });
  });

  it('isOpenPgpSignature tells OpenPGP signatures from cosign ones and other packets', async () => {
    const binary = await readFile(await sign(file, alice.fingerprint));
    const armored = await readFile(await sign(file, alice.fingerprint, { armor: true }));
    assert.equal(binary[0], 0x88, 'gpg writes an old-format signature header'); // 10 0010 00
    assert.ok(isOpenPgpSignature(binary));
    assert.ok(isOpenPgpSignature(armored));
    assert.ok(isOpenPgpSignature(Buffer.concat([Buffer.from('\uFEFF\r\n'), armored])));
    assert.ok(isOpenPgpSignature(Buffer.from([0xc2, 0x75, 0x04]))); // new format, tag 2
    assert.ok(isOpenPgpSignature(Buffer.from([0x89, 0x01, 0x33]))); // old format, tag 2, two-byte length
    assert.ok(!isOpenPgpSignature(Buffer.from('MEUCIQDxkJ3v5aCzQ1Zx9Jv0Tnq3+base64=', 'utf8')), 'cosign base64');
    assert.ok(!isOpenPgpSignature(Buffer.from([0x30, 0x45, 0x02, 0x21])), 'cosign raw DER');
    assert.ok(!isOpenPgpSignature(alice.binary), 'a public key packet (tag 6)');
    assert.ok(!isOpenPgpSignature(Buffer.from([0xc6, 0x33])), 'new-format public key');
    assert.ok(!isOpenPgpSignature(Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n')));
    assert.ok(!isOpenPgpSignature(Buffer.alloc(0)));
  });
});
