import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, realpath, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import { KitError } from '../errors.js';
import { kitfileToYaml } from '../kitfile/serialize.js';
import { decompressedChunks } from '../layers/compression.js';
import { extractTar, safeEntryName, type ExtractedEntry } from '../layers/tar-extract.js';
import type { LocalStore } from '../store/local-store.js';
import { writeFileAtomic } from '../store/atomic.js';
import { writeChunksToFile } from '../store/hash-to-file.js';
import { describeModelKit, type ResolvedLayer } from './contents.js';
import { kitfileSelected, layerSelected, type UnpackFilter } from './filter.js';
import { resolveModelReferences } from './model-ref.js';
import { counted, type TransferProgress } from './pack.js';
import { resolveLocal } from './repository.js';

export type ExistingFiles = 'error' | 'overwrite' | 'skip';

export interface UnpackOptions {
  store: LocalStore;
  reference: string;
  dir: string;
  filters?: UnpackFilter[];
  /** What to do when a file already exists: refuse (default), overwrite (-o) or keep it (-i). */
  existing?: ExistingFiles;
  onLayer?: (layer: ResolvedLayer) => void;
  /** Bytes of the current layer's blob read so far, for progress bars. */
  onProgress?: (progress: TransferProgress) => void;
}

export interface UnpackResult {
  digest: string;
  layers: ResolvedLayer[];
  files: number;
  kitfileWritten: boolean;
}

/**
 * Unpack a local ModelKit into `dir`. Each selected layer is streamed out of the store through a
 * digest check into a staging directory inside `dir`; only when every layer has verified and no
 * existing file is in the way are the files renamed into place. A corrupt blob or a hostile
 * archive therefore leaves `dir` as it was.
 */
