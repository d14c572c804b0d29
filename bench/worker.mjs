// One measured operation per process, so each reports its own peak RSS.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { LocalStore, pack, unpack } from '../packages/core/dist/index.js';

const [op, src, home, out] = process.argv.slice(2);
const CHUNK = 4 << 20;

async function* files(dir, rel = '') {
  for (const e of (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* files(dir, r);
    else if (e.isFile()) yield r;
  }
}

const ops = {
  /** The pack goal's yardstick: read every byte once and SHA-256 it with node:crypto. */
  async hash() {
    for await (const f of files(src)) {
      const h = createHash('sha256');
      for await (const chunk of createReadStream(join(src, f), { highWaterMark: CHUNK })) h.update(chunk);
      h.digest();
    }
  },
  /** The unpack goal's yardstick: copy every file through user space with streams. */
  async copy() {
    for await (const f of files(src)) {
      await mkdir(join(out, f, '..'), { recursive: true });
      await pipeline(createReadStream(join(src, f), { highWaterMark: CHUNK }), createWriteStream(join(out, f), { highWaterMark: CHUNK }));
    }
  },
  async pack() {
    const store = await LocalStore.open(home);
    await pack({ store, contextDir: src, tags: ['bench/model:latest'] });
  },
  async unpack() {
    const store = await LocalStore.open(home);
    await unpack({ store, reference: 'bench/model:latest', dir: out, existing: 'overwrite' });
  },
};

const start = performance.now();
await ops[op]();
const seconds = (performance.now() - start) / 1000;
process.stdout.write(JSON.stringify({ op, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
