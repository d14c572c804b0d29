import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { extractTar, KitError } from '@modelkit/core';
import { listLocalGpus } from '../gpu/nvidia-smi.js';
import type { ExecutionHost, GpuInfo, StepHandle, StepResult, Workspace } from './host.js';
import { bashCommand as bash, shellCommand } from './shell-quote.js';
import { parseBusy, releaseCommand, reserveCommand } from './ssh-gpu-locks.js';
import { SshConnectionLost, SshSession, type ExecResult, type SshConnectOptions } from './ssh-session.js';
import { commands, envFileText, parseFollowStatus, stepBase, stepFilesTar } from './ssh-wrapper.js';
import { guardTar } from './tar-guard.js';

export { parseSshTarget, type SshTarget } from './ssh-target.js';
export { shellQuote } from './shell-quote.js';

export interface SshHostOptions extends SshConnectOptions {
  /** Remote directory for run workspaces and GPU locks; relative or `~/…` means under $HOME. Default ~/.kit-runs. */
  workRoot?: string;
  /** How long a cancelled step gets between SIGTERM and SIGKILL (default 10 s). */
  cancelGraceMs?: number;
  /** Reconnects tried after a dropped connection before a running step is given up (default 5, backoff from 250 ms). */
  reconnectAttempts?: number;
  reconnectDelayMs?: number;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Printed (exit 6) by a loaded driver that sees no device. */
const NO_DEVICES = /No devices were found/i;
/** A wedged driver can hang nvidia-smi; `timeout` (coreutils) ends it on the host. */
const NVIDIA_SMI_TIMEOUT_S = 30;
const RUN_WITH_TIMEOUT = `if command -v timeout >/dev/null 2>&1; then exec timeout ${NVIDIA_SMI_TIMEOUT_S} "$@"; else exec "$@"; fi`;
/** Linux signal numbers, for exit codes of 128+n. */
const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM' };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The wrapper records 128+n for a step killed by signal n, as the shell reports it. */
function stepResult(code: number): StepResult {
  const signal = code > 128 ? SIGNALS[code - 128] : undefined;
  return signal ? { exitCode: null, signal } : { exitCode: code };
}

/**
 * An ExecutionHost reached over SSH. Steps run under a detached wrapper on the host (ssh-wrapper.ts)
 * and are followed through their log by byte offset, so a dropped connection is reconnected and the
 * output resumes where it stopped: nothing repeated, nothing lost.
 */
export class SshHost implements ExecutionHost {
  readonly description: string;
  private name: string | undefined;

  private constructor(
    private readonly session: SshSession,
    /** Absolute, normalised. */
    private readonly workRoot: string,
    private readonly options: SshHostOptions,
  ) {
    this.description = session.description;
  }

  static async connect(options: SshHostOptions): Promise<SshHost> {
    const session = await SshSession.open(options);
    try {
      const workRoot = await resolveWorkRoot(session, options.workRoot ?? '~/.kit-runs');
      return new SshHost(session, workRoot, options);
    } catch (e) {
      await session.close();
      throw e;
    }
  }

  async hostname(): Promise<string> {
    this.name ??= (await this.retrying('uname -n', () => this.session.check('uname -n', 'uname -n'))).stdout.toString('utf8').trim();
    return this.name;
  }

  async listGpus(): Promise<GpuInfo[]> {
    return listLocalGpus(async (argv) => {
      const what = argv.join(' ');
      const result = await this.retrying(what, () => this.session.exec(bash(RUN_WITH_TIMEOUT, 'kit-nvidia-smi', argv), what));
      const stdout = result.stdout.toString('utf8');
      if (result.code === 0) return stdout;
      // The parser treats ENOENT as "no NVIDIA tools": a CPU-only host.
      if (result.code === 127) throw Object.assign(new Error(`${argv[0]}: command not found on ${this.description}`), { code: 'ENOENT' });
      if (NO_DEVICES.test(stdout) || NO_DEVICES.test(result.stderr)) return '';
      if (result.code === 124) throw new KitError('IO', `${this.description}: ${what} timed out after ${NVIDIA_SMI_TIMEOUT_S} s (is the driver wedged?)`);
      // The driver's complaint goes to stdout on many versions.
      throw this.session.failed(what, { ...result, stderr: result.stderr.trim() || stdout });
    });
  }

