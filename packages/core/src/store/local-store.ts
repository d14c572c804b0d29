import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KitError } from '../errors.js';
import { fileChunks } from '../layers/tar-writer.js';
import { hashToFile, readAhead, writeChunksToFile } from './hash-to-file.js';
import type { Descriptor, ImageIndex, Manifest } from '../oci/types.js';
import { writeFileAtomic } from './atomic.js';
import { processAlive, withLock } from './lock.js';
import { INDEX_SUFFIX, kitopsHome, repositoryFileStem, repositoryNameFromStem, storageDir, TAGS_SUFFIX } from './paths.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const REF_NAME = 'org.opencontainers.image.ref.name';
/** Referrers by subject digest: the store's answer to the registry referrers API. */
const REFERRERS_FILE = 'referrers.json';
/** Manifests and configs are small; anything bigger read into memory is a corrupt or hostile store. */
const MAX_JSON_BLOB = 16 << 20;

/** What one repository holds: manifests by digest and tags pointing at them. */
export interface RepositoryState {
  name: string;
  manifests: Descriptor[];
  tags: Record<string, Descriptor>;
}

export interface GcResult {
  removedBlobs: number;
  freedBytes: number;
}

/**
 * The local store: one OCI image layout (blobs shared by every repository) plus per-repository
 * index and tag files, laid out exactly as upstream `kit` keeps them so both tools read one store.
 * Blob writes land in ingest/ and are renamed into place only once their digest is known; index
 * files change only under the store lock and by atomic rename.
 */
