/**
 * What the Job's and pods' status say about a run, as pure functions: which phase it is in, why it
 * waits, and, once the Job has ended, how the run ended (the train step's termination message tells
 * a failed setup from a failed run; the package step's carries the output's digest).
 */
import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, CONTAINERS, type ContainerName } from './layout.js';
import { parseTrainEnd } from './train-script.js';

export interface ContainerView {
  state: 'absent' | 'waiting' | 'running' | 'terminated';
  exitCode?: number;
  reason?: string;
  message?: string;
}

export interface PodView {
  name: string;
  /** The Indexed Job's completion index (the node rank); 0 for a one-node Job. */
  index: number;
  phase: string;
  /** Creation time (ms), to tell a replacement pod from the one it replaced. */
  created: number;
  nodeName?: string;
  /** The scheduler's word when it cannot place the pod (e.g. "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."). */
  unschedulable?: string;
  /** The cluster took the pod away (preemption, drain, eviction). */
  disrupted: boolean;
  containers: Record<ContainerName, ContainerView>;
}

export function podView(pod: V1Pod): PodView {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const container = (name: ContainerName): ContainerView => view(statuses.find((s) => s.name === name));
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  return {
    name: pod.metadata?.name ?? '',
    index: Number(pod.metadata?.annotations?.[ANNOTATIONS.completionIndex] ?? pod.metadata?.labels?.[ANNOTATIONS.completionIndex] ?? 0),
    phase: pod.status?.phase ?? 'Pending',
    created: pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : 0,
    nodeName: pod.spec?.nodeName,
    unschedulable: scheduled?.status === 'False' ? (scheduled.message ?? scheduled.reason ?? 'Unschedulable') : undefined,
    disrupted: !!pod.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True'),
    containers: { materialize: container(CONTAINERS.materialize), train: container(CONTAINERS.train), package: container(CONTAINERS.package) },
  };
}

function view(status: V1ContainerStatus | undefined): ContainerView {
  const state = status?.state;
  if (state?.terminated) return { state: 'terminated', exitCode: state.terminated.exitCode, reason: state.terminated.reason, message: state.terminated.message };
  if (state?.running) return { state: 'running' };
  if (state?.waiting) return { state: 'waiting', reason: state.waiting.reason, message: state.waiting.message };
  return { state: 'absent' };
}

export type KubePhase = 'pending' | 'fetching' | 'setting_up' | 'packaging';

/** Where the run stands; `running` and `pushing` come from marker lines in the log, not the status. */
export function runPhase(pods: PodView[]): { phase: KubePhase; reason?: string } {
  const unschedulable = pods.find((p) => p.unschedulable);
  if (pods.length === 0) return { phase: 'pending', reason: 'the Job has no pod yet' };
  if (unschedulable) return { phase: 'pending', reason: unschedulable.unschedulable };
  const lead = leadPod(pods)!;
  const started = (c: ContainerView) => c.state === 'running' || c.state === 'terminated';
  if (started(lead.containers.package)) return { phase: 'packaging' };
  if (started(lead.containers.train)) return { phase: 'setting_up' };
  if (started(lead.containers.materialize)) return { phase: 'fetching' };
  return { phase: 'pending', reason: waitingReason(lead) };
}

/** Why a pod's step has not started (ErrImagePull, CreateContainerConfigError…), for the log and the state. */
export function waitingReason(pod: PodView): string | undefined {
  for (const name of [CONTAINERS.materialize, CONTAINERS.train, CONTAINERS.package]) {
    const c = pod.containers[name];
    if (c.state === 'waiting' && c.reason && c.reason !== 'PodInitializing') return `${name}: ${c.reason}${c.message ? `: ${c.message}` : ''}`;
  }
  return undefined;
}

/** Rank 0: the pod that packs and pushes the output (the newest, if the Job replaced it). */
export function leadPod(pods: PodView[]): PodView | undefined {
  return pods.filter((p) => p.index === 0).sort((a, b) => a.created - b.created).at(-1) ?? pods[0];
}

export interface JobEnded {
  condition: 'Complete' | 'Failed';
  reason?: string;
  message?: string;
}

export function jobEnded(job: V1Job): JobEnded | undefined {
  for (const type of ['Complete', 'Failed'] as const) {
    const c = job.status?.conditions?.find((x) => x.type === type && x.status === 'True');
    if (c) return { condition: type, reason: c.reason, message: c.message };
  }
  return undefined;
}

export interface RunOutput {
  digest: string;
  references: string[];
  gpus?: string[];
}

export type KubeRunEnd =
  | { status: 'succeeded'; output: RunOutput }
  | { status: 'failed' | 'failed_setup' | 'timed_out'; terminationReason: string; exitCode?: number | null };

/** How a run ended, once its Job has: the Job's condition, then the first step that failed, by rank. */
export function runEnd(ended: JobEnded, pods: PodView[]): KubeRunEnd {
  if (ended.condition === 'Failed' && ended.reason === 'DeadlineExceeded') return { status: 'timed_out', terminationReason: 'max_duration_exceeded' };
  if (ended.condition === 'Complete') {
    const output = parseJson<RunOutput>(leadPod(pods)?.containers.package.message);
    if (output?.digest) return { status: 'succeeded', output: { digest: output.digest, references: output.references ?? [], gpus: output.gpus } };
    return { status: 'failed', terminationReason: 'error:NOT_FOUND' };
  }
  for (const pod of [...pods].sort((a, b) => a.index - b.index)) {
    const { materialize, train, package: pack } = pod.containers;
    if (failed(materialize)) return { status: 'failed', terminationReason: stepError(materialize), exitCode: null };
    if (failed(train)) {
      const said = parseTrainEnd(train.message);
      const killed = train.reason && train.reason !== 'Error' && train.reason !== 'Completed' ? `kubernetes:${train.reason}` : undefined;
      const exitCode = said?.exitCode ?? train.exitCode ?? null;
      return { status: said?.step === 'setup' ? 'failed_setup' : 'failed', exitCode, terminationReason: killed ?? `exit_code:${exitCode}` };
    }
    if (failed(pack)) {
      const said = parseJson<{ error?: string; stage?: string }>(pack.message);
      return { status: 'failed', terminationReason: said?.stage === 'push' ? 'push_failed' : stepError(pack), exitCode: null };
    }
  }
  if (pods.some((p) => p.disrupted)) return { status: 'failed', terminationReason: 'interrupted' };
  return { status: 'failed', terminationReason: `kubernetes:${ended.reason ?? 'Failed'}` };
}

function failed(c: ContainerView): boolean {
  return c.state === 'terminated' && c.exitCode !== 0;
}

/** A kit step's termination message names its KitError code. */
function stepError(c: ContainerView): string {
  const said = parseJson<{ error?: string }>(c.message);
  if (said?.error) return `error:${said.error}`;
  return c.reason && c.reason !== 'Error' ? `kubernetes:${c.reason}` : `exit_code:${c.exitCode}`;
}

function parseJson<T>(text: string | undefined): T | undefined {
  try {
    return text ? (JSON.parse(text) as T) : undefined;
  } catch {
    return undefined;
  }
}
