import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { KitError } from '../errors.js';

/** A pass-through that computes the SHA-256 and byte count of everything that flows through it. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  /** `sha256:<hex>`; call once, after the stream has finished. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * Pass `source` through, hashing it; once it ends, fail with DIGEST_MISMATCH unless the bytes
 * match `expected`. A consumer that commits only after the last chunk never commits bad bytes.
 */
export async function* verifiedChunks(source: AsyncIterable<Buffer>, expected: { digest: string; size: number }, what: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
    if (size > expected.size) throw new KitError('DIGEST_MISMATCH', `${what} ${expected.digest} has more than the ${expected.size} bytes its descriptor says: refused`);
    yield chunk;
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (size !== expected.size || digest !== expected.digest) {
    throw new KitError('DIGEST_MISMATCH', `${what} ${expected.digest} has ${size} bytes with digest ${digest}: refused`);
  }
}
