/**
 * Package URLs (https://github.com/package-url/purl-spec) for the three types an SBOM of a
 * ModelKit needs. packageurl-js is not a dependency; these few rules are all we use of it.
 */
import { isDigest } from '../oci/digest.js';
import { parseReference, type Reference } from '../reference/reference.js';

/** Names and versions: every reserved character percent-encoded (so a digest's ':' is %3A, as the OCI type's examples show). */
const encode = (s: string): string => encodeURIComponent(s);

/** Qualifier values: percent-encoded, but '/' and ':' left readable as in `repository_url=ghcr.io/org/model`. */
const encodeQualifier = (s: string): string => encodeURIComponent(s).replace(/%2F/gi, '/').replace(/%3A/gi, ':');

/** PyPI names are case-insensitive with '_' equal to '-': the purl spec lowercases and dashes them. */
export function pypiPurl(name: string, version?: string): string {
  return `pkg:pypi/${encode(name.toLowerCase().replace(/_/g, '-'))}${version ? `@${encode(version)}` : ''}`;
}

/** npm: a scope is the namespace (`pkg:npm/%40scope/name`), names lowercased. */
export function npmPurl(name: string, version?: string): string {
  const lower = name.toLowerCase();
  const slash = lower.startsWith('@') ? lower.indexOf('/') : -1;
  const path = slash > 0 ? `${encode(lower.slice(0, slash))}/${encode(lower.slice(slash + 1))}` : encode(lower);
  return `pkg:npm/${path}${version ? `@${encode(version)}` : ''}`;
}

/** The parts of how the user named a ModelKit that an SBOM records; undefined parts were not given. */
export interface NamedReference {
  /** `registry/repository` only when the user wrote a registry; local names have none. */
  repositoryUrl?: string;
  repository?: string;
  tag?: string;
}

/** Read what a reference says without failing on one `kit` would not parse (it is only a label then). */
export function nameParts(reference: string): NamedReference {
  if (isDigest(reference)) return {};
  let ref: Reference;
  try {
    ref = parseReference(reference);
  } catch {
    return {};
  }
  const explicitRegistry = reference.startsWith(`${ref.registry}/`);
  return {
    repositoryUrl: explicitRegistry ? `${ref.registry}/${ref.repository}` : undefined,
    repository: ref.repository,
    tag: ref.tag,
  };
}

/**
 * `pkg:oci/<name>@sha256%3A<hex>?repository_url=…&tag=…` per the purl OCI type: the name is the
 * repository's last segment, the version the manifest digest. None for a bare digest: without a
 * repository there is no name that purl consumers could match.
 */
export function ociPurl(named: NamedReference, manifestDigest: string): string | undefined {
  if (!named.repository) return undefined;
  const name = named.repository.slice(named.repository.lastIndexOf('/') + 1);
  const qualifiers: Array<[string, string]> = [];
  if (named.repositoryUrl) qualifiers.push(['repository_url', named.repositoryUrl]);
  if (named.tag) qualifiers.push(['tag', named.tag]);
  const query = qualifiers.map(([k, v]) => `${k}=${encodeQualifier(v)}`).join('&');
  return `pkg:oci/${encode(name)}@${encode(manifestDigest)}${query ? `?${query}` : ''}`;
}
