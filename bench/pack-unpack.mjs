// npm run bench: pack and unpack a generated multi-GiB model; report throughput as ratios of the
// machine's own yardsticks measured in the same run (SHA-256 pass for pack, file copy for unpack)
// and the peak RSS of each operation. BENCH_GIB sets the model size (default 3).
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeRandomFile } from './random-file.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = process.env.BENCH_DIR ?? join(root, '.bench');
const gib = Number(process.env.BENCH_GIB ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const src = join(work, 'model-project');
const MiB = 1 << 20;

async function generate() {
  await rm(work, { recursive: true, force: true });
  await mkdir(join(src, 'weights'), { recursive: true });
  await mkdir(join(src, 'data'), { recursive: true });
  await mkdir(join(src, 'src'), { recursive: true });
  const total = gib * 1024 * MiB;
  await writeRandomFile(join(src, 'weights', 'model-00001-of-00002.safetensors'), Math.floor(total * 0.6));
  await writeRandomFile(join(src, 'weights', 'model-00002-of-00002.safetensors'), Math.floor(total * 0.3));
  for (let i = 0; i < 8; i++) await writeRandomFile(join(src, 'data', `shard-${i}.parquet`), Math.floor((total * 0.1) / 8));
  await writeFile(join(src, 'src', 'train.py'), 'print("train")\n');
  await writeFile(
    join(src, 'Kitfile'),
    'manifestVersion: 1.0.0\npackage:\n  name: bench\nmodel:\n  name: bench\n  path: weights\ndatasets:\n  - name: data\n    path: data\ncode:\n  - path: src\n',
  );
  return total;
}

function run(op, extra = []) {
  execFileSync('sync'); // start each measurement with no earlier writes still being flushed
  const out = execFileSync(process.execPath, [join(root, 'bench', 'worker.mjs'), op, src, ...extra], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

const bytes = await generate();
const best = {};
for (let round = 0; round < rounds; round++) {
  const home = join(work, `home-${round}`);
  const results = [
    run('hash'),
    run('pack', [home]),
    run('copy', ['', join(work, `copy-${round}`)]),
    run('unpack', [home, join(work, `unpack-${round}`)]),
  ];
  for (const r of results) if (!best[r.op] || r.seconds < best[r.op].seconds) best[r.op] = r;
  await rm(join(work, `copy-${round}`), { recursive: true, force: true });
  await rm(join(work, `unpack-${round}`), { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
}
const gbps = (r) => (bytes / r.seconds / 1e9).toFixed(2);
const mib = (r) => (r.maxRssBytes / MiB).toFixed(0);
const packRatio = best.hash.seconds / best.pack.seconds;
const unpackRatio = best.copy.seconds / best.unpack.seconds;
const peak = Math.max(best.pack.maxRssBytes, best.unpack.maxRssBytes);
console.log(`model: ${(bytes / 1024 / MiB).toFixed(2)} GiB in 11 files, best of ${rounds} rounds`);
console.log(`sha256 pass  ${gbps(best.hash)} GB/s   copy  ${gbps(best.copy)} GB/s   (this machine's yardsticks)`);
console.log(`pack         ${gbps(best.pack)} GB/s   ratio to sha256 pass: ${packRatio.toFixed(2)} (goal >= 0.85)   peak RSS ${mib(best.pack)} MiB`);
console.log(`unpack       ${gbps(best.unpack)} GB/s   ratio to copy:        ${unpackRatio.toFixed(2)} (goal >= 0.85)   peak RSS ${mib(best.unpack)} MiB`);
console.log(`peak RSS ${(peak / MiB).toFixed(0)} MiB (goal < 200 MiB)`);
await rm(work, { recursive: true, force: true });
