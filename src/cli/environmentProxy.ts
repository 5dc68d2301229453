import { EnvHttpProxyAgent, setGlobalDispatcher } from 'undici';

/**
 * Node's built-in fetch ignores HTTPS_PROXY/HTTP_PROXY/NO_PROXY; command-line users behind
 * a proxy expect them to work (as they do for cosign). The editor gets VS Code's own proxy
 * support instead, so only the command lines call this.
 */
export function useEnvironmentProxy(env: NodeJS.ProcessEnv = process.env): void {
  const configured = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((k) => env[k]);
  if (!configured) return;
  // It works as documented; its "experimental" notice would only alarm command-line users.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).includes('EnvHttpProxyAgent')) (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    setGlobalDispatcher(new EnvHttpProxyAgent());
  } finally {
    process.emitWarning = emitWarning;
  }
}
