/**
 * Where credentials come from: kit's own store first (what `kit login` wrote), then Docker's
 * config and helpers. Sources are tried in order and the first hit wins, as in `kit`.
 */
import { kitopsHome as defaultKitopsHome } from '@modelkit/core';
import { DockerConfigCredentials } from './docker-config.js';
import { KitCredentialStore } from './kit-store.js';
import type { Credential, CredentialSource } from './secret.js';

export type { Credential, CredentialSource } from './secret.js';
export { makeCredential, redactCredential } from './secret.js';
export { KitCredentialStore, KIT_CREDENTIALS_FILE } from './kit-store.js';
export { DockerConfigCredentials, dockerConfigPath, type DockerConfigOptions } from './docker-config.js';
export { runCredentialHelper, DEFAULT_HELPER_TIMEOUT_MS, type CredentialHelperOptions } from './helper.js';
export { credentialServerAddress, normaliseServerKey, DOCKER_HUB_SERVER_ADDRESS } from './server-address.js';

/** A source that asks each of `sources` in turn and returns the first credential found. */
export function chainCredentials(...sources: CredentialSource[]): CredentialSource {
  return {
    async get(registry: string): Promise<Credential | undefined> {
      for (const source of sources) {
        const found = await source.get(registry);
        if (found !== undefined) return found;
      }
      return undefined;
    },
  };
}

export interface DefaultCredentialsOptions {
  /** kit's home directory; default from env (KITOPS_HOME, else $XDG_DATA_HOME/kitops). */
  kitopsHome?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  helperTimeoutMs?: number;
}

/** kit's `credentials.json`, then Docker's `config.json` (with its helpers). */
export function defaultCredentials(options: DefaultCredentialsOptions = {}): CredentialSource {
  const env = options.env ?? process.env;
  return chainCredentials(
    new KitCredentialStore(options.kitopsHome ?? defaultKitopsHome(env)),
    new DockerConfigCredentials({ env, helperTimeoutMs: options.helperTimeoutMs }),
  );
}
