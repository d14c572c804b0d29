import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LocalStore } from '../../src/store/local-store.js';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `${prefix}-`));
}

/** Write files whose content is their own path, as the KitOps fixtures expect. */
export async function writeTree(root: string, files: string[], content: (f: string) => string = (f) => f): Promise<void> {
  for (const f of files) {
    const path = join(root, f);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content(f));
  }
}

export async function freshStore(): Promise<{ home: string; store: LocalStore }> {
  const home = await tempDir('kit-home');
  return { home, store: await LocalStore.open(home) };
}
