/**
 * Registry credentials from the Docker configuration the user already has:
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, with `credHelpers[registry]`, then
 * `credsStore`, then `auths` (base64 `user:pass` in `auth`, `identitytoken`, `registrytoken`).
 * Helpers are run as Docker runs them: `docker-credential-<name> get`, the server on stdin.
 * Nothing here logs, and no error quotes a secret.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { RegistryCredential } from './auth';
import { OciError } from './errors';
import { DOCKER_HUB } from './reference';
import { printable } from '../text/printable';

export type { RegistryCredential } from './auth';

/** Where the client gets credentials for a registry (`host[:port]`, Docker Hub as `docker.io`). */
export interface CredentialSource {
  /** Undefined when there are none; throws OciError CREDENTIALS when the configuration or a helper fails. */
  get(registry: string): Promise<RegistryCredential | undefined>;
}

export interface HelperResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `docker-credential-<helper> get` with `serverUrl` on stdin. */
export type HelperRunner = (helper: string, serverUrl: string) => Promise<HelperResult>;

export interface DockerCredentialsOptions {
  /** For DOCKER_CONFIG and the helpers' PATH (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default: os.homedir(). */
  readonly homedir?: string;
  readonly runHelper?: HelperRunner;
  /** Default 30 s (a helper may ask the user to unlock a keychain). */
  readonly helperTimeoutMs?: number;
}

interface AuthEntry {
  readonly auth?: unknown;
  readonly username?: unknown;
  readonly password?: unknown;
  readonly identitytoken?: unknown;
  readonly registrytoken?: unknown;
}

export interface DockerConfig {
  readonly auths: Readonly<Record<string, AuthEntry>>;
  readonly credHelpers: Readonly<Record<string, string>>;
  readonly credsStore?: string;
}

/** Docker Hub's key in the Docker configuration and the server URL its helpers expect. */
export const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const DOCKER_HUB_NAMES = ['index.docker.io', 'docker.io', 'registry-1.docker.io'];
const NOT_FOUND = 'credentials not found in native keychain';
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_HELPER_OUTPUT = 64 * 1024;
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A fixed map (registry → credential), for tests and for credentials kept elsewhere. */
export function staticCredentials(map: Readonly<Record<string, RegistryCredential>>): CredentialSource {
  return { get: async (registry) => map[registry] };
}

export function dockerCredentials(options: DockerCredentialsOptions = {}): CredentialSource {
  const env = options.env ?? process.env;
  const runHelper = options.runHelper ?? spawnHelper(env, options.helperTimeoutMs ?? 30_000);
  return {
    async get(registry) {
      const file = dockerConfigPath(env, options.homedir ?? os.homedir());
      const config = await readDockerConfig(file);
      if (!config) return undefined;
      return credentialFor(config, registry, runHelper, file);
    },
  };
}

export function dockerConfigPath(env: Readonly<Record<string, string | undefined>>, homedir: string): string {
  return env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, 'config.json') : path.join(homedir, '.docker', 'config.json');
}

async function readDockerConfig(file: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (stat.size > MAX_CONFIG_BYTES) throw new OciError('CREDENTIALS', `${file} is larger than ${MAX_CONFIG_BYTES} bytes.`, 'Check the Docker configuration file.');
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof OciError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new OciError('CREDENTIALS', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, 'Check the permissions of the Docker configuration file.');
  }
  return parseDockerConfig(text, file);
}

