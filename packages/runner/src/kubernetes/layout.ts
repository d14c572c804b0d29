/**
 * Where things sit inside a run's pod. Every container mounts the same two volumes under one root
 * (default /kit): the workspace (an emptyDir shared by the pod's steps) and the Secret. The pod
 * steps and the manifests both derive their paths from here, so they cannot disagree.
 */
import { posix } from 'node:path';

export const DEFAULT_MOUNT_ROOT = '/kit';

export interface PodLayout {
  root: string;
  /** The emptyDir every step of the pod shares. */
  work: string;
  /** $KIT_INPUT_DIR: the selected input layers and the Kitfile; the train step's working directory. */
  inputs: string;
  /** $KIT_OUTPUT_DIR. */
  outputs: string;
  /** KITOPS_HOME of the pod's kit steps: the local store the input is pulled into and the output packed in. */
  home: string;
  /** What the train step leaves for the package step: its log, times, exit marker, GPU query. */
  run: string;
  /** The Secret's files (registry credentials, signing key); values for the run's own env come by secretKeyRef. */
  secrets: string;
  /** Where the train and package containers write their termination message. */
  terminationLog: string;
}

export function podLayout(root = DEFAULT_MOUNT_ROOT): PodLayout {
  const work = posix.join(root, 'work');
  return {
    root,
    work,
    inputs: posix.join(work, 'inputs'),
    outputs: posix.join(work, 'outputs'),
    home: posix.join(work, 'home'),
    run: posix.join(work, 'run'),
    secrets: posix.join(root, 'secrets'),
    terminationLog: posix.join(root, 'termination-log'),
  };
}

/** Files the train step writes under `run`, read by the package step and the submitter. */
export const RUN_FILES = {
  log: 'train.log',
  startedOn: 'started-on',
  finishedOn: 'finished-on',
  exit: 'exit',
  gpus: 'gpus.csv',
  banner: 'nvidia-smi.txt',
  setup: 'setup.sh',
  run: 'run.sh',
} as const;

/** Keys of the run's Secret, and the file names the secret volume shows them under. */
export const SECRET_KEYS = {
  dockerConfig: 'docker-config.json',
  signingKey: 'signing-key.pem',
  env: (name: string) => `env.${name}`,
} as const;

export const SECRET_FILES = {
  /** DOCKER_CONFIG points at the secrets directory; Docker's file name is config.json. */
  dockerConfig: 'config.json',
  signingKey: 'signing-key.pem',
} as const;

/** Printed by the train step between setup and run, so the submitter can tell the two apart in the log. */
export const RUN_MARKER = '[kit] setup finished; run starts';
/** Printed by the package step before it pushes. */
export const PUSH_MARKER = '[kit] pushing the output';

export const CONTAINERS = { materialize: 'materialize', train: 'train', package: 'package' } as const;
export type ContainerName = (typeof CONTAINERS)[keyof typeof CONTAINERS];

export const LABELS = {
  runId: 'modelkit-ts.dev/run-id',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;
export const ANNOTATIONS = {
  input: 'modelkit-ts.dev/input',
  /** Set by the Job controller on Indexed Jobs' pods. */
  completionIndex: 'batch.kubernetes.io/job-completion-index',
} as const;
