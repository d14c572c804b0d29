import { execFile } from 'node:child_process';
import { chmod, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KitError } from '@modelkit/core';
import { parseGpuCsv } from '../gpu/nvidia-smi.js';
import type { GpuInfo, Placement, Workspace } from '../hosts/host.js';
import { LocalHost, loginBasics } from '../hosts/local.js';
import type { JobAllocation, JobEnd, JobEvents, JobPhase, JobRequest, Scheduler, SubmittedJob } from '../hosts/scheduler.js';
import { batchFiles, JOB_FILES, type SlurmJobOptions } from './batch-script.js';
import { expandIndices, jobEnd, parseSacct, parseScontrolJob, slurmView, type SlurmJob } from './job-state.js';

export interface SlurmOptions extends SlurmJobOptions {
  /** Run directories, on a filesystem every node mounts at the same path (`<kit home>/runs`). */
  runsDir: string;
  /** How often to ask slurmctld about the job (default 1 s). */
  pollMs?: number;
}

/** How long slurmctld may stay unreachable while a job is followed before the run gives up on it. */
const CONTROLLER_PATIENCE_MS = 5 * 60_000;

/** Variables the Slurm client commands read (which cluster), passed on to sbatch. */
const SLURM_ENV = ['SLURM_CONF', 'SLURM_CLUSTERS'];

/**
 * Slurm as a backend: the run's workspace goes on the shared filesystem, setup and run go in as one
 * sbatch job, and the job is followed with scontrol (its output file streamed as it grows) until
 * Slurm says how it ended. Cancel is scancel; the time limit is max_duration.
 */
export class SlurmScheduler implements Scheduler {
  readonly scheduler = 'slurm';
  readonly description = 'slurm';
  private readonly files: Placement;

  constructor(private readonly options: SlurmOptions) {
    this.files = new LocalHost({ runsDir: options.runsDir, gpuLockDir: join(options.runsDir, '.unused') });
  }

  /** The cluster's name (slurm.conf ClusterName), as provenance records the host. */
  async hostname(): Promise<string> {
    const config = await slurm(['scontrol', 'show', 'config']).catch((e: unknown) => {
      throw e instanceof KitError ? e : new KitError('NOT_FOUND', String(e));
    });
    return /^ClusterName\s*=\s*(\S+)/m.exec(config)?.[1] ?? 'slurm';
  }

  createWorkspace(runId: string): Promise<Workspace> {
    return this.files.createWorkspace(runId);
  }

  extractTar(tar: AsyncIterable<Buffer>, dir: string): Promise<void> {
    return this.files.extractTar(tar, dir);
  }

  fetchOutputs(workspace: Workspace, localDir: string): Promise<string> {
    return this.files.fetchOutputs(workspace, localDir);
  }

  cleanup(workspace: Workspace): Promise<void> {
    return this.files.cleanup(workspace);
  }

  async close(): Promise<void> {}

  async submit(request: JobRequest, events: JobEvents): Promise<SubmittedJob> {
    const jobDir = join(request.workspace.root, JOB_FILES.dir);
    await mkdir(jobDir, { recursive: true });
    const files = batchFiles(request, jobDir, this.options);
    // A resubmission (retry) starts from clean markers and an empty output file.
    await writeFile(join(jobDir, JOB_FILES.script), files.script, { mode: 0o700 });
    await writeFile(join(jobDir, JOB_FILES.node), files.node, { mode: 0o700 });
    await writeFile(join(jobDir, JOB_FILES.setup), files.setup, { mode: 0o600 });
    await writeFile(join(jobDir, JOB_FILES.run), files.run, { mode: 0o600 });
    for (const marker of [JOB_FILES.phase, JOB_FILES.exit, JOB_FILES.log]) await writeFile(join(jobDir, marker), '', { mode: 0o600 });
    for (const name of await readdir(jobDir)) {
      if ([JOB_FILES.status, JOB_FILES.nodeGpus, 'gpus-'].some((prefix) => name.startsWith(prefix))) await rm(join(jobDir, name), { force: true });
    }
    await chmod(jobDir, 0o700);
    for (const warning of files.warnings) events.onOutput(Buffer.from(`[kit] ${warning}\n`));

    // Values reach the job through sbatch's environment (--export=ALL), never through the script.
    const env = { ...loginBasics(process.env), ...pick(process.env, SLURM_ENV), ...request.env, ...request.secrets };
    const out = await slurm(['sbatch', '--parsable', ...files.args, join(jobDir, JOB_FILES.script)], env).catch((e: unknown) => {
      if (e instanceof KitError && e.code === 'INVALID_ARGUMENT') throw new KitError('INVALID_ARGUMENT', `Slurm refused the job: ${e.message}; check --partition, --nodes and resources in the run file against \`sinfo\``);
      throw e;
    });
    const id = out.trim().split(';')[0]!;
    if (!/^\d+$/.test(id)) throw new KitError('NETWORK', `sbatch printed "${out.trim()}" instead of a job id`);
    events.onSubmitted(id);
    const follower = new JobFollower(id, jobDir, events, this.options.pollMs ?? 1000);
    const done = follower.follow();
    return {
      id,
      done,
      cancel: async () => {
        await slurm(['scancel', id]).catch(() => undefined);
      },
      allocation: () => follower.allocation(),
    };
  }
}

/** Polls one job to its end, streaming its output file and reporting phase changes. */
class JobFollower {
  private offset = 0;
  private phase: JobPhase | undefined;

  constructor(
    private readonly id: string,
    private readonly jobDir: string,
    private readonly events: JobEvents,
    private readonly pollMs: number,
  ) {}

