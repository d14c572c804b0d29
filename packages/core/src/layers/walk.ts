/**
 * The entries of one layer, in the order `kit pack` writes them: Go `filepath.Walk` over the
 * context dir (depth-first, names in byte order per directory), keeping the layer path, what lies
 * under it, and its ancestor directories, minus what `.kitignore` or a more specific layer claims.
 * Only regular files and directories are packed.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { KitError } from '../errors.js';
import { cleanRelPath, isWithin } from './clean-path.js';
import type { IgnoreMatcher } from './ignore.js';
import { claimedByOtherLayer } from './select.js';

export interface LayerEntry {
  /** Posix path relative to the context: no leading `./`, no trailing `/`. */
  name: string;
  absPath: string;
  type: 'file' | 'dir';
  /** Permission bits plus setuid/setgid/sticky, as Go `tar.FileInfoHeader` sets Header.Mode. */
  mode: number;
  /** 0 for directories. */
  size: number;
}

type Warn = (msg: string) => void;

interface WalkState {
  layer: string;
  layers: readonly string[];
  ignore: IgnoreMatcher;
  warn: Warn;
  entries: LayerEntry[];
}

// lstat calls in flight per directory: enough to hide latency on big model folders without
// opening thousands of requests at once.
const STAT_BATCH = 128;

export async function collectLayerEntries(
  contextDir: string,
  layerPath: string,
  allLayerPaths: string[],
  ignore: IgnoreMatcher,
  onWarning?: (msg: string) => void,
): Promise<LayerEntry[]> {
  const warn: Warn = onWarning ?? (() => undefined);
  const layer = cleanRelPath(layerPath);
  const root = await resolveContext(contextDir);
  await checkLayerPath(root, contextDir, layer);

  if (layer !== '.' && ignore.matches(layer)) warn(`Layer path ${layer} is ignored by .kitignore`);

  const state: WalkState = { layer, layers: allLayerPaths.map(cleanRelPath), ignore, warn, entries: [] };
  await walkDir(state, root, '.');
  if (!state.entries.some((e) => e.type === 'file')) warn(`No files detected for layer ${layer}`);
  return state.entries;
}

/** The real path of the context dir: `kit pack` changes into it, so a symlinked context is followed. */
async function resolveContext(contextDir: string): Promise<string> {
  let root: string;
  try {
    root = await realpath(resolve(contextDir));
  } catch (e) {
    if (isMissing(e)) throw new KitError('NOT_FOUND', `context directory ${contextDir} does not exist`, { cause: e });
    throw ioError(`cannot resolve context directory ${contextDir}`, e);
  }
  const st = await stat(root);
  if (!st.isDirectory()) throw new KitError('INVALID_ARGUMENT', `context ${contextDir} is not a directory`);
  return root;
}

/** The layer path must exist and, with symlinks resolved, stay inside the context (VerifySubpath). */
async function checkLayerPath(root: string, contextDir: string, layer: string): Promise<void> {
  if (layer.startsWith('/') || layer === '..' || layer.startsWith('../')) {
    throw new KitError(
      'PATH_OUTSIDE_CONTEXT',
      `layer path ${layer} is outside the context directory ${contextDir}; Kitfile paths must be relative to the context and stay inside it`,
    );
  }
  const full = join(root, layer);
  let target: Stats;
  try {
    target = await stat(full);
  } catch (e) {
    if (isMissing(e)) {
      throw new KitError(
        'NOT_FOUND',
        `path ${layer} named in the Kitfile does not exist in ${contextDir}: create it, or fix or remove that entry in the Kitfile`,
        { cause: e },
      );
    }
    throw ioError(`cannot read layer path ${layer}`, e);
  }
  const real = await realpath(full);
  const rel = relative(root, real);
  if (rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) {
    throw new KitError(
      'PATH_OUTSIDE_CONTEXT',
      `layer path ${layer} resolves to ${real}, outside the context directory ${contextDir}; move the files into the context or change the path in the Kitfile`,
    );
  }
  if (!target.isFile() && !target.isDirectory()) {
    throw new KitError('KITFILE_INVALID', `layer path ${layer} is neither a file nor a directory`);
  }
}

/** How a walked path relates to the layer: only ancestors and the layer's own subtree matter. */
function isAncestorOrInside(path: string, layer: string): boolean {
  return isWithin(path, layer) || layer.startsWith(path + '/');
}

interface Candidate {
  rel: string;
  abs: string;
  ignored: boolean;
}

async function walkDir(state: WalkState, absDir: string, relDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(absDir);
  } catch (e) {
    throw ioError(`cannot read directory ${relDir}`, e);
  }
  names.sort(compareGo);

  // Decide by name first (cheap), so pruned siblings are never stat'ed.
  const candidates: Candidate[] = [];
  for (const name of names) {
    const rel = relDir === '.' ? name : `${relDir}/${name}`;
    if (!isAncestorOrInside(rel, state.layer)) continue; // siblings of the layer path
    // A more specific layer's subtree is claimed whole: nothing below can come back.
    if (claimedByOtherLayer(rel, state.layer, state.layers)) continue;
    const ignored = state.ignore.matches(rel);
    // Without `!` patterns nothing below an ignored dir can be re-included: prune it.
    if (ignored && !state.ignore.hasExclusions) continue;
    candidates.push({ rel, abs: join(absDir, name), ignored });
  }

  for (let start = 0; start < candidates.length; start += STAT_BATCH) {
    const batch = candidates.slice(start, start + STAT_BATCH);
    const stats = await Promise.all(batch.map((c) => lstatOrThrow(c)));
    for (let i = 0; i < batch.length; i++) {
      await visit(state, batch[i], stats[i]);
    }
  }
}

async function visit(state: WalkState, c: Candidate, linkStat: Stats): Promise<void> {
  let st = linkStat;
  if (st.isSymbolicLink()) {
    // Followed only when the link is the layer path itself, as upstream; anything else would
    // let a Kitfile pull files from outside the context.
    if (c.rel !== state.layer) {
      if (!c.ignored) state.warn(`Skipping symlink ${c.rel}: only the layer path itself is followed when it is a symlink`);
      return;
    }
    st = await stat(c.abs);
  }
  if (st.isDirectory()) {
    // An ignored directory is walked only to find re-included files; it is not an entry itself.
    if (!c.ignored) state.entries.push({ name: c.rel, absPath: c.abs, type: 'dir', mode: st.mode & 0o7777, size: 0 });
    await walkDir(state, c.abs, c.rel);
  } else if (st.isFile()) {
    if (!c.ignored) {
      state.entries.push({ name: c.rel, absPath: c.abs, type: 'file', mode: st.mode & 0o7777, size: st.size });
    }
  } else if (!c.ignored) {
    // KitOps drops sockets, FIFOs and devices silently; say so instead.
    state.warn(`Skipping ${c.rel}: not a regular file or directory`);
  }
}

async function lstatOrThrow(c: Candidate): Promise<Stats> {
  try {
    return await lstat(c.abs);
  } catch (e) {
    throw ioError(`cannot read ${c.rel}`, e);
  }
}

/** Go `sort.Strings` order: byte order of the UTF-8 encodings (differs from JS `<` above U+FFFF). */
export function compareGo(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function ioError(what: string, e: unknown): KitError {
  return new KitError('IO', `${what}: ${(e as Error).message}`, { cause: e });
}
