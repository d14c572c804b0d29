// npm run bench:registry: push and pull a generated 2 GiB single-layer ModelKit and a multi-layer one
// to a local docker-registry, beside `skopeo copy` of the same OCI layout in the same run; prints
// throughput ratios (ours / skopeo), peak RSS, and the bytes `pull --filter model` moves.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStore, pack } from '../packages/core/dist/index.js';
import { writeRandomFile } from './random-file.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = process.env.BENCH_DIR ?? join(root, '.bench-registry');
const gib = Number(process.env.BENCH_GIB ?? 2);
const MiB = 1 << 20;

async function freePort() {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

async function project(name, layout) {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  for (const [file, size] of layout) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeRandomFile(join(dir, file), size);
  }
  return dir;
}

const run = (args) => JSON.parse(execFileSync(process.execPath, [join(root, 'bench/registry-worker.mjs'), ...args], { encoding: 'utf8' }).trim().split('\n').pop());
const time = (cmd, args) => {
  const t = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t) / 1e9;
};

await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const port = await freePort();
const host = `127.0.0.1:${port}`;
await writeFile(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry-data')}\nhttp:\n  addr: ${host}\n`);
const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`http://${host}/v2/`)).ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}

const total = gib * 1024 * MiB;
const kits = {
  single: await project('single', [['model.safetensors', total]]),
  multi: await project('multi', [['weights/a.bin', total * 0.5], ['weights/b.bin', total * 0.2], ...Array.from({ length: 6 }, (_, i) => [`data/shard-${i}.bin`, total * 0.05]), ['src/train.py', 4096]]),
};
await writeFile(join(kits.single, 'Kitfile'), 'manifestVersion: 1.0.0\nmodel:\n  path: model.safetensors\n');
await writeFile(join(kits.multi, 'Kitfile'), 'manifestVersion: 1.0.0\nmodel:\n  path: weights/a.bin\n  parts:\n    - path: weights/b.bin\ndatasets:\n' + Array.from({ length: 6 }, (_, i) => `  - path: data/shard-${i}.bin\n`).join('') + 'code:\n  - path: src\n');

try {
  for (const [name, dir] of Object.entries(kits)) {
    const home = join(work, `home-${name}`);
    const store = await LocalStore.open(home);
    await pack({ store, contextDir: dir, tags: [`bench/${name}:v1`] });
    const layout = join(home, 'storage');
    execFileSync('sync');
    const ours = run(['push', home, host, `ours/${name}`, `bench/${name}:v1`]);
    execFileSync('sync');
    const theirsPush = time('skopeo', ['copy', '--insecure-policy', '--dest-tls-verify=false', `oci:${layout}:localhost/bench/${name}:v1`, `docker://${host}/skopeo/${name}:v1`]);
    execFileSync('sync');
    const pulled = run(['pull', join(work, `pull-${name}`), host, `ours/${name}`]);
    execFileSync('sync');
    const theirsPull = time('skopeo', ['copy', '--insecure-policy', '--src-tls-verify=false', `docker://${host}/skopeo/${name}:v1`, `oci:${join(work, `skopeo-${name}`)}:v1`]);
    const gb = (s) => (total / s / 1e9).toFixed(2); // both kits hold `total` bytes
    console.log(`${name.padEnd(6)} push ${gb(ours.seconds)} GB/s vs skopeo ${gb(theirsPush)} GB/s: ${(theirsPush / ours.seconds).toFixed(2)}x, peak RSS ${(ours.maxRssBytes / MiB).toFixed(0)} MiB`);
    console.log(`${name.padEnd(6)} pull ${gb(pulled.seconds)} GB/s vs skopeo ${gb(theirsPull)} GB/s: ${(theirsPull / pulled.seconds).toFixed(2)}x, peak RSS ${(pulled.maxRssBytes / MiB).toFixed(0)} MiB`);
    await rm(join(work, `pull-${name}`), { recursive: true, force: true });
    await rm(join(work, `skopeo-${name}`), { recursive: true, force: true });
  }
  const filtered = run(['pull', join(work, 'pull-filtered'), host, 'ours/multi', '', 'model']);
  console.log(`pull --filter model of the multi-layer kit moved ${(filtered.bytes / MiB).toFixed(0)} MiB of ${(total / MiB).toFixed(0)} MiB (model and its part, plus the config)`);
} finally {
  registry.kill();
  await rm(work, { recursive: true, force: true });
}
