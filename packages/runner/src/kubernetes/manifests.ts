/**
 * The Kubernetes objects of one run, as a pure function of what the submitter resolved: a Secret
 * (the run file's secret values, the registry credentials and signing key the pod needs), a
 * headless Service for multi-node rendezvous, and the Job. spec/kubernetes.md explains each choice.
 */
import type { V1Container, V1EnvVar, V1Job, V1PodFailurePolicyRule, V1ResourceRequirements, V1Secret, V1Service, V1Toleration, V1VolumeMount } from '@kubernetes/client-node';
import { KitError } from '@modelkit/core';
import type { GpuRequest, RunFile } from '../runfile/index.js';
import { MASTER_PORT } from '../slurm/batch-script.js';
import { ANNOTATIONS, CONTAINERS, DEFAULT_MOUNT_ROOT, LABELS, podLayout, SECRET_FILES, SECRET_KEYS } from './layout.js';
import { trainCommand } from './train-script.js';

export const GPU_RESOURCE = 'nvidia.com/gpu';
/** The Job is removed this long after it ends; its Secret and Service go with it (owner references). */
export const DEFAULT_TTL_SECONDS = 3600;

export interface KubernetesRunSpec {
  runId: string;
  /** Which submission of the run this is: a retry is a new Job, `kit-<run id>-<attempt>`. Default 1. */
  attempt?: number;
  namespace: string;
  /** What the pod pulls, pinned: `registry/repository@sha256:…`. */
  input: string;
  /** The run file, with command-line overrides (nodes, GPUs) applied. */
  runFile: RunFile;
  /** The image setup and run execute in. */
  image: string;
  /** The kit image (this repository's Dockerfile) for the materialize and package steps. */
  kitImage: string;
  /** Tags the package step pushes the output under (registry references). */
  tags: string[];
  /** The run file's secrets, name → value: the values only ever go into the Secret. */
  secretValues: Record<string, string>;
  /** A Docker config.json with credentials for the registries the pod pulls from and pushes to. */
  dockerConfig: string;
  /** PEM of the key that signs the provenance (unencrypted: it lives in the Secret). */
  signingKey?: string;
  /** Exact node labels the pod must land on (`--node-selector key=value`). */
  nodeSelector?: Record<string, string>;
  /** Where the workspace and Secret volumes are mounted in every container (default /kit). */
  mountRoot?: string;
  /** Registry flags the pod's kit steps need (`--plain-http`, `--tls-verify=false`). */
  registryFlags?: string[];
  ttlSecondsAfterFinished?: number;
}

export interface KubernetesManifests {
  secret: V1Secret;
  service?: V1Service;
  job: V1Job;
  /** What the run file asks that Kubernetes cannot express exactly, said in the run's log. */
  warnings: string[];
}

