// Test harness: a REAL single-node Slurm cluster (slurm-wlm 22.05: munged, slurmctld, slurmd) on
// this machine, as ../shared/reference/slurm-test-cluster.md describes. Two fake GPUs are generic
// resources backed by /dev/null symlinks named nvidiaN, so Slurm schedules and confines GPUs for
// real on a machine without any. Daemons run in the foreground as our children on free ports, with
// their state in a temp dir; munged is shared by every cluster on the machine and started if it is
// not running. Never skipped: a missing binary is an error that says to run .ci/install-servers.sh.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../../test/free-port.js';

const INSTALL_HINT = 'run .ci/install-servers.sh (installs slurm-wlm and munge)';

export interface SlurmCluster {
  /** SLURM_CONF for every client command (sbatch, squeue, scontrol, scancel) and for kit. */
  conf: string;
  /** The nodes' names: this machine's short hostname, or kn0…kn<N-1> for a cluster of N nodes. */
  nodes: string[];
  /** Environment for child processes: the caller's plus SLURM_CONF. */
  env: NodeJS.ProcessEnv;
  gpus: number;
  log(): Promise<string>;
  stop(): Promise<void>;
  restartController(downMs: number): Promise<void>;
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} is not installed: ${INSTALL_HINT}` : `${file} ${args.join(' ')} failed: ${stderr || err.message}`;
      reject(new Error(why));
    });
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** munged, once per machine: needs root (it runs as the munge user) and /etc/munge/munge.key. */
async function ensureMunge(): Promise<void> {
  const ok = await exec('sh', ['-c', 'munge -n | unmunge >/dev/null']).then(() => true, () => false);
  if (ok) return;
  if (!existsSync('/etc/munge/munge.key')) await exec('mungekey', ['--create']);
  await exec('chown', ['munge:munge', '/etc/munge/munge.key']);
  await mkdir('/run/munge', { recursive: true });
  await exec('chown', ['munge:munge', '/run/munge']);
  await exec('runuser', ['-u', 'munge', '--', '/usr/sbin/munged']);
  await exec('sh', ['-c', 'munge -n | unmunge >/dev/null']);
}

/**
 * One node per machine by default, as the reference does. With `nodes` > 1, that many slurmd run
 * here side by side (`slurmd -N`, each on its own port, the machine's cores split between them):
 * a real multi-node allocation whose nodes all resolve to 127.0.0.1.
 */
export async function startSlurm(options: { gpus?: number; nodes?: number } = {}): Promise<SlurmCluster> {
  const gpus = options.gpus ?? 2;
  const count = options.nodes ?? 1;
  for (const bin of ['slurmctld', 'slurmd', 'sbatch', 'munged']) {
    await exec('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`]).catch(() => {
      throw new Error(`${bin} is not installed: ${INSTALL_HINT}`);
    });
  }
  await ensureMunge();
  const dir = await mkdtemp(join(tmpdir(), 'kit-slurm-'));
  for (const sub of ['state', 'spool', 'log', 'fakedev']) await mkdir(join(dir, sub));
  for (let i = 0; i < gpus * count; i++) await symlink('/dev/null', join(dir, 'fakedev', `nvidia${i}`));
  const host = hostname().split('.')[0]!;
  const nodes = count === 1 ? [host] : Array.from({ length: count }, (_, i) => `kn${i}`);
  const ctldPort = await freePort();
  const nodeLines: string[] = [];
  const gresLines: string[] = [];
  for (const [i, name] of nodes.entries()) {
    const where = count === 1 ? `NodeAddr=127.0.0.1 CPUs=2 Sockets=1 CoresPerSocket=2` : `NodeHostname=${host} NodeAddr=127.0.0.1 Port=${await freePort()} CPUs=1 Sockets=1 CoresPerSocket=1`;
    nodeLines.push(`NodeName=${name} ${where} ThreadsPerCore=1 RealMemory=2000 Gres=gpu:${gpus} State=UNKNOWN`);
    gresLines.push(`NodeName=${name} Name=gpu File=${dir}/fakedev/nvidia[${i * gpus}-${i * gpus + gpus - 1}]`);
    await mkdir(join(dir, 'spool', name));
  }
  const slurmdPort = count === 1 ? `SlurmdPort=${await freePort()}\n` : '';
  const conf = join(dir, 'slurm.conf');
  await writeFile(conf, `ClusterName=kittest
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${ctldPort}
${slurmdPort}SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool/%n
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd-%n.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd-%n.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=${dir}/log/jobcomp.txt
GresTypes=gpu
${nodeLines.join('\n')}
PartitionName=debug Nodes=${nodes.join(',')} Default=YES MaxTime=INFINITE State=UP
`);
  await writeFile(join(dir, 'gres.conf'), `${gresLines.join('\n')}\n`);
  const env = { ...process.env, SLURM_CONF: conf };
  const commands: Array<[string, string[]]> = [['slurmctld', ['-D']], ...nodes.map((n): [string, string[]] => ['slurmd', count === 1 ? ['-D'] : ['-D', '-N', n]])];
  const start = ([bin, args]: [string, string[]]) => {
    const child = spawn(bin, args, { env, stdio: 'ignore' });
    live.add(child);
    child.once('exit', () => live.delete(child));
    return child;
  };
  const daemons = commands.map(start);
  const exited = (d: ChildProcess) => (d.exitCode !== null || d.signalCode !== null ? undefined : new Promise((r) => d.once('exit', r)));
  const log = async () => {
    const read = (f: string) => readFile(join(dir, 'log', f), 'utf8').catch(() => '');
    const logs = [`--- slurmctld.log\n${await read('slurmctld.log')}`];
    for (const n of nodes) logs.push(`--- slurmd-${n}.log\n${await read(`slurmd-${n}.log`)}`);
    return logs.join('\n');
  };
  const stop = async () => {
    for (const d of daemons) d.kill('SIGTERM');
    await Promise.all(daemons.map(exited));
  };
  /** Stop slurmctld for `downMs`, then start it again on the same state (jobs keep running on the nodes). */
  const restartController = async (downMs: number) => {
    daemons[0]!.kill('SIGTERM');
    await exited(daemons[0]!);
    await sleep(downMs);
    daemons[0] = start(commands[0]!);
  };
  // Ready when every node is idle: each slurmd registered and the controller accepts jobs.
  for (let i = 0; ; i++) {
    const state = await exec('sinfo', ['-h', '-N', '-o', '%T'], env).catch(() => '');
    if (state.trim().split('\n').filter((s) => s === 'idle').length === count) break;
    if (i > 150 || daemons.some((d) => d.exitCode !== null)) {
      await stop();
      throw new Error(`Slurm did not come up (sinfo: ${state.trim() || 'no answer'})\n${await log()}`);
    }
    await sleep(200);
  }
  return { conf, nodes, env, gpus, log, stop, restartController };
}
