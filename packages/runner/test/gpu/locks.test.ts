import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KitError } from '@modelkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reservedGpus, reserveLocalGpus } from '../../src/gpu/index.js';

const A = { uuid: 'GPU-aaaaaaaa-0000-0000-0000-000000000000', index: 0 };
const B = { uuid: 'GPU-bbbbbbbb-0000-0000-0000-000000000000', index: 1 };
const C = { uuid: 'GPU-cccccccc-0000-0000-0000-000000000000', index: 2 };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gpu-locks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that no longer runs: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

async function writeLock(uuid: string, runId: string, pid: number, host = hostname()): Promise<void> {
  await writeFile(join(dir, `${uuid}.lock`), JSON.stringify({ uuid, runId, pid, host, at: new Date().toISOString() }));
}

async function rejection(p: Promise<unknown>): Promise<KitError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(KitError);
  expect((e as KitError).code).toBe('INVALID_ARGUMENT');
  return e as KitError;
}

describe('reserveLocalGpus', () => {
  it('creates one lock per GPU with the run, pid, host and time, and releases them', async () => {
    const release = await reserveLocalGpus(join(dir, 'nested'), [A, B], 'run-1');
    const lock = JSON.parse(await readFile(join(dir, 'nested', `${A.uuid}.lock`), 'utf8'));
    expect(lock).toMatchObject({ uuid: A.uuid, runId: 'run-1', pid: process.pid, host: hostname() });
    expect(Number.isNaN(Date.parse(lock.at))).toBe(false);
    expect(await reservedGpus(join(dir, 'nested'))).toEqual(new Set([A.uuid, B.uuid]));
    await release();
    await release(); // idempotent
    expect(await readdir(join(dir, 'nested'))).toEqual([]);
  });

  it('refuses a GPU held by a live run, naming it', async () => {
    await reserveLocalGpus(dir, [A], 'run-1');
    const e = await rejection(reserveLocalGpus(dir, [A], 'run-2'));
    expect(e.message).toBe(`GPU ${A.uuid} (index 0) is reserved by run run-1 (pid ${process.pid})`);
  });

  it('names the other host of a lock it cannot check, and leaves that lock alone', async () => {
    await writeLock(A.uuid, 'run-far', 999_999_999, 'other-host');
    const e = await rejection(reserveLocalGpus(dir, [{ uuid: A.uuid, index: -1 }], 'run-2'));
    expect(e.message).toBe(`GPU ${A.uuid} is reserved by run run-far (pid 999999999 on other-host)`);
    expect(await reservedGpus(dir)).toEqual(new Set([A.uuid]));
  });

  it('is all or nothing: a busy GPU releases those already taken', async () => {
    await reserveLocalGpus(dir, [C], 'run-1');
    const e = await rejection(reserveLocalGpus(dir, [A, B, C], 'run-2'));
    expect(e.message).toMatch(new RegExp(`^GPU ${C.uuid} \\(index 2\\) is reserved by run run-1`));
    expect(await readdir(dir)).toEqual([`${C.uuid}.lock`]);
    expect(await reservedGpus(dir)).toEqual(new Set([C.uuid]));
  });

  it('breaks the lock of a dead process', async () => {
    const pid = deadPid();
    await writeLock(A.uuid, 'run-crashed', pid);
    expect(await reservedGpus(dir)).toEqual(new Set());
    const release = await reserveLocalGpus(dir, [A, B], 'run-2');
    expect(JSON.parse(await readFile(join(dir, `${A.uuid}.lock`), 'utf8'))).toMatchObject({ runId: 'run-2', pid: process.pid });
    await release();
  });

  it('keeps an empty lock (a reserver between create and write) as live', async () => {
    await writeFile(join(dir, `${A.uuid}.lock`), '');
    const e = await rejection(reserveLocalGpus(dir, [A], 'run-2'));
    expect(e.message).toBe(`GPU ${A.uuid} (index 0) is being reserved by another run`);
    expect(await reservedGpus(dir)).toEqual(new Set([A.uuid]));
  });

  it('encodes MIG UUIDs into flat file names', async () => {
    const mig = { uuid: 'MIG-GPU-aaaaaaaa-0000-0000-0000-000000000000/1/0', index: 0 };
    const release = await reserveLocalGpus(dir, [mig], 'run-1');
    expect(await readdir(dir)).toEqual(['MIG-GPU-aaaaaaaa-0000-0000-0000-000000000000%2F1%2F0.lock']);
    expect(await reservedGpus(dir)).toEqual(new Set([mig.uuid]));
    await release();
  });

  it('a release never removes a lock that is not its own', async () => {
    const release = await reserveLocalGpus(dir, [A], 'run-1');
    await writeLock(A.uuid, 'run-other', process.pid); // replaced behind its back
    await release();
    expect(await reservedGpus(dir)).toEqual(new Set([A.uuid]));
  });

  it('among concurrent reservers in one process exactly one wins, also over a dead lock', async () => {
    await writeLock(B.uuid, 'run-crashed', deadPid());
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => reserveLocalGpus(dir, [A, B], `run-${i}`)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as KitError).message).toMatch(/is (being )?reserved by (run run-\d+|another run)/);
    const owners = await Promise.all([A, B].map(async (g) => JSON.parse(await readFile(join(dir, `${g.uuid}.lock`), 'utf8')).runId));
    expect(owners[0]).toBe(owners[1]);
  });
});

