/**
 * The registry credentials a run's pod needs, as a Docker config.json for its Secret: the caller's
 * own credentials (kit login, Docker's config and helpers) for exactly the registries the pod pulls
 * the input from and pushes the output to, and nothing else of the caller's files.
 */
import { credentialServerAddress, type CredentialSource } from '@modelkit/registry';

export interface PodCredentials {
  /** config.json text. */
  config: string;
  /** Registries a credential was found for; the others are reached anonymously. */
  found: string[];
}

export async function podDockerConfig(registries: string[], source: CredentialSource): Promise<PodCredentials> {
  const auths: Record<string, Record<string, string>> = {};
  const found: string[] = [];
  for (const registry of [...new Set(registries)]) {
    const c = await source.get(registry);
    if (!c) continue;
    const entry: Record<string, string> = {};
    if (c.username !== undefined && c.password !== undefined) entry.auth = Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64');
    if (c.identityToken) entry.identitytoken = c.identityToken;
    if (c.registryToken) entry.registrytoken = c.registryToken;
    if (Object.keys(entry).length === 0) continue;
    auths[credentialServerAddress(registry)] = entry;
    found.push(registry);
  }
  return { config: `${JSON.stringify({ auths })}\n`, found };
}