/** `kit-<run id>`, `-<attempt>` from the second: the Job, its Secret and its Service share the name (a DNS-1123 label). */
export function jobName(runId: string, attempt = 1): string {
  const name = `kit-${runId}${attempt > 1 ? `-${attempt}` : ''}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (name.length > 52) throw new KitError('INVALID_ARGUMENT', `run id ${runId} is too long for a Kubernetes Job name`);
  return name;
}

export function runLabels(runId: string): Record<string, string> {
  return { [LABELS.runId]: runId, [LABELS.managedBy]: 'kit' };
}

export function buildManifests(spec: KubernetesRunSpec): KubernetesManifests {
  const { runFile, runId, namespace } = spec;
  const name = jobName(runId, spec.attempt);
  const layout = podLayout(spec.mountRoot ?? DEFAULT_MOUNT_ROOT);
  const labels = runLabels(runId);
  const nodes = runFile.nodes;
  const multi = nodes > 1;
  const warnings: string[] = [];
  const gpu = runFile.resources.gpu;
  const gpuCount = gpu ? gpuLimit(gpu, spec.nodeSelector ?? {}, warnings) : 0;
  if (runFile.retry?.onEvents.includes('no_capacity')) warnings.push('retry on no_capacity does not apply on Kubernetes: a pod no node can take waits in the queue');

  const secretData: Record<string, string> = { [SECRET_KEYS.dockerConfig]: b64(spec.dockerConfig) };
  if (spec.signingKey) secretData[SECRET_KEYS.signingKey] = b64(spec.signingKey);
  for (const secretName of runFile.secrets) secretData[SECRET_KEYS.env(secretName)] = b64(spec.secretValues[secretName] ?? '');
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels },
    type: 'Opaque',
    immutable: true,
    data: secretData,
  };

  // Secret values reach the containers by reference only: nothing secret is ever in a manifest's env.
  const secretEnv: V1EnvVar[] = runFile.secrets.map((n) => ({ name: n, valueFrom: { secretKeyRef: { name, key: SECRET_KEYS.env(n) } } }));
  const rank: V1EnvVar = multi
    ? { name: 'KIT_NODE_RANK', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${ANNOTATIONS.completionIndex}']` } } }
    : { name: 'KIT_NODE_RANK', value: '0' };
  const kitEnv: V1EnvVar[] = [
    { name: 'KITOPS_HOME', value: layout.home },
    { name: 'DOCKER_CONFIG', value: layout.secrets },
  ];
  const mounts: V1VolumeMount[] = [
    { name: 'work', mountPath: layout.work },
    { name: 'secrets', mountPath: layout.secrets, readOnly: true },
  ];
  const registryFlags = spec.registryFlags ?? [];
  const filters = (runFile.inputs ?? []).flatMap((f) => ['--filter', f]);

  const materialize: V1Container = {
    name: CONTAINERS.materialize,
    image: spec.kitImage,
    command: ['kit', 'pod-step', 'materialize', spec.input, '--root', layout.root, ...filters, ...registryFlags],
    env: kitEnv,
    volumeMounts: mounts,
    terminationMessagePath: layout.terminationLog,
  };

  const contract: V1EnvVar[] = [
    ...Object.entries(runFile.env).map(([n, value]) => ({ name: n, value })),
    { name: 'KIT_RUN_ID', value: runId },
    { name: 'KIT_INPUT_DIR', value: layout.inputs },
    { name: 'KIT_OUTPUT_DIR', value: layout.outputs },
    rank,
    { name: 'KIT_NODE_COUNT', value: String(nodes) },
    { name: 'KIT_GPUS_PER_NODE', value: String(gpuCount) },
    { name: 'KIT_MASTER_ADDR', value: multi ? `${name}-0.${name}` : '127.0.0.1' },
    { name: 'KIT_MASTER_PORT', value: String(MASTER_PORT) },
    { name: 'CUDA_DEVICE_ORDER', value: 'PCI_BUS_ID' },
    // The device plugin sets NVIDIA_VISIBLE_DEVICES for pods that ask for GPUs; one that asks for
    // none must not see the node's GPUs through a runtime that defaults to all of them.
    ...(gpuCount === 0 ? [{ name: 'NVIDIA_VISIBLE_DEVICES', value: 'void' }, { name: 'CUDA_VISIBLE_DEVICES', value: '' }] : []),
    ...secretEnv,
  ];
  const train: V1Container = {
    name: CONTAINERS.train,
    image: spec.image,
    command: trainCommand(layout, runFile.setup, runFile.run),
    workingDir: layout.inputs,
    env: contract,
    resources: resources(runFile, gpuCount),
    volumeMounts: [...mounts, { name: 'dshm', mountPath: '/dev/shm' }],
    terminationMessagePath: layout.terminationLog,
  };

  const packageArgs = ['--root', layout.root, '--run-id', runId, '--job', name, '--namespace', namespace, '--nodes', String(nodes), ...spec.tags.flatMap((t) => ['-t', t])];
  if (spec.signingKey) packageArgs.push('--signing-key', `${layout.secrets}/${SECRET_FILES.signingKey}`);
  for (const n of runFile.secrets) packageArgs.push('--mask', n);
  const pack: V1Container = {
    name: CONTAINERS.package,
    image: spec.kitImage,
    command: ['kit', 'pod-step', 'package', spec.input, ...packageArgs, ...registryFlags],
    env: [
      ...kitEnv,
      rank,
      { name: 'KIT_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      // Only to mask them in the log whose digest provenance records.
      ...secretEnv,
    ],
    volumeMounts: mounts,
    terminationMessagePath: layout.terminationLog,
  };

  const tolerations: V1Toleration[] = gpuCount > 0 ? [{ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }] : [];
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace, labels, annotations: { [ANNOTATIONS.input]: spec.input } },
    spec: {
      backoffLimit: 0, // no silent retries: the runner decides (spec/kubernetes.md)
      completions: nodes,
      parallelism: nodes,
      ...(multi ? { completionMode: 'Indexed' } : {}),
      ...(runFile.maxDurationMs !== undefined ? { activeDeadlineSeconds: Math.ceil(runFile.maxDurationMs / 1000) } : {}),
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished ?? DEFAULT_TTL_SECONDS,
      podFailurePolicy: { rules: failurePolicy(runFile) },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(multi ? { subdomain: name } : {}),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(spec.nodeSelector && Object.keys(spec.nodeSelector).length > 0 ? { nodeSelector: spec.nodeSelector } : {}),
          ...(tolerations.length > 0 ? { tolerations } : {}),
          initContainers: [materialize, train],
          containers: [pack],
          volumes: [
            { name: 'work', emptyDir: {} },
            { name: 'dshm', emptyDir: { medium: 'Memory' } },
            {
              name: 'secrets',
              secret: {
                secretName: name,
                defaultMode: 0o400,
                items: [
                  { key: SECRET_KEYS.dockerConfig, path: SECRET_FILES.dockerConfig },
                  ...(spec.signingKey ? [{ key: SECRET_KEYS.signingKey, path: SECRET_FILES.signingKey }] : []),
                ],
              },
            },
          ],
        },
      },
    },
  };

  const service: V1Service | undefined = multi
    ? {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace, labels },
        spec: {
          clusterIP: 'None',
          selector: { [LABELS.runId]: runId },
          // The train step is an init container, so pods are never Ready while it runs: publish them anyway.
          publishNotReadyAddresses: true,
          ports: [{ name: 'rendezvous', port: MASTER_PORT, targetPort: MASTER_PORT }],
        },
      }
    : undefined;
  return { secret, ...(service ? { service } : {}), job, warnings };
}

