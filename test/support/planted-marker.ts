/**
 * A secret-looking marker planted in untrusted files, and the check that nothing we show
 * (summaries, failures, remedies, check details, notes, whatever else a result holds)
 * repeats it: messages say what is wrong and where, never the file's bytes.
 */
import { strict as assert } from 'node:assert';

/** Upper-case letters and digits, so it also fits where a PEM label or base64 would go. */
export const MARKER = 'LEAKMARKER7Q3Z';

/** Every place in `value` (walked whole: arrays, objects, strings) that holds `marker`, as a path. */
export function markerPlaces(value: unknown, marker = MARKER): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const visit = (v: unknown, path: string): void => {
    if (typeof v === 'string') {
      if (v.includes(marker)) found.push(`${path}: ${v}`);
      return;
    }
    if (typeof v !== 'object' || v === null || seen.has(v) || v instanceof Date) return;
    seen.add(v);
    if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return;
    for (const [k, child] of Object.entries(v)) visit(child, Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`);
  };
  visit(value, '$');
  return found;
}

/** Fails, naming the places, when `value` repeats the marker anywhere. */
export function assertNoMarker(value: unknown, what: string, marker = MARKER): void {
  const places = markerPlaces(value, marker);
  assert.deepEqual(places, [], `${what} quotes the file's content:\n${places.join('\n')}`);
}
