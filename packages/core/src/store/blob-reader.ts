import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { KitError } from '../errors.js';

/**
 * A pass-through that checks, as the bytes flow, that a blob has the size and digest its
 * descriptor promises; the stream fails at the end (or as soon as it runs long) otherwise.
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private seen = 0;

  constructor(private readonly expected: { digest: string; size: number }, private readonly what: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected.size) {
      callback(this.mismatch(`is longer than the ${this.expected.size} bytes its descriptor gives`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.seen !== this.expected.size) {
      callback(this.mismatch(`has ${this.seen} bytes, its descriptor says ${this.expected.size}`));
      return;
    }
    const actual = `sha256:${this.hash.digest('hex')}`;
    callback(actual === this.expected.digest ? null : this.mismatch(`has digest ${actual}`));
  }

  private mismatch(detail: string): KitError {
    return new KitError('DIGEST_MISMATCH', `${this.what} ${this.expected.digest} ${detail}: the stored copy is corrupt; remove it and pack or pull again`);
  }
}
