/**
 * Follow a run's Job to its end: poll the Job and its pods (by the run's label), report the phase
 * as it moves, stream each pod's step logs in order, and once the Job has a final condition read
 * how the run ended. Polling, not a watch: one pod list and one Job read a second are cheap, and a
 * poll cannot miss an event the way a dropped watch can.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from './client.js';
import { CONTAINERS, LABELS, PUSH_MARKER, RUN_MARKER, type ContainerName } from './layout.js';
import { followContainerLog } from './log-follower.js';
import { jobEnded, podView, runEnd, runPhase, waitingReason, type KubeRunEnd, type PodView } from './pod-status.js';

export type FollowPhase = 'pending' | 'fetching' | 'setting_up' | 'running' | 'packaging' | 'pushing';
const ORDER: FollowPhase[] = ['pending', 'fetching', 'setting_up', 'running', 'packaging', 'pushing'];
const STEPS: ContainerName[] = [CONTAINERS.materialize, CONTAINERS.train, CONTAINERS.package];

export type FollowEnd = KubeRunEnd | { status: 'cancelled' } | { status: 'failed'; terminationReason: 'interrupted'; exitCode?: undefined };

export interface FollowOptions {
  client: Pick<KubeClient, 'readJob' | 'listPods' | 'streamLog'>;
  job: string;
  runId: string;
  nodes: number;
  /** Without setup, the train step is running as soon as it starts. */
  hasSetup: boolean;
  /** Whether the Job replaces a disrupted pod (the run file's retry allows interruption). */
  replacesDisrupted: boolean;
  onPhase: (phase: FollowPhase, pendingReason?: string) => void;
  onOutput: (chunk: Buffer) => void;
  signal: AbortSignal;
  pollMs?: number;
  /** Give up when the API server has not answered for this long (default 2 min). */
  unreachableMs?: number;
}

export async function followRun(options: FollowOptions): Promise<FollowEnd> {
  const { client, signal } = options;
  const pollMs = options.pollMs ?? 1000;
  // This Job's pods only: a retried run has had other Jobs, with the same run label.
  const selector = `batch.kubernetes.io/job-name=${options.job}`;
  const logs = new AbortController();
  const stopLogs = () => logs.abort();
  signal.addEventListener('abort', stopLogs, { once: true });
  const latest = new Map<string, PodView & { gone?: boolean }>();
  const chains = new Map<string, Promise<void>>();
  const said = new Set<string>();
  const note = (text: string) => {
    if (said.has(text)) return;
    said.add(text);
    options.onOutput(Buffer.from(`[kit] ${text}\n`));
  };
  let reached = -1;
  let reason: string | undefined;
  const advance = (phase: FollowPhase, why?: string) => {
    const i = ORDER.indexOf(phase);
    if (i > reached || (i === reached && phase === 'pending' && why !== reason)) {
      reached = Math.max(i, reached);
      reason = why;
      options.onPhase(phase, why);
    }
  };
  let finished = false;

  const onLine = (pod: string, container: ContainerName, line: Buffer) => {
    const view = latest.get(pod);
    const index = view?.index ?? 0;
    const text = line.toString('utf8').trimEnd();
    if (index === 0 && container === CONTAINERS.train && text === RUN_MARKER) advance('running');
    if (index === 0 && container === CONTAINERS.package && text.startsWith(PUSH_MARKER)) advance('pushing');
    options.onOutput(options.nodes > 1 && index > 0 ? Buffer.concat([Buffer.from(`[node ${index}] `), line]) : line);
  };
  const terminal = (p: PodView & { gone?: boolean }) => p.gone || p.phase === 'Succeeded' || p.phase === 'Failed';
  const followPod = async (name: string) => {
    for (const container of STEPS) {
      for (;;) {
        if (logs.signal.aborted) return;
        const pod = latest.get(name)!;
        const c = pod.containers[container];
        if (c.state === 'running' || c.state === 'terminated') break;
        if (terminal(pod) || finished) return;
        await sleep(pollMs / 2);
      }
      await followContainerLog({
        client,
        pod: name,
        container,
        onLine: (line) => onLine(name, container, line),
        ended: () => {
          const pod = latest.get(name)!;
          return terminal(pod) || pod.containers[container].state === 'terminated';
        },
        signal: logs.signal,
        retryMs: pollMs,
      });
    }
  };

  try {
    let lastAnswer = Date.now();
    for (;;) {
      if (signal.aborted) return { status: 'cancelled' };
      let job;
      let pods: PodView[];
      try {
        job = await client.readJob(options.job);
        pods = (await client.listPods(selector)).map(podView).sort((a, b) => a.index - b.index);
        lastAnswer = Date.now();
      } catch (e) {
        if (signal.aborted) return { status: 'cancelled' };
        if (Date.now() - lastAnswer > (options.unreachableMs ?? 120_000)) throw e;
        await sleep(pollMs);
        continue;
      }
      if (!job) {
        note(`Job ${options.job} was deleted outside kit`);
        return { status: 'failed', terminationReason: 'interrupted' };
      }
      const listed = new Set(pods.map((p) => p.name));
      for (const [name, view] of latest) if (!listed.has(name)) latest.set(name, { ...view, gone: true });
      for (const pod of pods) {
        latest.set(pod.name, pod);
        if (!chains.has(pod.name)) chains.set(pod.name, followPod(pod.name));
        const waiting = waitingReason(pod);
        if (waiting) note(`pod ${pod.name} waits: ${waiting}`);
        if (pod.unschedulable) note(`pod ${pod.name} waits for a node: ${pod.unschedulable}`);
        if (pod.disrupted) note(`pod ${pod.name} was disrupted (preempted, evicted or its node drained)${options.replacesDisrupted ? '; the Job starts a new one (retry: interruption)' : ''}`);
      }
      const view = runPhase(pods);
      let phase: FollowPhase = view.phase;
      if (phase === 'setting_up' && !options.hasSetup) phase = 'running';
      advance(phase, view.reason);

      const ended = jobEnded(job);
      if (ended) {
        finished = true;
        // Containers have ended: their streams close once drained; give them a moment, then stop.
        const drained = Promise.all(chains.values());
        const patience = new AbortController();
        await Promise.race([drained, sleep(Math.max(10 * pollMs, 5000), undefined, { signal: patience.signal }).catch(() => undefined)]);
        patience.abort(); // no timer left to keep the process alive
        logs.abort();
        await drained;
        const final = (await client.listPods(selector).catch(() => undefined))?.map(podView) ?? pods;
        return runEnd(ended, final);
      }
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    finished = true;
    logs.abort();
    signal.removeEventListener('abort', stopLogs);
    await Promise.all(chains.values()).catch(() => undefined);
  }
}