export class LocalStore {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /** Open (creating if needed) the store under a KITOPS_HOME-style directory. */
  static async open(home: string = kitopsHome()): Promise<LocalStore> {
    const store = new LocalStore(storageDir(home));
    await mkdir(join(store.root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(store.ingestDir, { recursive: true });
    await mkdir(store.leaseDir, { recursive: true });
    const layout = join(store.root, 'oci-layout');
    if (!(await exists(layout))) await writeFileAtomic(layout, '{"imageLayoutVersion":"1.0.0"}');
    if (!(await exists(join(store.root, 'index.json')))) {
      await writeFileAtomic(join(store.root, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    }
    return store;
  }

  get ingestDir(): string {
    return join(this.root, 'ingest');
  }

  private get leaseDir(): string {
    return join(this.root, 'leases');
  }

  private get lockPath(): string {
    return join(this.root, '.lock');
  }

  /** Serialise every change to index, tag and lease files, and GC, across processes. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.lockPath, fn);
  }

  blobPath(digest: string): string {
    const [algorithm, hex] = digest.split(':');
    if (algorithm !== 'sha256' || !hex || !/^[a-f0-9]{64}$/.test(hex)) {
      throw new KitError('INVALID_ARGUMENT', `unsupported digest "${digest}": expected sha256:<64 hex characters>`);
    }
    return join(this.root, 'blobs', 'sha256', hex);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /**
   * A blob's bytes as chunks read straight from disk (one read ahead), hashed on the way; after the
   * last chunk the iteration fails with DIGEST_MISMATCH unless size and digest match the descriptor.
   */
  async *blobChunks(desc: Pick<Descriptor, 'digest' | 'size'>, what = 'blob'): AsyncGenerator<Buffer> {
    const path = this.blobPath(desc.digest);
    if (!(await exists(path))) throw new KitError('NOT_FOUND', `${what} ${desc.digest} is missing from the local store ${this.root}: pull or pack the ModelKit again`);
    const corrupt = (detail: string) =>
      new KitError('DIGEST_MISMATCH', `${what} ${desc.digest} ${detail}: the stored copy is corrupt; remove it and pack or pull again`);
    const { size } = await stat(path);
    if (size !== desc.size) throw corrupt(`has ${size} bytes, its descriptor says ${desc.size}`);
    const hash = createHash('sha256');
    for await (const chunk of readAhead(fileChunks(path, size))) {
      hash.update(chunk);
      yield chunk;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (digest !== desc.digest) throw corrupt(`has digest ${digest}`);
  }

  async readBlob(desc: Pick<Descriptor, 'digest' | 'size'>, what = 'blob'): Promise<Buffer> {
    if (desc.size > MAX_JSON_BLOB) throw new KitError('STORE_CORRUPT', `${what} ${desc.digest} is ${desc.size} bytes, too large to be metadata`);
    const chunks: Buffer[] = [];
    for await (const chunk of this.blobChunks(desc, what)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /**
   * Stream `source` into the store. The bytes go to a temp file in ingest/ while being hashed; the
   * blob appears under blobs/ only after the digest (and any expected digest/size) checks out. The
   * lease keeps the blob safe from a concurrent GC until the caller has referenced it.
   */
  async ingest(source: AsyncIterable<Buffer> | Iterable<Buffer>, lease: Lease, expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }> {
    const temp = join(this.ingestDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      const { digest, size } = await hashToFile(source, temp);
      if (expected?.digest && expected.digest !== digest) {
        throw new KitError('DIGEST_MISMATCH', `content for ${expected.digest} has digest ${digest}: refused, nothing was stored`);
      }
      if (expected?.size !== undefined && expected.size !== size) {
        throw new KitError('DIGEST_MISMATCH', `content for ${digest} has ${size} bytes, expected ${expected.size}: refused, nothing was stored`);
      }
      await this.commitBlob(temp, digest, lease);
      return { digest, size };
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Keep an existing blob safe from GC until the lease is released. */
  async pin(digest: string, lease: Lease): Promise<void> {
    await this.locked(() => lease.addUnlocked(digest));
  }

  /** A blob's bytes from `offset`, unverified (for uploads: the registry checks the digest). */
  blobFrom(desc: Pick<Descriptor, 'digest' | 'size'>, offset = 0): AsyncGenerator<Buffer> {
    return fileChunks(this.blobPath(desc.digest), desc.size, offset);
  }

  /**
   * Download a blob whose digest and size are known, resumably: bytes go to ingest/<hex>, which
   * survives an interrupted transfer; the next attempt (in this process or a later one) re-hashes
   * what is there and asks `fetch` only for the rest. The blob is committed only if it verifies.
   */
  async ingestResumable(desc: Pick<Descriptor, 'digest' | 'size'>, fetch: (offset: number) => AsyncIterable<Buffer>, lease: Lease, attempts = 5): Promise<void> {
    if (await this.hasBlob(desc.digest)) return this.pin(desc.digest, lease);
    const partial = join(this.ingestDir, this.blobPath(desc.digest).split('/').pop()!);
    for (let attempt = 1; ; attempt++) {
      const hash = createHash('sha256');
      let offset = 0;
      const existing = await stat(partial).catch(() => undefined);
      if (existing && existing.size <= desc.size) {
        for await (const chunk of fileChunks(partial, existing.size)) hash.update(chunk);
        offset = existing.size;
      } else if (existing) {
        await rm(partial, { force: true });
      }
      try {
        await writeChunksToFile(
          fetch(offset),
          partial,
          (chunk) => {
            if (offset + chunk.length > desc.size) throw new KitError('DIGEST_MISMATCH', `blob ${desc.digest} is longer than the ${desc.size} bytes its descriptor gives: refused`);
            hash.update(chunk);
            offset += chunk.length;
          },
          'a',
        );
      } catch (e) {
        if (e instanceof KitError && e.code === 'DIGEST_MISMATCH') {
          await rm(partial, { force: true });
          throw e;
        }
        if (attempt >= attempts) throw e;
        continue; // resume from what reached the disk
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (offset < desc.size && attempt < attempts) continue; // the source ended early: resume
      if (offset !== desc.size || digest !== desc.digest) {
        await rm(partial, { force: true });
        throw new KitError('DIGEST_MISMATCH', `blob ${desc.digest} arrived as ${offset} bytes with digest ${digest}: refused, nothing was stored`);
      }
      await this.commitBlob(partial, digest, lease);
      return;
    }
  }

  async putBytes(bytes: Buffer, lease: Lease): Promise<{ digest: string; size: number }> {
    return this.ingest([bytes], lease);
  }

  private async commitBlob(temp: string, digest: string, lease: Lease): Promise<void> {
    await this.locked(async () => {
      await lease.addUnlocked(digest);
      const target = this.blobPath(digest);
      if (!(await exists(target))) await rename(temp, target);
    });
  }

  /** A lease pins blobs against GC while an operation has written but not yet referenced them. */
  async lease(): Promise<Lease> {
    return new Lease(join(this.leaseDir, `${process.pid}-${randomBytes(6).toString('hex')}.json`));
  }

  // ---- repositories ----

  async listRepositories(): Promise<string[]> {
    const names = (await readdir(this.root)).filter((f) => f.endsWith(INDEX_SUFFIX) && f !== 'index.json');
    return names.map((f) => repositoryNameFromStem(f.slice(0, -INDEX_SUFFIX.length))).sort();
  }

  async readRepository(name: string): Promise<RepositoryState> {
    const stem = repositoryFileStem(name);
    const index = await readJson<ImageIndex>(join(this.root, stem + INDEX_SUFFIX));
    const tags = await readJson<Record<string, Descriptor>>(join(this.root, stem + TAGS_SUFFIX));
    return { name, manifests: index?.manifests ?? [], tags: tags ?? {} };
  }

  /** Apply `change` to one repository's state under the lock and write it back atomically. */
  async updateRepository<T>(name: string, change: (state: RepositoryState) => T | Promise<T>): Promise<T> {
    return this.locked(async () => {
      const state = await this.readRepository(name);
      const result = await change(state);
      await this.writeRepository(state);
      await this.writeSharedIndex();
      return result;
    });
  }

  private async writeRepository(state: RepositoryState): Promise<void> {
    const stem = repositoryFileStem(state.name);
    const indexPath = join(this.root, stem + INDEX_SUFFIX);
    const tagsPath = join(this.root, stem + TAGS_SUFFIX);
    const seen = new Set<string>();
    state.manifests = state.manifests.filter((m) => !seen.has(m.digest) && seen.add(m.digest));
    // Upstream deletes a repository's files once they are empty.
    if (Object.keys(state.tags).length === 0) await rm(tagsPath, { force: true });
    else await writeFileAtomic(tagsPath, JSON.stringify(sortKeys(state.tags)));
    if (state.manifests.length === 0) await rm(indexPath, { force: true });
    else await writeFileAtomic(indexPath, JSON.stringify({ schemaVersion: 2, manifests: state.manifests.map(manifestEntry) }));
  }

  /**
   * The layout's own index.json lists every manifest, tagged ones with a ref.name of
   * "registry/repository:tag", so generic OCI-layout tools (skopeo, oras) can read the store.
   */
  private async writeSharedIndex(): Promise<void> {
    const manifests: Descriptor[] = [];
    for (const name of await this.listRepositories()) {
      const state = await this.readRepository(name);
      const tagged = new Set<string>();
      for (const [tag, desc] of Object.entries(state.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        tagged.add(desc.digest);
        manifests.push({ ...manifestEntry(desc), annotations: { [REF_NAME]: `${name}:${tag}` } });
      }
      for (const m of state.manifests) if (!tagged.has(m.digest)) manifests.push(manifestEntry(m));
    }
    // Listed too, so OCI-layout tools that build referrers from index.json (oras) find them.
    for (const list of Object.values(await this.readReferrers())) for (const r of list) manifests.push(manifestEntry(r));
    await writeFileAtomic(join(this.root, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  }

  // ---- referrers ----

  private async readReferrers(): Promise<Record<string, Descriptor[]>> {
    return (await readJson<Record<string, Descriptor[]>>(join(this.root, REFERRERS_FILE))) ?? {};
  }

  private async writeReferrers(all: Record<string, Descriptor[]>): Promise<void> {
    const kept = Object.entries(all).filter(([, list]) => list.length > 0);
    if (kept.length === 0) await rm(join(this.root, REFERRERS_FILE), { force: true });
    else await writeFileAtomic(join(this.root, REFERRERS_FILE), JSON.stringify(sortKeys(Object.fromEntries(kept))));
  }

  /**
   * Record a stored manifest as a referrer of `subject` (an SBOM, a signature, an attestation).
   * Its blobs must already be in the store; it lives as long as its subject does.
   */
  async addReferrer(subject: string, referrer: Descriptor): Promise<void> {
    await this.locked(async () => {
      const all = await this.readReferrers();
      const list = all[subject] ?? [];
      if (list.some((r) => r.digest === referrer.digest)) return;
      const entry = manifestEntry(referrer);
      if (referrer.annotations && Object.keys(referrer.annotations).length > 0) entry.annotations = referrer.annotations;
      all[subject] = [...list, entry];
      await this.writeReferrers(all);
      await this.writeSharedIndex();
    });
  }

  /** Manifests stored as referrers of `subject`, optionally only those of one artifact type. */
  async referrers(subject: string, artifactType?: string): Promise<Descriptor[]> {
    const list = (await this.readReferrers())[subject] ?? [];
    return artifactType ? list.filter((r) => r.artifactType === artifactType) : list;
  }

  /** Every blob digest some manifest in some repository needs, plus those pinned by live leases. */
  private async liveDigests(): Promise<Set<string>> {
    const live = new Set<string>();
    const referrers = await this.readReferrers();
    const visit = async (desc: Descriptor): Promise<void> => {
      if (live.has(desc.digest)) return;
      live.add(desc.digest);
      for (const r of referrers[desc.digest] ?? []) await visit(r);
      if (desc.mediaType !== OCI_MANIFEST && desc.mediaType !== OCI_INDEX) return;
      let parsed: Manifest & ImageIndex;
      try {
        parsed = JSON.parse((await readFile(this.blobPath(desc.digest))).toString('utf8'));
      } catch {
        return; // a missing manifest keeps nothing alive
      }
      if (parsed.config) live.add(parsed.config.digest);
      for (const layer of parsed.layers ?? []) live.add(layer.digest);
      for (const child of parsed.manifests ?? []) await visit(child);
      if (parsed.subject) live.add(parsed.subject.digest);
    };
    for (const name of await this.listRepositories()) {
      const state = await this.readRepository(name);
      for (const m of state.manifests) await visit({ ...m, mediaType: m.mediaType ?? OCI_MANIFEST });
      for (const t of Object.values(state.tags)) await visit({ ...t, mediaType: t.mediaType ?? OCI_MANIFEST });
    }
    for (const digest of await this.leasedDigests()) live.add(digest);
    return live;
  }

  private async leasedDigests(): Promise<string[]> {
    const digests: string[] = [];
    for (const file of await readdir(this.leaseDir)) {
      const path = join(this.leaseDir, file);
      const pid = Number(file.split('-')[0]);
      if (!processAlive(pid)) {
        await rm(path, { force: true });
        continue;
      }
      const lease = await readJson<{ digests: string[] }>(path);
      digests.push(...(lease?.digests ?? []));
    }
    return digests;
  }

  /**
   * Delete every blob no manifest references (upstream's GC misses blobs stored under two media
   * types: kitops #634; we go by digest alone), and ingest leftovers of processes that died.
   */
  async gc(): Promise<GcResult> {
    return this.locked(async () => {
      const live = await this.liveDigests();
      const result: GcResult = { removedBlobs: 0, freedBytes: 0 };
      const referrers = await this.readReferrers();
      const pruned = Object.fromEntries(Object.entries(referrers).filter(([subject]) => live.has(subject)));
      if (Object.keys(pruned).length !== Object.keys(referrers).length) {
        await this.writeReferrers(pruned);
        await this.writeSharedIndex();
      }
      const blobDir = join(this.root, 'blobs', 'sha256');
      for (const hex of await readdir(blobDir)) {
        if (live.has(`sha256:${hex}`)) continue;
        const path = join(blobDir, hex);
        const info = await stat(path).catch(() => undefined);
        if (!info) continue;
        await unlink(path);
        result.removedBlobs++;
        result.freedBytes += info.size;
      }
      for (const file of await readdir(this.ingestDir)) {
        const path = join(this.ingestDir, file);
        // Pack temp files carry their writer's pid; resumable downloads (named by digest) are kept a day.
        const stale = file.includes('-') ? !processAlive(Number(file.split('-')[0])) : Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) > 86_400_000;
        if (stale) await rm(path, { force: true });
      }
      return result;
    });
  }
}

/** Digests an in-flight operation has stored but not yet referenced from a manifest. */
export class Lease {
  private readonly digests = new Set<string>();

  constructor(private readonly path: string) {}

  /** Record a digest; the caller holds the store lock, so GC sees it before the blob is visible. */
  async addUnlocked(digest: string): Promise<void> {
    if (this.digests.has(digest)) return;
    this.digests.add(digest);
    await writeFile(this.path, JSON.stringify({ digests: [...this.digests] }));
  }

  async release(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

/** A manifest's entry in an index or tag file: media type (a manifest unless said otherwise), digest, size, artifact type. */
export function manifestEntry(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType || OCI_MANIFEST, digest: d.digest, size: d.size };
  if (d.artifactType) out.artifactType = d.artifactType;
  return out;
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new KitError('STORE_CORRUPT', `${path} is not valid JSON: restore it or remove it to drop that repository`);
  }
}
