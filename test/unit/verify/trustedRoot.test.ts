import { strict as assert } from 'node:assert';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { TrustedRootError } from '../../../src/core/errors';
import { parseTrustedRoot, publicGoodTrustedRoot } from '../../../src/core/trust/trustedRoot';

describe('trusted roots', () => {
  it('embeds the public-good root with Fulcio, Rekor and CT log authorities', () => {
    const root = publicGoodTrustedRoot();
    assert.ok(root.root.certificateAuthorities.length > 0);
    assert.ok(root.root.tlogs.some((t) => t.baseUrl === 'https://rekor.sigstore.dev'));
    assert.ok(root.root.ctlogs.length > 0);
    assert.deepEqual(root.ignored, []);
  });

  it('drops a log key without a validity start and says so', () => {
    const json = JSON.parse(JSON.stringify(TrustedRoot.toJSON(publicGoodTrustedRoot().root)));
    const before = json.tlogs.length;
    delete json.tlogs[0].publicKey.validFor.start;
    const root = parseTrustedRoot(Buffer.from(JSON.stringify(json)), 'edited');
    assert.equal(root.root.tlogs.length, before - 1);
    assert.match(root.ignored[0]!, /transparency log .*no validFor\.start/);
  });

  it('refuses what is not a trusted root, with an actionable message', () => {
    for (const bad of ['', '{', '{"mediaType": "application/json"}', '[]']) {
      assert.throws(() => parseTrustedRoot(Buffer.from(bad), 'x.json'), (e: unknown) => e instanceof TrustedRootError && /x\.json/.test(e.message));
    }
  });
});
