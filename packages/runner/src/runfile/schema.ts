/**
 * The run file (`kitrun.yaml`): how a ModelKit trains. It is a file of its own, packed with the
 * code, because upstream `kit` rejects unknown Kitfile keys. This module holds its parsed shape
 * and the keys each section allows; spec/runfile.md describes the format for users.
 */

/** File names looked for beside the Kitfile, in this order. */
export const RUNFILE_NAMES = ['kitrun.yaml', 'kitrun.yml'];

/** An inclusive range; a missing max means "no upper bound". */
export interface CountRange {
  min: number;
  max?: number;
}

/** What a run asks of the GPUs on a host, as dstack's GPU spec says it. */
export interface GpuRequest {
  /** Acceptable GPU names (any of them), as written; absent means any GPU. */
  names?: string[];
  /** Memory per GPU, in MiB (1GB = 1024 MiB, as dstack reads sizes). */
  memoryMiB?: { min?: number; max?: number };
  /** How many GPUs; {min: 1, max: 1} when a GPU is asked for without a count. */
  count: CountRange;
}

export const RETRY_EVENTS = ['no_capacity', 'interruption', 'error'] as const;
export type RetryEvent = (typeof RETRY_EVENTS)[number];

export interface RunFile {
  /** Shell commands run once before `run` (dependency installs); a failure here is a setup failure. */
  setup: string[];
  /** Shell commands that train; at least one. */
  run: string[];
  /** Plain environment values, recorded in provenance. */
  env: Record<string, string>;
  /** Names of variables whose values come from the caller's environment; never logged or packed. */
  secrets: string[];
  resources: {
    cpu?: CountRange;
    memoryMiB?: { min: number; max?: number };
    gpu?: GpuRequest;
  };
  /** Which input layers to materialize, in kit's --filter syntax; absent means all of them. */
  inputs?: string[];
  /** Paths relative to the run's outputs directory, normalised (no "./", no trailing "/"). */
  outputs: { model: string; files: string[]; metrics?: string };
  maxDurationMs?: number;
  /** Machines the run spans (dstack's `nodes`); run starts once on each. Default 1. */
  nodes: number;
  /** Container image for backends that run containers (Kubernetes); others ignore it. */
  image?: string;
  retry?: { onEvents: RetryEvent[]; durationMs: number };
}

/** `retry: true`, as dstack reads it. */
export const DEFAULT_RETRY = { onEvents: ['no_capacity', 'interruption'] as RetryEvent[], durationMs: 3_600_000 };

/** Allowed keys per section; anything else is an error, as in the Kitfile. */
export const RUNFILE_KEYS = {
  top: ['setup', 'run', 'env', 'secrets', 'resources', 'inputs', 'outputs', 'max_duration', 'retry', 'nodes', 'image'],
  resources: ['cpu', 'memory', 'gpu'],
  gpu: ['name', 'memory', 'count', 'vendor'],
  outputs: ['model', 'files', 'metrics'],
  retry: ['on_events', 'duration'],
} as const;

/**
 * Keys people bring from dstack or write by habit, with what to use instead. Checked before the
 * edit-distance guess, which cannot know that `commands` means `run`.
 */
export const KEY_HINTS: Readonly<Record<string, string>> = {
  commands: 'write the training commands under run (and install steps under setup)',
  command: 'write the training commands under run (and install steps under setup)',
  environment: 'write plain values under env and secret names under secrets',
  timeout: 'write max_duration, e.g. max_duration: 2h',
  '<<': 'YAML merge keys are not supported in a run file; write the keys out',
};
