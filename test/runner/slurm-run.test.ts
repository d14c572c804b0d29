// `kit run --backend slurm` end to end on a REAL single-node Slurm cluster (slurmctld, slurmd and
// munged started by packages/runner/test/slurm-harness.ts, two GPUs as gres backed by /dev/null
// symlinks): examples/fine-tune trains through sbatch, with a GPU request, a job that waits for
// resources, a cancel, failures in setup and run, an unschedulable request and the time limit.
// nvidia-smi on the job's PATH is the scripted TEST DOUBLE (this machine has no GPU); Slurm's
// allocation and CUDA_VISIBLE_DEVICES are real.
import { spawn } from 'node:child_process';
import { cpSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore, localTarget, resolveLocal } from '@modelkit/core';
import { readProvenance } from '@modelkit/runner';
import { startSlurm, type SlurmCluster } from '../../packages/runner/test/slurm-harness.js';
import { startSshd } from '../../packages/runner/test/sshd-harness.js';
import { KIT, kitIn, kitOk, ROOT } from '../kit-cli.js';

const FINE_TUNE = join(ROOT, 'examples/fine-tune');
const FAKE_NVIDIA_SMI_DIR = join(ROOT, 'packages/runner/test/fixtures/nvidia-smi');
const MODEL = 'mkdir -p $KIT_OUTPUT_DIR/model && echo {} > $KIT_OUTPUT_DIR/model/model.json';
let cluster: SlurmCluster;
let home: string;

