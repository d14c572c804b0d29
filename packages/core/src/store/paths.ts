import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where kit keeps its data, resolved as upstream does: KITOPS_HOME, else $XDG_DATA_HOME/kitops,
 * else ~/.local/share/kitops, so this tool and the Go `kit` share one store.
 */
export function kitopsHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KITOPS_HOME) return env.KITOPS_HOME;
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'kitops');
}

export function storageDir(home: string): string {
  return join(home, 'storage');
}

/** Upstream names per-repository files by URL-safe base64 (with padding) of "registry/repository". */
export function repositoryFileStem(repositoryName: string): string {
  return Buffer.from(repositoryName, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export function repositoryNameFromStem(stem: string): string {
  return Buffer.from(stem.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
}

export const INDEX_SUFFIX = '-index.json';
export const TAGS_SUFFIX = '-tags.json';
