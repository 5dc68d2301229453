import * as vscode from 'vscode';
import { readLimited } from '../core/artifacts/artifact';
import type { RegistryClient } from '../core/oci/registryClient';
import { loadCore } from '../coreLoader';
import { resolveSettingPath } from '../settings/settingPath';

export const REGISTRY_SETTINGS = ['sigstore.images.insecureRegistries', 'sigstore.images.caCertificates', 'sigstore.images.maxBlobSize', 'sigstore.images.requestTimeout', 'sigstore.images.maxAttachments'];

const MIB = 1024 * 1024;

/**
 * A registry client as the settings ask: credentials from the Docker configuration the
 * person already has, plain HTTP only for loopback and the listed registries, extra CAs.
 * In an untrusted workspace its own settings are ignored (restrictedConfigurations), and a
 * CA path into the workspace is refused whoever set it (settings/settingPath.ts).
 */
export async function registryClient(): Promise<RegistryClient> {
  const config = vscode.workspace.getConfiguration('sigstore.images');
  const core = loadCore();
  const caCertificates: string[] = [];
  for (const path of config.get<string[]>('caCertificates', [])) {
    const resolved = resolveSettingPath('sigstore.images.caCertificates', path, vscode.workspace);
    if (!resolved) continue;
    // A CA the person asked for and that cannot be used: say so rather than fail TLS obscurely.
    if ('ignored' in resolved) throw new core.OciError('TLS', `The CA certificate file setting is not used: ${resolved.ignored}`, 'Fix the "sigstore.images.caCertificates" setting.');
    try {
      caCertificates.push((await readLimited(resolved.path, 1024 * 1024)).toString('utf8'));
    } catch (e) {
      throw new core.OciError('TLS', `The CA certificate file ${path} cannot be read: ${(e as Error).message}`, 'Fix the "sigstore.images.caCertificates" setting.');
    }
  }
  return new core.RegistryClient({
    credentials: core.dockerCredentials(),
    insecureRegistries: config.get<string[]>('insecureRegistries', []),
    caCertificates,
    maxBlobBytes: Math.round(bounded(config.get<number>('maxBlobSize'), 1, 4096, 64) * MIB),
    timeoutMs: Math.round(bounded(config.get<number>('requestTimeout'), 1, 600, 30) * 1000),
    userAgent: 'sigstore-vscode',
  });
}

/** A number setting within its documented range (a hand-edited settings.json may hold anything). */
function bounded(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}