beforeAll(async () => {
  cluster = await startSlurm();
  process.env.SLURM_CONF = cluster.conf; // kit's children (sbatch, scontrol) read it
  process.env.PATH = `${FAKE_NVIDIA_SMI_DIR}:${process.env.PATH}`;
  process.env.FAKE_NVIDIA_SMI_SCENARIO = 'two-a100';
  home = await mkdtemp(join(tmpdir(), 'kit-slurm-run-'));
  await kitOk(home, ['pack', FINE_TUNE, '-t', 'demo/ft:base']);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

async function variant(runFile: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kit-slurm-proj-'));
  cpSync(FINE_TUNE, dir, { recursive: true });
  await writeFile(join(dir, 'kitrun.yaml'), runFile);
  return dir;
}

type Run = { id: string; status: string; terminationReason?: string; exitCode?: number | null; jobId?: string; pendingReason?: string; gpus?: string[]; backend: string };
const runs = async () => JSON.parse((await kitOk(home, ['runs', 'list', '--json'])).stdout) as Run[];

/** `kit run` in the background, with its output. */
function startRun(args: string[]) {
  const child = spawn(process.execPath, [KIT, 'run', '--backend', 'slurm', ...args], { env: { ...process.env, KITOPS_HOME: home } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

async function waitFor(what: string, test: (runs: Run[]) => Run | undefined, ms = 30_000): Promise<Run> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const found = test(await runs());
    if (found) return found;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}\n${await cluster.log()}`);
}

const slurmJob = async (id: string) => {
  const out = await new Promise<string>((resolve) => {
    const p = spawn('scontrol', ['show', 'job', '-o', id], { env: process.env });
    let text = '';
    p.stdout.on('data', (c) => (text += c));
    p.once('close', () => resolve(text));
  });
  return /JobState=(\S+)/.exec(out)?.[1];
};

describe('kit run --backend slurm', () => {
  it('trains examples/fine-tune as a Slurm job with a GPU, and records the job in provenance', async () => {
    const r = await kitOk(home, ['run', 'demo/ft:base', '--backend', 'slurm', '--gpus', '1', '-t', 'demo/ft:slurm']);
    expect(r.stdout).toContain('epoch 20/20');
    expect(r.stdout).toMatch(/trained: eval mse 0\.00\d+/);
    expect(r.stderr).toMatch(/Run \S+: pending/);
    const [latest] = await runs();
    expect(latest).toMatchObject({ status: 'succeeded', backend: 'slurm', gpus: ['GPU-a100a100-0000-0000-0000-000000000000'] });
    expect(latest!.jobId).toMatch(/^\d+$/);
    expect(await slurmJob(latest!.jobId!)).toBe('COMPLETED');

    const store = await LocalStore.open(home);
    const kit = await resolveLocal(store, 'demo/ft:slurm');
    const provenance = await readProvenance(localTarget(store), kit.descriptor.digest);
    const internal = (provenance!.statement.predicate as { buildDefinition: { internalParameters: Record<string, unknown> } }).buildDefinition.internalParameters;
    expect(internal).toMatchObject({ backend: 'slurm', host: 'kittest', job: { scheduler: 'slurm', id: latest!.jobId, nodes: cluster.nodes } });
    expect(internal.gpus).toEqual([{ uuid: 'GPU-a100a100-0000-0000-0000-000000000000', name: 'NVIDIA A100-SXM4-80GB', memoryTotalMiB: 81920 }]);
  });

  it('gives every node the environment contract from Slurm: rank, node count, master address, its GPUs', async () => {
    const dir = await variant(`run: |\n  echo "rank=$KIT_NODE_RANK nodes=$KIT_NODE_COUNT master=$KIT_MASTER_ADDR:$KIT_MASTER_PORT gpus=$KIT_GPUS_PER_NODE cuda=$CUDA_VISIBLE_DEVICES order=$CUDA_DEVICE_ORDER run=$KIT_RUN_ID"\n  test "$PWD" = "$KIT_INPUT_DIR" && test -f Kitfile\n  ${MODEL}\nresources:\n  gpu: 2\noutputs:\n  model: model/model.json\n`);
    const r = await kitOk(home, ['run', dir, '--backend', 'slurm']);
    const [latest] = await runs();
    expect(r.stdout).toContain(`rank=0 nodes=1 master=${cluster.nodes[0]}:29500 gpus=2 cuda=0,1 order=PCI_BUS_ID run=${latest!.id}`);
    expect(latest!.gpus).toHaveLength(2);
  });

  it('waits in the queue while the GPUs are taken (pending: Resources), then runs', async () => {
    const hold = await variant(`run: |\n  sleep 5\n  ${MODEL}\nresources:\n  gpu: 2\noutputs:\n  model: model/model.json\n`);
    const wait = await variant(`run: |\n  echo got $CUDA_VISIBLE_DEVICES\n  ${MODEL}\nresources:\n  gpu: 1\noutputs:\n  model: model/model.json\n`);
    const first = startRun([hold]);
    const holding = await waitFor('the first job to run', (rs) => rs.find((r) => r.status === 'running'));
    const second = startRun([wait]);
    const queued = await waitFor('the second job to queue', (rs) => rs.find((r) => r.id !== holding.id && r.status === 'pending' && r.pendingReason === 'Resources'));
    expect(queued.jobId).toMatch(/^\d+$/);
    expect((await first.done).code).toBe(0);
    const waited = await second.done;
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(/got \d/);
    expect((await runs()).find((r) => r.id === queued.id)).toMatchObject({ status: 'succeeded' });
  }, 60_000);

  it('kit runs cancel scancels the job', async () => {
    const dir = await variant(`run: sleep 300\noutputs:\n  model: model/model.json\n`);
    const run = startRun([dir]);
    const running = await waitFor('the job to run', (rs) => rs.find((r) => r.status === 'running' && r.backend === 'slurm'));
    await kitOk(home, ['runs', 'cancel', running.id]);
    expect((await run.done).code).toBe(1);
    expect((await runs()).find((r) => r.id === running.id)).toMatchObject({ status: 'cancelled' });
    expect(await slurmJob(running.jobId!)).toBe('CANCELLED');
  }, 60_000);

  it('cancels the Slurm job of a run whose kit process died', async () => {
    const dir = await variant(`run: sleep 300\noutputs:\n  model: model/model.json\n`);
    const run = startRun([dir]);
    const running = await waitFor('the job to run', (rs) => rs.find((r) => r.status === 'running' && r.backend === 'slurm'));
    run.child.kill('SIGKILL');
    await run.done;
    expect(await slurmJob(running.jobId!)).toBe('RUNNING'); // the job outlives its driver
    expect((await kitOk(home, ['runs', 'cancel', running.id])).stderr).toContain(`cancelled (Slurm job ${running.jobId})`);
    for (let i = 0; i < 50 && (await slurmJob(running.jobId!)) !== 'CANCELLED'; i++) await sleep(100);
    expect(await slurmJob(running.jobId!)).toBe('CANCELLED');
    expect((await runs()).find((r) => r.id === running.id)).toMatchObject({ status: 'cancelled' });
  }, 60_000);

  it('follows a job through a slurmctld restart', async () => {
    const dir = await variant(`run: |\n  sleep 25\n  echo survived the controller restart\n  ${MODEL}\noutputs:\n  model: model/model.json\n`);
    const run = startRun([dir]);
    await waitFor('the job to run', (rs) => rs.find((r) => r.status === 'running' && r.backend === 'slurm'));
    await cluster.restartController(21_000); // longer than scontrol's own retries (about 18 s)
    const done = await run.done;
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('survived the controller restart');
    expect(done.stdout).toMatch(/\[kit\] scontrol: .*; asking again/);
  }, 60_000);

  it('tells a failed setup from a failed run, with the exit code', async () => {
    const setup = await kitIn(home, ['run', await variant('setup: exit 3\nrun: echo never\noutputs:\n  model: model/model.json\n'), '--backend', 'slurm']);
    expect(setup.code).toBe(1);
    expect(setup.stdout).not.toContain('never');
    expect((await runs())[0]).toMatchObject({ status: 'failed_setup', terminationReason: 'exit_code:3', exitCode: 3 });
    const run = await kitIn(home, ['run', await variant('setup: echo ready\nrun: exit 5\noutputs:\n  model: model/model.json\n'), '--backend', 'slurm']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ready');
    expect((await runs())[0]).toMatchObject({ status: 'failed', terminationReason: 'exit_code:5', exitCode: 5 });
  }, 60_000);

  it('refuses a request the cluster can never meet, naming what to check', async () => {
    const r = await kitIn(home, ['run', 'demo/ft:base', '--backend', 'slurm', '--gpus', '4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Slurm refused the job: .*Requested node configuration is not available/);
    expect((await runs())[0]).toMatchObject({ status: 'failed', terminationReason: 'unschedulable' });
  });

  it('runs on several nodes: setup and run once per node, each with its rank, one failed node fails the run', async () => {
    const multi = await startSlurm({ nodes: 2, gpus: 1 });
    const conf = process.env.SLURM_CONF;
    process.env.SLURM_CONF = multi.conf;
    try {
      const dir = await variant(`setup: echo "setup on rank $KIT_NODE_RANK"\nrun: |\n  echo "rank=$KIT_NODE_RANK of $KIT_NODE_COUNT master=$KIT_MASTER_ADDR gpus=$KIT_GPUS_PER_NODE"\n  echo "$KIT_NODE_RANK" > "$KIT_OUTPUT_DIR/rank-$KIT_NODE_RANK"\n  if [ "$KIT_NODE_RANK" = 0 ]; then ${MODEL}; fi\nnodes: 2\nresources:\n  gpu: 1\noutputs:\n  model: model/model.json\n  files: [rank-0, rank-1]\n`);
      const r = await kitOk(home, ['run', dir, '--backend', 'slurm', '-t', 'demo/ft:multi']);
      for (const rank of [0, 1]) {
        expect(r.stdout).toContain(`setup on rank ${rank}`);
        expect(r.stdout).toContain(`rank=${rank} of 2 master=kn0 gpus=1`);
      }
      const store = await LocalStore.open(home);
      const kit = await resolveLocal(store, 'demo/ft:multi');
      const provenance = await readProvenance(localTarget(store), kit.descriptor.digest);
      const internal = (provenance!.statement.predicate as { buildDefinition: { internalParameters: { job: { nodes: string[] }; gpus: unknown[] } } }).buildDefinition.internalParameters;
      expect(internal.job.nodes).toEqual(['kn0', 'kn1']);
      expect(internal.gpus).toHaveLength(2);

      const failing = await variant('run: |\n  if [ "$KIT_NODE_RANK" = 1 ]; then exit 7; fi\n  sleep 30\nnodes: 2\noutputs:\n  model: model/model.json\n');
      const started = Date.now();
      expect((await kitIn(home, ['run', failing, '--backend', 'slurm'])).code).toBe(1);
      expect(Date.now() - started).toBeLessThan(25_000); // --kill-on-bad-exit stops rank 0 too
      expect((await runs())[0]).toMatchObject({ status: 'failed', terminationReason: 'exit_code:7' });
    } finally {
      process.env.SLURM_CONF = conf;
      await multi.stop();
    }
  }, 90_000);

  it('submits through a login node over SSH (a real sshd on 127.0.0.1), and Ctrl-C scancels there', async () => {
    const sshd = await startSshd({ env: { SLURM_CONF: cluster.conf } });
    try {
      const ssh = ['--backend', 'slurm', '--host', `${sshd.user}@${sshd.host}:${sshd.port}`, '--ssh-key', sshd.privateKeyPath, '--ssh-known-hosts', sshd.knownHostsPath];
      const r = await kitOk(home, ['run', 'demo/ft:base', ...ssh, '--gpus', '1', '-t', 'demo/ft:slurm-ssh']);
      expect(r.stdout).toContain('epoch 20/20');
      const [latest] = await runs();
      expect(latest).toMatchObject({ status: 'succeeded', backend: `slurm+ssh://${sshd.user}@${sshd.host}:${sshd.port}` });
      expect(await slurmJob(latest!.jobId!)).toBe('COMPLETED');

      const sleeper = await variant('run: sleep 300\noutputs:\n  model: model/model.json\n');
      const run = spawn(process.execPath, [KIT, 'run', sleeper, ...ssh], { env: { ...process.env, KITOPS_HOME: home }, stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => run.once('close', resolve));
      const running = await waitFor('the job to run', (rs) => rs.find((x) => x.status === 'running' && x.backend.startsWith('slurm+ssh')));
      run.kill('SIGINT');
      expect(await exited).toBe(1);
      expect((await runs()).find((x) => x.id === running.id)).toMatchObject({ status: 'cancelled' });
      expect(await slurmJob(running.jobId!)).toBe('CANCELLED');
    } finally {
      await sshd.stop();
    }
  }, 90_000);

  it('stops the job at max_duration (Slurm time limit): timed_out', async () => {
    const dir = await variant('run: sleep 600\nmax_duration: 1m\noutputs:\n  model: model/model.json\n');
    const r = await kitIn(home, ['run', dir, '--backend', 'slurm']);
    expect(r.code).toBe(1);
    const [latest] = await runs();
    expect(latest).toMatchObject({ status: 'timed_out', terminationReason: 'max_duration_exceeded' });
    expect(await slurmJob(latest!.jobId!)).toBe('TIMEOUT');
  }, 180_000);
});
