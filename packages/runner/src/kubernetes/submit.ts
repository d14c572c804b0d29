/**
 * `kit run --backend kubernetes`: resolve the input in its registry, read its run file, create the
 * run's Secret, Job and (for several nodes) headless Service, follow the Job to its end with every
 * state change and log line recorded, then remove the Secret and Service. Training, packing and
 * pushing happen in the pod; this process only submits, follows and cancels.
 */
import type { KeyObject } from 'node:crypto';
import { KitError, type LocalStore } from '@modelkit/core';
import { parseDockerReference, type CredentialSource, type RegistryClient } from '@modelkit/registry';
import { RunRecorder } from '../recorder.js';
import { parseGpuSpec, type RunFile } from '../runfile/index.js';
import { FINISHED, RunStore, type RunState } from '../state.js';
import { KubeClient, type KubeTarget } from './client.js';
import { displayedManifests, manifestsYaml } from './dry-run.js';
import { followRun, type FollowEnd } from './follow.js';
import { resolveRemoteInput, type RemoteInput } from './input.js';
import { buildManifests, type KubernetesManifests, type KubernetesRunSpec } from './manifests.js';
import { podDockerConfig } from './pod-credentials.js';

export interface KubernetesRunOptions {
  store: LocalStore;
  runs: RunStore;
  /** Resolves the input and reads its run file (only manifest, config and code layers are pulled). */
  registry: RegistryClient;
  /** The caller's registry credentials, of which the pod gets those for its registries. */
  credentials: CredentialSource;
  input: string;
  kube: KubeTarget;
  /** The image setup and run execute in; overrides the run file's `image`. */
  image?: string;
  /** The kit image (this repository's Dockerfile). */
  kitImage: string;
  gpus?: string;
  nodes?: number;
  /** Registry references the pod pushes the output to (required: the pod's disk goes with it). */
  tags: string[];
  key?: KeyObject;
  nodeSelector?: Record<string, string>;
  /** Registry flags the pod's kit steps get (`--plain-http`, `--tls-verify=false`). */
  registryFlags?: string[];
  /** Where secret values come from (default process.env). */
  environment?: NodeJS.ProcessEnv;
  /** Where the pod's volumes are mounted (default /kit). */
  mountRoot?: string;
  onLog?: (chunk: Buffer) => void;
  onStatus?: (state: RunState) => void;
  /** Aborting cancels the run: the Job is deleted. */
  signal?: AbortSignal;
  runId?: string;
  pollMs?: number;
}

/** What a run would create: resolved input, run file and manifests, with nothing created yet. */
export interface PreparedKubernetesRun {
  runId: string;
  input: RemoteInput;
  runFile: RunFile;
  manifests: KubernetesManifests;
  /** What the manifests were built from, to build a retry's. */
  spec: KubernetesRunSpec;
  /** Registries the pod gets credentials for. */
  credentialsFor: string[];
  namespace: string;
  /** Secret values, to be masked in the log. */
  secretValues: string[];
}

