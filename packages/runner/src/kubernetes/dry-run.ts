/**
 * `kit run --backend kubernetes --dry-run`: the manifests as YAML documents, exactly as they would
 * be created except that the Secret shows where each value would come from instead of the value.
 */
import { stringify } from 'yaml';
import { SECRET_KEYS } from './layout.js';
import type { KubernetesManifests } from './manifests.js';

export interface SecretSources {
  /** The run file's secret names (values from the caller's environment). */
  secretNames: string[];
  /** Registries the pod gets the caller's credentials for. */
  registries: string[];
  signed: boolean;
}

/** The objects as they would be created, with the Secret's values replaced by notes. */
export function displayedManifests(manifests: KubernetesManifests, sources: SecretSources): object[] {
  const { data: _values, ...secret } = manifests.secret;
  const notes: Record<string, string> = {
    [SECRET_KEYS.dockerConfig]: `<Docker config.json with your credentials for ${sources.registries.length > 0 ? sources.registries.join(', ') : 'no registry (anonymous)'}>`,
  };
  if (sources.signed) notes[SECRET_KEYS.signingKey] = '<the private key given with --key, PEM>';
  for (const name of sources.secretNames) notes[SECRET_KEYS.env(name)] = `<from $${name}>`;
  return [{ ...secret, stringData: notes }, ...(manifests.service ? [manifests.service] : []), manifests.job];
}

export function manifestsYaml(objects: object[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}
