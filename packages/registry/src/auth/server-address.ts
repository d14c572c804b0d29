/**
 * Credential stores key entries by "server address", which Docker wrote in several forms over the
 * years (`https://index.docker.io/v1/`, `https://host/`, `host:port`, podman's `host/namespace`).
 * Lookups compare hostnames, with Docker Hub's aliases folded into `docker.io`.
 */

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** The key `docker login` and kit (oras-go) use for Docker Hub, in config.json and with helpers. */
export const DOCKER_HUB_SERVER_ADDRESS = 'https://index.docker.io/v1/';

/** `https://Host:5000/v1/` → `host:5000`; any Docker Hub alias → `docker.io`. */
export function normaliseServerKey(key: string): string {
  let s = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash !== -1) s = s.slice(0, slash);
  s = s.toLowerCase(); // hostnames are case-insensitive
  return DOCKER_HUB_ALIASES.has(s) ? 'docker.io' : s;
}

/** The address to store under, or to hand a credential helper, for a registry. */
export function credentialServerAddress(registry: string): string {
  const host = normaliseServerKey(registry);
  return host === 'docker.io' ? DOCKER_HUB_SERVER_ADDRESS : host;
}

/**
 * The entry of `map` for `registry`: an exact key first (so the canonical form wins over a stale
 * legacy one), else the first key naming the same host.
 */
export function findServerEntry<T>(map: Record<string, T> | undefined, registry: string): T | undefined {
  if (!map || typeof map !== 'object') return undefined;
  const want = normaliseServerKey(registry);
  for (const exact of [credentialServerAddress(registry), registry]) {
    if (Object.prototype.hasOwnProperty.call(map, exact)) return map[exact];
  }
  for (const key of Object.keys(map)) {
    if (normaliseServerKey(key) === want) return map[key];
  }
  return undefined;
}
