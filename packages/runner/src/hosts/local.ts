import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { extractTar } from '@modelkit/core';
import { listLocalGpus, reservedGpus, reserveLocalGpus } from '../gpu/index.js';
import type { ExecutionHost, GpuInfo, StepHandle, StepResult, Workspace } from './host.js';

export interface LocalHostOptions {
  /** Where run workspaces go (`<kit home>/runs/<id>/work`). */
  runsDir: string;
  /** Per-GPU lock files (`<kit home>/gpu-locks`). */
  gpuLockDir: string;
  /** How long a cancelled step gets between SIGTERM and SIGKILL. */
  graceMs?: number;
}

/** This machine: steps run as detached process groups so that cancel reaches every child. */
export class LocalHost implements ExecutionHost {
  readonly description = 'local';
  constructor(private readonly options: LocalHostOptions) {}

  async hostname(): Promise<string> {
    return hostname();
  }

  /** Asked afresh each time: what is free changes (dstack #1465 came from reading it once). */
  async listGpus(): Promise<GpuInfo[]> {
    return listLocalGpus();
  }

  async reservedGpus(): Promise<Set<string>> {
    return reservedGpus(this.options.gpuLockDir);
  }

  async reserveGpus(uuids: string[], runId: string): Promise<() => Promise<void>> {
    const known = await this.listGpus();
    const gpus = uuids.map((uuid) => ({ uuid, index: known.find((g) => g.uuid === uuid)?.index ?? -1 }));
    return reserveLocalGpus(this.options.gpuLockDir, gpus, runId);
  }

  async createWorkspace(runId: string): Promise<Workspace> {
    const root = join(this.options.runsDir, runId, 'work');
    const workspace = { root, inputs: join(root, 'inputs'), outputs: join(root, 'outputs') };
    await mkdir(workspace.inputs, { recursive: true });
    await mkdir(workspace.outputs, { recursive: true });
    return workspace;
  }

  async extractTar(tar: AsyncIterable<Buffer>, dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await extractTar(tar, dir, `input for ${dir}`);
  }

  async runStep(workspace: Workspace, name: 'setup' | 'run', script: string, env: Record<string, string>, onOutput: (chunk: Buffer) => void): Promise<StepHandle> {
    const scriptPath = join(workspace.root, `${name}.sh`);
    await writeFile(scriptPath, script, { mode: 0o600 });
    const child = spawn('bash', ['-e', scriptPath], { cwd: workspace.inputs, env: { ...loginBasics(process.env), ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    const done = new Promise<StepResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(signal ? { exitCode: null, signal } : { exitCode: code }));
    });
    const graceMs = this.options.graceMs ?? 10_000;
    return {
      done,
      cancel: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        signalGroup(child.pid!, 'SIGTERM');
        const killer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), graceMs);
        await done.catch(() => undefined);
        clearTimeout(killer);
        signalGroup(child.pid!, 'SIGKILL'); // children that ignored SIGTERM and outlived the shell
      },
    };
  }

  async fetchOutputs(workspace: Workspace): Promise<string> {
    return workspace.outputs;
  }

  async cleanup(workspace: Workspace): Promise<void> {
    await rm(workspace.root, { recursive: true, force: true });
  }

  async close(): Promise<void> {}
}

/** What a login shell would have, plus `also`; the rest of the caller's environment (tokens, …) stays out of the run. */
export function loginBasics(environment: NodeJS.ProcessEnv, also: readonly string[] = []): Record<string, string> {
  const kept = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ', ...also];
  return Object.fromEntries(kept.filter((k) => environment[k] !== undefined).map((k) => [k, environment[k]!]));
}

/** Signal a whole process group (the step was started detached, so its pid is the group id). */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}