  async follow(): Promise<JobEnd> {
    let reason: string | undefined;
    let unreachableSince: number | undefined;
    for (let unknown = 0; ; ) {
      let job: SlurmJob | undefined;
      try {
        job = await this.query();
        unreachableSince = undefined;
      } catch (e) {
        // slurmctld restarting or busy: the job runs on regardless, so keep asking for a while.
        if (unreachableSince === undefined) {
          unreachableSince = Date.now();
          this.events.onOutput(Buffer.from(`[kit] ${(e as Error).message}; asking again\n`));
        } else if (Date.now() - unreachableSince > CONTROLLER_PATIENCE_MS) throw e;
        await sleep(this.pollMs);
        continue;
      }
      await this.drainLog();
      if (!job) {
        // Gone from slurmctld (MinJobAge passed, or the controller restarted): accounting, where the
        // cluster keeps it, else the markers the batch script wrote, say how it ended.
        if (++unknown >= 3) return this.endFromAccounting();
      } else {
        const view = slurmView(job);
        if (view.ended) {
          await this.drainLog();
          return jobEnd(job, await this.read(JOB_FILES.exit), this.phase);
        }
        const phase = view.phase === 'pending' ? 'pending' : await this.startedPhase();
        if (phase !== this.phase || (phase === 'pending' && view.phase === 'pending' && view.reason !== reason)) {
          this.phase = phase;
          reason = view.phase === 'pending' ? view.reason : undefined;
          this.events.onPhase(phase, reason);
        }
      }
      await sleep(this.pollMs);
    }
  }

  /** Read from what each node's run step wrote: a job too short to be seen running still says where it ran. */
  async allocation(): Promise<JobAllocation> {
    const names = await readdir(this.jobDir).catch(() => [] as string[]);
    const nodes = names.filter((n) => n.startsWith(JOB_FILES.nodeGpus)).map((n) => n.slice(JOB_FILES.nodeGpus.length)).sort();
    const gpus: GpuInfo[] = [];
    for (const node of nodes) {
      const given = (await this.read(`${JOB_FILES.nodeGpus}${node}`))?.trim() ?? '';
      const indices = given === '' ? [] : expandIndices(given);
      if (indices.length === 0) continue;
      const listed = names.includes(JOB_FILES.gpus(node)) ? safeParse((await this.read(JOB_FILES.gpus(node))) ?? '') : [];
      // nvidia-smi inside a cgroup-confined job lists only the job's GPUs; outside one it lists all.
      const mine = listed.length === indices.length ? listed : listed.filter((g) => indices.includes(g.index));
      gpus.push(...(mine.length > 0 ? mine : indices.map((index) => slurmGpu(node, index))));
    }
    return { nodes, gpus };
  }

  private async query(): Promise<SlurmJob | undefined> {
    try {
      return parseScontrolJob(await slurm(['scontrol', 'show', 'job', '-o', this.id]));
    } catch (e) {
      if (e instanceof KitError && /Invalid job id/i.test(e.message)) return undefined;
      throw e;
    }
  }

  private async startedPhase(): Promise<JobPhase> {
    const written = (await this.read(JOB_FILES.phase))?.trim();
    return written === 'running' ? 'running' : 'setting_up';
  }

  private async endFromAccounting(): Promise<JobEnd> {
    const marker = await this.read(JOB_FILES.exit);
    // Without slurmdbd, sacct exits 1 ("accounting storage is disabled").
    const accounted = await slurm(['sacct', '-j', this.id, '-X', '-n', '-P', '-o', 'JobID,State,ExitCode']).then(parseSacct, () => undefined);
    if (accounted) return jobEnd({ ...accounted, id: this.id }, marker, this.phase);
    const state = /^run 0$/.test(marker?.trim() ?? '') ? 'COMPLETED' : 'FAILED';
    return jobEnd({ id: this.id, state }, marker, this.phase);
  }

  private async read(name: string): Promise<string | undefined> {
    return readFile(join(this.jobDir, name), 'utf8').catch(() => undefined);
  }

  /** Send what the job's output file gained since the last look. */
  private async drainLog(): Promise<void> {
    const handle = await open(join(this.jobDir, JOB_FILES.log), 'r').catch(() => undefined);
    if (!handle) return;
    try {
      for (;;) {
        const buffer = Buffer.alloc(256 * 1024);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) return;
        this.offset += bytesRead;
        this.events.onOutput(buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  }
}

/** scancel a run's job directly: for `kit runs cancel` when the kit process that followed it is gone. */
export async function cancelSlurmJob(jobId: string): Promise<void> {
  await slurm(['scancel', jobId]);
}

/** A GPU as Slurm knows it: an index on a node, with no name or UUID (no nvidia-smi there). */
function slurmGpu(node: string, index: number): GpuInfo {
  return { index, uuid: `slurm:${node}:gpu${index}`, name: 'gpu', memoryTotalMiB: 0, memoryUsedMiB: 0, processes: 0 };
}

function safeParse(csv: string): GpuInfo[] {
  try {
    return parseGpuCsv(csv, '');
  } catch {
    return [];
  }
}

function pick(env: NodeJS.ProcessEnv, names: string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => env[n] !== undefined).map((n) => [n, env[n]!]));
}

/** Run one Slurm client command; its complaint (stderr) becomes the error's message. */
function slurm(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { env, timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new KitError('NOT_FOUND', `${argv[0]} not found: the Slurm backend runs on a machine with the Slurm client commands (a login node); install slurm-client or use another --backend`));
      }
      const said = stderr.trim().split('\n').filter(Boolean).pop() ?? error.message;
      reject(new KitError(argv[0] === 'sbatch' ? 'INVALID_ARGUMENT' : 'NETWORK', `${argv[0]}: ${said.replace(/^\w+: error: /, '')}`));
    });
  });
}
