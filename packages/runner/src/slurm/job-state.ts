/**
 * Slurm's view of a job (`scontrol show job -o`) and how it maps onto the runner's states.
 * Job states after Slurm's `squeue(1)` JOB STATE CODES.
 */
import type { JobEnd, JobPhase } from '../hosts/scheduler.js';

export interface SlurmJob {
  id: string;
  state: string;
  reason?: string;
  /** `ExitCode=N:S`: the batch script's exit status and the signal that ended it (0 for none). */
  exitCode?: number;
  signal?: number;
  nodeList?: string;
}

const PENDING = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING', 'SUSPENDED', 'STOPPED', 'SPECIAL_EXIT', 'RESV_DEL_HOLD']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT']);
/** Ended by the cluster, not by the run: the interruption a run file's retry can name. */
const INTERRUPTED = new Set(['NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL']);

/** One job from `scontrol show job -o ID` (one line per job). */
export function parseScontrolJob(text: string): SlurmJob | undefined {
  const line = text.split('\n').find((l) => /(^| )JobId=/.test(l));
  if (!line) return undefined;
  const get = (key: string) => new RegExp(`(?:^| )${key}=(\\S*)`).exec(line)?.[1];
  const exit = /^(\d+):(\d+)$/.exec(get('ExitCode') ?? '');
  return {
    id: get('JobId')!,
    state: (get('JobState') ?? 'UNKNOWN').replace(/\+$/, ''),
    reason: get('Reason') === 'None' ? undefined : get('Reason'),
    ...(exit && { exitCode: Number(exit[1]), signal: Number(exit[2]) }),
    nodeList: get('NodeList') === '(null)' ? undefined : get('NodeList'),
  };
}

/** The job's line of `sacct -j ID -X -n -P -o JobID,State,ExitCode` ("42|CANCELLED by 0|0:15"). */
export function parseSacct(text: string): SlurmJob | undefined {
  const line = text.split('\n').find((l) => /^\d+\|/.test(l));
  if (!line) return undefined;
  const [id, state, exit] = line.split('|');
  const code = /^(\d+):(\d+)$/.exec(exit ?? '');
  return { id: id!, state: state!.split(' ')[0]!.replace(/\+$/, ''), ...(code && { exitCode: Number(code[1]), signal: Number(code[2]) }) };
}

/** `0-1,3` -> [0, 1, 3]. */
export function expandIndices(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    if (b === undefined) return [a!];
    return Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

export type SlurmView = { ended: false; phase: 'pending' | 'started'; reason?: string } | { ended: true };

export function slurmView(job: SlurmJob): SlurmView {
  if (PENDING.has(job.state)) return { ended: false, phase: 'pending', reason: job.reason };
  if (RUNNING.has(job.state)) return { ended: false, phase: 'started' };
  return { ended: true };
}

/**
 * How a job ended. `marker` is what the batch script wrote (`setup 1`, `run 0`), absent when it was
 * stopped before writing; Slurm's state decides cancel, timeout and interruption.
 */
export function jobEnd(job: SlurmJob, marker: string | undefined, phase: JobPhase | undefined): JobEnd {
  const written = /^(setup|run) (\d+)$/.exec(marker?.trim() ?? '');
  const step: JobEnd['step'] = written ? (written[1] as 'setup' | 'run') : phase === 'running' ? 'run' : 'setup';
  const signalName = job.signal ? `SIG${job.signal}` : undefined;
  const exitCode = written ? Number(written[2]) : (job.exitCode ?? null);
  const detail = `slurm:${job.state}`;
  switch (job.state) {
    case 'COMPLETED':
      return written && Number(written[2]) !== 0 ? { outcome: 'failed', step, exitCode, detail } : { outcome: 'succeeded', step: 'run', exitCode: 0, detail };
    case 'CANCELLED':
      return { outcome: 'cancelled', step, exitCode: null, detail };
    case 'TIMEOUT':
    case 'DEADLINE':
      return { outcome: 'timed_out', step, exitCode: null, detail };
    default:
      if (INTERRUPTED.has(job.state)) return { outcome: 'interrupted', step, exitCode: null, detail };
      // FAILED, OUT_OF_MEMORY and anything newer: the job failed in the step it was in.
      return { outcome: 'failed', step, exitCode: exitCode === 0 ? null : exitCode, ...(signalName && !written && { signal: signalName }), detail };
  }
}
