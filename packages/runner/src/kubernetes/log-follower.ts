/**
 * Follow one container's log to its end. Lines are asked for with timestamps so that, when the
 * stream is cut (API server restart, idle timeout, a network blip), it resumes from the last line's
 * second (`sinceTime` has whole-second precision) and drops what it already passed on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from './client.js';

export interface FollowOptions {
  client: Pick<KubeClient, 'streamLog'>;
  pod: string;
  container: string;
  /** One line of the log, without its timestamp, with its newline (the last may have none). */
  onLine: (line: Buffer) => void;
  /** Whether the pod status says the container has ended (then a stream's end is the log's end). */
  ended: () => boolean;
  signal: AbortSignal;
  /** Wait before reconnecting (default 1 s). */
  retryMs?: number;
}

/** A log line's time: whole seconds and nanoseconds, compared as numbers (RFC3339Nano trims zeros). */
interface Stamp {
  seconds: number;
  nanos: number;
  text: string;
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) /;

export function parseStamp(line: string): Stamp | undefined {
  const m = STAMP.exec(line);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return { seconds, nanos: Number((m[2] ?? '').padEnd(9, '0')), text: m[0] };
}

function compare(a: Stamp, b: Stamp): number {
  return a.seconds - b.seconds || a.nanos - b.nanos;
}

/** Resolves once the container's whole log has been passed on (or the signal aborted). */
export async function followContainerLog(options: FollowOptions): Promise<void> {
  const { signal } = options;
  let last: Stamp | undefined;
  let passedAtLast = 0; // lines passed on that carry exactly `last`'s time
  for (let attempt = 0; !signal.aborted; attempt++) {
    if (attempt > 0) await sleep(options.retryMs ?? 1000, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    const endedBefore = options.ended();
    let stream;
    try {
      const sinceTime = last ? new Date(last.seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : undefined;
      stream = await options.client.streamLog({ pod: options.pod, container: options.container, follow: true, timestamps: true, sinceTime }, signal);
    } catch {
      if (endedBefore && attempt > 3) return; // the container is gone for good (pod deleted)
      continue;
    }
    let seenAtLast = 0;
    const pass = (raw: Buffer, complete: boolean) => {
      const text = raw.subarray(0, Math.min(raw.length, 64)).toString('latin1');
      const stamp = parseStamp(text);
      const body = stamp ? raw.subarray(stamp.text.length) : raw;
      if (stamp && last) {
        const order = compare(stamp, last);
        if (order < 0) return;
        if (order === 0) {
          if (++seenAtLast <= passedAtLast) return;
          passedAtLast++;
        } else {
          last = stamp;
          passedAtLast = 1;
          seenAtLast = 1;
        }
      } else if (stamp) {
        last = stamp;
        passedAtLast = 1;
        seenAtLast = 1;
      }
      options.onLine(complete ? Buffer.concat([body, NEWLINE]) : body);
    };
    let partial: Buffer = Buffer.alloc(0);
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let data = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
        for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
          pass(data.subarray(0, nl), true);
          data = data.subarray(nl + 1);
        }
        partial = Buffer.from(data);
      }
    } catch {
      // cut: resume below
    }
    if (signal.aborted) return;
    if (options.ended()) {
      if (partial.length > 0) pass(partial, false);
      return;
    }
    // A cut mid-line: the line comes again whole after the reconnect.
  }
}

const NEWLINE = Buffer.from('\n');
