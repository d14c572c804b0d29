// The Kubernetes manifests of a run, checked against the Kubernetes API schemas: kubernetes-models'
// validators (generated from the official OpenAPI spec: types, required fields, enums, quantity
// formats) and @kubernetes/client-node's serializer (generated from the same spec), which drops any
// field the API does not define, so a round trip that changes the object means an unknown field.
// The train step's wrapper script is run for real with bash.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { Job } from 'kubernetes-models/batch/v1';
import { Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { buildManifests, displayedManifests, manifestsYaml, parseRunFile, parseTrainEnd, podLayout, RUN_MARKER, trainCommand, type KubernetesRunSpec } from '@modelkit/runner';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

const INPUT = `127.0.0.1:5000/demo/ft@sha256:${'a'.repeat(64)}`;
const SECRET = 'hf_very_secret_value_42';

function spec(runFileText: string, extra: Partial<KubernetesRunSpec> = {}): KubernetesRunSpec {
  const runFile = parseRunFile(runFileText, 'kitrun.yaml');
  return {
    runId: 'r20260101-120000-abc123',
    namespace: 'ml',
    input: INPUT,
    runFile,
    image: 'python:3.12-slim',
    kitImage: 'registry.example.com/kit:0.1.0',
    tags: ['127.0.0.1:5000/demo/ft:trained'],
    secretValues: Object.fromEntries(runFile.secrets.map((n) => [n, SECRET])),
    dockerConfig: JSON.stringify({ auths: { '127.0.0.1:5000': { auth: Buffer.from('alice:pw-in-config').toString('base64') } } }),
    ...extra,
  };
}

/** Valid by the schemas, and nothing the API would drop. */
function expectValid(object: { kind?: string }): void {
  const model = object.kind === 'Job' ? new Job(object as never) : object.kind === 'Service' ? new Service(object as never) : new Secret(object as never);
  expect(() => model.validate()).not.toThrow();
  const type = `V1${object.kind}`;
  expect(ObjectSerializer.serialize(object, type, '')).toEqual(JSON.parse(JSON.stringify(object)));
}

const containers = (job: ReturnType<typeof buildManifests>['job']) => [...job.spec!.template.spec!.initContainers!, ...job.spec!.template.spec!.containers];
const env = (job: ReturnType<typeof buildManifests>['job'], container: string) => Object.fromEntries(containers(job).find((c) => c.name === container)!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));

