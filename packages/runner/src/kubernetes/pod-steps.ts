/**
 * The two steps of a run's pod that run `kit` itself (`kit pod-step materialize|package`, in the
 * kit image): pull the pinned input and unpack the layers the run file selects, as `kit run` does on
 * a host; and, on rank 0 after training, pack the outputs as a new ModelKit with provenance and
 * push it. Their result or failure goes to the container's termination message for the submitter.
 */
import type { KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extractTar, KitError, openLocal, parseFilter, sha256Digest, type LocalStore } from '@modelkit/core';
import { parseDockerReference, pullModelKit, type RegistryClient } from '@modelkit/registry';
import { savedGpus } from '../gpu/nvidia-smi.js';
import { runInputArchives } from '../materialize.js';
import { packageRun, pushRunOutput } from '../package-run.js';
import { redact } from '../recorder.js';
import { findRunFile } from '../runfile-in-kit.js';
import { PUSH_MARKER, RUN_FILES, type PodLayout } from './layout.js';
import type { RunOutput } from './pod-status.js';

/** Termination messages are cut at 4096 bytes by the kubelet. */
const TERMINATION_LIMIT = 4096;

export interface PodStepBase {
  store: LocalStore;
  client: RegistryClient;
  /** `registry/repository@sha256:…`, as the submitter pinned it. */
  input: string;
  layout: PodLayout;
  log: (line: string) => void;
}

export async function materializeInPod(options: PodStepBase & { inputs?: string[] }): Promise<void> {
  const { layout, store, input } = options;
  // The train image may run as any user: it must be able to write its outputs and scratch files.
  for (const dir of [layout.inputs, layout.outputs, layout.run]) {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o777);
  }
  const filters = (options.inputs ?? []).map(parseFilter);
  const { repository, target } = options.client.repository(pinned(input));
  // The code layers come too: they carry the run file the package step reads back.
  const pullFilters = filters.length > 0 ? [...filters, parseFilter('code')] : [];
  options.log(`[kit] pulling ${input}${filters.length > 0 ? ` (${options.inputs!.join(', ')}, and the code for the run file)` : ''}`);
  const pulled = await pullModelKit({ store, repository, reference: target, filters: pullFilters });
  const { contents } = await openLocal(store, pulled.descriptor.digest, input);
  for (const archive of runInputArchives(store, contents, options.inputs)) {
    options.log(`[kit] unpacking ${archive.what}`);
    await extractTar(archive.tar(), layout.inputs, `input for ${layout.inputs}`);
  }
  await chmod(layout.inputs, 0o777);
  options.log(`[kit] inputs ready in ${layout.inputs} (${pulled.bytesDownloaded} bytes downloaded)`);
}

export interface PackageStepOptions extends PodStepBase {
  runId: string;
  /** The Job's name and namespace, for provenance. */
  job: string;
  namespace: string;
  nodes: number;
  tags: string[];
  key?: KeyObject;
  /** Names of env variables holding secret values, masked in the log before it is hashed. */
  mask: string[];
  env: NodeJS.ProcessEnv;
  /** Which part failed, for the termination message (`push` makes the run push_failed). */
  stage: { current: 'pack' | 'push' };
}

/** Pack and push on rank 0; other ranks have nothing to do. Returns what the output became. */
export async function packageInPod(options: PackageStepOptions): Promise<RunOutput | undefined> {
  const { layout, store, env } = options;
  const rank = env.KIT_NODE_RANK ?? '0';
  if (rank !== '0') {
    options.log(`[kit] node ${rank}: rank 0 packs the output`);
    return undefined;
  }
  if (options.tags.length === 0) throw new KitError('INVALID_ARGUMENT', 'the package step needs -t registry/repository:tag for the output');
  const input = parseDockerReference(pinned(options.input));
  const reference = `${input.registry}/${input.repository}`;
  const kit = await openLocal(store, input.digest!, options.input);
  const { contents } = kit;
  const runFile = await findRunFile(store, contents, options.input);
  const read = (name: string) => readFile(join(layout.run, name)).catch(() => undefined);

  const secrets = options.mask.map((n) => env[n] ?? '').filter((v) => v.length > 0);
  const log = redact((await read(RUN_FILES.log)) ?? Buffer.alloc(0), secrets);
  const gpus = savedGpus((await read(RUN_FILES.gpus))?.toString('utf8'), (await read(RUN_FILES.banner))?.toString('utf8'));
  const node = env.KIT_NODE_NAME || 'unknown';
  const now = new Date().toISOString();
  const output = await packageRun(store, {
    runId: options.runId,
    input: { reference, descriptor: kit.descriptor, contents },
    runFile,
    outputsDir: layout.outputs,
    backend: 'kubernetes',
    host: node,
    gpus,
    job: { scheduler: 'kubernetes', id: options.job, nodes: [node], namespace: options.namespace, completions: options.nodes },
    startedOn: (await read(RUN_FILES.startedOn))?.toString('utf8').trim() || now,
    finishedOn: (await read(RUN_FILES.finishedOn))?.toString('utf8').trim() || now,
    log: { digest: sha256Digest(log), size: log.length },
    tags: options.tags,
    key: options.key,
  });
  const references = output.references.map((r) => `${r.registry}/${r.repository}:${r.tag}`);
  options.log(`[kit] packed ${output.descriptor.digest}`);

  options.stage.current = 'push';
  options.log(`${PUSH_MARKER} to ${references.join(', ')}`);
  // The output reuses the input's code, datasets and docs by digest; the push reads every blob from
  // the local store, so the ones the run did not select are fetched now (those already here are not).
  const from = options.client.repository(pinned(options.input));
  await pullModelKit({ store, repository: from.repository, reference: from.target, filters: [parseFilter('code,datasets,docs,prompts')] });
  const first = parseDockerReference(references[0]!);
  await pushRunOutput(store, options.client, references, first.registry === input.registry && first.repository !== input.repository ? [input.repository] : undefined);
  options.log(`[kit] pushed ${output.descriptor.digest}`);
  return { digest: output.descriptor.digest, references, gpus: gpus.map((g) => g.uuid) };
}

function pinned(input: string): string {
  if (!/@sha256:[0-9a-f]{64}$/.test(input)) throw new KitError('INVALID_ARGUMENT', `${input}: a pod step takes the input pinned by digest (registry/repository@sha256:…)`);
  return input;
}

/** The container's termination message: what the submitter reads back (the kubelet keeps 4 KiB). */
export async function writeTermination(layout: PodLayout, message: string): Promise<void> {
  await writeFile(layout.terminationLog, message.slice(0, TERMINATION_LIMIT)).catch(() => undefined);
}

/** A failed step's termination message: its KitError code and stage, so the run's reason can name them. */
export function failureMessage(e: unknown, stage: string): string {
  const code = e instanceof KitError ? e.code : 'ERROR';
  return JSON.stringify({ error: code, stage, message: (e as Error)?.message?.slice(0, 2000) });
}
