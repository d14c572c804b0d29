import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KitError, processAlive } from '@modelkit/core';
import type { GpuInfo } from '../hosts/host.js';

/** What a lock file holds. */
export interface GpuLock {
  uuid: string;
  runId: string;
  pid: number;
  host: string;
  /** ISO time of reservation. */
  at: string;
}

type GpuRef = Pick<GpuInfo, 'uuid' | 'index'>;

const SUFFIX = '.lock';
/** A lock still empty or unreadable after this long belongs to a reserver that died mid-write. */
const UNWRITTEN_STALE_MS = 10 * 60_000;
/** The break guard is held for a few syscalls; one older than this was left by a crash. */
const GUARD_STALE_MS = 10_000;
const GUARD_RETRIES = 50;

/** MIG UUIDs ("MIG-GPU-…/1/0") contain slashes; encoding keeps one flat, reversible file name. */
function lockPath(dir: string, uuid: string): string {
  return join(dir, encodeURIComponent(uuid) + SUFFIX);
}

function fileUuid(name: string): string {
  const encoded = name.slice(0, -SUFFIX.length);
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded; // not written by us; report it as it is
  }
}

type Holder = { lock?: GpuLock; stale: boolean };

async function readHolder(path: string): Promise<Holder | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let lock: GpuLock | undefined;
  try {
    const parsed = JSON.parse(text) as GpuLock;
    if (typeof parsed.pid === 'number' && typeof parsed.runId === 'string') lock = parsed;
  } catch {
    // Empty or partial: the reserver is between create and write (or died there).
  }
  if (!lock) return { stale: Date.now() - mtimeMs > UNWRITTEN_STALE_MS };
  // A lock from another host (shared KITOPS_HOME) cannot be checked, so it stands.
  return { lock, stale: lock.host === hostname() && !processAlive(lock.pid) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Remove a stale lock. Only holders of the `.break` guard remove someone else's lock, and they
 * re-check staleness under it: without the guard, two reservers that both saw the same dead lock
 * could each delete it, the second deleting the first one's fresh lock.
 */
async function breakStale(path: string): Promise<void> {
  const guard = `${path}.break`;
  for (let attempt = 0; ; attempt++) {
    try {
      await (await open(guard, 'wx')).close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > GUARD_STALE_MS) await rm(guard, { force: true });
      else if (attempt >= GUARD_RETRIES) return; // someone else is breaking it; the caller retries
      else await sleep(5 + Math.random() * 10);
    }
  }
  try {
    if ((await readHolder(path))?.stale) await rm(path, { force: true });
  } finally {
    await rm(guard, { force: true });
  }
}

function busyError(gpu: GpuRef, holder: Holder | undefined): KitError {
  const which = gpu.index >= 0 ? `GPU ${gpu.uuid} (index ${gpu.index})` : `GPU ${gpu.uuid}`;
  const lock = holder?.lock;
  if (!lock) return new KitError('INVALID_ARGUMENT', `${which} is being reserved by another run`);
  const where = lock.host === hostname() ? '' : ` on ${lock.host}`;
  return new KitError('INVALID_ARGUMENT', `${which} is reserved by run ${lock.runId} (pid ${lock.pid}${where})`);
}

/** Take one lock with O_EXCL; false when a live run holds it. */
async function tryLock(path: string, lock: GpuLock): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(lock));
      } finally {
        await handle.close();
      }
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = await readHolder(path);
      if (holder && !holder.stale) return false;
      if (holder) await breakStale(path);
    }
  }
  return false;
}

/** Remove our own lock only: never one that replaced it. */
async function unlock(path: string, lock: GpuLock): Promise<void> {
  const holder = await readHolder(path);
  if (holder?.lock && holder.lock.runId === lock.runId && holder.lock.pid === lock.pid && holder.lock.host === lock.host) {
    await rm(path, { force: true });
  }
}

/**
 * Reserve GPUs for a run with one `<uuid>.lock` file each in `dir`, all or nothing. Locks of dead
 * local processes are broken. Returns a function that releases them.
 */
export async function reserveLocalGpus(dir: string, gpus: GpuRef[], runId: string): Promise<() => Promise<void>> {
  if (!runId) throw new KitError('INVALID_ARGUMENT', 'reserving GPUs needs a run id');
  await mkdir(dir, { recursive: true });
  const taken: Array<{ path: string; lock: GpuLock }> = [];
  const releaseTaken = async (): Promise<void> => {
    await Promise.all(taken.splice(0).map((t) => unlock(t.path, t.lock)));
  };
  try {
    for (const gpu of gpus) {
      const path = lockPath(dir, gpu.uuid);
      if (taken.some((t) => t.path === path)) continue;
      const lock: GpuLock = { uuid: gpu.uuid, runId, pid: process.pid, host: hostname(), at: new Date().toISOString() };
      if (!(await tryLock(path, lock))) throw busyError(gpu, await readHolder(path));
      taken.push({ path, lock });
    }
  } catch (e) {
    await releaseTaken();
    throw e;
  }
  return releaseTaken;
}

/** UUIDs with a live lock in `dir`, so that selection can skip them. */
export async function reservedGpus(dir: string): Promise<Set<string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw e;
  }
  const live = new Set<string>();
  await Promise.all(
    names
      .filter((n) => n.endsWith(SUFFIX))
      .map(async (n) => {
        const holder = await readHolder(join(dir, n));
        if (holder && !holder.stale) live.add(holder.lock?.uuid ?? fileUuid(n));
      }),
  );
  return live;
}
