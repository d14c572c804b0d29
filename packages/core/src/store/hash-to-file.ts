import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Pull from `source` `depth` chunks ahead, so the next read (on libuv's thread pool) runs while this
 * chunk is hashed on the main thread.
 */
export async function* readAhead<T>(source: AsyncIterable<T> | Iterable<T>, depth = 2): AsyncGenerator<T> {
  const iterator = Symbol.asyncIterator in source ? (source as AsyncIterable<T>)[Symbol.asyncIterator]() : toAsync(source as Iterable<T>);
  const queue: Array<Promise<IteratorResult<T>>> = [];
  try {
    for (;;) {
      while (queue.length < depth) {
        const next = iterator.next();
        next.catch(() => {}); // a failure is seen when its turn comes; never unhandled meanwhile
        queue.push(next);
      }
      const result = await queue.shift()!;
      if (result.done) return;
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}

async function* toAsync<T>(source: Iterable<T>): AsyncGenerator<T> {
  yield* source;
}

/**
 * Write (or with flags 'a', append) every chunk to `path`, calling `inspect` on each first: the read of the next chunk, the
 * inspection of this one and the write of the previous one overlap, so disk and CPU run side by side.
 */
export async function writeChunksToFile(source: AsyncIterable<Buffer> | Iterable<Buffer>, path: string, inspect?: (chunk: Buffer) => void, flags: 'w' | 'a' = 'w'): Promise<number> {
  const handle = await open(path, flags);
  let size = 0;
  let pending: Promise<unknown> = Promise.resolve();
  try {
    for await (const chunk of readAhead(source)) {
      inspect?.(chunk);
      size += chunk.length;
      await pending;
      pending = writeAll(handle, chunk);
    }
    await pending;
  } finally {
    await pending.catch(() => {});
    await handle.close();
  }
  return size;
}

/** Write a stream to `path` while computing its SHA-256 digest. */
export async function hashToFile(source: AsyncIterable<Buffer> | Iterable<Buffer>, path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  const size = await writeChunksToFile(source, path, (chunk) => hash.update(chunk));
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