export async function unpack(options: UnpackOptions): Promise<UnpackResult> {
  const filters = options.filters ?? [];
  const existing = options.existing ?? 'error';
  const kit = await resolveLocal(options.store, options.reference);
  const configBytes = await options.store.readBlob(kit.manifest.config, 'config');
  const contents = describeModelKit(kit.manifest, configBytes, options.reference);
  // A model that refers to another ModelKit brings that kit's model and parts (and its parent's).
  const parents = await resolveModelReferences(options.store, contents.kitfile);
  const inherited = parents.flatMap((p) => p.contents.layers.filter((l) => l.kind === 'model' || l.kind === 'modelpart'));
  const selected = [...inherited, ...contents.layers].filter((l) => layerSelected(filters, l.kind, l.element));

  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const staging = join(dir, `.kit-unpack-${randomBytes(6).toString('hex')}`);
  await mkdir(staging);
  try {
    const staged: Array<{ layer: ResolvedLayer; entries: ExtractedEntry[]; root: string }> = [];
    for (const [i, layer] of selected.entries()) {
      const root = join(staging, String(i));
      await mkdir(root);
      options.onLayer?.(layer);
      const entries = await stageLayer(options.store, layer, root, `${layer.kind} layer ${layer.descriptor.digest}`, options.onProgress);
      staged.push({ layer, entries, root });
    }
    const writeKitfile = kitfileSelected(filters);
    const moves = planMoves(staged);
    await checkConflicts(dir, moves, existing, writeKitfile);
    let files = 0;
    for (const move of moves) files += (await commitEntry(dir, move, existing)) ? 1 : 0;
    if (writeKitfile && !(existing === 'skip' && (await pathExists(join(dir, 'Kitfile'))))) {
      await writeFileAtomic(join(dir, 'Kitfile'), kitfileToYaml(contents.kitfile));
    }
    return { digest: kit.descriptor.digest, layers: selected, files, kitfileWritten: writeKitfile };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Stream one verified layer into `root`: tar layers extracted, raw layers written as their one file. */
async function stageLayer(store: LocalStore, layer: ResolvedLayer, root: string, what: string, onProgress?: (p: TransferProgress) => void): Promise<ExtractedEntry[]> {
  const blob = counted(store.blobChunks(layer.descriptor, what), layer, layer.descriptor.size, onProgress);
  const plain = decompressedChunks(blob, layer.compression);
  if (layer.layerFormat === 'raw') {
    const name = safeEntryName(layer.path, what);
    if (name === '.') throw new KitError('UNSAFE_ARCHIVE', `${what}: a raw layer needs a file path, not the context directory`);
    const target = join(root, name);
    await mkdir(dirname(target), { recursive: true });
    await writeChunksToFile(plain, target);
    const parents = ancestors(name).map((p): ExtractedEntry => ({ name: p, type: 'dir', mode: 0o755 }));
    return [...parents, { name, type: 'file', mode: 0o644 }];
  }
  let entries: ExtractedEntry[];
  try {
    entries = await extractTar(plain, root, what);
  } catch (e) {
    // A garbled archive is usually a corrupt blob: say so if the digest agrees.
    if (e instanceof KitError && e.code === 'ARCHIVE_INVALID') for await (const _ of store.blobChunks(layer.descriptor, what));
    throw e;
  }
  return entries;
}

/** Where a layer's names are rooted in the target: old kits stored them relative to the layer path's parent. */
function targetPrefix(layer: ResolvedLayer): string {
  return layer.legacyPaths ? posix.dirname(layer.path) : '.';
}

interface Move {
  from: string;
  name: string;
  type: 'file' | 'dir';
  mode: number;
}

function planMoves(staged: Array<{ layer: ResolvedLayer; entries: ExtractedEntry[]; root: string }>): Move[] {
  return staged.flatMap(({ layer, entries, root }) => {
    const prefix = targetPrefix(layer);
    return entries.map((e) => ({ from: join(root, e.name), name: posix.join(prefix, e.name), type: e.type, mode: e.mode }));
  });
}

/** Refuse before touching anything if a file is in the way (unless told to overwrite or skip). */
async function checkConflicts(dir: string, moves: Move[], existing: ExistingFiles, kitfile: boolean): Promise<void> {
  if (existing !== 'error') return;
  const clashes: string[] = [];
  for (const m of moves) if (m.type === 'file' && (await pathExists(join(dir, m.name)))) clashes.push(m.name);
  if (kitfile && (await pathExists(join(dir, 'Kitfile')))) clashes.push('Kitfile');
  if (clashes.length > 0) {
    const shown = clashes.slice(0, 5).join(', ') + (clashes.length > 5 ? `, and ${clashes.length - 5} more` : '');
    throw new KitError('ALREADY_EXISTS', `${clashes.length} file(s) already exist in ${dir} (${shown}): use -o to overwrite or -i to keep existing files; nothing was written`);
  }
}

async function commitEntry(dir: string, move: Move, existing: ExistingFiles): Promise<boolean> {
  const target = join(dir, move.name);
  await assertInside(dir, dirname(target), move.name);
  if (move.type === 'dir') {
    const info = await lstat(target).catch(() => undefined);
    if (!info) {
      await mkdir(target, { recursive: true });
      await chmod(target, move.mode | 0o700);
    } else if (!info.isDirectory()) {
      throw new KitError('ALREADY_EXISTS', `${target} exists and is not a directory, but the ModelKit has a directory there`);
    }
    return false;
  }
  const info = await lstat(target).catch(() => undefined);
  if (info) {
    if (existing === 'skip') return false;
    if (info.isDirectory()) throw new KitError('ALREADY_EXISTS', `${target} is a directory, but the ModelKit has a file there`);
    // Replace the link or file itself; never write through a symlink.
    await rm(target, { force: true });
  }
  await mkdir(dirname(target), { recursive: true });
  await rename(move.from, target);
  return true;
}

/** The real location of `parent` must be inside the real `dir`: a symlinked folder cannot redirect writes. */
async function assertInside(dir: string, parent: string, name: string): Promise<void> {
  let probe = parent;
  while (!(await pathExists(probe))) probe = dirname(probe);
  const [realDir, realParent] = await Promise.all([realpath(dir), realpath(probe)]);
  const rel = relative(realDir, realParent);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new KitError('UNSAFE_ARCHIVE', `unpacking "${name}" would write to ${realParent}, outside ${dir} (through a symbolic link): refused`);
  }
}

function ancestors(name: string): string[] {
  const parts = name.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

async function pathExists(path: string): Promise<boolean> {
  return !!(await lstat(path).catch(() => undefined));
}
