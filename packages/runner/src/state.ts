import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KitError, processAlive, writeFileAtomic } from '@modelkit/core';

/** A run's life, after dstack's status/reason split plus SkyPilot's failed_setup. */
export type RunStatus =
  | 'pending'
  | 'fetching'
  | 'setting_up'
  | 'running'
  | 'packaging'
  | 'pushing'
  | 'succeeded'
  | 'failed'
  | 'failed_setup'
  | 'cancelled'
  | 'timed_out';

export const FINISHED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'failed_setup', 'cancelled', 'timed_out']);

export interface RunState {
  id: string;
  status: RunStatus;
  /** Why it ended: exit_code:N, signal:SIGKILL, max_duration_exceeded, interrupted, push_failed, error:… */
  terminationReason?: string;
  exitCode?: number | null;
  /** What was run: the reference or directory given, and the digest it resolved to. */
  input: string;
  inputDigest?: string;
  backend: string;
  host?: string;
  gpus?: string[];
  /** The pid of the kit process driving the run, so `kit runs cancel` can reach it. */
  pid: number;
  output?: { digest: string; references: string[] };
  /** A scheduler's id for the run's job (Slurm), so it can be followed or cancelled there. */
  jobId?: string;
  /** Why a queued job is waiting, in the scheduler's words (e.g. Resources). */
  pendingReason?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

/** `<kit home>/runs/<id>/`: state.json (atomic), run.log (what setup and run printed). */
export class RunStore {
  constructor(readonly root: string) {}

  static newRunId(): string {
    const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    return `r${t}-${randomBytes(3).toString('hex')}`;
  }

  dir(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) throw new KitError('INVALID_ARGUMENT', `"${id}" is not a run id: see \`kit runs list\``);
    return join(this.root, id);
  }

  logPath(id: string): string {
    return join(this.dir(id), 'run.log');
  }

  async create(state: Omit<RunState, 'createdAt' | 'status'>): Promise<RunState> {
    const full: RunState = { ...state, status: 'pending', createdAt: new Date().toISOString() };
    await mkdir(this.dir(state.id), { recursive: true });
    await this.write(full);
    return full;
  }

  async write(state: RunState): Promise<void> {
    await writeFileAtomic(join(this.dir(state.id), 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  }

  async read(id: string): Promise<RunState> {
    let text: string;
    try {
      text = await readFile(join(this.dir(id), 'state.json'), 'utf8');
    } catch {
      throw new KitError('NOT_FOUND', `run ${id} not found: see \`kit runs list\``);
    }
    return JSON.parse(text) as RunState;
  }

  /** Every run, newest first; a run whose driver died without finishing reads as failed (interrupted). */
  async list(): Promise<RunState[]> {
    const ids = await readdir(this.root).catch(() => [] as string[]);
    const states: RunState[] = [];
    for (const id of ids) {
      const state = await this.read(id).catch(() => undefined);
      if (state) states.push(await this.settleOrphan(state));
    }
    return states.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  async settleOrphan(state: RunState): Promise<RunState> {
    if (FINISHED.has(state.status) || processAlive(state.pid)) return state;
    const settled: RunState = { ...state, status: 'failed', terminationReason: 'interrupted', finishedAt: state.finishedAt ?? (await stat(this.dir(state.id))).mtime.toISOString() };
    await this.write(settled);
    return settled;
  }
}
