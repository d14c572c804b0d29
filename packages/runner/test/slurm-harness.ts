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
  /** The node's name (this machine's short hostname). */
  node: string;
  /** Environment for child processes: the caller's plus SLURM_CONF. */
  env: NodeJS.ProcessEnv;
  gpus: number;
  log(): Promise<string>;
  stop(): Promise<void>;
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

export async function startSlurm(options: { gpus?: number } = {}): Promise<SlurmCluster> {
  const gpus = options.gpus ?? 2;
  for (const bin of ['slurmctld', 'slurmd', 'sbatch', 'munged']) {
    await exec('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`]).catch(() => {
      throw new Error(`${bin} is not installed: ${INSTALL_HINT}`);
    });
  }
  await ensureMunge();
  const dir = await mkdtemp(join(tmpdir(), 'kit-slurm-'));
  for (const sub of ['state', 'spool', 'log', 'fakedev']) await mkdir(join(dir, sub));
  for (let i = 0; i < gpus; i++) await symlink('/dev/null', join(dir, 'fakedev', `nvidia${i}`));
  const node = hostname().split('.')[0]!;
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  await writeFile(conf, `ClusterName=kittest
SlurmctldHost=${node}
SlurmctldPort=${ctldPort}
SlurmdPort=${slurmdPort}
SlurmUser=root
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
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=${dir}/log/jobcomp.txt
GresTypes=gpu
NodeName=${node} CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=4000 Gres=gpu:${gpus} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP
`);
  await writeFile(join(dir, 'gres.conf'), `NodeName=${node} Name=gpu File=${dir}/fakedev/nvidia[0-${gpus - 1}]\n`);
  const env = { ...process.env, SLURM_CONF: conf };
  const daemons = ['slurmctld', 'slurmd'].map((bin) => {
    const child = spawn(bin, ['-D'], { env, stdio: 'ignore' });
    live.add(child);
    child.once('exit', () => live.delete(child));
    return child;
  });
  const log = async () => {
    const read = (f: string) => readFile(join(dir, 'log', f), 'utf8').catch(() => '');
    return `--- slurmctld.log\n${await read('slurmctld.log')}\n--- slurmd.log\n${await read('slurmd.log')}`;
  };
  const stop = async () => {
    for (const d of daemons) d.kill('SIGTERM');
    await Promise.all(daemons.map((d) => (d.exitCode !== null ? undefined : new Promise((r) => d.once('exit', r)))));
  };
  // Ready when the node is idle: slurmd registered and the controller accepts jobs.
  for (let i = 0; ; i++) {
    const state = await exec('sinfo', ['-h', '-o', '%T'], env).catch(() => '');
    if (state.trim() === 'idle') break;
    if (i > 150 || daemons.some((d) => d.exitCode !== null)) {
      await stop();
      throw new Error(`Slurm did not come up (sinfo: ${state.trim() || 'no answer'})\n${await log()}`);
    }
    await sleep(200);
  }
  return { conf, node, env, gpus, log, stop };
}
