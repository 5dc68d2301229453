import type { ExtensionServices } from '../services';

export const REFRESH_COMMAND = 'sigstore.refresh';

/** Re-reads the trusted root and verifies every file again. */
export async function refreshCommand(services: ExtensionServices): Promise<void> {
  await services.reloadTrustedRoot();
  await services.scan();
}
