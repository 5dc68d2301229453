import { join } from 'node:path';

export type CoreApi = typeof import('./core/api');

let core: CoreApi | undefined;

/** The verification core (dist/core.js), loaded on first use so activation stays cheap. */
export function loadCore(): CoreApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  core ??= require(join(__dirname, 'core.js')) as CoreApi;
  return core;
}