  async reserveGpus(uuids: string[], runId: string): Promise<() => Promise<void>> {
    checkRunId(runId);
    const unique = [...new Set(uuids)];
    if (unique.length === 0) return async () => {};
    const lockRoot = this.lockRoot();
    // Safe to repeat after a drop: locks this run already holds count as taken.
    const result = await this.retrying('reserving GPUs', () => this.session.exec(reserveCommand(lockRoot, runId, unique), 'reserving GPUs'));
    const busy = parseBusy(result.stdout.toString('utf8'));
    if (busy) {
      const pid = busy.pid ? `, step wrapper pid ${busy.pid}` : '';
      throw new KitError('INVALID_ARGUMENT', `GPU ${busy.uuid} on ${this.description} is reserved by run ${busy.runId}${pid}; if that run is gone, remove ${lockRoot}/${encodeURIComponent(busy.uuid)}`);
    }
    if (result.code !== 0) throw this.session.failed('reserving GPUs', result);
    let released = false;
    return async () => {
      if (released) return;
      await this.retrying('releasing GPUs', () => this.session.check(releaseCommand(lockRoot, runId, unique), 'releasing GPUs'));
      released = true;
    };
  }

  async createWorkspace(runId: string): Promise<Workspace> {
    checkRunId(runId);
    const root = `${this.workRoot}/${runId}`;
    const workspace = { root, inputs: `${root}/inputs`, outputs: `${root}/outputs` };
    const what = `creating ${root}`;
    await this.retrying(what, () => this.session.check(shellCommand(['mkdir', '-p', '--', workspace.inputs, workspace.outputs]), what));
    return workspace;
  }

  async extractTar(tar: AsyncIterable<Buffer>, dir: string): Promise<void> {
    this.checkInside(dir);
    // Streamed straight into tar on the host, each header checked on the way; nothing is staged.
    const command = `mkdir -p -- ${shellCommand([dir])} && exec ${shellCommand(['tar', '-x', '-f', '-', '-C', dir, '--no-same-owner', '--no-same-permissions'])}`;
    const what = `extracting into ${dir}`;
    const result = await this.session.exec(command, what, { stdin: guardTar(tar, `archive for ${this.description}:${dir}`) });
    if (result.code !== 0) throw this.session.failed(what, result);
  }

  async runStep(workspace: Workspace, name: 'setup' | 'run', script: string, env: Record<string, string>, onOutput: (chunk: Buffer) => void): Promise<StepHandle> {
    const runId = this.runIdOf(workspace);
    const files = stepFilesTar(name, script, envFileText(env));
    const base = stepBase({ root: workspace.root, step: name });
    const what = `starting step ${name}`;
    await this.retrying(what, async () => {
      const launchId = randomBytes(8).toString('hex');
      const launch = commands.launch({ root: workspace.root, inputs: workspace.inputs, step: name }, runId, this.lockRoot(), this.graceTicks(), launchId);
      try {
        await this.session.check(launch, what, { stdin: files });
      } catch (e) {
        if (!(e instanceof SshConnectionLost)) throw e;
        // Dropped mid-launch: adopt the step if this launch started it, else launch again (retrying).
        const adopt = await this.retrying(what, () => this.session.check(commands.adopt(base, launchId), what));
        if (adopt.stdout.toString('utf8').trim() !== 'started') throw e;
      }
    });
    return this.follow(base, name, 0, onOutput);
  }

  /**
   * Follow a step started earlier (by this or another runner process) from byte `offset` of its
   * log: for a runner that restarts, or that lost its connection for longer than the retries.
   */
  async attachStep(workspace: Workspace, name: 'setup' | 'run', offset: number, onOutput: (chunk: Buffer) => void): Promise<StepHandle> {
    this.runIdOf(workspace);
    const base = stepBase({ root: workspace.root, step: name });
    if ((await this.session.exec(commands.exists(`${base}.pid`), `looking for step ${name}`)).code !== 0) {
      throw new KitError('NOT_FOUND', `${this.description}: no step ${name} was started in ${workspace.root}`);
    }
    return this.follow(base, name, offset, onOutput);
  }

  private follow(base: string, name: string, offset: number, onOutput: (chunk: Buffer) => void): StepHandle {
    let delivered = offset;
    let outputError: unknown;
    const deliver = (chunk: Buffer): void => {
      delivered += chunk.length;
      try {
        onOutput(chunk);
      } catch (e) {
        outputError ??= e; // a throwing consumer must not break the stream; it is reported at the end
      }
    };
    const done = (async (): Promise<StepResult> => {
      for (let drains = 0; ; ) {
        const what = `log of step ${name}`;
        const result = await this.retrying(`following step ${name}`, () => this.session.check(commands.follow(base, delivered), what, { onStdout: deliver }));
        const status = parseFollowStatus(result.stderr);
        if (!status) throw this.session.failed(what, { ...result, code: null });
        if (status.state === 'lost') throw new KitError('IO', `${this.description}: the wrapper of step ${name} ended without recording an exit status (host rebooted, or the wrapper was killed)`);
        if (status.state !== 'exit') {
          await sleep(500); // running: tail was ended on the host; follow on, without hammering it
          continue;
        }
        // A process that escaped the group may still append after the wrapper; take what is there.
        if (status.logBytes > delivered && ++drains <= 3) continue;
        if (outputError !== undefined) throw outputError;
        return stepResult(status.code);
      }
    })();
    done.catch(() => undefined); // the caller may only ever call cancel(); the rejection is theirs to read
    return {
      done,
      cancel: async () => {
        await this.retrying(`cancelling step ${name}`, () => this.session.check(commands.cancel(base, this.graceTicks()), `cancel of step ${name}`));
        await done.catch(() => undefined);
      },
    };
  }

