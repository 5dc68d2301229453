// Writes a workspace of files with Sigstore companions whose verification
// outcome is known, for the extension's tests and demo. Also runnable:
//   node --import tsx test/support/fixtures.ts <dir>
//   node --import tsx -e "require('./test/support/fixtures.ts').writeFixtureWorkspace(process.argv[1])" <dir>
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

import {
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  inTotoStatement,
  sha256Hex,
  signFile,
  signStatement,
  startSigstoreInstance,
  type SigstoreInstance,
} from './sigstore-instance';

export type FixtureState = 'verified' | 'untrusted' | 'integrity' | 'failed' | 'unverifiable' | 'unsigned';

/** Badge per state (as src/decorations shows them); the only place the tests spell them. */
export const BADGE: Readonly<Record<FixtureState, string>> = {
  verified: '✓',
  untrusted: '!',
  integrity: '#',
  failed: '✗',
  unverifiable: '?',
  unsigned: '∅',
};

export const EXPECTED_BADGES_FILE = '.expected-badges.json';
export const MANIFEST_FILE = '.fixture-manifest.json';
export const TRUSTED_ROOT_FILE = 'trusted_root.json';
export const BUNDLE_SUFFIX = '.sigstore.json';
/** Well-formed but not a bundle version anyone knows; @sigstore/bundle's own check lets it through. */
export const UNKNOWN_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v9.9+json';
export const OTHER_IDENTITY = 'mallory@example.test';
/** A file at the top, where the policy's "/*" expects a signature, with no companion. */
const REQUIRED_FILE = 'required.txt';

export interface FixtureFile {
  /** Relative to the workspace, '/'-separated. */
  path: string;
  /** Its companion (a bundle unless said otherwise), relative, '/'-separated. */
  companion: string;
  expected: FixtureState;
  /** Signer the UI should show (e-mail, key file or OpenPGP user); set for 'verified' and 'untrusted'. */
  signer?: string;
  /** OIDC issuer of that signer; only set when expected is 'verified'. */
  issuer?: string;
  /** Why this outcome, for test messages. */
  reason: string;
}

export interface FixtureManifest {
  dir: string;
  files: FixtureFile[];
  /** Files with no companion that no policy rule covers: no state, no badge. */
  unsigned: string[];
  /** Files with no companion that a policy rule covers: `unsigned` (their signature is missing). */
  required: string[];
}

