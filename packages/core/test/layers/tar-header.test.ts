import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeTarHeader } from '../../src/layers/tar-header.js';
import { createTarStream, type TarSourceEntry } from '../../src/layers/tar-writer.js';

// Golden archives written by Go's archive/tar with KitOps' header normalisation (see generate.go).
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/go-tar');
interface Case {
  name: string;
  headerOnly?: boolean;
  entries: Array<{ name: string; type: 'file' | 'dir'; mode: number; size: number; content?: string }>;
}
const cases: Case[] = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8'));

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('tar output is byte-identical to Go archive/tar as KitOps uses it', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const golden = readFileSync(join(FIXTURES, `${c.name}.tar`));
      if (c.headerOnly) {
        const headers = Buffer.concat(c.entries.map((e) => encodeTarHeader(e)));
        expect(headers.equals(golden)).toBe(true);
        return;
      }
      const dir = await mkdtemp(join(tmpdir(), 'tar-golden-'));
      const entries: TarSourceEntry[] = [];
      for (const e of c.entries) {
        const absPath = join(dir, e.name);
        if (e.type === 'dir') await mkdir(absPath, { recursive: true });
        else {
          await mkdir(dirname(absPath), { recursive: true });
          await writeFile(absPath, e.content ?? '');
        }
        entries.push({ name: e.name, absPath, type: e.type, mode: e.mode, size: Buffer.byteLength(e.content ?? '') });
      }
      const ours = await collect(createTarStream(entries));
      expect(ours.length).toBe(golden.length);
      expect(ours.equals(golden)).toBe(true);
    });
  }
});

describe('tar writer safety', () => {
  it('refuses a file that changed size while being packed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tar-shrink-'));
    await writeFile(join(dir, 'f'), 'short');
    const stream = createTarStream([{ name: 'f', absPath: join(dir, 'f'), type: 'file', mode: 0o644, size: 100 }]);
    await expect(collect(stream)).rejects.toMatchObject({ code: 'IO' });
  });
});
