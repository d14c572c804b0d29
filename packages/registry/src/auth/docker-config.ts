/**
 * Credentials from Docker's `config.json` ($DOCKER_CONFIG/config.json, else ~/.docker/config.json),
 * so a `docker login` works here too. Precedence as Docker and oras-go: `credHelpers[host]`, then
 * `credsStore`, then plain `auths`; a helper that applies decides alone ("not found" = anonymous).
 * One deliberate difference: a helper that is not installed (a config copied from a Mac naming
 * `desktop` or `osxkeychain`) falls through to `auths` instead of failing every pull.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { credentialFromEntry, readConfigFile } from './config-file.js';
import { execCredentialHelper } from './helper.js';
import { findServerEntry } from './server-address.js';
import type { Credential, CredentialSource } from './secret.js';

export interface DockerConfigOptions {
  /** Defaults to process.env; DOCKER_CONFIG, HOME and PATH (for helpers) are read from it. */
  env?: NodeJS.ProcessEnv;
  /** Overrides DOCKER_CONFIG. */
  configDir?: string;
  helperTimeoutMs?: number;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  return join(dir, 'config.json');
}

export class DockerConfigCredentials implements CredentialSource {
  readonly path: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly helperTimeoutMs?: number;

  constructor(options: DockerConfigOptions = {}) {
    this.env = options.env ?? process.env;
    this.path = options.configDir !== undefined ? join(options.configDir, 'config.json') : dockerConfigPath(this.env);
    this.helperTimeoutMs = options.helperTimeoutMs;
  }

  // Read on every call: `docker login` in another terminal takes effect without a restart, and
  // lookups only happen on auth challenges.
  async get(registry: string): Promise<Credential | undefined> {
    const config = await readConfigFile(this.path);
    if (!config) return undefined;
    const helper = findServerEntry(config.credHelpers, registry) ?? config.credsStore;
    if (typeof helper === 'string' && helper !== '') {
      const result = await execCredentialHelper(helper, registry, { env: this.env, timeoutMs: this.helperTimeoutMs });
      if (result.kind === 'found') return result.credential;
      if (result.kind === 'none') return undefined;
    }
    return credentialFromEntry(findServerEntry(config.auths, registry), registry, this.path);
  }

  toJSON(): { path: string } {
    return { path: this.path };
  }
}