export async function writeFixtureWorkspace(dir: string): Promise<FixtureManifest> {
  const root = path.resolve(dir);
  // Two instances: the workspace trusts the first; the second signs the
  // "other root" case.
  const [inst, other] = await Promise.all([startSigstoreInstance(), startSigstoreInstance()]);
  try {
    const files = await writeAll(root, inst, other);
    const manifest: FixtureManifest = { dir: root, files, unsigned: ['vendor/plain.txt'], required: [REQUIRED_FILE] };
    // Read by the suites running inside VS Code, which cannot call this module.
    await fs.writeFile(path.join(root, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    await Promise.all([inst.close(), other.close()]);
  }
}

async function writeAll(root: string, inst: SigstoreInstance, other: SigstoreInstance): Promise<FixtureFile[]> {
  const write = async (rel: string, data: string | Buffer) => {
    const p = path.join(root, ...rel.split('/'));
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, data);
  };
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  const text = (s: string) => Buffer.from(s, 'utf8');
  const trusted = { signer: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER };

  const hello = text('Hello, Sigstore!\n');
  const release = pseudoRandomBytes('release.tar.gz', 64 * 1024);
  const tamperedOriginal = text('The original content, as signed.\n');
  const tamperedNow = text('The original content, as signed. Then edited.\n');
  const wrongSubject = pseudoRandomBytes('wrong-subject.bin', 4 * 1024);
  const malformed = text('Its companion is cut off mid-JSON.\n');
  const unknownMedia = text('Its bundle claims a media type no one knows.\n');
  const otherRoot = text('Signed by a Sigstore instance this workspace does not trust.\n');
  const deep = text('A file in a subfolder.\n');

  // Independent signings, so in parallel (the instances serve concurrently).
  const [helloB, releaseB, tamperedB, wrongB, malformedB, unknownB, otherB, deepB] = await Promise.all([
    signFile(inst, hello, 'message'),
    signFile(inst, release, 'dsse', { subjectName: 'release.tar.gz', useTSA: true }),
    signFile(inst, tamperedOriginal, 'message'),
    // The statement names this file but carries release.tar.gz's digest.
    signStatement(inst, inTotoStatement([{ name: 'wrong-subject.bin', sha256: sha256Hex(release) }])),
    signFile(inst, malformed, 'message'),
    // DSSE (v0.3 shape) so only the media type is wrong: a v0.2 message bundle
    // would also fail @sigstore/bundle's v0.3 rule against certificate chains.
    signFile(inst, unknownMedia, 'dsse', { subjectName: 'unknown-media.txt' }),
    signFile(other, otherRoot, 'message', { identity: OTHER_IDENTITY }),
    signFile(inst, deep, 'message', { useTSA: true }),
  ]);

  const malformedText = json(malformedB);

  // Other kinds of evidence: a cosign key signature, checksums, an OpenPGP signature, a SUMS list.
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const appBin = pseudoRandomBytes('app.bin', 16 * 1024);
  const appSig = crypto.sign('sha256', appBin, privateKey).toString('base64');
  const pgp = await openpgpFixture(text('Documentation, signed with OpenPGP.\n'));
  const notes = text('Release notes with a SHA-256 checksum.\n');
  const legacyMd = text('An old file with an MD5 checksum.\n');
  const corrupt = text('Its checksum was made for other content.\n');
  const one = pseudoRandomBytes('dist/one.bin', 2048);
  const two = pseudoRandomBytes('dist/two.bin', 2048);
  const sums = `${sha256Hex(one)}  one.bin\n${sha256Hex(two)} *two.bin\n`;
  const [vendorB, wrongSignerB] = await Promise.all([
    signFile(inst, text('Vendored code, validly signed, outside every policy rule.\n'), 'message'),
    signFile(inst, text('Signed by someone the policy does not name.\n'), 'message', { identity: OTHER_IDENTITY }),
  ]);
  const others: Array<Omit<FixtureFile, 'companion'> & { data: Buffer; companionName: string; companionData: string | Buffer }> = [
    {
      path: 'vendor/lib.txt',
      data: text('Vendored code, validly signed, outside every policy rule.\n'),
      companionName: 'vendor/lib.txt' + BUNDLE_SUFFIX,
      companionData: json(vendorB),
      expected: 'untrusted',
      signer: DEFAULT_IDENTITY,
      issuer: DEFAULT_ISSUER,
      reason: 'valid signature, but no policy rule covers vendor/',
    },
    {
      path: 'wrong-signer.txt',
      data: text('Signed by someone the policy does not name.\n'),
      companionName: 'wrong-signer.txt' + BUNDLE_SUFFIX,
      companionData: json(wrongSignerB),
      expected: 'failed',
      reason: `valid signature by ${OTHER_IDENTITY}, whom the policy rule does not name`,
    },
    { path: 'app.bin', data: appBin, companionName: 'app.bin.sig', companionData: appSig, expected: 'verified', signer: 'keys/cosign.pub', reason: 'cosign key signature (.sig) with the policy key' },
    { path: 'docs.txt', data: pgp.data, companionName: 'docs.txt.asc', companionData: pgp.signature, expected: 'verified', signer: pgp.fingerprint, reason: 'OpenPGP signature by a key in the policy KEYS file' },
    { path: 'notes.txt', data: notes, companionName: 'notes.txt.sha256', companionData: `${sha256Hex(notes)}  notes.txt\n`, expected: 'integrity', reason: 'matching SHA-256 checksum' },
    { path: 'legacy.md', data: legacyMd, companionName: 'legacy.md.md5', companionData: crypto.createHash('md5').update(legacyMd).digest('hex'), expected: 'integrity', reason: 'matching MD5 checksum (weak)' },
    { path: 'corrupt.txt', data: corrupt, companionName: 'corrupt.txt.sha256', companionData: sha256Hex(text('something else')), expected: 'failed', reason: 'checksum does not match' },
    { path: 'dist/one.bin', data: one, companionName: 'dist/SHA256SUMS', companionData: sums, expected: 'integrity', reason: 'listed in SHA256SUMS with a matching digest' },
    { path: 'dist/two.bin', data: Buffer.concat([two, text('!')]), companionName: 'dist/SHA256SUMS', companionData: sums, expected: 'failed', reason: 'listed in SHA256SUMS, changed since' },
  ];
  const policy = {
    version: 1,
    rules: [
      {
        name: 'this project',
        match: ['/*', 'nested/**', 'dist/**'],
        identities: [{ subject: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER }],
        keys: ['../keys/cosign.pub'],
        openpgpKeys: ['../keys/KEYS'],
      },
    ],
  };

  const files: Array<Omit<FixtureFile, 'companion'> & { data: Buffer; bundle: string }> = [
    { path: 'hello.txt', data: hello, bundle: json(helloB), expected: 'verified', ...trusted, reason: 'message signature, valid' },
    {
      path: 'release.tar.gz',
      data: release,
      bundle: json(releaseB),
      expected: 'verified',
      ...trusted,
      reason: 'DSSE in-toto attestation whose subject digest matches, with an RFC 3161 timestamp',
    },
    {
      path: 'tampered.txt',
      data: tamperedNow,
      bundle: json(tamperedB),
      expected: 'failed',
      reason: 'file changed after signing',
    },
    {
      path: 'wrong-subject.bin',
      data: wrongSubject,
      bundle: json(wrongB),
      expected: 'failed',
      reason: "DSSE statement's subject digest is release.tar.gz's, not this file's",
    },
    {
      path: 'malformed.txt',
      data: malformed,
      bundle: malformedText.slice(0, Math.floor(malformedText.length / 2)),
      expected: 'failed',
      reason: 'companion is truncated JSON',
    },
    { path: 'empty.txt', data: text('Its companion is empty.\n'), bundle: '', expected: 'failed', reason: 'companion is empty' },
    {
      path: 'unknown-media.txt',
      data: unknownMedia,
      bundle: json({ ...unknownB, mediaType: UNKNOWN_BUNDLE_MEDIA_TYPE }),
      // A newer format we cannot read says nothing against the file: it cannot be checked.
      expected: 'unverifiable',
      reason: `bundle media type ${UNKNOWN_BUNDLE_MEDIA_TYPE} is unknown (otherwise valid)`,
    },
    {
      path: 'other-root.txt',
      data: otherRoot,
      bundle: json(otherB),
      expected: 'failed',
      reason: 'valid bundle from a Sigstore instance not in trusted_root.json',
    },
    {
      path: 'nested/deep.txt',
      data: deep,
      bundle: json(deepB),
      expected: 'verified',
      ...trusted,
      reason: 'message signature in a subfolder, with an RFC 3161 timestamp',
    },
  ];

  const badges: Record<string, string> = {};
  await Promise.all([
    write(TRUSTED_ROOT_FILE, json(inst.trustedRoot)),
    write('.vscode/settings.json', json({ 'sigstore.trustedRoot': '${workspaceFolder}/' + TRUSTED_ROOT_FILE })),
    write('vendor/plain.txt', text('No companion and no policy rule: no state, no badge.\n')),
    write(REQUIRED_FILE, text('The policy covers this file, and its bundle was deleted: unsigned.\n')),
    ...files.flatMap((f) => [write(f.path, f.data), write(f.path + BUNDLE_SUFFIX, f.bundle)]),
    ...others.flatMap((f) => [write(f.path, f.data), write(f.companionName, f.companionData)]),
    write('keys/cosign.pub', publicKey.export({ type: 'spki', format: 'pem' }) as string),
    write('keys/KEYS', `This file holds the release managers' keys.\n\npub   ed25519 ${pgp.fingerprint}\n${pgp.publicKey}\n`),
    write('.sigstore/policy.json', json(policy)),
  ]);
  for (const f of [...files, ...others]) badges[f.path] = BADGE[f.expected];
  badges[REQUIRED_FILE] = BADGE.unsigned;
  await write(EXPECTED_BADGES_FILE, json(badges));

  return [
    ...files.map(({ data: _data, bundle: _bundle, ...f }) => ({ ...f, companion: f.path + BUNDLE_SUFFIX })),
    ...others.map(({ data: _data, companionName, companionData: _c, ...f }) => ({ ...f, companion: companionName })),
  ];
}

/** A fresh OpenPGP key and a detached armored signature over `data`, made with openpgp.js. */
async function openpgpFixture(data: Buffer): Promise<{ data: Buffer; signature: string; publicKey: string; fingerprint: string }> {
  const { generateKey, readPrivateKey, createMessage, sign } = await import('openpgp');
  const { privateKey, publicKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Release Manager', email: 'rm@example.test' }], format: 'armored' });
  const key = await readPrivateKey({ armoredKey: privateKey });
  const signature = (await sign({ message: await createMessage({ binary: data }), signingKeys: key, detached: true, format: 'armored' })) as string;
  return { data, signature, publicKey, fingerprint: key.getFingerprint().toUpperCase() };
}

// Same bytes on every run (a SHA-256 counter stream), so file digests are stable.
function pseudoRandomBytes(seed: string, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < length; i++) {
    blocks.push(crypto.createHash('sha256').update(`${seed}:${i}`).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node --import tsx test/support/fixtures.ts <dir>');
    process.exit(2);
  }
  writeFixtureWorkspace(dir).then(
    (m) => console.log(`wrote ${m.files.length + m.unsigned.length} fixture files to ${m.dir}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