/** Parses config.json; keeps only well-typed `auths`, `credHelpers` and `credsStore`. */
export function parseDockerConfig(text: string, file = 'config.json'): DockerConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new OciError('CREDENTIALS', `${file} is not valid JSON.`, 'Fix the Docker configuration file (docker login rewrites it).');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new OciError('CREDENTIALS', `${file} is not a JSON object.`, 'Fix the Docker configuration file.');
  const o = doc as Record<string, unknown>;
  const auths: Record<string, AuthEntry> = {};
  if (isRecord(o.auths)) for (const [k, v] of Object.entries(o.auths)) if (isRecord(v)) auths[k] = v;
  const credHelpers: Record<string, string> = {};
  if (isRecord(o.credHelpers)) for (const [k, v] of Object.entries(o.credHelpers)) if (typeof v === 'string' && v) credHelpers[k] = v;
  return { auths, credHelpers, ...(typeof o.credsStore === 'string' && o.credsStore ? { credsStore: o.credsStore } : {}) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Docker's `ConvertToHostname`: `https://host:5000/v2/` → `host:5000`. */
export function configKeyHost(key: string): string {
  return key.replace(/^https?:\/\//i, '').split('/')[0]!.toLowerCase();
}

function namesOf(registry: string): string[] {
  return registry === DOCKER_HUB ? DOCKER_HUB_NAMES : [registry.toLowerCase()];
}

/** The entry of a map keyed like Docker's config (exact key first, then by host). */
function lookup<T>(map: Readonly<Record<string, T>>, registry: string): T | undefined {
  const exact = registry === DOCKER_HUB ? [DOCKER_HUB_SERVER, ...DOCKER_HUB_NAMES] : [registry, `https://${registry}`, `http://${registry}`];
  for (const k of exact) if (Object.hasOwn(map, k)) return map[k];
  const names = namesOf(registry);
  for (const [k, v] of Object.entries(map)) if (names.includes(configKeyHost(k))) return v;
  return undefined;
}

/** The credential an `auths` entry holds, if any. */
export function credentialFromAuthEntry(entry: AuthEntry, file = 'config.json', key = ''): RegistryCredential | undefined {
  let username = typeof entry.username === 'string' && entry.username ? entry.username : undefined;
  let password = typeof entry.password === 'string' && entry.password ? entry.password : undefined;
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || !/^[A-Za-z0-9+/=\s]*$/.test(entry.auth)) {
      throw new OciError('CREDENTIALS', `The "auth" of ${key || 'a registry'} in ${file} is not base64 of user:password.`, 'Run docker login again for that registry.');
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const identityToken = typeof entry.identitytoken === 'string' && entry.identitytoken ? entry.identitytoken : undefined;
  const registryToken = typeof entry.registrytoken === 'string' && entry.registrytoken ? entry.registrytoken : undefined;
  if (!username && !password && !identityToken && !registryToken) return undefined;
  return {
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(identityToken !== undefined ? { identityToken } : {}),
    ...(registryToken !== undefined ? { registryToken } : {}),
  };
}

/** What Docker would use for `registry`: its credential helper, the default store, then `auths`. */
export async function credentialFor(config: DockerConfig, registry: string, runHelper: HelperRunner, file = 'config.json'): Promise<RegistryCredential | undefined> {
  const helper = lookup(config.credHelpers, registry) ?? config.credsStore;
  if (helper) {
    const fromHelper = await askHelper(helper, registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry, runHelper, file);
    if (fromHelper) return fromHelper;
  }
  const entry = lookup(config.auths, registry);
  const key = registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry;
  return entry ? credentialFromAuthEntry(entry, file, key) : undefined;
}

async function askHelper(helper: string, serverUrl: string, runHelper: HelperRunner, file: string): Promise<RegistryCredential | undefined> {
  const program = `docker-credential-${helper}`;
  if (!HELPER_NAME.test(helper)) throw new OciError('CREDENTIALS', `${file} names a credential helper "${helper.slice(0, 40)}" that is not a plain name.`, 'Fix credsStore/credHelpers in the Docker configuration.');
  const result = await runHelper(helper, serverUrl);
  if (result.exitCode !== 0) {
    if (result.stdout.trim() === NOT_FOUND || result.stderr.trim() === NOT_FOUND) return undefined;
    const said = printable((result.stderr.trim() || result.stdout.trim()).split('\n')[0] ?? '', 160);
    throw new OciError('CREDENTIALS', `${program} get failed for ${serverUrl} (exit ${result.exitCode}${said ? `: ${said}` : ''}).`, `Check ${program}, or run docker login ${serverUrl === DOCKER_HUB_SERVER ? '' : serverUrl}`.trimEnd() + '.');
  }
  let answer: unknown;
  try {
    answer = JSON.parse(result.stdout);
  } catch {
    throw new OciError('CREDENTIALS', `${program} get answered something that is not JSON for ${serverUrl}.`, `Check ${program}.`);
  }
  if (!isRecord(answer) || typeof answer.Secret !== 'string') throw new OciError('CREDENTIALS', `${program} get answered without a Secret for ${serverUrl}.`, `Check ${program}.`);
  const username = typeof answer.Username === 'string' ? answer.Username : '';
  if (!answer.Secret) return undefined;
  // Docker's convention: the user "<token>" means the secret is an identity (refresh) token.
  if (username === '<token>') return { identityToken: answer.Secret };
  return { username, password: answer.Secret };
}

/** Spawns the helper with a timeout and capped output; the server URL goes to stdin. */
export function spawnHelper(env: Readonly<Record<string, string | undefined>>, timeoutMs: number): HelperRunner {
  return (helper, serverUrl) =>
    new Promise<HelperResult>((resolve, reject) => {
      const program = `docker-credential-${helper}`;
      const child = spawn(program, ['get'], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let settled = false;
      // Settles at once: a helper's own children may keep the pipes open after it is killed.
      const stop = (e: OciError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        child.stdout.destroy();
        child.stderr.destroy();
        reject(e);
      };
      const timer = setTimeout(() => stop(new OciError('CREDENTIALS', `${program} get did not answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}.`, `Check ${program} (it may be waiting for a keychain to unlock).`)), timeoutMs);
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_HELPER_OUTPUT) return stop(new OciError('CREDENTIALS', `${program} get wrote more than ${MAX_HELPER_OUTPUT} bytes.`, `Check ${program}.`));
        into.push(chunk);
      };
      child.stdout.on('data', collect(out));
      child.stderr.on('data', collect(err));
      child.stdin.on('error', () => undefined); // a helper that exits without reading stdin
      child.on('error', (e: NodeJS.ErrnoException) =>
        stop(
          e.code === 'ENOENT'
            ? new OciError('CREDENTIALS', `The Docker configuration names the credential helper ${program}, which is not on PATH.`, `Install ${program}, or remove it from credsStore/credHelpers in the Docker configuration.`)
            : new OciError('CREDENTIALS', `Cannot run ${program}: ${e.code ?? e.message}.`, `Check ${program}.`),
        ),
      );
      child.on('close', (code) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ exitCode: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      child.stdin.end(serverUrl);
    });
}
