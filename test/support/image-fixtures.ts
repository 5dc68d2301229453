// Images for the Images view's tests and the demo: a real docker-registry holding an image
// signed and attested by the real cosign with a key, a multi-arch index, and a workspace
// that refers to them (Dockerfile, compose file) with a trust-policy rule for the key. Beside
// it, the hostile registry (test/support/hostile-registry.ts) for the view's error nodes: no
// workspace file refers to it, the tests pin its images themselves.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { startHostileRegistry, type HostileRegistry } from './hostile-registry';
import { startRegistry, type TestRegistry } from './registry';
import { PREDICATES, startSigningKit, type SigningKit } from './signed-images';

/** What the workspace refers to, for the tests' expectations (written as .image-fixtures.json). */
export interface ImageFixtures {
  registry: string;
  /** Signed with keys/images/cosign.pub and attested (SLSA provenance), used in Dockerfile. */
  signed: { reference: string; digest: string };
  /** A two-platform index used in compose.yaml: its first platform manifest is signed, nothing else. */
  index: { reference: string; digest: string; platforms: string[] };
  /** Referred to in compose.yaml, never pushed. */
  missing: { reference: string };
  /**
   * The hostile registry (plain HTTP on loopback): its repository names pick the misbehaviour.
   * `GET http://<host>/_recorded` lists the requests it and `otherHost` (where it redirects) saw.
   */
  hostile: { host: string; otherHost: string };
  /**
   * Unsigned images for Sign Image / Attest Image (test/vscode/image-signing.test.ts), so that
   * signing them changes nothing other suites expect of demo/app. No workspace file refers to
   * them. `referrers` is signed and attested as Sigstore bundle referrers, `cosignTag` into its
   * `.sig` tag, `untouched` is where signing is cancelled or refused: nothing is ever written to it.
   */
  toSign: {
    referrers: { reference: string; digest: string };
    cosignTag: { reference: string; digest: string };
    untouched: { reference: string; digest: string };
  };
}

export const IMAGE_FIXTURES_FILE = '.image-fixtures.json';

export interface RunningImageFixtures {
  fixtures: ImageFixtures;
  close(): Promise<void>;
}

export async function writeImageFixtures(workspace: string): Promise<RunningImageFixtures> {
  const registry: TestRegistry = await startRegistry();
  let kit: SigningKit | undefined;
  let hostile: HostileRegistry | undefined;
  try {
    hostile = await startHostileRegistry();
    kit = await startSigningKit();
    const app = await registry.pushImage('demo/app', { tag: '1.0', seed: 'app' });
    const multi = await registry.pushIndex('demo/multi', '1.0');
    const toSign = {
      referrers: await registry.pushImage('demo/tosign', { tag: '1.0', seed: 'tosign' }),
      cosignTag: await registry.pushImage('demo/tosign-tag', { tag: '1.0', seed: 'tosign-tag' }),
      untouched: await registry.pushImage('demo/untouched', { tag: '1.0', seed: 'untouched' }),
    };
    const signed = `${registry.host}/demo/app@${app.digest}`;
    const { key, pub } = await kit.keyPair('images');
    await kit.cosignOK(['sign', '--key', key, '--tlog-upload=false', '--allow-http-registry', '-y', signed]);
    const predicate = await kit.file('provenance.json', PREDICATES.slsaprovenance);
    // One platform of the index signed, the other not: each platform has its own attachments.
    await kit.cosignOK(['sign', '--key', key, '--tlog-upload=false', '--allow-http-registry', '-y', `${registry.host}/demo/multi@${multi.manifests[0]!.digest}`]);
    await kit.cosignOK(['attest', '--key', key, '--type', 'slsaprovenance', '--predicate', predicate, '--tlog-upload=false', '--allow-http-registry', '-y', signed]);

    await mkdir(path.join(workspace, 'keys', 'images'), { recursive: true });
    await copyFile(pub, path.join(workspace, 'keys', 'images', 'cosign.pub'));
    await writeFile(path.join(workspace, 'Dockerfile'), `# syntax=docker/dockerfile:1\nFROM ${registry.host}/demo/app:1.0 AS build\nRUN true\n\nFROM build\n`);
    await writeFile(
      path.join(workspace, 'compose.yaml'),
      `services:\n  web:\n    image: ${registry.host}/demo/multi:1.0\n  worker:\n    image: "${registry.host}/demo/missing:1"\n`,
    );
    const policyFile = path.join(workspace, '.sigstore', 'policy.json');
    const policy = JSON.parse(await readFile(policyFile, 'utf8')) as { rules: unknown[] };
    policy.rules.push({ name: 'our images', images: [`${registry.host}/demo/*`], keys: ['../keys/images/cosign.pub'] });
    await writeFile(policyFile, `${JSON.stringify(policy, null, 2)}\n`);

    const fixtures: ImageFixtures = {
      registry: registry.host,
      signed: { reference: `${registry.host}/demo/app:1.0`, digest: app.digest },
      index: { reference: `${registry.host}/demo/multi:1.0`, digest: multi.digest, platforms: multi.manifests.map((m) => [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')) },
      missing: { reference: `${registry.host}/demo/missing:1` },
      hostile: { host: hostile.host, otherHost: hostile.other.host },
      toSign: {
        referrers: { reference: `${registry.host}/demo/tosign:1.0`, digest: toSign.referrers.digest },
        cosignTag: { reference: `${registry.host}/demo/tosign-tag:1.0`, digest: toSign.cosignTag.digest },
        untouched: { reference: `${registry.host}/demo/untouched:1.0`, digest: toSign.untouched.digest },
      },
    };
    await writeFile(path.join(workspace, IMAGE_FIXTURES_FILE), `${JSON.stringify(fixtures, null, 2)}\n`);
    const signingKit = kit;
    const hostileRegistry = hostile;
    return {
      fixtures,
      close: async () => {
        await Promise.allSettled([registry.close(), signingKit.close(), hostileRegistry.close()]);
      },
    };
  } catch (e) {
    await Promise.allSettled([registry.close(), kit?.close(), hostile?.close()]);
    throw e;
  }
}
