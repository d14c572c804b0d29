/**
 * Where the Slurm client commands run and the job's files live: this machine when it is a login
 * node of the cluster, or a login node reached over SSH. Either way the files are on the
 * filesystem the compute nodes share, so the scheduler only needs these few operations.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KitError } from '@modelkit/core';
import type { Placement } from '../hosts/host.js';
import { LocalHost, loginBasics } from '../hosts/local.js';

export interface JobFile {
  name: string;
  content: string;
  executable?: boolean;
}

export interface ClusterShell {
  /** Places the workspace and extracts inputs; brings outputs back. */
  readonly files: Placement;
  /** "slurm", or "slurm+ssh://user@host:port" through a login node. */
  readonly description: string;
  /** Run a Slurm command with `env` added; its stdout, or a KitError quoting its complaint (INVALID_ARGUMENT for sbatch). */
  command(argv: string[], env?: Record<string, string>): Promise<string>;
  /** Write the job's files into `dir` (created, private), removing files left there under `stale` prefixes. */
  writeJobFiles(dir: string, files: JobFile[], stale: string[]): Promise<void>;
  /** A file's bytes from `offset` to its end ('' when it does not exist). */
  readFrom(path: string, offset: number): Promise<Buffer>;
  list(dir: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Variables the Slurm client commands read (which cluster), passed on to sbatch. */
const SLURM_ENV = ['SLURM_CONF', 'SLURM_CLUSTERS'];

/** This machine is a login node: Slurm commands run here, the run directory is on the shared filesystem. */
export class LocalClusterShell implements ClusterShell {
  readonly description = 'slurm';
  readonly files: Placement;

  constructor(runsDir: string) {
    this.files = new LocalHost({ runsDir, gpuLockDir: join(runsDir, '.unused') });
  }

  command(argv: string[], env?: Record<string, string>): Promise<string> {
    // As on the local backend, the job gets the login basics, not the caller's whole environment.
    const full = env ? { ...loginBasics(process.env, SLURM_ENV), ...env } : process.env;
    return new Promise((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { env: full, timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return reject(notInstalled(argv[0]!, 'this machine'));
        reject(commandFailed(argv[0]!, stderr || error.message));
      });
    });
  }

  async writeJobFiles(dir: string, files: JobFile[], stale: string[]): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    for (const name of await readdir(dir)) if (stale.some((p) => name.startsWith(p))) await rm(join(dir, name), { force: true });
    for (const f of files) await writeFile(join(dir, f.name), f.content, { mode: f.executable ? 0o700 : 0o600 });
  }

  async readFrom(path: string, offset: number): Promise<Buffer> {
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return Buffer.alloc(0);
    try {
      const chunks: Buffer[] = [];
      for (let at = offset; ; ) {
        const buffer = Buffer.alloc(256 * 1024);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) return Buffer.concat(chunks);
        chunks.push(buffer.subarray(0, bytesRead));
        at += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }

  list(dir: string): Promise<string[]> {
    return readdir(dir).catch(() => []);
  }

  async close(): Promise<void> {}
}

/** Read a whole small file ('' when absent). */
export async function readText(shell: ClusterShell, path: string): Promise<string> {
  return (await shell.readFrom(path, 0)).toString('utf8');
}

export function notInstalled(command: string, where: string): KitError {
  return new KitError('NOT_FOUND', `${command} not found on ${where}: the Slurm backend needs the Slurm client commands (a login node of the cluster); install slurm-client or use another --backend`);
}

export function commandFailed(command: string, stderr: string): KitError {
  const said = stderr.trim().split('\n').filter(Boolean).pop() ?? 'failed';
  return new KitError(command === 'sbatch' ? 'INVALID_ARGUMENT' : 'NETWORK', `${command}: ${said.replace(/^\w+: error: /, '')}`);
}
