import { KitError } from '../errors.js';
import type { Descriptor, Manifest } from '../oci/types.js';
import { parseManifest } from '../oci/types.js';
import { parseReference, type Reference } from '../reference/reference.js';
import { manifestEntry, type LocalStore, type RepositoryState } from '../store/local-store.js';

/** Where kit keeps ModelKits packed without a tag. */
export const UNTAGGED_REPOSITORY = 'localhost/_';

export function repositoryNameOf(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** Record a manifest in a repository and point `tags` at it (one atomic update under the store lock). */
export async function addManifestToRepository(store: LocalStore, repository: string, desc: Descriptor, tags: string[]): Promise<void> {
  const plain = manifestEntry(desc);
  await store.updateRepository(repository, (state) => {
    if (!state.manifests.some((m) => m.digest === plain.digest)) state.manifests.push(plain);
    for (const tag of tags) state.tags[tag] = plain;
  });
}

/** A resolved local ModelKit: which repository, which manifest, and the manifest itself. */
export interface LocalModelKit {
  repository: string;
  reference: Reference;
  descriptor: Descriptor;
  manifest: Manifest;
  manifestBytes: Buffer;
}

/**
 * Find a ModelKit in the local store by `repo:tag`, `repo@digest` or a bare digest (which
 * matches in any repository, as users expect from `kit list`'s digest column).
 */
export async function resolveLocal(store: LocalStore, input: string | Reference): Promise<LocalModelKit> {
  const reference = typeof input === 'string' ? parseReference(input) : input;
  const shown = typeof input === 'string' ? input : `${repositoryNameOf(reference)}:${reference.tag ?? reference.digest}`;
  const candidates = reference.digest && repositoryNameOf(reference) === UNTAGGED_REPOSITORY ? await store.listRepositories() : [repositoryNameOf(reference)];
  for (const name of candidates) {
    const state = await store.readRepository(name);
    const descriptor = reference.digest
      ? state.manifests.find((m) => m.digest === reference.digest)
      : state.tags[reference.tag ?? 'latest'];
    if (!descriptor) continue;
    const manifestBytes = await store.readBlob(descriptor, 'manifest');
    const manifest = parseManifest(manifestBytes, `manifest ${descriptor.digest} of ${shown}`);
    return { repository: name, reference, descriptor, manifest, manifestBytes };
  }
  throw new KitError('NOT_FOUND', `ModelKit ${shown} not found in the local store: run \`kit list\` to see what is there, or pack or pull it first`);
}

/** All ModelKits in the store: one row per manifest per repository, with its tags. */
export async function listLocal(store: LocalStore): Promise<Array<{ state: RepositoryState; descriptor: Descriptor; tags: string[] }>> {
  const rows: Array<{ state: RepositoryState; descriptor: Descriptor; tags: string[] }> = [];
  for (const name of await store.listRepositories()) {
    const state = await store.readRepository(name);
    for (const descriptor of state.manifests) {
      const tags = Object.entries(state.tags)
        .filter(([, d]) => d.digest === descriptor.digest)
        .map(([t]) => t)
        .sort();
      rows.push({ state, descriptor, tags });
    }
  }
  return rows;
}

/** `kit tag SRC DEST`: same repository adds a tag; another repository gets the manifest too (blobs are shared). */
export async function tagLocal(store: LocalStore, source: string, target: string): Promise<Reference> {
  const kit = await resolveLocal(store, source);
  const dest = parseReference(target);
  if (dest.digest && !dest.tag) throw new KitError('INVALID_ARGUMENT', `cannot tag with a digest (${target}): give repository:tag`);
  const tags = [dest.tag ?? 'latest', ...dest.extraTags];
  await addManifestToRepository(store, repositoryNameOf(dest), kit.descriptor, tags);
  return dest;
}

export interface RemoveOptions {
  /** Remove the manifest (and every tag on it) rather than only the given tag. */
  force?: boolean;
}

export interface RemoveResult {
  removed: Array<{ repository: string; digest: string; tags: string[]; manifestRemoved: boolean }>;
  freedBytes: number;
  removedBlobs: number;
}

/**
 * `kit remove REF`: untag if other tags remain, else drop the manifest from the repository; by
 * digest or with force, drop the manifest and all its tags. Then collect unreferenced blobs.
 */
export async function removeLocal(store: LocalStore, input: string, options: RemoveOptions = {}): Promise<RemoveResult> {
  const kit = await resolveLocal(store, input);
  const byDigest = !!kit.reference.digest;
  const entry = await store.updateRepository(kit.repository, (state) => {
    const tags = Object.keys(state.tags).filter((t) => state.tags[t]!.digest === kit.descriptor.digest).sort();
    const untagOnly = !byDigest && !options.force && tags.length > 1;
    const removedTags = untagOnly ? [kit.reference.tag ?? 'latest'] : tags;
    for (const tag of removedTags) delete state.tags[tag];
    if (!untagOnly) state.manifests = state.manifests.filter((m) => m.digest !== kit.descriptor.digest);
    return { repository: kit.repository, digest: kit.descriptor.digest, tags: removedTags, manifestRemoved: !untagOnly };
  });
  const gc = await store.gc();
  return { removed: [entry], freedBytes: gc.freedBytes, removedBlobs: gc.removedBlobs };
}

/** `kit remove --all`: untagged ModelKits everywhere, or with force every ModelKit. */
export async function removeAllLocal(store: LocalStore, options: RemoveOptions = {}): Promise<RemoveResult> {
  const removed: RemoveResult['removed'] = [];
  for (const name of await store.listRepositories()) {
    const entries = await store.updateRepository(name, (state) => {
      const tagged = new Set(Object.values(state.tags).map((d) => d.digest));
      const out: RemoveResult['removed'] = [];
      for (const m of state.manifests) {
        if (!options.force && tagged.has(m.digest)) continue;
        const tags = Object.keys(state.tags).filter((t) => state.tags[t]!.digest === m.digest).sort();
        for (const t of tags) delete state.tags[t];
        out.push({ repository: name, digest: m.digest, tags, manifestRemoved: true });
      }
      const gone = new Set(out.map((e) => e.digest));
      state.manifests = state.manifests.filter((m) => !gone.has(m.digest));
      return out;
    });
    removed.push(...entries);
  }
  const gc = await store.gc();
  return { removed, freedBytes: gc.freedBytes, removedBlobs: gc.removedBlobs };
}
