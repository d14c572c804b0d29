// How Job and pod status map to run states, and how the log follower resumes a cut stream, as pure
// functions on status objects shaped as the API returns them (hand-written here, not a cluster's).
import { Readable } from 'node:stream';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { followContainerLog, jobEnded, parseStamp, podView, runEnd, runPhase, type LogRequest } from '@modelkit/runner';

type State = { waiting?: { reason: string; message?: string }; running?: object; terminated?: { exitCode: number; reason?: string; message?: string } };

function pod(states: { materialize?: State; train?: State; package?: State }, extra: { index?: number; unschedulable?: string; disrupted?: boolean; phase?: string } = {}): V1Pod {
  const status = (name: 'materialize' | 'train' | 'package') => ({ name, image: 'x', imageID: '', ready: false, restartCount: 0, state: (states[name] ?? { waiting: { reason: 'PodInitializing' } }) as never });
  return {
    metadata: { name: `p${extra.index ?? 0}`, annotations: { 'batch.kubernetes.io/job-completion-index': String(extra.index ?? 0) } },
    status: {
      phase: extra.phase ?? 'Pending',
      conditions: [
        ...(extra.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: extra.unschedulable }] : []),
        ...(extra.disrupted ? [{ type: 'DisruptionTarget', status: 'True' }] : []),
      ],
      initContainerStatuses: [status('materialize'), status('train')],
      containerStatuses: [status('package')],
    },
  };
}
const job = (type: 'Complete' | 'Failed', reason?: string): V1Job => ({ status: { conditions: [{ type, status: 'True', reason }] } });
const done = (exitCode: number, message?: string, reason = exitCode === 0 ? 'Completed' : 'Error'): State => ({ terminated: { exitCode, reason, message } });

