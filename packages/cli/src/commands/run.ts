import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KitError, loadPrivateKey, pack, resolveLocal, type LocalStore } from '@modelkit/core';
import { pullModelKit } from '@modelkit/registry';
import { LocalClusterShell, LocalHost, parseSshTarget, pushRunOutput, runModelKit, RunStore, SlurmScheduler, SshClusterShell, SshHost, type ExecutionHost, type Scheduler } from '@modelkit/runner';
import type { Command } from 'commander';
import { kitHome, openStore } from '../context.js';
import { registryClient, withNetworkOptions, type NetworkFlags } from '../remote.js';
import { driveRun } from './run-driver.js';
import { runKubernetesCommand, type KubernetesFlags } from './run-kubernetes.js';

interface RunFlags extends Omit<NetworkFlags, 'key'>, KubernetesFlags {
  backend: string;
  host?: string;
  sshKey?: string;
  sshKnownHosts?: string;
  gpus?: string;
  tag?: string[];
  push?: boolean;
  key?: string;
  keepWorkspace?: boolean;
  json?: boolean;
  partition?: string;
  nodes?: string;
  slurmArg?: string[];
}

export function runStore(command: Command): RunStore {
  return new RunStore(join(kitHome(command), 'runs'));
}

function connectSsh(opts: RunFlags): Promise<SshHost> {
  return SshHost.connect({ target: parseSshTarget(opts.host!), privateKeyPath: opts.sshKey, knownHostsPath: opts.sshKnownHosts });
}

async function openHost(command: Command, opts: RunFlags): Promise<ExecutionHost | Scheduler> {
  if (opts.backend === 'slurm') {
    // With --host, the Slurm commands run on that login node over SSH; without, on this machine.
    const shell = opts.host ? new SshClusterShell(await connectSsh(opts)) : new LocalClusterShell(join(kitHome(command), 'runs'));
    return new SlurmScheduler({ shell, partition: opts.partition, extraArgs: opts.slurmArg });
  }
  if (opts.backend === 'local') return new LocalHost({ runsDir: join(kitHome(command), 'runs'), gpuLockDir: join(kitHome(command), 'gpu-locks') });
  if (opts.backend === 'ssh') {
    if (!opts.host) throw new KitError('INVALID_ARGUMENT', '--backend ssh needs --host user@host[:port]');
    return connectSsh(opts);
  }
  throw new KitError('INVALID_ARGUMENT', `--backend ${opts.backend}: use local, ssh, slurm or kubernetes`);
}

/** A directory is packed first; a reference is used from the store, or pulled when it is not there. */
async function resolveInput(store: LocalStore, input: string, command: Command, opts: RunFlags) {
  if ((await stat(input).catch(() => undefined))?.isDirectory()) {
    const packed = await pack({ store, contextDir: input });
    return { reference: 'localhost/_', descriptor: packed.descriptor };
  }
  try {
    const kit = await resolveLocal(store, input);
    return { reference: `${kit.reference.registry}/${kit.reference.repository}`, descriptor: kit.descriptor };
  } catch (e) {
    if (!(e instanceof KitError && e.code === 'NOT_FOUND')) throw e;
  }
  const client = registryClient(command, opts);
  try {
    const { repository, reference, target } = client.repository(input);
    const localRepository = `${reference.registry}/${reference.repository}`;
    const pulled = await pullModelKit({ store, repository, reference: target, localRepository });
    return { reference: localRepository, descriptor: pulled.descriptor };
  } finally {
    await client.close();
  }
}

export function registerRun(program: Command): void {
  withNetworkOptions(
    program
      .command('run')
      .description("Run a ModelKit's packaged training (kitrun.yaml) and pack the outputs as a new ModelKit with provenance")
      .argument('<input>', 'ModelKit reference, or a directory to pack first')
      .option('--backend <backend>', 'local, ssh, slurm or kubernetes', 'local')
      .option('--host <user@host[:port]>', 'the SSH host (--backend ssh), or a Slurm login node to submit through (--backend slurm)')
      .option('--ssh-key <file>', 'SSH private key (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa, or the agent)')
      .option('--ssh-known-hosts <file>', 'known_hosts to check the host key against (default ~/.ssh/known_hosts)')
      .option('--partition <name>', 'the Slurm partition (with --backend slurm)')
      .option('--nodes <n>', 'machines to run on, overriding the run file (Slurm, Kubernetes)')
      .option('--slurm-arg <arg...>', 'extra sbatch options, e.g. --slurm-arg=--account=proj')
      .option('--gpus <spec>', 'GPUs to use, overriding the run file (dstack grammar: A100:80GB:2, 24GB.., 1..2)')
      .option('-t, --tag <reference...>', 'tag the output ModelKit')
      .option('--push', 'push the output (and its provenance) to the registry named by -t')
      .option('--key <file>', 'sign the provenance with this private key')
      .option('--keep-workspace', 'leave the run directory on the host')
      .option('--namespace <ns>', "the Kubernetes namespace (default: the kubeconfig context's, else default)")
      .option('--context <name>', 'the kubeconfig context (default: the current one)')
      .option('--kubeconfig <file>', 'the kubeconfig (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)')
      .option('--image <image>', "the container image setup and run execute in (Kubernetes), overriding the run file's image")
      .option('--kit-image <image>', "the kit image for the pod's fetch and package steps, built from this repository's Dockerfile (env KIT_KUBERNETES_IMAGE)")
      .option('--node-selector <key=value...>', 'run only on nodes with this label (Kubernetes), e.g. nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB')
      .option('--dry-run', 'print the Kubernetes manifests the run would create, and create nothing')
      .option('--json', 'print the final run state as JSON'),
    { clientCertFlags: false },
  ).action(async (input: string, opts: RunFlags, command: Command) => {
    const store = await openStore(command);
    const key = opts.key ? await loadPrivateKey(opts.key) : undefined;
    const tags = opts.tag ?? [];
    if (opts.push && tags.length === 0) throw new KitError('INVALID_ARGUMENT', '--push needs -t registry/repository:tag for the output');
    const nodes = opts.nodes === undefined ? undefined : parseNodes(opts.nodes);
    // The pod packs and pushes the output itself: a different flow from the hosts' and Slurm's.
    if (opts.backend === 'kubernetes') return runKubernetesCommand(command, input, opts, { store, runs: runStore(command), key, nodes });
    if (opts.dryRun) throw new KitError('INVALID_ARGUMENT', '--dry-run is for --backend kubernetes');
    const host = await openHost(command, opts);
    await driveRun(
      opts.json,
      (hooks) =>
        runModelKit({
          store,
          runs: runStore(command),
          host,
          input,
          resolveInput: () => resolveInput(store, input, command, opts),
          gpus: opts.gpus,
          nodes,
          tags,
          key,
          keepWorkspace: opts.keepWorkspace,
          ...hooks,
          push: opts.push ? (output) => pushOutput(command, opts, store, output.references.map((r) => `${r.registry}/${r.repository}:${r.tag}`)) : undefined,
        }),
      () => host.close(),
    );
  });
}

function parseNodes(text: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(text)) throw new KitError('INVALID_ARGUMENT', `--nodes ${text}: give a whole number of machines, e.g. --nodes 2`);
  return Number(text);
}

async function pushOutput(command: Command, opts: RunFlags, store: LocalStore, references: string[]): Promise<void> {
  const client = registryClient(command, opts);
  try {
    await pushRunOutput(store, client, references);
  } finally {
    await client.close();
  }
}
