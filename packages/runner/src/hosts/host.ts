/**
 * Where a run executes. The engine (fetch inputs, pick GPUs, run setup then run, pack outputs) is
 * the same for every backend; a host only knows how to place files, start and stop processes and
 * hand the outputs back. Local and SSH hosts run steps themselves; a batch scheduler (Slurm) takes
 * the whole job and places it (scheduler.ts).
 */

/** One GPU as nvidia-smi reports it. */
export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
  /** Compute processes on it right now. */
  processes: number;
  driverVersion?: string;
  cudaVersion?: string;
}

/** A run's directories on the host. */
export interface Workspace {
  root: string;
  /** Materialized input layers (the unpacked ModelKit). */
  inputs: string;
  /** What the run writes; the only output contract. */
  outputs: string;
}

export interface StepResult {
  /** Exit status, or null when killed by a signal. */
  exitCode: number | null;
  signal?: string;
}

export interface StepHandle {
  /** Settles when the step has ended (its whole process group). */
  done: Promise<StepResult>;
  /** Stop the whole process group: SIGTERM, then SIGKILL after a grace period. */
  cancel(): Promise<void>;
}

/** Where a run's files live: what every backend does, whether it runs steps itself or submits a job. */
export interface Placement {
  /** "local", "ssh://user@host:port" or "slurm", for logs, states and provenance. */
  readonly description: string;
  /** The host's name as provenance records it. */
  hostname(): Promise<string>;
  createWorkspace(runId: string): Promise<Workspace>;
  /** Extract an uncompressed tar stream into `dir` (inside the workspace), refusing unsafe entries. */
  extractTar(tar: AsyncIterable<Buffer>, dir: string): Promise<void>;
  /** A local directory holding the run's outputs (the workspace itself for a local host, a download for a remote one). */
  fetchOutputs(workspace: Workspace, localDir: string): Promise<string>;
  /** Remove the workspace. */
  cleanup(workspace: Workspace): Promise<void>;
  close(): Promise<void>;
}

/** A host that runs the steps itself: it lists and reserves GPUs, and starts processes. */
export interface ExecutionHost extends Placement {
  /** GPUs on the host; [] when it has none or no nvidia-smi. */
  listGpus(): Promise<GpuInfo[]>;
  /**
   * Reserve GPUs for a run so that no other run shares them; throws KitError INVALID_ARGUMENT
   * naming the busy GPU. The returned function releases them.
   */
  reserveGpus(uuids: string[], runId: string): Promise<() => Promise<void>>;
  /** GPUs other runs hold now, so selection can skip them instead of failing at reservation. */
  reservedGpus?(): Promise<Set<string>>;
  /**
   * Start a shell script (bash -e) in the workspace with `env`, in its own process group, its
   * stdout and stderr together passed to `onOutput` as they come.
   */
  runStep(workspace: Workspace, name: 'setup' | 'run', script: string, env: Record<string, string>, onOutput: (chunk: Buffer) => void): Promise<StepHandle>;
}
