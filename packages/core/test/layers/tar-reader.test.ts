import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import { encodeTarHeader, padding, TAR_TRAILER } from '../../src/layers/tar-header.js';
import { extractTar } from '../../src/layers/tar-extract.js';
import { TarReader, type TarEntryHeader } from '../../src/layers/tar-reader.js';

async function readAll(bytes: Buffer, chunkSize: number): Promise<Array<TarEntryHeader & { data: string }>> {
  const out: Array<TarEntryHeader & { data: string }> = [];
  let data: Buffer[] = [];
  const reader = new TarReader(
    {
      entry: (h) => {
        out.push({ ...h, data: '' });
        data = [];
      },
      data: (c) => void data.push(Buffer.from(c)),
      entryEnd: () => {
        out[out.length - 1]!.data = Buffer.concat(data).toString('utf8');
      },
    },
    'test layer',
  );
  for (let i = 0; i < bytes.length; i += chunkSize) await reader.push(bytes.subarray(i, i + chunkSize));
  reader.end();
  return out;
}

function archive(entries: Array<{ name: string; body?: string; type?: 'file' | 'dir' }>): Buffer {
  return Buffer.concat([
    ...entries.flatMap((e) => {
      const body = Buffer.from(e.body ?? '');
      const type = e.type ?? 'file';
      return [encodeTarHeader({ name: e.name, type, mode: 0o644, size: body.length }), body, Buffer.alloc(padding(body.length))];
    }),
    TAR_TRAILER,
  ]);
}

describe('tar reader', () => {
  it('reads our archives whatever the chunking, long and non-ASCII names included', async () => {
    const entries = [
      { name: 'd', type: 'dir' as const },
      { name: 'd/a.txt', body: 'hello' },
      { name: `${'x'.repeat(120)}/${'y'.repeat(90)}`, body: 'split name' },
      { name: 'z'.repeat(200), body: 'pax name' },
      { name: 'données/é.bin', body: 'x'.repeat(1500) },
    ];
    const bytes = archive(entries);
    for (const chunk of [1, 7, 512, 513, 4096, bytes.length]) {
      const read = await readAll(bytes, chunk);
      expect(read.map((e) => [e.name, e.data])).toEqual(entries.map((e) => [e.name, e.body ?? '']));
    }
  });

  it('interoperates with tar-stream in both directions', async () => {
    // Ours → tar-stream
    const extract = tar.extract();
    const names: string[] = [];
    const done = (async () => {
      for await (const entry of extract) {
        names.push(entry.header.name);
        entry.resume();
      }
    })();
    extract.end(archive([{ name: 'a/b.txt', body: 'b' }, { name: 'q'.repeat(180), body: 'long' }]));
    await done;
    expect(names).toEqual(['a/b.txt', 'q'.repeat(180)]);
    // tar-stream (with a GNU/PAX long name) → ours
    const pack = tar.pack();
    pack.entry({ name: 'm/w.bin', mode: 0o600 }, 'weights');
    pack.entry({ name: `${'n'.repeat(150)}.bin` }, 'long');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const read = await readAll(Buffer.concat(chunks), 100);
    expect(read.map((e) => [e.name, e.data, e.mode])).toEqual([
      ['m/w.bin', 'weights', 0o600],
      [`${'n'.repeat(150)}.bin`, 'long', 0o644],
    ]);
  });

  it('refuses truncated archives and bad checksums with typed errors', async () => {
    const bytes = archive([{ name: 'f', body: 'x'.repeat(700) }]);
    await expect(readAll(bytes.subarray(0, 900), 512)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
    const bad = Buffer.from(bytes);
    bad[10] = 0x41;
    await expect(readAll(bad, 512)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
  });

  it('property: arbitrary or mutated bytes only ever produce KitError', async () => {
    const valid = archive([{ name: 'd', type: 'dir' }, { name: 'd/f', body: 'content'.repeat(100) }]);
    const dir = await mkdtemp(join(tmpdir(), 'tar-fuzz-'));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
          fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((muts) => {
            const b = Buffer.from(valid);
            for (const [i, v] of muts) b[i] = v;
            return b;
          }),
          fc.nat(valid.length).map((len) => valid.subarray(0, len)),
        ),
        fc.integer({ min: 1, max: 2048 }),
        async (bytes, chunk) => {
          const target = join(dir, String(n++));
          const chunks = (function* () {
            for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
          })();
          try {
            await extractTar(chunks, target, 'fuzz');
          } catch (e) {
            if (!(e instanceof KitError)) throw e;
          }
        },
      ),
      { numRuns: 300 },
    );
    // Nothing escaped the fuzz directory.
    expect((await readFile(join(dir, '..', 'd', 'f')).catch(() => null))).toBeNull();
  });
});

describe('extractTar', () => {
  it('reports an entry that clashes with an earlier one as a malformed archive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tar-clash-'));
    const bytes = archive([{ name: 'a', body: 'file' }, { name: 'a/b', body: 'under a file' }]);
    await expect(extractTar([bytes], dir, 'clash')).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
  });
});