describe('Kubernetes manifests', () => {
  const FULL = [
    'setup: pip install -r src/requirements.txt',
    'run: python src/train.py',
    'env: {EPOCHS: "3"}',
    'secrets: [HF_TOKEN, WANDB_API_KEY]',
    'resources: {cpu: 2..8, memory: 16GB.., gpu: "A100:80GB:2"}',
    'inputs: [model, datasets:train, code]',
    'outputs: {model: out/model.safetensors}',
    'max_duration: 90m',
    'image: pytorch/pytorch:2.4.0',
  ].join('\n');

  it('one node: a plain Job with no retries, the deadline, GPUs, the env contract and every object valid', () => {
    const m = buildManifests(spec(FULL));
    for (const o of [m.secret, m.job]) expectValid(o);
    expect(m.service).toBeUndefined();
    const job = m.job;
    expect(job.metadata).toMatchObject({ name: 'kit-r20260101-120000-abc123', namespace: 'ml', labels: { 'modelkit-ts.dev/run-id': 'r20260101-120000-abc123' } });
    expect(job.spec).toMatchObject({ backoffLimit: 0, completions: 1, parallelism: 1, activeDeadlineSeconds: 5400, ttlSecondsAfterFinished: 3600 });
    expect(job.spec!.completionMode).toBeUndefined();
    expect(job.spec!.podFailurePolicy!.rules).toEqual([
      { action: 'FailJob', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'FailJob', onExitCodes: { operator: 'NotIn', values: [0] } },
    ]);
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(job.spec!.template.metadata!.labels).toMatchObject({ 'modelkit-ts.dev/run-id': 'r20260101-120000-abc123' });
    expect(pod.initContainers!.map((c) => c.name)).toEqual(['materialize', 'train']);
    expect(pod.containers.map((c) => c.name)).toEqual(['package']);
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory' } });

    const [materialize, train, pack] = containers(job);
    expect(materialize!.image).toBe('registry.example.com/kit:0.1.0');
    expect(materialize!.command).toEqual(['kit', 'pod-step', 'materialize', INPUT, '--root', '/kit', '--filter', 'model', '--filter', 'datasets:train', '--filter', 'code']);
    expect(train!.image).toBe('python:3.12-slim');
    expect(train!.workingDir).toBe('/kit/work/inputs');
    expect(train!.resources).toEqual({ requests: { cpu: '2', memory: '16384Mi' }, limits: { cpu: '8', 'nvidia.com/gpu': '2' } });
    expect(train!.volumeMounts).toContainEqual({ name: 'dshm', mountPath: '/dev/shm' });
    expect(train!.terminationMessagePath).toBe('/kit/termination-log');
    expect(env(job, 'train')).toMatchObject({
      EPOCHS: '3',
      KIT_RUN_ID: 'r20260101-120000-abc123',
      KIT_INPUT_DIR: '/kit/work/inputs',
      KIT_OUTPUT_DIR: '/kit/work/outputs',
      KIT_NODE_RANK: '0',
      KIT_NODE_COUNT: '1',
      KIT_GPUS_PER_NODE: '2',
      KIT_MASTER_ADDR: '127.0.0.1',
      KIT_MASTER_PORT: '29500',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      HF_TOKEN: { secretKeyRef: { name: 'kit-r20260101-120000-abc123', key: 'env.HF_TOKEN' } },
    });
    expect(env(job, 'train').NVIDIA_VISIBLE_DEVICES).toBeUndefined(); // the device plugin sets it
    expect(pack!.command).toEqual(expect.arrayContaining(['kit', 'pod-step', 'package', INPUT, '-t', '127.0.0.1:5000/demo/ft:trained', '--mask', 'HF_TOKEN', '--mask', 'WANDB_API_KEY']));
    expect(env(job, 'package')).toMatchObject({ KITOPS_HOME: '/kit/work/home', DOCKER_CONFIG: '/kit/secrets', KIT_NODE_NAME: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    // Kubernetes grants exact counts and matches exact labels: what it cannot do is said.
    expect(m.warnings.join('\n')).toMatch(/A100, which cannot be matched exactly.*--node-selector nvidia\.com\/gpu\.product=/);
    expect(m.warnings.join('\n')).toMatch(/gpu\.memory is not enforced/);
  });

  it('several nodes: an Indexed Job with a headless Service for rendezvous, the rank from the completion index', () => {
    const m = buildManifests(spec('run: torchrun train.py\nnodes: 3\noutputs: {model: m}\nresources: {gpu: 4}'));
    for (const o of [m.secret, m.service!, m.job]) expectValid(o);
    expect(m.job.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3 });
    expect(m.job.spec!.template.spec!.subdomain).toBe('kit-r20260101-120000-abc123');
    expect(m.service!.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: { 'modelkit-ts.dev/run-id': 'r20260101-120000-abc123' } });
    expect(env(m.job, 'train')).toMatchObject({
      KIT_NODE_RANK: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
      KIT_NODE_COUNT: '3',
      KIT_GPUS_PER_NODE: '4',
      KIT_MASTER_ADDR: 'kit-r20260101-120000-abc123-0.kit-r20260101-120000-abc123',
    });
    expect(env(m.job, 'package').KIT_NODE_RANK).toEqual(env(m.job, 'train').KIT_NODE_RANK);
    expect(m.warnings).toEqual([]);
  });

  it('no GPU: no GPU limit or toleration, and the pod sees no GPU; a count range asks for its least; a node selector is kept', () => {
    const none = buildManifests(spec('run: python train.py\noutputs: {model: m}'));
    expectValid(none.job);
    const train = containers(none.job).find((c) => c.name === 'train')!;
    expect(train.resources).toEqual({});
    expect(none.job.spec!.template.spec!.tolerations).toBeUndefined();
    expect(none.job.spec!.activeDeadlineSeconds).toBeUndefined();
    expect(env(none.job, 'train')).toMatchObject({ NVIDIA_VISIBLE_DEVICES: 'void', CUDA_VISIBLE_DEVICES: '', KIT_GPUS_PER_NODE: '0' });

    const ranged = buildManifests(spec('run: python train.py\noutputs: {model: m}\nresources: {gpu: "H100:1..4"}', { nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } }));
    expectValid(ranged.job);
    expect(containers(ranged.job).find((c) => c.name === 'train')!.resources!.limits).toEqual({ 'nvidia.com/gpu': '1' });
    expect(ranged.job.spec!.template.spec!.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' });
    expect(ranged.warnings).toEqual(['Kubernetes grants an exact GPU count; asking for 1 (the least the run file accepts)']);

    const retry = buildManifests(spec('run: x\noutputs: {model: m}\nretry: true'));
    expect(retry.job.spec!.podFailurePolicy!.rules[0]).toMatchObject({ action: 'Ignore' });
    expect(retry.warnings).toEqual(['retry on no_capacity does not apply on Kubernetes: a pod no node can take waits in the queue']);
    const second = buildManifests(spec('run: x\noutputs: {model: m}\nretry: {on_events: [error]}', { attempt: 2 }));
    expectValid(second.job);
    expect(second.warnings).toEqual([]);
    expect([second.job, second.secret].map((o) => o.metadata!.name)).toEqual([`${retry.job.metadata!.name}-2`, `${retry.job.metadata!.name}-2`]);
  });

  it('never puts a secret value in plain env or anywhere outside the Secret', () => {
    const m = buildManifests(spec(FULL, { signingKey: '-----BEGIN PRIVATE KEY-----\nsigning-key-bytes\n-----END PRIVATE KEY-----\n' }));
    const walk = (o: unknown, visit: (key: string, value: unknown) => void) => {
      if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) (visit(k, v), walk(v, visit));
    };
    for (const c of containers(m.job)) {
      for (const e of c.env ?? []) {
        if (['HF_TOKEN', 'WANDB_API_KEY'].includes(e.name)) expect(e.value).toBeUndefined();
        expect(e.value ?? '').not.toContain(SECRET);
      }
    }
    const outside = JSON.stringify(m.job);
    walk(m.job, (_k, v) => {
      if (typeof v === 'string') expect(v).not.toContain(SECRET);
    });
    expect(outside).not.toContain('signing-key-bytes');
    expect(outside).not.toContain('pw-in-config');
    expect(Buffer.from(m.secret.data!['env.HF_TOKEN']!, 'base64').toString()).toBe(SECRET);
    expect(m.secret.immutable).toBe(true);
    const secretVolume = m.job.spec!.template.spec!.volumes!.find((v) => v.secret)!;
    expect(secretVolume.secret!.items!.map((i) => i.path)).toEqual(['config.json', 'signing-key.pem']); // env values are not files
    expect(containers(m.job).find((c) => c.name === 'package')!.command).toEqual(expect.arrayContaining(['--signing-key', '/kit/secrets/signing-key.pem']));
  });

  it('--dry-run shows the manifests as YAML with each secret value replaced by where it comes from', () => {
    const m = buildManifests(spec(FULL));
    const text = manifestsYaml(displayedManifests(m, { secretNames: ['HF_TOKEN', 'WANDB_API_KEY'], registries: ['127.0.0.1:5000'], signed: false }));
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from('alice:pw-in-config').toString('base64'));
    const docs = parseAllDocuments(text).map((d) => d.toJSON());
    expect(docs.map((d) => d.kind)).toEqual(['Secret', 'Job']);
    expect(docs[0].stringData).toEqual({ 'docker-config.json': '<Docker config.json with your credentials for 127.0.0.1:5000>', 'env.HF_TOKEN': '<from $HF_TOKEN>', 'env.WANDB_API_KEY': '<from $WANDB_API_KEY>' });
    for (const d of docs) expectValid(d);
    expect(parseYaml(text.split('---\n')[1]!)).toEqual(JSON.parse(JSON.stringify(m.job)));
  });

  it('the schema checks are live: an unknown field or a bad quantity is caught', () => {
    const m = buildManifests(spec('run: x\noutputs: {model: m}'));
    const unknown = structuredClone(m.job) as typeof m.job & { spec: { retries?: number } };
    unknown.spec.retries = 3;
    expect(() => expectValid(unknown)).toThrow();
    const quantity = structuredClone(m.job);
    containers(quantity)[1]!.resources = { limits: { 'nvidia.com/gpu': 'two' } };
    expect(() => expectValid(quantity)).toThrow(); // kubernetes-models: must match format "quantity"
  });

  it('the mount root is an option (the test double of the API server rewrites it per pod)', () => {
    const m = buildManifests(spec('run: x\noutputs: {model: m}', { mountRoot: '/workspace' }));
    expect(env(m.job, 'train')).toMatchObject({ KIT_INPUT_DIR: '/workspace/work/inputs', KIT_OUTPUT_DIR: '/workspace/work/outputs' });
    expect(containers(m.job)[0]!.command).toContain('/workspace');
  });
});

