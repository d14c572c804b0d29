import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { KitError } from '../errors.js';

const RETRY_MS = 15;
const DEFAULT_TIMEOUT_MS = 60_000;
/** A lock file older than this whose owner cannot be checked is treated as abandoned. */
const FOREIGN_STALE_MS = 10 * 60_000;

/**
 * Run `fn` holding an exclusive lock file. O_EXCL creation is atomic on local filesystems; a lock
 * left behind by a process that died (same host, pid gone) is broken, so a crash never wedges the store.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const owner = `${process.pid}@${hostname()}`;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(owner);
      await handle.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await isStale(lockPath)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new KitError('LOCK_TIMEOUT', `timed out waiting for the store lock ${lockPath}; if no other kit is running, delete that file`);
      }
      await new Promise((r) => setTimeout(r, RETRY_MS + Math.random() * RETRY_MS));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function isStale(lockPath: string): Promise<boolean> {
  try {
    const [content, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    const [pid, host] = content.split('@');
    if (host === hostname() && pid) return !processAlive(Number(pid));
    // Empty content: the owner is between create and write; only very old files are abandoned.
    return Date.now() - info.mtimeMs > FOREIGN_STALE_MS;
  } catch {
    return false; // vanished meanwhile: just retry
  }
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
