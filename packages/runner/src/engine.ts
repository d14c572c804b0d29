import type { KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { KitError, openLocal, type Descriptor, type LocalStore, type PackResult } from '@modelkit/core';
import { gpuEnvironment, selectGpus } from './gpu/index.js';
import type { ExecutionHost, GpuInfo, StepHandle, Workspace } from './hosts/host.js';
import { isScheduler, type JobEnd, type JobRequest, type Scheduler, type SubmittedJob } from './hosts/scheduler.js';
import { runInputArchives } from './materialize.js';
import { packageRun, type FinishedRun } from './package-run.js';
import { RunRecorder, type RunUpdate } from './recorder.js';
import { parseGpuSpec, type GpuRequest, type RetryEvent, type RunFile } from './runfile/index.js';
import { findRunFile } from './runfile-in-kit.js';
import { FINISHED, RunStore, type RunState } from './state.js';

export interface RunOptions {
  store: LocalStore;
  runs: RunStore;
  /** A host that runs the steps (local, SSH) or a scheduler that takes the job (Slurm). */
  host: ExecutionHost | Scheduler;
  /** What the user named (a reference or a directory), for states and messages. */
  input: string;
  /** Bring the input into the local store (pack a directory, pull a reference) and say what it is. */
  resolveInput: () => Promise<{ reference: string; descriptor: Descriptor }>;
  /** Overrides the run file's resources.gpu (dstack grammar). */
  gpus?: string;
  /** Overrides the run file's nodes. */
  nodes?: number;
  /** Tags for the output ModelKit. */
  tags: string[];
  /** Sign the provenance with this key. */
  key?: KeyObject;
  /** Where secret values come from. */
  environment?: NodeJS.ProcessEnv;
  onLog?: (chunk: Buffer) => void;
  onStatus?: (state: RunState) => void;
  /** Push the output (and its referrers) once packed. */
  push?: (output: PackResult) => Promise<void>;
  /** Aborting cancels the run: the step's whole process group is stopped. */
  signal?: AbortSignal;
  keepWorkspace?: boolean;
  runId?: string;
  /** Wait between no-capacity retries (default 10 s). */
  retryDelayMs?: number;
}

/**
 * `kit run`: resolve the input to a digest, read its run file, reserve GPUs, materialize the
 * selected layers on the host, run setup then run (logs streamed and kept), or submit both as one
 * job to a scheduler and follow it, pack the outputs as a
 * new ModelKit reusing the input's layers, attach SLSA provenance, push. Every state change is
 * persisted, and the run always ends in a finished state with its reason.
 */
export async function runModelKit(options: RunOptions): Promise<RunState> {
  const { runs, host, store } = options;
  const recorder = await RunRecorder.start(runs, { id: options.runId ?? RunStore.newRunId(), input: options.input, backend: host.description, pid: process.pid }, options);
  const { update, emit } = recorder;
  let phase: 'prepare' | 'gpus' | 'steps' = 'prepare';
  let release: (() => Promise<void>) | undefined;
  let workspace: Workspace | undefined;
  try {
    await update('fetching');
    const resolved = await options.resolveInput();
    const { contents } = await openLocal(store, resolved.descriptor.digest, options.input);
    const runFile = await findRunFile(store, contents, options.input);
    const spec = options.nodes === undefined ? runFile.runFile : { ...runFile.runFile, nodes: options.nodes };
    const environment = options.environment ?? process.env;
    recorder.maskSecrets(secretValues(spec, environment));
    const runId = recorder.state.id;
    await update('fetching', { inputDigest: resolved.descriptor.digest, host: await host.hostname(), startedAt: new Date().toISOString() });

    // retry (dstack's semantics): the listed events start the failed part over while the window lasts.
    const retryUntil = spec.retry ? Date.now() + spec.retry.durationMs : 0;
    const mayRetry = (event: RetryEvent) => !!spec.retry?.onEvents.includes(event) && Date.now() < retryUntil && !options.signal?.aborted;
    const gpuRequest = options.gpus ? parseGpuSpec(options.gpus, '--gpus') : spec.resources.gpu;
    if (spec.nodes > 1 && !isScheduler(host)) {
      throw new KitError('INVALID_ARGUMENT', `the run file asks for nodes: ${spec.nodes}, and the ${host.description} backend runs one node; use --backend slurm (or kubernetes), or set nodes: 1`);
    }
    let gpus: GpuInfo[] = [];
    if (!isScheduler(host)) {
      phase = 'gpus';
      ({ gpus, release } = await reserveHostGpus(host, gpuRequest, runId, mayRetry, emit, options.retryDelayMs ?? 10_000));
      await update('fetching', { gpus: gpus.map((g) => g.uuid) });
    }
    phase = 'steps';

    workspace = await host.createWorkspace(runId);
    for (const archive of runInputArchives(store, contents, spec.inputs)) await host.extractTar(archive.tar(), workspace.inputs);

    const started = new Date().toISOString();
    const executed = isScheduler(host)
      ? await executeJob(host, {
          runId, workspace, setup: spec.setup, run: spec.run,
          env: { ...spec.env, ...contractEnvironment(runId, workspace, spec.nodes) },
          secrets: Object.fromEntries(spec.secrets.map((name) => [name, environment[name] ?? ''])),
          resources: spec.resources, gpu: gpuRequest, nodes: spec.nodes, maxDurationMs: spec.maxDurationMs,
        }, recorder, mayRetry, options.signal)
      : await executeSteps(host, workspace, spec, runEnvironment(spec, runId, workspace, gpus, environment), recorder, mayRetry, options.signal);
    if ('ended' in executed) return executed.ended;
    const job = executed.job;
    if (executed.gpus) gpus = executed.gpus;

    await update('packaging');
    const outputsDir = await host.fetchOutputs(workspace, join(runs.dir(runId), 'outputs'));
    const output = await packageRun(store, {
      runId,
      input: { reference: resolved.reference, descriptor: resolved.descriptor, contents },
      runFile: { ...runFile, runFile: spec },
      outputsDir,
      backend: host.description,
      host: recorder.state.host!,
      gpus,
      job,
      startedOn: started,
      finishedOn: new Date().toISOString(),
      log: await recorder.closeLog(),
      tags: options.tags,
      key: options.key,
    });
    const references = output.references.map((r) => `${r.registry}/${r.repository}:${r.tag}`);
    await update('packaging', { output: { digest: output.descriptor.digest, references } });
    if (options.push) {
      await update('pushing');
      try {
        await options.push(output);
      } catch (e) {
        await update('failed', { terminationReason: 'push_failed' });
        throw e;
      }
    }
    return await update('succeeded', { exitCode: 0, terminationReason: 'exit_code:0' });
  } catch (e) {
    if (!FINISHED.has(recorder.state.status)) {
      const reason = phase === 'gpus' ? 'no_capacity' : e instanceof KitError ? `error:${e.code}` : 'error';
      await update('failed', { terminationReason: reason });
    }
    throw e;
  } finally {
    recorder.release();
    await release?.().catch(() => undefined);
    if (workspace && !options.keepWorkspace) await host.cleanup(workspace).catch(() => undefined);
  }
}

/** Pick free GPUs on a host and lock them; no capacity is retried while the run file allows. */
async function reserveHostGpus(host: ExecutionHost, request: GpuRequest | undefined, runId: string, mayRetry: (event: RetryEvent) => boolean, emit: (c: Buffer) => void, delayMs: number): Promise<{ gpus: GpuInfo[]; release?: () => Promise<void> }> {
  for (;;) {
    try {
      const gpus = request ? selectGpus(request, await host.listGpus(), await host.reservedGpus?.()) : [];
      return { gpus, release: gpus.length > 0 ? await host.reserveGpus(gpus.map((g) => g.uuid), runId) : undefined };
    } catch (e) {
      if (!(e instanceof KitError) || !mayRetry('no_capacity')) throw e;
      emit(Buffer.from(`[kit] no capacity (${e.message}); retrying\n`));
      await sleep(delayMs);
    }
  }
}

/** What executing the steps left: a run that ended there, or what packaging needs to know. */
type Executed = { ended: RunState } | { gpus?: GpuInfo[]; job?: FinishedRun['job'] };

/** On a host: setup then run, each a process group, under one max_duration window; run retried on error when asked. */
async function executeSteps(host: ExecutionHost, workspace: Workspace, spec: RunFile, env: Record<string, string>, recorder: RunRecorder, mayRetry: (event: RetryEvent) => boolean, signal?: AbortSignal): Promise<Executed> {
  const { update, emit } = recorder;
  // max_duration bounds setup and run together, as Slurm's --time bounds the job; a retry starts a new window.
  const deadline = () => (spec.maxDurationMs === undefined ? undefined : Date.now() + spec.maxDurationMs);
  const attemptEnds = deadline();
  if (spec.setup.length > 0) {
    await update('setting_up');
    const ended = await runStep(host, workspace, 'setup', spec.setup, env, emit, attemptEnds, signal);
    if (ended.status !== 'ok') return { ended: await finish(update, ended, 'failed_setup') };
  }
  await update('running');
  let ended = await runStep(host, workspace, 'run', spec.run, env, emit, attemptEnds, signal);
  while (ended.status === 'exit' && mayRetry('error')) {
    emit(Buffer.from(`[kit] run ended with ${ended.signal ?? `exit code ${ended.exitCode}`}; retrying\n`));
    ended = await runStep(host, workspace, 'run', spec.run, env, emit, deadline(), signal);
  }
  return ended.status === 'ok' ? {} : { ended: await finish(update, ended, 'failed') };
}

/** On a scheduler: one job, resubmitted on error or interruption when asked; what it was given goes to provenance. */
async function executeJob(scheduler: Scheduler, request: JobRequest, recorder: RunRecorder, mayRetry: (event: RetryEvent) => boolean, signal?: AbortSignal): Promise<Executed> {
  // Cancelled before anything was submitted; mayRetry is false once cancelled, so retries need no check.
  if (signal?.aborted) return { ended: await finish(recorder.update, { status: 'cancelled' }, 'failed') };
  let attempt = await runJob(scheduler, request, recorder, signal);
  while ((attempt.end.outcome === 'failed' && attempt.end.step === 'run' && mayRetry('error')) || (attempt.end.outcome === 'interrupted' && mayRetry('interruption'))) {
    recorder.emit(Buffer.from(`[kit] job ${attempt.job.id} ended ${attempt.end.detail ?? attempt.end.outcome}; submitting again\n`));
    attempt = await runJob(scheduler, request, recorder, signal);
  }
  const { end } = attempt;
  if (end.outcome !== 'succeeded') {
    // A failure without an exit code (out of memory, a lost node) keeps the scheduler's word for it.
    const reason = end.outcome === 'interrupted' ? 'interrupted' : end.exitCode === null && !end.signal ? end.detail : undefined;
    const ended: Exclude<StepEnd, { status: 'ok' }> = end.outcome === 'failed' || end.outcome === 'interrupted' ? { status: 'exit', exitCode: end.exitCode, signal: end.signal, reason } : { status: end.outcome };
    return { ended: await finish(recorder.update, ended, end.step === 'setup' ? 'failed_setup' : 'failed') };
  }
  const allocation = await attempt.job.allocation();
  await recorder.update('running', { gpus: allocation.gpus.map((g) => g.uuid) });
  return { gpus: allocation.gpus, job: { scheduler: scheduler.scheduler, id: attempt.job.id, nodes: allocation.nodes } };
}

/** One submission of the job, followed to its end; aborting the signal cancels it on the cluster. */
async function runJob(scheduler: Scheduler, request: JobRequest, recorder: RunRecorder, signal?: AbortSignal): Promise<{ job: SubmittedJob; end: JobEnd }> {
  let job: SubmittedJob;
  try {
    job = await scheduler.submit(request, {
      onSubmitted: (id) => void recorder.update('pending', { jobId: id }),
      onOutput: recorder.emit,
      onPhase: (phase, detail) => void recorder.update(phase, { pendingReason: phase === 'pending' ? detail : undefined }),
    });
  } catch (e) {
    // The scheduler refused the request outright (more GPUs or nodes than the cluster has).
    if (e instanceof KitError && e.code === 'INVALID_ARGUMENT') await recorder.update('failed', { terminationReason: 'unschedulable' });
    throw e;
  }
  const onAbort = () => void job.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return { job, end: await job.done };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

type StepEnd = { status: 'ok' } | { status: 'exit'; exitCode: number | null; signal?: string; reason?: string } | { status: 'timed_out' } | { status: 'cancelled' };

/** One step until `deadline` (ms since the epoch) or cancellation; the host stops its whole process group either way. */
async function runStep(host: ExecutionHost, workspace: Workspace, name: 'setup' | 'run', commands: string[], env: Record<string, string>, emit: (c: Buffer) => void, deadline: number | undefined, signal?: AbortSignal): Promise<StepEnd> {
  if (signal?.aborted) return { status: 'cancelled' };
  const step: StepHandle = await host.runStep(workspace, name, `${commands.join('\n')}\n`, env, emit);
  let stopped: 'timed_out' | 'cancelled' | undefined;
  const stop = (why: 'timed_out' | 'cancelled') => {
    stopped ??= why;
    void step.cancel();
  };
  const timer = deadline === undefined ? undefined : setTimeout(() => stop('timed_out'), Math.max(0, deadline - Date.now()));
  const onAbort = () => stop('cancelled');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await step.done;
    if (stopped) return { status: stopped };
    return result.exitCode === 0 ? { status: 'ok' } : { status: 'exit', exitCode: result.exitCode, signal: result.signal };
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The state a step that did not succeed leaves the run in, with its reason. */
function finish(update: RunUpdate, ended: Exclude<StepEnd, { status: 'ok' }>, failure: 'failed' | 'failed_setup'): Promise<RunState> {
  if (ended.status === 'timed_out') return update('timed_out', { terminationReason: 'max_duration_exceeded' });
  if (ended.status === 'cancelled') return update('cancelled', { terminationReason: 'interrupted' });
  return update(failure, { exitCode: ended.exitCode, terminationReason: ended.reason ?? (ended.signal ? `signal:${ended.signal}` : `exit_code:${ended.exitCode}`) });
}

/** Secret values, from the caller's environment; a missing one stops the run before anything starts. */
function secretValues(spec: RunFile, environment: NodeJS.ProcessEnv): string[] {
  const missing = spec.secrets.filter((name) => environment[name] === undefined);
  if (missing.length > 0) throw new KitError('INVALID_ARGUMENT', `the run file asks for secrets ${missing.join(', ')}: set them in your environment (their values are passed to the run, never logged or packed)`);
  return spec.secrets.map((name) => environment[name]!).filter((v) => v.length > 0);
}

/** The environment contract every backend honours (runner.md §8), plus the run file's env and secrets. */
export function runEnvironment(spec: RunFile, runId: string, workspace: Workspace, gpus: GpuInfo[], environment: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = { ...spec.env };
  for (const name of spec.secrets) env[name] = environment[name] ?? '';
  return {
    ...env,
    ...gpuEnvironment(gpus),
    ...contractEnvironment(runId, workspace, 1),
    KIT_NODE_RANK: '0',
    KIT_GPUS_PER_NODE: String(gpus.length),
    KIT_MASTER_ADDR: '127.0.0.1',
  };
}

/** The run-wide part of the contract; a scheduler's job adds the per-node part (rank, GPUs, master address). */
export function contractEnvironment(runId: string, workspace: Workspace, nodes: number): Record<string, string> {
  return { KIT_RUN_ID: runId, KIT_INPUT_DIR: workspace.inputs, KIT_OUTPUT_DIR: workspace.outputs, KIT_NODE_COUNT: String(nodes) };
}
