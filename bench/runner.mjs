// npm run bench:runner: `kit run` (local backend) of a generated ModelKit carrying BENCH_GIB of
// datasets (default 2), its training step trivial, so what is measured is the runner's own work:
// materializing the inputs (read, verify, extract), the run's bookkeeping, and packing the output
// with the input layers reused by digest. Reported as a ratio to the yardstick `npm run bench` holds
// unpack to, measured in the same run: copying the same files through user space with streams
// (bench/worker.mjs copy); beside `kit unpack` of the same layers, with peak RSS.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeRandomFile } from './random-file.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = process.env.BENCH_DIR ?? join(root, '.bench-runner');
const gib = Number(process.env.BENCH_GIB ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const KIT = join(root, 'packages/cli/dist/main.js');
const MiB = 1 << 20;
const src = join(work, 'project');
const home = join(work, 'home');
const env = { ...process.env, KITOPS_HOME: home };

await rm(work, { recursive: true, force: true });
await mkdir(join(src, 'data'), { recursive: true });
await mkdir(join(src, 'src'), { recursive: true });
const total = gib * 1024 * MiB;
for (let i = 0; i < 8; i++) await writeRandomFile(join(src, 'data', `shard-${i}.bin`), Math.floor(total / 8));
await writeFile(join(src, 'src', 'train.py'), 'print("train")\n');
await writeFile(join(src, 'Kitfile'), 'manifestVersion: 1.0.0\npackage:\n  name: bench\nmodel:\n  name: bench\n  path: src/train.py\ndatasets:\n  - name: data\n    path: data\ncode:\n  - path: src\n  - path: kitrun.yaml\n');
await writeFile(join(src, 'kitrun.yaml'), 'run: mkdir -p "$KIT_OUTPUT_DIR/model" && head -c 1048576 /dev/zero > "$KIT_OUTPUT_DIR/model/model.bin"\noutputs:\n  model: model/model.bin\n');
execFileSync(process.execPath, [KIT, 'pack', src, '-t', 'bench/runner:base'], { env, stdio: 'ignore' });

/** Wall seconds and peak RSS (KiB, from GNU time) of one command, after a sync so no earlier writes are still flushing. */
function measure(argv) {
  execFileSync('sync');
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return { seconds, rssMiB: Number(r.stderr.trim().split('\n').pop()) / 1024 };
}

const best = {};
for (let round = 0; round < rounds; round++) {
  const copyTo = join(work, `copy-${round}`);
  const unpackTo = join(work, `unpack-${round}`);
  const ops = {
    copy: () => measure([process.execPath, join(root, 'bench/worker.mjs'), 'copy', src, '', copyTo]),
    unpack: () => measure([process.execPath, KIT, 'unpack', 'bench/runner:base', '--filter', 'datasets,code', '-d', unpackTo]),
    run: () => measure([process.execPath, KIT, 'run', 'bench/runner:base', '-t', `bench/runner:out-${round}`]),
  };
  // The order turns each round: on this kind of disk, whatever runs first after a large delete pays for it.
  const names = Object.keys(ops);
  const results = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length];
    results[name] = ops[name]();
  }
  for (const [name, r] of Object.entries(results)) if (!best[name] || r.seconds < best[name].seconds) best[name] = r;
  await rm(copyTo, { recursive: true, force: true });
  await rm(unpackTo, { recursive: true, force: true });
}

const gbps = (r) => (total / r.seconds / 1e9).toFixed(2);
console.log(`datasets ${gib} GiB, best of ${rounds}`);
console.log(`copy        ${gbps(best.copy)} GB/s   (this machine's yardstick: streams through user space)`);
console.log(`kit unpack  ${gbps(best.unpack)} GB/s   ratio to copy: ${(best.copy.seconds / best.unpack.seconds).toFixed(2)}   peak RSS ${best.unpack.rssMiB.toFixed(0)} MiB`);
console.log(`kit run     ${gbps(best.run)} GB/s   ratio to copy: ${(best.copy.seconds / best.run.seconds).toFixed(2)}   peak RSS ${best.run.rssMiB.toFixed(0)} MiB   (materialize, run, pack the output, provenance, clean up)`);
await rm(work, { recursive: true, force: true });
