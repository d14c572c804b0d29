/**
 * ModelKit references with `kit`'s semantics (kitops-format.md §9), which differ from Docker's:
 * a first path segment is a registry only if it contains '.' or ':' (or is `localhost`), and the
 * default registry is `localhost`, never docker.io; `name:tag1,tag2` carries extra tags; a bare
 * digest means "this manifest, wherever it is" and gets the placeholder repository `_`.
 *
 * Component grammar (repository, tag, digest) is the OCI distribution grammar
 * (oci-registry.md §4), checked here so that later code can use the parts in paths and URLs.
 */
import { KitError } from '../errors.js';
import { isDigest } from '../oci/digest.js';

export interface Reference {
  registry: string;
  repository: string;
  /** Set exactly when `digest` is not: a reference names one manifest. */
  tag?: string;
  digest?: string;
  /** From `name:tag,extra1,extra2`: further tags to apply (pack -t, tag). */
  extraTags: string[];
}

export const DEFAULT_REGISTRY = 'localhost';
/** Repository placeholder for a bare digest; not a valid repository name, so never collides. */
export const DEFAULT_REPOSITORY = '_';
export const DEFAULT_TAG = 'latest';

const EXPECTED = 'expected [registry/]repository[:tag[,tag...]] or [registry/]repository@sha256:<64 hex>';

// distribution/reference: path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^\w[\w.-]{0,127}$/;
// host[:port], host = DNS-ish name | IPv4 | [IPv6]. As lenient as kit (Go's URL host parsing takes
// uppercase and '_', as in compose service names) but never empty labels, so always path-safe.
const HOST_LABEL = '[a-zA-Z0-9_-]+';
const REGISTRY_RE = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[a-fA-F0-9:.]+\\])(?::[0-9]+)?$`);
const MAX_REPOSITORY_LENGTH = 255;

function invalid(input: string, problem: string): KitError {
  return new KitError('REFERENCE_INVALID', `invalid reference ${JSON.stringify(input)}: ${problem}; ${EXPECTED}`);
}

function looksLikeRegistry(segment: string): boolean {
  return segment.includes('.') || segment.includes(':') || segment === DEFAULT_REGISTRY;
}

function checkRepository(input: string, repo: string): void {
  if (repo === '') throw invalid(input, 'repository name is empty');
  if (repo.toLowerCase() !== repo) throw invalid(input, `repository (${repo}) name must be lowercase`);
  if (!/^[a-z0-9](?:.*[a-z0-9])?$/s.test(repo)) {
    throw invalid(input, `repository (${repo}) must start and end with a letter or number`);
  }
  if (repo.length > MAX_REPOSITORY_LENGTH) {
    throw invalid(input, `repository is ${repo.length} characters long; the limit is ${MAX_REPOSITORY_LENGTH}`);
  }
  if (!REPOSITORY_RE.test(repo)) {
    throw invalid(input, `repository (${repo}) may only contain a-z, 0-9 and single separators (. _ __ -) between "/"-separated components`);
  }
}

function checkTag(input: string, tag: string): void {
  if (!TAG_RE.test(tag)) {
    throw invalid(input, `tag ${JSON.stringify(tag)} must be 1-128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'`);
  }
}

/** Parses a reference as `kit` does; throws KitError REFERENCE_INVALID on anything it would reject. */
export function parseReference(input: string): Reference {
  // Guard for JavaScript callers (CLI args, parsed JSON) that bypass the type.
  if (typeof input !== 'string') {
    throw new KitError('REFERENCE_INVALID', `invalid reference: expected a string, got ${typeof input}; ${EXPECTED}`);
  }
  if (input === '') throw invalid(input, 'reference is empty');

  // A bare digest: kit checks this before anything else (so `sha256:<hex>` is not repo:tag).
  if (isDigest(input)) {
    return { registry: DEFAULT_REGISTRY, repository: DEFAULT_REPOSITORY, digest: input, extraTags: [] };
  }

  const [first, ...extraTags] = input.split(',');

  let registry = DEFAULT_REGISTRY;
  let rest = first;
  const slash = first.indexOf('/');
  if (slash !== -1 && looksLikeRegistry(first.slice(0, slash))) {
    registry = first.slice(0, slash);
    rest = first.slice(slash + 1);
  }

  let repository: string;
  let tag: string | undefined;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    // `repo:tag@digest`: kit pulls by digest and ignores (does not even check) the tag; so do we.
    repository = rest.slice(0, at);
    digest = rest.slice(at + 1);
    const colon = repository.indexOf(':');
    if (colon !== -1) repository = repository.slice(0, colon);
  } else {
    const colon = rest.indexOf(':');
    if (colon !== -1) {
      repository = rest.slice(0, colon);
      tag = rest.slice(colon + 1);
    } else {
      repository = rest;
    }
  }

  if (!REGISTRY_RE.test(registry)) {
    throw invalid(input, `registry ${JSON.stringify(registry)} is not a valid host[:port]`);
  }
  checkRepository(input, repository);
  if (digest !== undefined) {
    if (!isDigest(digest)) {
      throw invalid(input, `digest ${JSON.stringify(digest)} is not valid (sha256 needs exactly 64 lowercase hex characters)`);
    }
  } else if (tag !== undefined) {
    checkTag(input, tag);
  } else {
    tag = DEFAULT_TAG;
  }
  // kit defers extra-tag checks until it applies them; failing here gives the error before any work.
  for (const extra of extraTags) checkTag(input, extra);

  return digest !== undefined ? { registry, repository, digest, extraTags } : { registry, repository, tag, extraTags };
}

/** `registry/repository:tag` or `registry/repository@digest` (a bare digest for `localhost/_`). Extra tags are not included. */
export function formatReference(ref: Reference): string {
  if (ref.digest !== undefined) {
    if (ref.registry === DEFAULT_REGISTRY && ref.repository === DEFAULT_REPOSITORY) return ref.digest;
    return `${referenceName(ref)}@${ref.digest}`;
  }
  return `${referenceName(ref)}:${ref.tag ?? DEFAULT_TAG}`;
}

/** `registry/repository`: the repository's full name, e.g. the local-store directory key. */
export function referenceName(ref: Pick<Reference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * Whether a string "looks like" a ModelKit reference rather than a path, as kit decides for a
 * Kitfile's `model.path`: it must contain ':' or '@' and parse.
 */
export function isModelKitReference(s: string): boolean {
  if (typeof s !== 'string' || (!s.includes(':') && !s.includes('@'))) return false;
  try {
    parseReference(s);
    return true;
  } catch {
    return false;
  }
}
