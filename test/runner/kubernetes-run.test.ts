// `kit run --backend kubernetes` end to end with the built CLI. No Kubernetes cluster can run on
// this machine, so the API server is a TEST DOUBLE (packages/runner/test/kubernetes/fake-apiserver.ts):
// it stores the objects kit creates and "runs" the Job's pods by executing each container's command
// as a local process, with `kit` in the kit image being this repository's built CLI and a scripted
// nvidia-smi (also a test double) for pods that ask for GPUs. Everything else is real: the kubeconfig
// is read by @kubernetes/client-node, the registry is the real CNCF distribution on 127.0.0.1, the
// pod's steps really pull, train examples/fine-tune, pack and push with provenance.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Job } from 'kubernetes-models/batch/v1';
import { Secret } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { kitOk } from '../kit-cli.js';
import { FINE_TUNE, kubernetesWorldForFile } from './kubernetes-harness.js';

const world = kubernetesWorldForFile();
const { kit, runs, pushedVariant } = world;

beforeAll(async () => {
  await kitOk(world.home, ['pack', FINE_TUNE, '-t', `${world.registry.host}/demo/ft:base`]);
  await kitOk(world.home, ['push', `${world.registry.host}/demo/ft:base`]);
});

describe('kit run --backend kubernetes (fake API server, real registry)', () => {
  it('trains examples/fine-tune in the pod; the output and its provenance land in the registry; lineage walks back', async () => {
    const trainedRef = `${world.registry.host}/demo/ft:k8s`;
    const r = await kit(['run', `${world.registry.host}/demo/ft:base`, '--backend', 'kubernetes', '--image', 'python:3.12-slim', '--gpus', '2', '-t', trainedRef, '--push']).done;
    expect(r.stderr).toContain('Output: sha256:');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[kit] pulling'); // the materialize step's log
    expect(r.stdout).toContain('epoch 20/20'); // the train step's
    expect(r.stdout).toContain('[kit] pushing the output'); // the package step's
    for (const phase of ['pending', 'fetching', 'setting_up', 'running', 'packaging', 'pushing', 'succeeded']) expect(r.stderr).toContain(`: ${phase}`);
    const [latest] = await runs();
    expect(latest).toMatchObject({ status: 'succeeded', terminationReason: 'exit_code:0', jobId: `kit-${latest!.id}`, output: { references: [trainedRef] } });
    expect(latest!.gpus).toEqual(['GPU-a100a100-0000-0000-0000-000000000000', 'GPU-a100a100-0000-0000-0000-000000000001']);

    // What kit created, as the API server saw it: valid objects; the Secret (and its values) gone at the end.
    const job = world.cluster.jobs.get(`ml/kit-${latest!.id}`)!;
    expect(() => new Job(job).validate()).not.toThrow();
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.template.spec.initContainers[1].resources.limits).toEqual({ 'nvidia.com/gpu': '2', cpu: '1' });
    expect(world.cluster.secrets.size).toBe(0);
    expect(world.cluster.requests.filter((q) => q.method === 'DELETE' && q.path.includes(latest!.id)).map((q) => q.path)).toEqual([`/api/v1/namespaces/ml/secrets/kit-${latest!.id}`]);

    // The registry has the trained model, with the provenance as its referrer, made in the pod.
    const trained = JSON.parse((await kitOk(world.home, ['inspect', '-r', trainedRef])).stdout);
    expect(trained.digest).toBe(latest!.output!.digest);
    expect(trained.kitfile.model.path).toBe('model/model.json');
    expect(trained.kitfile.model.parameters.lineage.run).toBe(latest!.id);
    const attached = JSON.parse((await kitOk(world.home, ['referrers', trainedRef, '-r', '--json'])).stdout);
    expect(attached.referrers).toHaveLength(1);
    const empty = await mkdtemp(join(tmpdir(), 'kit-k8s-empty-'));
    const steps = JSON.parse((await kitOk(empty, ['lineage', trainedRef, '-r', '--json'])).stdout);
    expect(steps).toEqual([
      { digest: trained.digest, runId: latest!.id, builder: 'https://modelkit-ts.dev/runner/kubernetes', signed: false, input: { uri: `oci://${world.registry.host}/demo/ft@${latest!.inputDigest}`, digest: latest!.inputDigest } },
      { digest: latest!.inputDigest, signed: false },
    ]);
    // The statement names the Job, the node and the GPUs the pod saw.
    const out = await mkdtemp(join(tmpdir(), 'kit-k8s-prov-'));
    await kitOk(out, ['pull', trainedRef, '--referrers']);
    const verify = JSON.parse((await kitOk(out, ['referrers', trainedRef, '--json'])).stdout);
    expect(verify.referrers[0].artifactType).toBe('application/vnd.in-toto+json');
    expect((await kitOk(world.home, ['runs', 'logs', latest!.id])).stdout).toContain('trained: eval mse');
  });

  it('keeps secrets out of the manifests and the log; a failing setup ends failed_setup', async () => {
    const ref = await pushedVariant('secret', 'setup: |\n  echo "setup sees $HF_TOKEN"\n  exit 3\nrun: echo never\nsecrets: [HF_TOKEN]\noutputs:\n  model: model/model.json\nimage: python:3.12-slim\n');
    const secret = 'hf_k8s_s3cr3t_value';
    const r = await kit(['run', ref, '--backend', 'kubernetes', '-t', `${world.registry.host}/demo/secret:out`], { HF_TOKEN: secret }).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed_setup \(exit_code:3\)/);
    expect(r.stdout).toContain('setup sees ***');
    expect(r.stdout).not.toContain('never');
    const [latest] = await runs();
    expect(latest).toMatchObject({ status: 'failed_setup', terminationReason: 'exit_code:3' });
    expect(`${r.stdout}${r.stderr}${(await kitOk(world.home, ['runs', 'logs', latest!.id])).stdout}`).not.toContain(secret);
    const job = world.cluster.jobs.get(`ml/kit-${latest!.id}`)!;
    expect(JSON.stringify(job)).not.toContain(secret);
    expect(job.spec.template.spec.initContainers[1].env).toContainEqual({ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: `kit-${latest!.id}`, key: 'env.HF_TOKEN' } } });
    expect(job.status.conditions.at(-1)).toMatchObject({ type: 'Failed', reason: 'PodFailurePolicy' });
  });

  it('retries a failed run as a new Job when the run file asks for retry on error', async () => {
    // The double's pods all run on this machine, so /tmp outlives one attempt (on a cluster it would not).
    const ref = await pushedVariant('retry', 'run: |\n  marker=/tmp/kit-k8s-retry-$KIT_RUN_ID\n  if [ ! -f "$marker" ]; then touch "$marker"; echo first attempt fails; exit 4; fi\n  mkdir -p $KIT_OUTPUT_DIR/model && echo {} > $KIT_OUTPUT_DIR/model/model.json\nretry:\n  on_events: [error]\n  duration: 10m\noutputs:\n  model: model/model.json\nimage: python:3.12-slim\n');
    const r = await kit(['run', ref, '--backend', 'kubernetes', '-t', `${world.registry.host}/demo/retry:out`]).done;
    expect(r.code).toBe(0);
    const [latest] = await runs();
    expect(r.stdout).toContain('first attempt fails');
    expect(r.stdout).toContain(`[kit] Job kit-${latest!.id} ended with exit_code:4; submitting the run again (retry on error)`);
    expect(latest).toMatchObject({ status: 'succeeded', jobId: `kit-${latest!.id}-2` });
    expect(world.cluster.jobs.get(`ml/kit-${latest!.id}`)!.spec.backoffLimit).toBe(0); // never the Job's own retries
    expect(world.cluster.secrets.size).toBe(0);
  });

  it('--dry-run prints valid manifests with no secret value, and creates nothing', async () => {
    const ref = await pushedVariant('dry', 'run: python3 src/train.py\nsecrets: [HF_TOKEN]\nnodes: 2\nresources: {gpu: "A100:1"}\noutputs:\n  model: model/model.json\nimage: python:3.12-slim\n');
    const before = world.cluster.requests.length;
    const secret = 'hf_dry_run_value';
    const r = await kit(['run', ref, '--backend', 'kubernetes', '--dry-run', '-t', `${world.registry.host}/demo/dry:out`, '--node-selector', 'nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB'], { HF_TOKEN: secret }).done;
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(secret);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJSON());
    expect(docs.map((d) => d.kind)).toEqual(['Secret', 'Service', 'Job']);
    expect(() => new Secret(docs[0]).validate()).not.toThrow();
    expect(() => new Job(docs[2]).validate()).not.toThrow();
    expect(docs[0].stringData['env.HF_TOKEN']).toBe('<from $HF_TOKEN>');
    expect(docs[2].spec).toMatchObject({ completionMode: 'Indexed', completions: 2, template: { spec: { nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' } } } });
    expect(world.cluster.requests.length).toBe(before); // not even a read
    expect((await runs()).map((s) => s.input)).not.toContain(ref);
  });

  it('refuses what the pod could not pull, and says how to fix it', async () => {
    await kitOk(world.home, ['pack', FINE_TUNE, '-t', 'demo/local-only:v1']);
    const local = await kit(['run', 'demo/local-only:v1', '--backend', 'kubernetes', '-t', `${world.registry.host}/demo/x:y`]).done;
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('kit push demo/local-only:v1');
    const dir = await kit(['run', FINE_TUNE, '--backend', 'kubernetes', '-t', `${world.registry.host}/demo/x:y`]).done;
    expect(dir.stderr).toContain('--push');
    const noImage = await kit(['run', `${world.registry.host}/demo/ft:base`, '--backend', 'kubernetes', '-t', `${world.registry.host}/demo/x:y`]).done;
    expect(noImage.code).toBe(2);
    expect(noImage.stderr).toMatch(/names no image.*--image/);
    const noKitImage = await kit(['run', `${world.registry.host}/demo/ft:base`, '--backend', 'kubernetes', '--image', 'python:3', '-t', `${world.registry.host}/demo/x:y`], { KIT_KUBERNETES_IMAGE: '' }).done;
    expect(noKitImage.stderr).toContain('Dockerfile');
  });
});
