import * as vscode from 'vscode';
import type { FileSigner } from './core/sign/fileSigning';
import { loadCore } from './coreLoader';
import type { ExtensionServices } from './services';
import { signingSettings } from './signingSettings';
import { unlockSigningKey } from './signingKey';
import type { Progress } from './ui/cancellableProgress';
import type { SigningMethod } from './ui/signingPrompts';


/**
 * Gets ready to sign, files or images: unlocks the cosign key, or signs in (device or
 * browser flow, through the person's prompts) for a keyless session. Undefined when the
 * person backed out.
 */
export async function prepareSigner(services: ExtensionServices, method: SigningMethod, progress: Progress, signal: AbortSignal): Promise<FileSigner | undefined> {
  const settings = signingSettings();
  const core = loadCore();
  if (method === 'key') {
    progress.report({ message: 'Unlocking the key…' });
    const unlocked = await unlockSigningKey(services, signal);
    if (!unlocked) return undefined;
    services.log.info(`Signing with the key ${unlocked.path}`);
    return {
      kind: 'key',
      key: unlocked.key,
      publicKeyPem: unlocked.publicKeyPem,
      ...(settings.uploadKeySignatures ? { logSignature: (s, sig) => core.logKeySignature(s, settings.rekorURL, sig) } : {}),
    };
  }
  progress.report({ message: 'Signing in…' });
  const { prompts } = services.signing;
  const identity = await core.obtainIdentityToken({
    issuer: settings.issuer,
    clientId: settings.clientId,
    flow: settings.flow,
    redirectPort: settings.redirectPort,
    signal,
    onDeviceCode: async (code) => {
      if (!(await prompts.presentDeviceCode(code))) throw new vscode.CancellationError();
      progress.report({ message: `Waiting for you to confirm the code ${code.userCode} in the browser…` });
    },
    openBrowser: async (url) => {
      progress.report({ message: 'Waiting for you to sign in in the browser…' });
      if (!(await prompts.openBrowser(url))) throw new vscode.CancellationError();
    },
  });
  services.log.info(`Signed in as ${identity.identity} (${identity.issuer}) through ${identity.source}`);
  return { kind: 'keyless', session: core.createKeylessSession(identity.token, settings) };
}
