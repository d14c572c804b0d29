import { KitError } from '../errors.js';
import type { Kitfile } from '../kitfile/types.js';
import type { Descriptor, Manifest } from '../oci/types.js';
import type { LocalStore } from '../store/local-store.js';
import { describeModelKit, type ModelKitContents } from './contents.js';
import { diffManifests, type ManifestDiff } from './diff.js';
import { ANNOTATION_CLI_VERSION } from './mediatypes.js';
import { listLocal, resolveLocal, type LocalModelKit } from './repository.js';

/** A local ModelKit with its config read and interpreted; `where` names it in messages (default: the reference). */
export async function openLocal(store: LocalStore, reference: string, where = reference): Promise<LocalModelKit & { contents: ModelKitContents; config: Buffer }> {
  const kit = await resolveLocal(store, reference);
  const config = await store.readBlob(kit.manifest.config, 'config');
  return { ...kit, config, contents: describeModelKit(kit.manifest, config, where) };
}

/** `kit inspect`: what upstream prints, {digest, cliVersion, kitfile, manifest}. */
export interface InspectResult {
  digest: string;
  cliVersion?: string;
  kitfile: Kitfile;
  manifest: Manifest;
}

export async function inspectLocal(store: LocalStore, reference: string): Promise<InspectResult> {
  const kit = await openLocal(store, reference);
  return {
    digest: kit.descriptor.digest,
    cliVersion: kit.manifest.annotations?.[ANNOTATION_CLI_VERSION],
    kitfile: kit.contents.kitfile,
    manifest: kit.manifest,
  };
}

/** One `kit list` row: a manifest in a repository with its tags. */
export interface ModelKitListing {
  repo: string;
  tags: string[];
  digest: string;
  modelName: string;
  author: string;
  /** Sum of layer sizes (the config excluded), as kit reports it. */
  size: number;
}

export async function listModelKits(store: LocalStore, repository?: string): Promise<ModelKitListing[]> {
  const rows: ModelKitListing[] = [];
  for (const { state, descriptor, tags } of await listLocal(store)) {
    if (repository && state.name !== repository) continue;
    const row = await listingFor(store, state.name, descriptor, tags);
    if (row) rows.push(row);
  }
  return rows;
}

async function listingFor(store: LocalStore, repo: string, descriptor: Descriptor, tags: string[]): Promise<ModelKitListing | undefined> {
  try {
    const kit = await openLocal(store, `${repo}@${descriptor.digest}`);
    const pkg = kit.contents.kitfile.package ?? {};
    return {
      repo,
      tags,
      digest: descriptor.digest,
      modelName: pkg.name ?? '',
      author: pkg.authors?.[0] ?? '',
      size: kit.manifest.layers.reduce((sum, l) => sum + l.size, 0),
    };
  } catch (e) {
    // Not a ModelKit (e.g. another artifact in a shared layout): not listed, as upstream skips it.
    if (e instanceof KitError && e.code === 'FORMAT_UNSUPPORTED') return undefined;
    throw e;
  }
}

/** `kit info -f .model.path`: a dotted path into the Kitfile (no [] indexing, as upstream). */
export function selectKitfileField(kitfile: Kitfile, path: string): unknown {
  const keys = path.replace(/^\./, '').split('.').filter(Boolean);
  let value: unknown = kitfile;
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || !(key in (value as object))) {
      throw new KitError('NOT_FOUND', `the Kitfile has no field "${path}" (no "${key}")`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export async function diffLocal(store: LocalStore, a: string, b: string): Promise<ManifestDiff> {
  const [ka, kb] = await Promise.all([resolveLocal(store, a), resolveLocal(store, b)]);
  return diffManifests(ka.manifest, kb.manifest);
}
