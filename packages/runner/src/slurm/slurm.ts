import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KitError } from '@modelkit/core';
import { savedGpus } from '../gpu/nvidia-smi.js';
import type { GpuInfo, Workspace } from '../hosts/host.js';
import type { JobAllocation, JobEnd, JobEvents, JobPhase, JobRequest, Scheduler, SubmittedJob } from '../hosts/scheduler.js';
import { batchFiles, JOB_FILES, type SlurmJobOptions } from './batch-script.js';
import { expandIndices, jobEnd, parseSacct, parseScontrolJob, slurmView, type SlurmJob } from './job-state.js';
import { readText, type ClusterShell } from './shell.js';

export interface SlurmOptions extends SlurmJobOptions {
  /** Where Slurm commands run and run directories live (on a filesystem every node mounts at the same path). */
  shell: ClusterShell;
  /** How often to ask slurmctld about the job (default 1 s). */
  pollMs?: number;
}

/** How long slurmctld may stay unreachable while a job is followed before the run gives up on it. */
const CONTROLLER_PATIENCE_MS = 5 * 60_000;

/**
 * Slurm as a backend: the run's workspace goes on the shared filesystem, setup and run go in as one
 * sbatch job, and the job is followed with scontrol (its output file streamed as it grows) until
 * Slurm says how it ended. Cancel is scancel; the time limit is max_duration.
 */
export class SlurmScheduler implements Scheduler {
  readonly scheduler = 'slurm';
  readonly description: string;
  private readonly shell: ClusterShell;

  constructor(private readonly options: SlurmOptions) {
    this.shell = options.shell;
    this.description = options.shell.description;
  }

  /** The cluster's name (slurm.conf ClusterName), as provenance records the host. */
  async hostname(): Promise<string> {
    const config = await this.shell.command(['scontrol', 'show', 'config']);
    return /^ClusterName\s*=\s*(\S+)/m.exec(config)?.[1] ?? 'slurm';
  }

  createWorkspace(runId: string): Promise<Workspace> {
    return this.shell.files.createWorkspace(runId);
  }

  extractTar(tar: AsyncIterable<Buffer>, dir: string): Promise<void> {
    return this.shell.files.extractTar(tar, dir);
  }

  fetchOutputs(workspace: Workspace, localDir: string): Promise<string> {
    return this.shell.files.fetchOutputs(workspace, localDir);
  }

  cleanup(workspace: Workspace): Promise<void> {
    return this.shell.files.cleanup(workspace);
  }

  close(): Promise<void> {
    return this.shell.close();
  }

  async submit(request: JobRequest, events: JobEvents): Promise<SubmittedJob> {
    const jobDir = posix.join(request.workspace.root, JOB_FILES.dir);
    const files = batchFiles(request, jobDir, this.options);
    // A resubmission (retry) starts from clean markers and an empty output file.
    await this.shell.writeJobFiles(
      jobDir,
      [
        { name: JOB_FILES.script, content: files.script, executable: true },
        { name: JOB_FILES.node, content: files.node, executable: true },
        { name: JOB_FILES.setup, content: files.setup },
        { name: JOB_FILES.run, content: files.run },
        ...[JOB_FILES.phase, JOB_FILES.exit, JOB_FILES.log].map((name) => ({ name, content: '' })),
      ],
      [JOB_FILES.status, JOB_FILES.nodeGpus, JOB_FILES.gpusPrefix],
    );
    for (const warning of files.warnings) events.onOutput(Buffer.from(`[kit] ${warning}\n`));

    // Values reach the job through sbatch's environment (--export=ALL), never through the script.
    const out = await this.shell.command(['sbatch', '--parsable', ...files.args, posix.join(jobDir, JOB_FILES.script)], { ...request.env, ...request.secrets }).catch((e: unknown) => {
      if (e instanceof KitError && e.code === 'INVALID_ARGUMENT') throw new KitError('INVALID_ARGUMENT', `Slurm refused the job: ${e.message}; check --partition, --nodes and resources in the run file against \`sinfo\``);
      throw e;
    });
    const id = out.trim().split(';')[0]!;
    if (!/^\d+$/.test(id)) throw new KitError('NETWORK', `sbatch printed "${out.trim()}" instead of a job id`);
    events.onSubmitted(id);
    const follower = new JobFollower(this.shell, id, jobDir, events, this.options.pollMs ?? 1000);
    const done = follower.follow();
    return {
      id,
      done,
      cancel: async () => {
        await this.shell.command(['scancel', id]).catch(() => undefined);
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
    private readonly shell: ClusterShell,
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
    const names = await this.shell.list(this.jobDir);
    const nodes = names.filter((n) => n.startsWith(JOB_FILES.nodeGpus)).map((n) => n.slice(JOB_FILES.nodeGpus.length)).sort();
    const gpus: GpuInfo[] = [];
    for (const node of nodes) {
      const given = (await this.read(`${JOB_FILES.nodeGpus}${node}`))?.trim() ?? '';
      const indices = given === '' ? [] : expandIndices(given);
      if (indices.length === 0) continue;
      const listed = names.includes(JOB_FILES.gpus(node)) ? savedGpus(await this.read(JOB_FILES.gpus(node))) : [];
      // nvidia-smi inside a cgroup-confined job lists only the job's GPUs; outside one it lists all.
      const mine = listed.length === indices.length ? listed : listed.filter((g) => indices.includes(g.index));
      gpus.push(...(mine.length > 0 ? mine : indices.map((index) => slurmGpu(node, index))));
    }
    return { nodes, gpus };
  }

  private async query(): Promise<SlurmJob | undefined> {
    try {
      return parseScontrolJob(await this.shell.command(['scontrol', 'show', 'job', '-o', this.id]));
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
    const accounted = await this.shell.command(['sacct', '-j', this.id, '-X', '-n', '-P', '-o', 'JobID,State,ExitCode']).then(parseSacct, () => undefined);
    if (accounted) return jobEnd({ ...accounted, id: this.id }, marker, this.phase);
    const state = /^run 0$/.test(marker?.trim() ?? '') ? 'COMPLETED' : 'FAILED';
    return jobEnd({ id: this.id, state }, marker, this.phase);
  }

  private async read(name: string): Promise<string | undefined> {
    return (await readText(this.shell, posix.join(this.jobDir, name))) || undefined;
  }

  /** Send what the job's output file gained since the last look. */
  private async drainLog(): Promise<void> {
    const more = await this.shell.readFrom(posix.join(this.jobDir, JOB_FILES.log), this.offset);
    if (more.length === 0) return;
    this.offset += more.length;
    this.events.onOutput(more);
  }
}

/** scancel a run's job directly: for `kit runs cancel` when the kit process that followed it is gone. */
export async function cancelSlurmJob(shell: ClusterShell, jobId: string): Promise<void> {
  await shell.command(['scancel', jobId]);
}

/** A GPU as Slurm knows it: an index on a node, with no name or UUID (no nvidia-smi there). */
function slurmGpu(node: string, index: number): GpuInfo {
  return { index, uuid: `slurm:${node}:gpu${index}`, name: 'gpu', memoryTotalMiB: 0, memoryUsedMiB: 0, processes: 0 };
}
