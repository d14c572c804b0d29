import { createHash, type KeyObject } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import {
  attachLocal,
  describeModelKit,
  KitError,
  layerSelected,
  parseFilter,
  resolveLocal,
  type Descriptor,
  type LocalStore,
  type PackResult,
} from '@modelkit/core';
import { gpuEnvironment, selectGpus } from './gpu/index.js';
import type { ExecutionHost, GpuInfo, StepHandle, Workspace } from './hosts/host.js';
import { inputArchives } from './materialize.js';
import { packOutputs, planOutputs } from './outputs.js';
import { provenancePayload, provenanceStatement } from './provenance.js';
import { parseGpuSpec, type RunFile } from './runfile/index.js';
import { findRunFile } from './runfile-in-kit.js';
import { FINISHED, RunStore, type RunState, type RunStatus } from './state.js';

export interface RunOptions {
  store: LocalStore;
  runs: RunStore;
  host: ExecutionHost;
  /** What the user named (a reference or a directory), for states and messages. */
  input: string;
  /** Bring the input into the local store (pack a directory, pull a reference) and say what it is. */
  resolveInput: () => Promise<{ reference: string; descriptor: Descriptor }>;
  /** Overrides the run file's resources.gpu (dstack grammar). */
  gpus?: string;
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
 * selected layers on the host, run setup then run (logs streamed and kept), pack the outputs as a
 * new ModelKit reusing the input's layers, attach SLSA provenance, push. Every state change is
 * persisted, and the run always ends in a finished state with its reason.
 */
export async function runModelKit(options: RunOptions): Promise<RunState> {
  const { runs, host, store } = options;
  let state = await runs.create({ id: options.runId ?? RunStore.newRunId(), input: options.input, backend: host.description, pid: process.pid });
  const update: Update = async (status, extra = {}) => {
    state = { ...state, ...extra, status };
    if (FINISHED.has(status)) state.finishedAt = new Date().toISOString();
    await runs.write(state);
    options.onStatus?.(state);
    return state;
  };
  let phase: 'prepare' | 'gpus' | 'steps' = 'prepare';
  const log = createWriteStream(runs.logPath(state.id), { flags: 'a', mode: 0o600 });
  const logHash = createHash('sha256');
  let logSize = 0;
  let secrets: string[] = [];
  const emit = (chunk: Buffer) => {
    const clean = redact(chunk, secrets);
    log.write(clean);
    logHash.update(clean);
    logSize += clean.length;
    options.onLog?.(clean);
  };
  let release: (() => Promise<void>) | undefined;
  let workspace: Workspace | undefined;
  try {
    await update('fetching');
    const resolved = await options.resolveInput();
    const kit = await resolveLocal(store, resolved.descriptor.digest);
    const contents = describeModelKit(kit.manifest, await store.readBlob(kit.manifest.config, 'config'), options.input);
    const runFile = await findRunFile(store, contents, options.input);
    const spec = runFile.runFile;
    secrets = secretValues(spec, options.environment ?? process.env);
    await update('fetching', { inputDigest: resolved.descriptor.digest, host: await host.hostname(), startedAt: new Date().toISOString() });

    // retry (dstack's semantics): the listed events start the failed part over while the window lasts.
    const retryUntil = spec.retry ? Date.now() + spec.retry.durationMs : 0;
    const mayRetry = (event: 'no_capacity' | 'error') => !!spec.retry?.onEvents.includes(event) && Date.now() < retryUntil && !options.signal?.aborted;
    phase = 'gpus';
    let gpus: GpuInfo[];
    for (;;) {
      try {
        gpus = await pickGpus(host, spec, options.gpus);
        if (gpus.length > 0) release = await host.reserveGpus(gpus.map((g) => g.uuid), state.id);
        break;
      } catch (e) {
        if (!(e instanceof KitError) || !mayRetry('no_capacity')) throw e;
        emit(Buffer.from(`[kit] no capacity (${e.message}); retrying\n`));
        await sleep(options.retryDelayMs ?? 10_000);
      }
    }
    phase = 'steps';
    await update('fetching', { gpus: gpus.map((g) => g.uuid) });

    workspace = await host.createWorkspace(state.id);
    const filters = (spec.inputs ?? []).map(parseFilter);
    const selected = contents.layers.filter((l) => layerSelected(filters, l.kind, l.element));
    for (const archive of inputArchives(store, selected, contents.kitfile)) await host.extractTar(archive.tar(), workspace.inputs);

    const env = runEnvironment(spec, state.id, workspace, gpus, options.environment ?? process.env);
    const started = new Date().toISOString();
    if (spec.setup.length > 0) {
      await update('setting_up');
      const ended = await runStep(host, workspace, 'setup', spec.setup, env, emit, spec.maxDurationMs, options.signal);
      if (ended.status !== 'ok') return await finish(update, ended, 'failed_setup');
    }
    await update('running');
    let ended = await runStep(host, workspace, 'run', spec.run, env, emit, spec.maxDurationMs, options.signal);
    while (ended.status === 'exit' && mayRetry('error')) {
      emit(Buffer.from(`[kit] run ended with ${ended.signal ?? `exit code ${ended.exitCode}`}; retrying\n`));
      ended = await runStep(host, workspace, 'run', spec.run, env, emit, spec.maxDurationMs, options.signal);
    }
    if (ended.status !== 'ok') return await finish(update, ended, 'failed');

    await update('packaging');
    const outputsDir = await host.fetchOutputs(workspace, join(runs.dir(state.id), 'outputs'));
    const plan = await planOutputs(contents, spec, outputsDir, { reference: resolved.reference, digest: resolved.descriptor.digest, runId: state.id });
    const output = await packOutputs(store, outputsDir, plan, options.tags);
    await new Promise<void>((done) => log.end(done));
    const statement = provenanceStatement(output.descriptor, {
      runId: state.id,
      backend: host.description,
      host: state.host!,
      input: { reference: resolved.reference, digest: resolved.descriptor.digest, mediaType: resolved.descriptor.mediaType },
      outputName: output.references[0] ? `${output.references[0].registry}/${output.references[0].repository}` : resolved.reference,
      runFile: { path: runFile.path, digest: runFile.digest, content: spec },
      command: { setup: spec.setup, run: spec.run },
      env: spec.env,
      secretNames: spec.secrets,
      resources: spec.resources,
      gpus: gpus.map((g) => ({ uuid: g.uuid, name: g.name, memoryTotalMiB: g.memoryTotalMiB })),
      driverVersion: gpus[0]?.driverVersion,
      cudaVersion: gpus[0]?.cudaVersion,
      startedOn: started,
      finishedOn: new Date().toISOString(),
      log: { digest: `sha256:${logHash.digest('hex')}`, size: logSize },
      exitCode: 0,
    });
    await attachLocal(store, output.descriptor, provenancePayload(output.descriptor, statement, options.key));
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
    await update('succeeded', { exitCode: 0, terminationReason: 'exit_code:0' });
    return state;
  } catch (e) {
    if (!FINISHED.has(state.status)) {
      const reason = phase === 'gpus' ? 'no_capacity' : e instanceof KitError ? `error:${e.code}` : 'error';
      await update('failed', { terminationReason: reason });
    }
    throw e;
  } finally {
    if (!log.closed) log.end();
    await release?.().catch(() => undefined);
    if (workspace && !options.keepWorkspace) await host.cleanup(workspace).catch(() => undefined);
  }
}

type Update = (status: RunStatus, extra?: Partial<RunState>) => Promise<RunState>;

type StepEnd = { status: 'ok' } | { status: 'exit'; exitCode: number | null; signal?: string } | { status: 'timed_out' } | { status: 'cancelled' };

/** One step under max_duration and cancellation; the host stops its whole process group either way. */
async function runStep(host: ExecutionHost, workspace: Workspace, name: 'setup' | 'run', commands: string[], env: Record<string, string>, emit: (c: Buffer) => void, maxMs: number | undefined, signal?: AbortSignal): Promise<StepEnd> {
  if (signal?.aborted) return { status: 'cancelled' };
  const step: StepHandle = await host.runStep(workspace, name, `${commands.join('\n')}\n`, env, emit);
  let stopped: 'timed_out' | 'cancelled' | undefined;
  const stop = (why: 'timed_out' | 'cancelled') => {
    stopped ??= why;
    void step.cancel();
  };
  const timer = maxMs ? setTimeout(() => stop('timed_out'), maxMs) : undefined;
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
function finish(update: Update, ended: Exclude<StepEnd, { status: 'ok' }>, failure: 'failed' | 'failed_setup'): Promise<RunState> {
  if (ended.status === 'timed_out') return update('timed_out', { terminationReason: 'max_duration_exceeded' });
  if (ended.status === 'cancelled') return update('cancelled', { terminationReason: 'interrupted' });
  return update(failure, { exitCode: ended.exitCode, terminationReason: ended.signal ? `signal:${ended.signal}` : `exit_code:${ended.exitCode}` });
}

async function pickGpus(host: ExecutionHost, spec: RunFile, override: string | undefined): Promise<GpuInfo[]> {
  const request = override ? parseGpuSpec(override, '--gpus') : spec.resources.gpu;
  if (!request) return [];
  return selectGpus(request, await host.listGpus(), await host.reservedGpus?.());
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
    KIT_RUN_ID: runId,
    KIT_INPUT_DIR: workspace.inputs,
    KIT_OUTPUT_DIR: workspace.outputs,
    KIT_NODE_RANK: '0',
    KIT_NODE_COUNT: '1',
    KIT_GPUS_PER_NODE: String(gpus.length),
    KIT_MASTER_ADDR: '127.0.0.1',
  };
}

function redact(chunk: Buffer, secrets: string[]): Buffer {
  if (secrets.length === 0) return chunk;
  let text = chunk.toString('utf8');
  let changed = false;
  for (const s of secrets) {
    if (text.includes(s)) {
      text = text.split(s).join('***');
      changed = true;
    }
  }
  return changed ? Buffer.from(text) : chunk;
}
