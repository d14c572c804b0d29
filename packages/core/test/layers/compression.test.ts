import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressedChunks } from '../../src/layers/compression.js';
import { KitError } from '../../src/errors.js';

describe('decompressedChunks', () => {
  it('decompresses a stored layer stream', async () => {
    const chunks: Buffer[] = [];
    for await (const c of decompressedChunks((async function* () { yield gzipSync('hello layer'); })(), 'gzip')) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('hello layer');
  });

  it('passes on an error the stored stream raises at its end (a digest mismatch) instead of stalling', async () => {
    async function* stored() {
      yield gzipSync('hello layer');
      throw new KitError('DIGEST_MISMATCH', 'blob has digest sha256:bad');
    }
    const read = async () => {
      for await (const _ of decompressedChunks(stored(), 'gzip'));
    };
    await expect(read()).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
