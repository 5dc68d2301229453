import { strict as assert } from 'node:assert';

import { OciError, type OciErrorCode } from '../../src/core/oci/errors';

/** Asserts that `promise` rejects with an OciError of `code` (whose message matches `message`) and a remedy that says something. */
export async function rejectsWith(promise: Promise<unknown>, code: OciErrorCode, message?: RegExp): Promise<OciError> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof OciError, `expected an OciError ${code}, got ${error === undefined ? 'success' : String(error)}`);
  assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
  if (message) assert.match(error.message, message);
  assert.ok(error.remedy === undefined || error.remedy.length > 0);
  return error;
}
