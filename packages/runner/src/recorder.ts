import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { FINISHED, RunStore, type RunState, type RunStatus } from './state.js';

export type RunUpdate = (status: RunStatus, extra?: Partial<RunState>) => Promise<RunState>;

/**
 * One run's record as it happens: every state change persisted (and reported), and the log kept
 * beside it with secret values masked, hashed as written so provenance can name it.
 */
export class RunRecorder {
  private readonly log: WriteStream;
  private readonly hash = createHash('sha256');
  private size = 0;
  private secrets: string[] = [];

  private constructor(
    private readonly runs: RunStore,
    public state: RunState,
    private readonly onLog?: (chunk: Buffer) => void,
    private readonly onStatus?: (state: RunState) => void,
  ) {
    this.log = createWriteStream(runs.logPath(state.id), { flags: 'a', mode: 0o600 });
  }

  static async start(runs: RunStore, init: Omit<RunState, 'createdAt' | 'status'>, hooks: { onLog?: (chunk: Buffer) => void; onStatus?: (state: RunState) => void } = {}): Promise<RunRecorder> {
    return new RunRecorder(runs, await runs.create(init), hooks.onLog, hooks.onStatus);
  }

  /** Values masked as *** wherever they appear in the log from now on. */
  maskSecrets(values: string[]): void {
    this.secrets = values.filter((v) => v.length > 0);
  }

  private writes: Promise<unknown> = Promise.resolve();

  /** Changes apply in call order, even when a scheduler's events fire without being awaited. */
  readonly update: RunUpdate = (status, extra = {}) => {
    this.state = { ...this.state, ...extra, status };
    if (FINISHED.has(status)) this.state.finishedAt = new Date().toISOString();
    const snapshot = this.state;
    const written = this.writes.then(() => this.runs.write(snapshot)).then(() => {
      this.onStatus?.(snapshot);
      return snapshot;
    });
    this.writes = written.catch(() => undefined);
    return written;
  };

  readonly emit = (chunk: Buffer): void => {
    const clean = redact(chunk, this.secrets);
    this.log.write(clean);
    this.hash.update(clean);
    this.size += clean.length;
    this.onLog?.(clean);
  };

  /** Close the log and name it: what provenance records. */
  async closeLog(): Promise<{ digest: string; size: number }> {
    if (!this.log.closed) await new Promise<void>((done) => this.log.end(done));
    return { digest: `sha256:${this.hash.copy().digest('hex')}`, size: this.size };
  }

  /** Close the log if still open, without waiting (the run is ending anyway). */
  release(): void {
    if (!this.log.closed) this.log.end();
  }
}

/** Secret values replaced by *** (the log's bytes as recorded and hashed). */
export function redact(chunk: Buffer, secrets: string[]): Buffer {
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