/**
 * Kubernetes grants an exact number of a device plugin's GPUs and matches nodes by exact labels;
 * dstack's ranges and short names (A100) are said as warnings with what to write instead.
 */
function gpuLimit(gpu: GpuRequest, nodeSelector: Record<string, string>, warnings: string[]): number {
  const count = Math.max(gpu.count.min, 1);
  if (gpu.count.max === undefined || gpu.count.max > count) warnings.push(`Kubernetes grants an exact GPU count; asking for ${count} (the least the run file accepts)`);
  const selects = (part: string) => Object.keys(nodeSelector).some((k) => k.includes(part));
  if (gpu.names?.length && !selects('gpu.product')) {
    warnings.push(
      `resources.gpu names ${gpu.names.join(' or ')}, which cannot be matched exactly against node labels; ` +
        `add --node-selector nvidia.com/gpu.product=<the product label of those nodes, e.g. NVIDIA-A100-SXM4-80GB> (see \`kubectl get nodes -L nvidia.com/gpu.product\`)`,
    );
  }
  if (gpu.memoryMiB && !selects('gpu.memory')) warnings.push('resources.gpu.memory is not enforced on Kubernetes; choose nodes with --node-selector (e.g. nvidia.com/gpu.product=…)');
  return count;
}

function resources(runFile: RunFile, gpus: number): V1ResourceRequirements {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  const { cpu, memoryMiB } = runFile.resources;
  if (cpu) {
    requests.cpu = String(cpu.min);
    if (cpu.max !== undefined) limits.cpu = String(cpu.max);
  }
  if (memoryMiB) {
    if (memoryMiB.min > 0) requests.memory = `${memoryMiB.min}Mi`;
    if (memoryMiB.max !== undefined) limits.memory = `${memoryMiB.max}Mi`;
  }
  if (gpus > 0) limits[GPU_RESOURCE] = String(gpus);
  return { ...(Object.keys(requests).length > 0 ? { requests } : {}), ...(Object.keys(limits).length > 0 ? { limits } : {}) };
}

/**
 * A failed container fails the Job at once (backoffLimit 0 says the same; the rule makes the
 * reason explicit). A pod disrupted by the cluster (preemption, drain) is replaced only when the
 * run file's retry allows `interruption`; the follower says so in the log, so it is never silent.
 */
function failurePolicy(runFile: RunFile): V1PodFailurePolicyRule[] {
  const retryInterruption = !!runFile.retry?.onEvents.includes('interruption');
  return [
    { action: retryInterruption ? 'Ignore' : 'FailJob', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    { action: 'FailJob', onExitCodes: { operator: 'NotIn', values: [0] } },
  ];
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