/** Everything short of creating objects; `--dry-run` prints the result. */
export async function prepareKubernetesRun(options: KubernetesRunOptions, namespace: string): Promise<PreparedKubernetesRun> {
  const runId = options.runId ?? RunStore.newRunId();
  if (options.tags.length === 0) {
    throw new KitError('INVALID_ARGUMENT', '--backend kubernetes packs and pushes the output inside the pod: give -t REGISTRY/REPOSITORY:TAG for it');
  }
  const outputs = options.tags.map((t) => parseDockerReference(t));
  const input = await resolveRemoteInput(options.store, options.registry, options.input);
  const packed = input.runFile.runFile;
  const runFile: RunFile = {
    ...packed,
    ...(options.nodes !== undefined ? { nodes: options.nodes } : {}),
    resources: { ...packed.resources, ...(options.gpus ? { gpu: parseGpuSpec(options.gpus, '--gpus') } : {}) },
  };
  const image = options.image ?? runFile.image;
  if (!image) {
    throw new KitError('INVALID_ARGUMENT', `${input.runFile.path} names no image, and the Kubernetes backend runs setup and run in one: add \`image: python:3.12-slim\` (any image with bash) to ${input.runFile.path}, or pass --image`);
  }
  const environment = options.environment ?? process.env;
  const missing = runFile.secrets.filter((n) => environment[n] === undefined);
  if (missing.length > 0) throw new KitError('INVALID_ARGUMENT', `the run file asks for secrets ${missing.join(', ')}: set them in your environment (they go into a Kubernetes Secret, never into a manifest or the log)`);
  const secretValues = Object.fromEntries(runFile.secrets.map((n) => [n, environment[n]!]));

  const registries = [parseDockerReference(input.pinned).registry, ...outputs.map((o) => o.registry)];
  const credentials = await podDockerConfig(registries, options.credentials);
  const spec: KubernetesRunSpec = {
    runId,
    namespace,
    input: input.pinned,
    runFile,
    image,
    kitImage: options.kitImage,
    tags: options.tags,
    secretValues,
    dockerConfig: credentials.config,
    signingKey: options.key?.export({ type: 'pkcs8', format: 'pem' }).toString(),
    nodeSelector: options.nodeSelector,
    mountRoot: options.mountRoot,
    registryFlags: options.registryFlags,
  };
  const manifests = buildManifests(spec);
  for (const registry of new Set(registries)) {
    if (/^(localhost|127\.|\[::1\])/.test(registry)) manifests.warnings.push(`the pod reaches ${registry} from inside the cluster, where localhost is the pod itself`);
  }
  return { runId, input, runFile, manifests, spec, credentialsFor: credentials.found, namespace, secretValues: Object.values(secretValues) };
}

/** The manifests a run would create, as YAML documents, secret values replaced by where they come from. */
export async function kubernetesDryRun(options: KubernetesRunOptions): Promise<string> {
  // A dry run needs no cluster: the kubeconfig only names the default namespace.
  const namespace = options.kube.namespace ?? (await KubeClient.load(options.kube).then((c) => c.namespace).catch(() => 'default'));
  const prepared = await prepareKubernetesRun(options, namespace);
  const notes = prepared.manifests.warnings.map((w) => `# warning: ${w}\n`).join('');
  return notes + manifestsYaml(displayedManifests(prepared.manifests, { secretNames: prepared.runFile.secrets, registries: prepared.credentialsFor, signed: !!options.key }));
}