/** Separate processes racing for the same GPUs; the winner then dies without releasing. */
describe('reserveLocalGpus across processes', () => {
  const locks = fileURLToPath(new URL('../../src/gpu/locks.ts', import.meta.url));
  const viteNode = fileURLToPath(new URL('../../../../node_modules/.bin/vite-node', import.meta.url));
  const config = fileURLToPath(new URL('../../../../vitest.config.ts', import.meta.url));
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('only one of several processes wins; its lock is broken once it is killed', async () => {
    const script = join(dir, 'reserver.ts');
    await writeFile(
      script,
      `import { reserveLocalGpus } from ${JSON.stringify(locks)};
const [lockDir, runId, startAt] = process.argv.slice(2);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
try {
  await reserveLocalGpus(lockDir, ${JSON.stringify([A, B])}, runId);
  console.log(JSON.stringify({ won: true }));
  setInterval(() => undefined, 1000); // hold the GPUs until killed
} catch (e) {
  console.log(JSON.stringify({ won: false, message: e.message }));
}
`,
    );
    const lockDir = join(dir, 'locks');
    const startAt = Date.now() + 4000; // after every child has started, so that they race
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, (_, i) => {
        const child = spawn(viteNode, ['-c', config, script, lockDir, `child-${i}`, String(startAt)], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(child);
        return new Promise<{ won: boolean; message?: string; child: ChildProcess }>((resolve, reject) => {
          let out = '';
          child.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            const line = out.split('\n').find((l) => l.startsWith('{'));
            if (line) resolve({ ...JSON.parse(line), child });
          });
          child.once('exit', (code) => reject(new Error(`reserver exited ${code} without a result: ${out}`)));
        });
      }),
    );
    const winners = outcomes.filter((o) => o.won);
    expect(winners).toHaveLength(1);
    for (const o of outcomes.filter((x) => !x.won)) expect(o.message).toMatch(/^GPU GPU-\w+-[\w-]+ \(index [01]\) is (reserved by run child-\d \(pid \d+\)|being reserved by another run)$/);
    expect(await reservedGpus(lockDir)).toEqual(new Set([A.uuid, B.uuid]));
    await rejection(reserveLocalGpus(lockDir, [A], 'run-parent'));

    const winner = winners[0].child;
    const exited = new Promise((r) => winner.once('exit', r));
    winner.kill('SIGKILL');
    await exited;
    expect(await reservedGpus(lockDir)).toEqual(new Set());
    const release = await reserveLocalGpus(lockDir, [A, B], 'run-parent');
    await release();
  });
});
