import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@modelkit/core';

/**
 * Where unfinished chunked uploads stand, kept across processes so that a `kit push` killed
 * mid-blob goes on from the registry's upload session instead of starting over.
 */
export interface UploadJournal {
  recall(key: string): Promise<string | undefined>;
  remember(key: string, location: string): Promise<void>;
  forget(key: string): Promise<void>;
}

/** The journal key of one blob's upload into one repository. */
export function uploadKey(registry: string, repository: string, digest: string): string {
  return `${registry}/${repository}@${digest}`;
}

/** distribution purges upload sessions after a week by default; older entries are not worth a request. */
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** One small JSON file per upload under `dir` (0600: an upload URL can carry signed session state). */
export class FileUploadJournal implements UploadJournal {
  constructor(readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  async recall(key: string): Promise<string | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.path(key), 'utf8')) as { key?: string; location?: string; at?: number };
      if (entry.key !== key || typeof entry.location !== 'string' || Date.now() - (entry.at ?? 0) > MAX_AGE_MS) return undefined;
      return entry.location;
    } catch {
      return undefined; // missing or torn: start a new upload
    }
  }

  async remember(key: string, location: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path(key), JSON.stringify({ key, location, at: Date.now() }), 0o600);
  }

  async forget(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