  async fetchOutputs(workspace: Workspace, localDir: string): Promise<string> {
    this.checkInside(workspace.outputs);
    await mkdir(localDir, { recursive: true });
    const what = `packing ${workspace.outputs}`;
    const proc = await this.session.start(shellCommand(['tar', '-c', '-f', '-', '-C', workspace.outputs, '.']), what);
    proc.channel.end();
    let extractError: unknown;
    try {
      // The local extractor refuses absolute names, '..', links and devices.
      await extractTar(proc.stdout(), localDir, `outputs from ${this.description}`);
    } catch (e) {
      extractError = e;
    }
    const status = await proc.exit.catch((e: unknown) => e as Error);
    if (extractError instanceof KitError && extractError.code === 'UNSAFE_ARCHIVE') throw extractError;
    if (status instanceof Error) throw status;
    if (status.code !== 0) throw this.session.failed(what, { ...status, stderr: proc.stderr() });
    if (extractError !== undefined) throw extractError;
    return localDir;
  }

  async cleanup(workspace: Workspace): Promise<void> {
    this.runIdOf(workspace);
    const what = `removing ${workspace.root}`;
    await this.retrying(what, () => this.session.check(shellCommand(['rm', '-rf', '--', workspace.root]), what));
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  /**
   * Run a shell command on the host, for backends built on it (Slurm through a login node). With
   * `retry` it is tried again across dropped connections, so it must be safe to repeat.
   */
  async shell(command: string, what: string, io: { stdin?: Buffer | string; retry?: boolean } = {}): Promise<ExecResult> {
    const run = () => this.session.exec(command, what, { stdin: io.stdin });
    return io.retry === false ? run() : this.retrying(what, run);
  }

  private lockRoot(): string {
    return `${this.workRoot}/gpu-locks`;
  }

  private graceTicks(): number {
    return Math.max(1, Math.ceil((this.options.cancelGraceMs ?? 10_000) / 100));
  }

  /** Run ids name directories that get `rm -rf`: only a workspace this host laid out is accepted. */
  private runIdOf(workspace: Workspace): string {
    const runId = posix.basename(workspace.root);
    const root = `${this.workRoot}/${runId}`;
    if (!RUN_ID.test(runId) || workspace.root !== root || workspace.inputs !== `${root}/inputs` || workspace.outputs !== `${root}/outputs`) {
      throw new KitError('INVALID_ARGUMENT', `${JSON.stringify(workspace.root)} is not a workspace of ${this.description} (expected ${this.workRoot}/<run id>)`);
    }
    return runId;
  }

  private checkInside(path: string): void {
    if (!path.startsWith('/') || posix.normalize(path) !== path || !path.startsWith(`${this.workRoot}/`)) {
      throw new KitError('INVALID_ARGUMENT', `${JSON.stringify(path)} is not inside ${this.workRoot} on ${this.description}`);
    }
  }

  /** Retry an idempotent `fn` across dropped connections (each try reconnects), with exponential backoff. */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const attempts = this.options.reconnectAttempts ?? 5;
    let delay = this.options.reconnectDelayMs ?? 250;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof KitError && e.code === 'NETWORK') || attempt >= attempts) {
          if (e instanceof KitError && e.code === 'NETWORK') throw new KitError('NETWORK', `${what}: gave up after ${attempts} reconnects: ${e.message}`, { cause: e });
          throw e;
        }
        await sleep(delay);
        delay *= 2;
      }
    }
  }
}

function checkRunId(runId: string): void {
  if (!RUN_ID.test(runId)) throw new KitError('INVALID_ARGUMENT', `"${runId}" is not a run id (letters, digits, '.', '_', '-')`);
}

async function resolveWorkRoot(session: SshSession, workRoot: string): Promise<string> {
  let path = workRoot;
  if (!path.startsWith('/')) {
    const home = (await session.check('printf %s "$HOME"', 'reading $HOME')).stdout.toString('utf8');
    if (!home.startsWith('/')) throw new KitError('IO', `${session.description}: $HOME is not an absolute path`);
    path = `${home}/${path === '~' ? '' : path.replace(/^~\//, '')}`;
  }
  path = posix.normalize(path).replace(/\/+$/, '');
  if (path === '' || path === '/') throw new KitError('INVALID_ARGUMENT', `work root ${JSON.stringify(workRoot)} is the file system root; pick a directory for run workspaces`);
  return path;
}