describe('the train step (its wrapper run with bash)', () => {
  const run = async (setup: string[], steps: string[]) => {
    const root = await mkdtemp(join(tmpdir(), 'kit-train-step-'));
    const layout = podLayout(root);
    const [bash, ...args] = trainCommand(layout, setup, steps);
    const result = await new Promise<{ code: number; stdout: string }>((done) =>
      execFile(bash!, args, { cwd: root }, (error, stdout) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout })),
    );
    const message = await readFile(layout.terminationLog, 'utf8');
    const log = await readFile(join(layout.run, 'train.log'), 'utf8');
    return { ...result, message, log };
  };

  it('runs setup, the marker, then run; the log file holds what the container printed; the message says run 0', async () => {
    const r = await run(['echo installing', 'echo again'], ['echo training >&2', 'echo done']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`installing\nagain\n${RUN_MARKER}\ntraining\ndone\n`);
    expect(r.log).toBe(r.stdout);
    expect(parseTrainEnd(r.message)).toEqual({ step: 'run', exitCode: 0 });
  });

  it('a failed setup stops before run and says setup N; a failed run says run N', async () => {
    const setup = await run(['echo before', 'exit 3', 'echo never'], ['echo never either']);
    expect(setup.code).toBe(3);
    expect(setup.stdout).toBe('before\n');
    expect(parseTrainEnd(setup.message)).toEqual({ step: 'setup', exitCode: 3 });
    const failed = await run([], ['false', 'echo never']); // bash -e: the first failure ends the step
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe(`${RUN_MARKER}\n`);
    expect(parseTrainEnd(failed.message)).toEqual({ step: 'run', exitCode: 1 });
  });
});
