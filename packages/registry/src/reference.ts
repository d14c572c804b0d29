/**
 * Docker-style references (distribution/reference `ParseNormalizedNamed`, oci-registry.md §4), for
 * talking to real registries. `@modelkit/core`'s `parseReference` keeps kit's local rules (default
 * registry `localhost`); this module is what `docker pull` would understand:
 *
 * - no registry → `docker.io`; `index.docker.io` → `docker.io`; one-component names on Docker Hub
 *   get `library/` (`alpine` → `docker.io/library/alpine`);
 * - the first component is a registry when it is `localhost`, contains '.' or ':' (a port, an IPv6
 *   literal such as `[::1]:5000`), or has uppercase letters (repositories never can);
 * - `name:tag@digest` keeps both (the digest decides what is pulled); neither → tag `latest`;
 * - kit's `name:tag1,tag2` adds extra tags (not Docker grammar, but `kit pack -t` uses it).
 */
import { isDigest, KitError } from '@modelkit/core';

export interface DockerReference {
  registry: string;
  repository: string;
  /** `latest` when the input had neither tag nor digest. */
  tag?: string;
  /** Lowercase hex, whatever case the input used. */
  digest?: string;
  /** From `name:tag,extra1,extra2`. */
  extraTags: string[];
}

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's API host: `docker.io` itself serves a website, not the registry API. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const LEGACY_DOCKER_HUB = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';

const EXPECTED =
  'expected [registry[:port]/]repository[:tag][@digest], e.g. alpine:3.20, ghcr.io/org/model:v1 or localhost:5000/m@sha256:<64 hex>';

// Grammar from distribution/reference regexp.go (v0.6.0).
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^\w[\w.-]{0,127}$/;
const DIGEST_GRAMMAR_RE = /^[a-z0-9]+(?:[-_+.][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;
const HEX64_RE = /^[a-f0-9]{64}$/;
const MAX_PATH_LENGTH = 255;

function invalid(input: string, problem: string): KitError {
  // References come from argv and files; keep a pasted blob from flooding the terminal.
  const shown = input.length > 200 ? `${input.slice(0, 200)}…` : input;
  return new KitError('REFERENCE_INVALID', `invalid reference ${JSON.stringify(shown)}: ${problem}; ${EXPECTED}`);
}

/** distribution/reference `splitDockerDomain`: is this first path component a registry host? */
function isRegistryComponent(component: string): boolean {
  return component === 'localhost' || /[.:]/.test(component) || component.toLowerCase() !== component;
}

function checkTag(input: string, tag: string): void {
  if (!TAG_RE.test(tag)) {
    throw invalid(input, `tag ${JSON.stringify(tag)} must be 1-128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'`);
  }
}

function checkDigest(input: string, digest: string): string {
  if (!DIGEST_GRAMMAR_RE.test(digest)) {
    throw invalid(input, `digest ${JSON.stringify(digest)} is not of the form <algorithm>:<hex>`);
  }
  // The grammar admits uppercase hex; registries and blob paths want lowercase, so normalise.
  const colon = digest.indexOf(':');
  const normalised = digest.slice(0, colon) + ':' + digest.slice(colon + 1).toLowerCase();
  if (!isDigest(normalised)) {
    throw invalid(input, `digest ${JSON.stringify(digest)} is unsupported: expected sha256 (64 hex), sha384 (96) or sha512 (128)`);
  }
  return normalised;
}

/** Parses a reference as Docker does; throws KitError REFERENCE_INVALID otherwise. */
export function parseDockerReference(input: string): DockerReference {
  // Guard for JavaScript callers (argv, parsed JSON) that bypass the type.
  if (typeof input !== 'string') {
    throw new KitError('REFERENCE_INVALID', `invalid reference: expected a string, got ${typeof input}; ${EXPECTED}`);
  }
  if (input === '') throw invalid(input, 'reference is empty');

  // Extra tags first, as kit does: `repo:a,b` is repo:a plus tag b.
  const [first, ...extraTags] = input.split(',');
  if (HEX64_RE.test(first)) {
    throw invalid(input, 'a bare 64-character hex string is ambiguous (an image ID?); use name@sha256:<hex> for a digest');
  }

  let nameAndTag = first;
  let digest: string | undefined;
  const at = first.indexOf('@');
  if (at !== -1) {
    nameAndTag = first.slice(0, at);
    digest = checkDigest(input, first.slice(at + 1));
  }

  // A tag's ':' comes after the last '/', so a registry port (`host:5000/x`) is never taken for one.
  let name = nameAndTag;
  let tag: string | undefined;
  const tagColon = nameAndTag.indexOf(':', nameAndTag.lastIndexOf('/') + 1);
  if (tagColon !== -1) {
    name = nameAndTag.slice(0, tagColon);
    tag = nameAndTag.slice(tagColon + 1);
    checkTag(input, tag);
  }

  let registry = DOCKER_HUB;
  let repository = name;
  const slash = name.indexOf('/');
  if (slash !== -1 && isRegistryComponent(name.slice(0, slash))) {
    registry = name.slice(0, slash);
    repository = name.slice(slash + 1);
  }
  if (registry === LEGACY_DOCKER_HUB) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && repository !== '' && !repository.includes('/')) repository = OFFICIAL_PREFIX + repository;

  if (!DOMAIN_RE.test(registry)) {
    throw invalid(input, `registry ${JSON.stringify(registry)} is not a valid host[:port] (IPv6 needs brackets: [::1]:5000)`);
  }
  if (repository === '') throw invalid(input, 'repository name is empty');
  if (repository.toLowerCase() !== repository) {
    throw invalid(input, `repository name (${repository}) must be lowercase`);
  }
  if (!PATH_RE.test(repository)) {
    throw invalid(
      input,
      `repository name (${repository}) may only contain a-z, 0-9 and single separators (. _ __ -) between "/"-separated components`,
    );
  }
  if (repository.length > MAX_PATH_LENGTH) {
    throw invalid(input, `repository name is ${repository.length} characters long; the limit is ${MAX_PATH_LENGTH}`);
  }
  for (const extra of extraTags) checkTag(input, extra);

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const ref: DockerReference = { registry, repository, extraTags };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The host to send API requests to: Docker Hub's registry lives on `registry-1.docker.io`. */
export function registryHost(registry: string): string {
  return registry === DOCKER_HUB || registry === LEGACY_DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/**
 * Fully qualified `registry/repository[:tag][@digest]` (`docker.io/library/alpine:latest`); parses
 * back to the same reference. Extra tags are not included.
 */
export function formatDockerReference(ref: Pick<DockerReference, 'registry' | 'repository' | 'tag' | 'digest'>): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}
