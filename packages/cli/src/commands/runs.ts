import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KitError, processAlive } from '@modelkit/core';
import { cancelKubernetesJob, cancelSlurmJob, FINISHED, LocalClusterShell, type RunState, type RunStore } from '@modelkit/runner';
import type { Command } from 'commander';
import { kitHome } from '../context.js';
import { info, printJson, table } from '../output.js';
import { runStore } from './run.js';

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('Runs of `kit run`: list them, read their logs, cancel them');
  runs
    .command('list')
    .description('Every run, newest first, with its state')
    .option('--json', 'print them as JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const states = await runStore(command).list();
      if (opts.json) return printJson(states);
      const rows = states.map((s) => [s.id, s.status, s.terminationReason ?? (s.status === 'pending' ? s.pendingReason : undefined) ?? '', s.input, s.output?.digest.slice(0, 19) ?? '', s.createdAt]);
      process.stdout.write(table(['RUN', 'STATUS', 'REASON', 'INPUT', 'OUTPUT', 'CREATED'], rows));
    });
  runs
    .command('logs')
    .description("Print a run's log (what setup and run printed)")
    .argument('<id>', 'run id')
    .option('-f, --follow', 'keep printing until the run finishes')
    .action(async (id: string, opts: { follow?: boolean }, command: Command) => {
      const store = runStore(command);
      await store.read(id);
      await followLog(store, id, !!opts.follow);
    });
  runs
    .command('cancel')
    .description('Cancel a run: its whole process group, locally or on the remote host, or its cluster job')
    .argument('<id>', 'run id')
    .option('--kubeconfig <file>', 'the kubeconfig for a Kubernetes run whose kit process is gone (default: as kubectl reads it)')
    .action(async (id: string, opts: { kubeconfig?: string }, command: Command) => {
      const store = runStore(command);
      const recorded = await store.read(id);
      // A cluster job outlives the kit process that submitted it: cancel it on the cluster then.
      const orphaned = !processAlive(recorded.pid) && (!FINISHED.has(recorded.status) || recorded.terminationReason === 'interrupted');
      if (orphaned && recorded.jobId) {
        const job = await cancelOrphanedJob(command, recorded, opts.kubeconfig);
        await store.write({ ...recorded, status: 'cancelled', terminationReason: 'interrupted', finishedAt: new Date().toISOString() });
        info(`Run ${id}: cancelled (${job})`);
        return;
      }
      const state = await store.settleOrphan(recorded);
      if (FINISHED.has(state.status)) throw new KitError('INVALID_ARGUMENT', `run ${id} has already finished (${state.status})`);
      process.kill(state.pid, 'SIGTERM');
      for (let i = 0; i < 600; i++) {
        const now = await store.read(id);
        if (FINISHED.has(now.status) || !processAlive(now.pid)) {
          info(`Run ${id}: ${(await store.settleOrphan(now)).status}`);
          return;
        }
        await sleep(100);
      }
      throw new KitError('RUN_FAILED', `run ${id} did not stop within a minute of SIGTERM to pid ${state.pid}`);
    });
}

/** Stop the cluster job of a run nobody follows any more; says what was stopped. */
async function cancelOrphanedJob(command: Command, run: RunState, kubeconfig: string | undefined): Promise<string> {
  const jobId = run.jobId!;
  if (run.backend === 'slurm') {
    await cancelSlurmJob(new LocalClusterShell(join(kitHome(command), 'runs')), jobId);
    return `Slurm job ${jobId}`;
  }
  if (run.backend === 'kubernetes') {
    await cancelKubernetesJob(run, { kubeconfig });
    return `Kubernetes Job ${jobId} in ${run.host}`;
  }
  throw new KitError('INVALID_ARGUMENT', `run ${run.id}'s kit process is gone; its job ${jobId} was submitted through ${run.backend.replace(/^slurm\+/, '')}: run \`scancel ${jobId}\` there`);
}

/** Print the log from the start; with follow, poll for more until the run has finished. */
async function followLog(store: RunStore, id: string, follow: boolean): Promise<void> {
  const path = store.logPath(id);
  let offset = 0;
  for (;;) {
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    if (size > offset) {
      const handle = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(size - offset);
        await handle.read(buffer, 0, buffer.length, offset);
        process.stdout.write(buffer);
        offset = size;
      } finally {
        await handle.close();
      }
    }
    if (!follow) return;
    const state = await store.settleOrphan(await store.read(id));
    if (FINISHED.has(state.status) && ((await stat(path).catch(() => undefined))?.size ?? 0) === offset) return;
    await sleep(200);
  }
}