export async function runOnKubernetes(options: KubernetesRunOptions): Promise<RunState> {
  const client = await KubeClient.load(options.kube);
  const runId = options.runId ?? RunStore.newRunId();
  const recorder = await RunRecorder.start(options.runs, { id: runId, input: options.input, backend: 'kubernetes', pid: process.pid }, options);
  const { update, emit } = recorder;
  const say = (text: string) => emit(Buffer.from(`[kit] ${text}\n`));
  const created: Array<() => Promise<void>> = [];
  let jobCreated: string | undefined;
  try {
    const prepared = await prepareKubernetesRun({ ...options, runId }, client.namespace);
    recorder.maskSecrets(prepared.secretValues);
    const { input, runFile } = prepared;
    for (const warning of prepared.manifests.warnings) say(warning);
    await update('pending', { inputDigest: input.descriptor.digest, host: `${client.context}/${client.namespace}`, startedAt: new Date().toISOString() });
    // retry on error is the runner's, as on every backend: a new Job, never the Job's own backoff.
    const retryUntil = Date.now() + (runFile.retry?.durationMs ?? 0);
    const mayRetryError = () => !!runFile.retry?.onEvents.includes('error') && Date.now() < retryUntil && !options.signal?.aborted;
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) return await update('cancelled', { terminationReason: 'interrupted' });
      const manifests = attempt === 1 ? prepared.manifests : buildManifests({ ...prepared.spec, attempt });
      const name = manifests.job.metadata!.name!;

      // The Secret first (the pods mount it), then the Job; then the Secret and Service are owned by
      // the Job, so the garbage collector removes them with it even if this process dies.
      const secret = await client.createSecret(manifests.secret);
      created.push(() => client.deleteSecret(name));
      const job = await client.createJob(manifests.job);
      jobCreated = name;
      const owner = [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata!.uid!, blockOwnerDeletion: false }];
      await client.replaceSecret({ ...manifests.secret, metadata: { ...manifests.secret.metadata, resourceVersion: secret.metadata?.resourceVersion, ownerReferences: owner } });
      if (manifests.service) {
        await client.createService({ ...manifests.service, metadata: { ...manifests.service.metadata, ownerReferences: owner } });
        created.push(() => client.deleteService(name));
      }
      say(`created Job ${name} in namespace ${client.namespace} (${client.context})`);
      await update('pending', { jobId: name });

      const end = await followRun({
        client,
        job: name,
        runId,
        nodes: runFile.nodes,
        hasSetup: runFile.setup.length > 0,
        replacesDisrupted: !!runFile.retry?.onEvents.includes('interruption'),
        onPhase: (phase, pendingReason) => void update(phase, { pendingReason: phase === 'pending' ? pendingReason : undefined }),
        onOutput: emit,
        signal: options.signal ?? new AbortController().signal,
        pollMs: options.pollMs,
      });
      if (end.status === 'failed' && typeof end.exitCode === 'number' && end.terminationReason.startsWith('exit_code:') && mayRetryError()) {
        say(`Job ${name} ended with ${end.terminationReason}; submitting the run again (retry on error)`);
        // This attempt's Secret and Service go now; its Job stays for ttlSecondsAfterFinished (kubectl logs).
        for (const remove of created.splice(0).reverse()) await remove().catch(() => undefined);
        jobCreated = undefined;
        continue;
      }
      return await finish(end);
    }
  } catch (e) {
    if (jobCreated) await client.deleteJob(jobCreated).catch(() => undefined); // nothing left running that no one follows
    if (!FINISHED.has(recorder.state.status)) await update('failed', { terminationReason: e instanceof KitError ? `error:${e.code}` : 'error' });
    throw e;
  } finally {
    for (const remove of created.reverse()) await remove().catch(() => undefined);
    recorder.release();
  }

  async function finish(end: FollowEnd): Promise<RunState> {
    if (end.status === 'cancelled') {
      await client.deleteJob(jobCreated!);
      say(`deleted Job ${jobCreated}`);
      return update('cancelled', { terminationReason: 'interrupted' });
    }
    if (end.status === 'succeeded') {
      return update('succeeded', { exitCode: 0, terminationReason: 'exit_code:0', output: { digest: end.output.digest, references: end.output.references }, gpus: end.output.gpus ?? [] });
    }
    return update(end.status, { terminationReason: end.terminationReason, ...(end.exitCode !== undefined ? { exitCode: end.exitCode } : {}) });
  }
}

/**
 * Delete a run's Job in the context and namespace it was submitted to (recorded as the run's host):
 * for `kit runs cancel` when the kit process that followed it is gone. The Secret and Service are
 * owned by the Job and go with it.
 */
export async function cancelKubernetesJob(run: RunState, kube: Pick<KubeTarget, 'kubeconfig'> = {}): Promise<void> {
  const at = run.host?.lastIndexOf('/') ?? -1;
  if (!run.jobId || at < 0) throw new KitError('INVALID_ARGUMENT', `run ${run.id} records no Kubernetes Job to cancel`);
  const client = await KubeClient.load({ ...kube, context: run.host!.slice(0, at), namespace: run.host!.slice(at + 1) });
  await client.deleteJob(run.jobId);
}
