import { bashCommand, shellCommand } from '../hosts/shell-quote.js';
import type { SshHost } from '../hosts/ssh.js';
import { envFileText, filesTar } from '../hosts/ssh-wrapper.js';
import { commandFailed, notInstalled, type ClusterShell, type JobFile } from './shell.js';

/** Values arrive on stdin as an env file, so no secret is on a command line (ps) or in a script. */
const WITH_ENV = 'set -a; . /dev/stdin; set +a; exec "$@"';
const WRITE_FILES = 'umask 077; mkdir -p -- "$1" && chmod 700 -- "$1" && cd -- "$1" && shift && for p in "$@"; do rm -f -- "$p"*; done && exec tar -x -f - --no-same-owner';

/**
 * A login node of the cluster reached over SSH: Slurm commands run there, and the run directory is
 * under the SSH host's work root (`~/.kit-runs`), which must be on the filesystem the compute nodes
 * share (home directories usually are).
 */
export class SshClusterShell implements ClusterShell {
  readonly description: string;

  constructor(readonly files: SshHost) {
    this.description = `slurm+${files.description}`;
  }

  async command(argv: string[], env?: Record<string, string>): Promise<string> {
    const what = argv.join(' ');
    // sbatch is not safe to repeat after a dropped connection (the job may have been queued).
    const retry = argv[0] !== 'sbatch';
    const result = env
      ? await this.files.shell(bashCommand(WITH_ENV, 'kit-slurm', argv), what, { stdin: envFileText(env), retry })
      : await this.files.shell(shellCommand(argv), what, { retry });
    if (result.code === 0) return result.stdout.toString('utf8');
    if (result.code === 127) throw notInstalled(argv[0]!, this.files.description);
    throw commandFailed(argv[0]!, result.stderr);
  }

  async writeJobFiles(dir: string, files: JobFile[], stale: string[]): Promise<void> {
    const tar = filesTar(files.map((f) => ({ name: f.name, text: f.content, mode: f.executable ? 0o700 : 0o600 })));
    const result = await this.files.shell(bashCommand(WRITE_FILES, 'kit-job-files', [dir, ...stale]), `writing ${dir}`, { stdin: tar });
    if (result.code !== 0) throw commandFailed('tar', result.stderr);
  }

  async readFrom(path: string, offset: number): Promise<Buffer> {
    return (await this.files.shell(`${shellCommand(['tail', '-c', `+${offset + 1}`, '--', path])} 2>/dev/null || true`, `reading ${path}`)).stdout;
  }

  async list(dir: string): Promise<string[]> {
    const out = (await this.files.shell(`${shellCommand(['ls', '-1A', '--', dir])} 2>/dev/null || true`, `listing ${dir}`)).stdout.toString('utf8');
    return out.split('\n').filter(Boolean);
  }

  close(): Promise<void> {
    return this.files.close();
  }
}