describe('run phase from pod status', () => {
  it('pending with the scheduler or kubelet reason, then fetching, setting_up and packaging by which step runs', () => {
    expect(runPhase([])).toMatchObject({ phase: 'pending' });
    expect(runPhase([podView(pod({}, { unschedulable: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' }))])).toEqual({ phase: 'pending', reason: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' });
    expect(runPhase([podView(pod({ materialize: { waiting: { reason: 'ErrImagePull', message: 'not found' } } }))])).toEqual({ phase: 'pending', reason: 'materialize: ErrImagePull: not found' });
    expect(runPhase([podView(pod({ materialize: { running: {} } }))]).phase).toBe('fetching');
    expect(runPhase([podView(pod({ materialize: done(0), train: { running: {} } }))]).phase).toBe('setting_up');
    expect(runPhase([podView(pod({ materialize: done(0), train: done(0), package: { running: {} } }))]).phase).toBe('packaging');
  });
});

describe('run end from the Job condition and the steps', () => {
  const ok = { materialize: done(0), train: done(0, 'run 0') };
  it('succeeded with the output the package step reported', () => {
    const view = podView(pod({ ...ok, package: done(0, JSON.stringify({ digest: 'sha256:abc', references: ['r/x:t'], gpus: ['GPU-1'] })) }, { phase: 'Succeeded' }));
    expect(runEnd(jobEnded(job('Complete'))!, [view])).toEqual({ status: 'succeeded', output: { digest: 'sha256:abc', references: ['r/x:t'], gpus: ['GPU-1'] } });
  });
  it('failed_setup or failed from the train step, killed containers by their reason', () => {
    const failed = jobEnded(job('Failed', 'PodFailurePolicy'))!;
    expect(runEnd(failed, [podView(pod({ materialize: done(0), train: done(3, 'setup 3') }))])).toEqual({ status: 'failed_setup', exitCode: 3, terminationReason: 'exit_code:3' });
    expect(runEnd(failed, [podView(pod({ materialize: done(0), train: done(2, 'run 2') }))])).toEqual({ status: 'failed', exitCode: 2, terminationReason: 'exit_code:2' });
    expect(runEnd(failed, [podView(pod({ materialize: done(0), train: done(137, undefined, 'OOMKilled') }))])).toEqual({ status: 'failed', exitCode: 137, terminationReason: 'kubernetes:OOMKilled' });
    // The first failing rank decides.
    expect(runEnd(failed, [podView(pod({ ...ok }, { index: 0 })), podView(pod({ materialize: done(0), train: done(5, 'run 5') }, { index: 1 }))])).toMatchObject({ terminationReason: 'exit_code:5' });
  });
  it('kit steps name their KitError code; a failed push is push_failed; deadline and disruption', () => {
    const failed = jobEnded(job('Failed', 'PodFailurePolicy'))!;
    expect(runEnd(failed, [podView(pod({ materialize: done(1, JSON.stringify({ error: 'UNAUTHORIZED', stage: 'materialize' })) }))])).toMatchObject({ status: 'failed', terminationReason: 'error:UNAUTHORIZED' });
    expect(runEnd(failed, [podView(pod({ ...ok, package: done(1, JSON.stringify({ error: 'NOT_FOUND', stage: 'pack' })) }))])).toMatchObject({ terminationReason: 'error:NOT_FOUND' });
    expect(runEnd(failed, [podView(pod({ ...ok, package: done(4, JSON.stringify({ error: 'UNAUTHORIZED', stage: 'push' })) }))])).toMatchObject({ terminationReason: 'push_failed' });
    expect(runEnd(jobEnded(job('Failed', 'DeadlineExceeded'))!, [podView(pod({ materialize: done(0), train: done(143) }))])).toEqual({ status: 'timed_out', terminationReason: 'max_duration_exceeded' });
    expect(runEnd(failed, [podView(pod({ materialize: { running: {} } }, { disrupted: true }))])).toEqual({ status: 'failed', terminationReason: 'interrupted' });
    expect(jobEnded({ status: { conditions: [{ type: 'FailureTarget', status: 'True' }] } })).toBeUndefined();
  });
});

describe('log follower', () => {
  it('parses RFC3339Nano stamps with trimmed zeros as numbers', () => {
    expect(parseStamp('2026-01-01T10:00:00.5Z x')).toMatchObject({ seconds: Date.parse('2026-01-01T10:00:00Z') / 1000, nanos: 500_000_000 });
    expect(parseStamp('2026-01-01T10:00:00Z x')).toMatchObject({ nanos: 0 });
    expect(parseStamp('no stamp here')).toBeUndefined();
  });

  it('resumes a cut stream from the last second and passes each line once', async () => {
    const lines = ['2026-01-01T10:00:00.1Z a', '2026-01-01T10:00:00.2Z b', '2026-01-01T10:00:00.2Z b-again-same-stamp', '2026-01-01T10:00:01.05Z c', '2026-01-01T10:00:01.3Z d'];
    const requests: LogRequest[] = [];
    let ended = false;
    const client = {
      streamLog: async (request: LogRequest) => {
        requests.push(request);
        if (requests.length === 1) return Readable.from([Buffer.from(`${lines.slice(0, 4).join('\n')}\n${lines[4]!.slice(0, 10)}`)]) as never; // cut mid-line
        ended = true;
        const from = lines.filter((l) => l >= request.sinceTime!.replace('Z', ''));
        return Readable.from([Buffer.from(`${from.join('\n')}\n`)]) as never;
      },
    };
    const got: string[] = [];
    await followContainerLog({ client, pod: 'p', container: 'train', onLine: (l) => got.push(l.toString()), ended: () => ended, signal: new AbortController().signal, retryMs: 1 });
    expect(got).toEqual(['a\n', 'b\n', 'b-again-same-stamp\n', 'c\n', 'd\n']);
    expect(requests.map((r) => r.sinceTime)).toEqual([undefined, '2026-01-01T10:00:01Z']);
  });
});
