/**
 * A batch scheduler as a backend (Slurm): the run's files are placed where the cluster's nodes see
 * them, then setup and run go in as one job that the scheduler queues, places on nodes and GPUs,
 * limits in time and reports on. The engine only submits, follows and cancels.
 */
import type { GpuRequest, RunFile } from '../runfile/index.js';
import type { GpuInfo, Placement, Workspace } from './host.js';

export interface JobRequest {
  runId: string;
  workspace: Workspace;
  setup: string[];
  run: string[];
  /** The run file's env and the run-wide part of the environment contract; per-node values the job sets. */
  env: Record<string, string>;
  /** Secret values, handed to the job without appearing in any script, manifest or log. */
  secrets: Record<string, string>;
  resources: RunFile['resources'];
  gpu?: GpuRequest;
  nodes: number;
  maxDurationMs?: number;
}

/** Where a submitted job stands before it ends. */
export type JobPhase = 'pending' | 'setting_up' | 'running';

export interface JobEnd {
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'timed_out' | 'interrupted';
  /** The step it ended in: a failed setup is failed_setup, as on a host. */
  step: 'setup' | 'run';
  exitCode: number | null;
  signal?: string;
  /** The scheduler's own word for the end, e.g. slurm:NODE_FAIL. */
  detail?: string;
}

export interface JobAllocation {
  nodes: string[];
  gpus: GpuInfo[];
}

export interface SubmittedJob {
  /** The scheduler's id for the job. */
  id: string;
  done: Promise<JobEnd>;
  /** Ask the scheduler to stop it; `done` then settles as cancelled. */
  cancel(): Promise<void>;
  /** The nodes and GPUs it was given (empty before it started). */
  allocation(): Promise<JobAllocation>;
}

export interface JobEvents {
  /** The scheduler accepted the job: called once, before any phase. */
  onSubmitted(id: string): void;
  onOutput(chunk: Buffer): void;
  onPhase(phase: JobPhase, detail?: string): void;
}

export interface Scheduler extends Placement {
  readonly scheduler: 'slurm';
  submit(job: JobRequest, events: JobEvents): Promise<SubmittedJob>;
}

export function isScheduler(backend: Placement): backend is Scheduler {
  return typeof (backend as Partial<Scheduler>).submit === 'function';
}
