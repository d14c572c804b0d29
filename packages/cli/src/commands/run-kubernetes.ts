import type { KeyObject } from 'node:crypto';
import { KitError, type LocalStore } from '@modelkit/core';
import { defaultCredentials } from '@modelkit/registry';
import { kubernetesDryRun, runOnKubernetes, type KubernetesRunOptions, type RunStore } from '@modelkit/runner';
import type { Command } from 'commander';
import { kitHome } from '../context.js';
import { driveRun } from './run-driver.js';
import { registryClient, type NetworkFlags } from '../remote.js';

export interface KubernetesFlags extends Omit<NetworkFlags, 'key'> {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  image?: string;
  kitImage?: string;
  nodeSelector?: string[];
  dryRun?: boolean;
  gpus?: string;
  tag?: string[];
  json?: boolean;
}

/** The environment variable that names the kit image when --kit-image is not given. */
export const KIT_IMAGE_ENV = 'KIT_KUBERNETES_IMAGE';

/** `kit run --backend kubernetes`: submit, follow and report; or, with --dry-run, print the manifests. */
export async function runKubernetesCommand(command: Command, input: string, opts: KubernetesFlags, context: { store: LocalStore; runs: RunStore; key?: KeyObject; nodes?: number }): Promise<void> {
  const kitImage = opts.kitImage ?? process.env[KIT_IMAGE_ENV];
  if (!kitImage) {
    throw new KitError('INVALID_ARGUMENT', `--backend kubernetes needs the kit image for the pod's fetch and package steps: build this repository's Dockerfile (docker build -t REGISTRY/kit:0.1.0 .), push it, and pass --kit-image REGISTRY/kit:0.1.0 (or set ${KIT_IMAGE_ENV})`);
  }
  if (!opts.tag?.length) throw new KitError('INVALID_ARGUMENT', '--backend kubernetes packs and pushes the output inside the pod: give -t REGISTRY/REPOSITORY:TAG for it');
  if (opts.tlsCert?.length) throw new KitError('INVALID_ARGUMENT', '--tls-cert is not carried into the pod: with --backend kubernetes the pod trusts its image\'s CA bundle (or use --tls-verify=false)');
  const registry = registryClient(command, opts);
  const options: KubernetesRunOptions = {
    store: context.store,
    runs: context.runs,
    registry,
    credentials: defaultCredentials({ kitopsHome: kitHome(command) }),
    input,
    kube: { kubeconfig: opts.kubeconfig, context: opts.context, namespace: opts.namespace },
    image: opts.image,
    kitImage,
    gpus: opts.gpus,
    nodes: context.nodes,
    tags: opts.tag ?? [],
    key: context.key,
    nodeSelector: parseNodeSelector(opts.nodeSelector ?? []),
    registryFlags: [...(opts.plainHttp ? ['--plain-http'] : []), ...(opts.tlsVerify === 'false' ? ['--tls-verify', 'false'] : [])],
    pollMs: pollInterval(),
  };
  if (opts.dryRun) {
    try {
      process.stdout.write(await kubernetesDryRun(options));
    } finally {
      await registry.close();
    }
    return;
  }
  await driveRun(opts.json, (hooks) => runOnKubernetes({ ...options, ...hooks }), () => registry.close());
}

/** How often the Job and its pods are read (default 1 s; KIT_KUBERNETES_POLL_MS for busy API servers or fast tests). */
function pollInterval(): number | undefined {
  const ms = Number(process.env.KIT_KUBERNETES_POLL_MS);
  return Number.isInteger(ms) && ms >= 50 ? ms : undefined;
}

/** `--node-selector key=value`, repeatable: exact node labels. */
export function parseNodeSelector(pairs: string[]): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._/-]*)=([A-Za-z0-9._-]*)$/.exec(pair);
    if (!m) throw new KitError('INVALID_ARGUMENT', `--node-selector ${pair}: give a node label as key=value, e.g. nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB`);
    selector[m[1]!] = m[2]!;
  }
  return selector;
}
