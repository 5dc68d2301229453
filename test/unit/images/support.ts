import { strict as assert } from 'node:assert';
import type { ImageUse } from '../../../src/core/images/imageUses';

/** The text a use points at (line/column/length), in the file as an editor shows it (no BOM). */
export function writtenAt(text: string, use: ImageUse): string {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const line = body.split('\n')[use.line];
  assert.ok(line !== undefined, `line ${use.line} is outside the text`);
  return line.slice(use.column, use.column + use.length);
}

export function references(uses: readonly ImageUse[]): string[] {
  return uses.map((use) => use.reference);
}

/** Each use whose reference is written literally points exactly at it. */
export function assertPointsAtReferences(text: string, uses: readonly ImageUse[]): void {
  for (const use of uses) assert.equal(writtenAt(text, use), use.reference, `position of ${use.reference}`);
}

/** Joins lines with LF (template literals in tests would hide trailing spaces and CRLF). */
export function lines(...content: string[]): string {
  return content.join('\n') + '\n';
}
