// runOnKubernetes (the library API) against the TEST DOUBLE of the Kubernetes API server and
// kubelet in fake-apiserver.ts (no cluster can run here), with the REAL registry on 127.0.0.1: a
// two-node Indexed Job whose pods first wait as unschedulable and whose log streams are cut mid-run
// (the follower must resume without losing or repeating a line), and cancellation by AbortSignal.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpSync, writeFileSync } from 'node:fs';
import { LocalStore } from '@modelkit/core';
import { defaultCredentials, RegistryClient, remoteTarget } from '@modelkit/registry';
import { readProvenance, RunStore, runOnKubernetes, type KubernetesRunOptions, type RunState } from '@modelkit/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RegistryServer } from '../../../../test/registry/harness.js';
import { KIT, kitOk, ROOT } from '../../../../test/kit-cli.js';
import { startFakeCluster, type FakeCluster } from './fake-apiserver.js';

let registry: RegistryServer;
let cluster: FakeCluster;
let home: string;
const clients: RegistryClient[] = [];

async function pushed(name: string, runFile: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kit-k8s-lib-proj-'));
  cpSync(join(ROOT, 'examples/fine-tune'), dir, { recursive: true });
  writeFileSync(join(dir, 'kitrun.yaml'), runFile);
  const ref = `${registry.host}/lib/${name}:base`;
  await kitOk(home, ['pack', dir, '-t', ref, '--push']);
  return ref;
}

async function options(input: string, extra: Partial<KubernetesRunOptions> = {}): Promise<KubernetesRunOptions & { log: () => string; states: RunState[] }> {
  const client = new RegistryClient({ kitopsHome: home });
  clients.push(client);
  let log = '';
  const states: RunState[] = [];
  return {
    store: await LocalStore.open(home),
    runs: new RunStore(join(home, 'runs')),
    registry: client,
    credentials: defaultCredentials({ kitopsHome: home }),
    input,
    kube: { kubeconfig: await cluster.kubeconfig() },
    kitImage: 'registry.example.com/kit:test',
    tags: [`${registry.host}/lib/out:${Date.now()}`],
    pollMs: 100,
    onLog: (c) => (log += c.toString('utf8')),
    onStatus: (s) => states.push(s),
    ...extra,
    log: () => log,
    states,
  };
}

beforeAll(async () => {
  registry = await startRegistry();
  cluster = await startFakeCluster({ kit: [process.execPath, KIT], unschedulableMs: 800, cutLogStreamsAfterMs: 700, graceMs: 1000 });
  home = await mkdtemp(join(tmpdir(), 'kit-k8s-lib-'));
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.stop();
  await registry?.stop();
});

describe('runOnKubernetes (fake API server and kubelet, real registry)', () => {
  it('two nodes: an Indexed Job waits unschedulable, resumes cut log streams exactly, and rank 0 pushes the output', async () => {
    const input = await pushed(
      'multi',
      [
        'run: |',
        '  echo "rank $KIT_NODE_RANK of $KIT_NODE_COUNT via $KIT_MASTER_ADDR:$KIT_MASTER_PORT"',
        '  for i in $(seq 1 15); do echo "rank $KIT_NODE_RANK line $i"; sleep 0.1; done',
        '  if [ "$KIT_NODE_RANK" = 0 ]; then mkdir -p "$KIT_OUTPUT_DIR/model" && cp model/base.json "$KIT_OUTPUT_DIR/model/model.json"; fi',
        'nodes: 2',
        'resources: {gpu: 1}',
        'image: bash:5',
        'outputs: {model: model/model.json}',
        '',
      ].join('\n'),
    );
    const o = await options(input);
    const state = await runOnKubernetes(o);
    expect(state).toMatchObject({ status: 'succeeded', terminationReason: 'exit_code:0' });
    const job = `kit-${state.id}`;
    expect(state.jobId).toBe(job);

    // Pending with the scheduler's reason first, then the phases in order.
    const pending = o.states.find((s) => s.status === 'pending' && s.pendingReason);
    expect(pending?.pendingReason).toContain('Insufficient nvidia.com/gpu');
    const order = [...new Set(o.states.map((s) => s.status))];
    expect(order).toEqual(['pending', 'fetching', 'running', 'packaging', 'pushing', 'succeeded']);

    // Every line of both ranks exactly once, though each container's first stream was cut.
    const log = o.log();
    expect(log).toContain(`rank 0 of 2 via ${job}-0.${job}:29500`);
    for (let i = 1; i <= 15; i++) {
      expect(log.split(`\nrank 0 line ${i}\n`)).toHaveLength(2);
      expect(log.split(`\n[node 1] rank 1 line ${i}\n`)).toHaveLength(2);
    }
    const trainLogReads = cluster.requests.filter((r) => r.path.endsWith('/log') && r.query.container === 'train' && r.path.includes(job));
    expect(trainLogReads.length).toBeGreaterThan(2); // two pods, and reconnects after the cuts
    expect(trainLogReads.some((r) => r.query.sinceTime)).toBe(true);

    // The Service for rendezvous existed and is gone with the Secret; both were owned by the Job.
    expect(cluster.requests).toContainEqual({ method: 'POST', path: '/api/v1/namespaces/default/services', query: {} });
    expect(cluster.services.size + cluster.secrets.size).toBe(0);

    // The provenance, made in rank 0's pod, names the Job.
    const target = remoteTarget(o.registry.repository(o.tags[0]!).repository);
    const found = await readProvenance(target, state.output!.digest);
    const predicate = found!.statement.predicate as { buildDefinition: { internalParameters: Record<string, unknown> }; runDetails: { builder: { id: string } } };
    expect(predicate.runDetails.builder.id).toBe('https://modelkit-ts.dev/runner/kubernetes');
    expect(predicate.buildDefinition.internalParameters).toMatchObject({ backend: 'kubernetes', host: 'fake-node-0', job: { scheduler: 'kubernetes', id: job, nodes: ['fake-node-0'], namespace: 'default', completions: 2 } });
  });

  it('aborting the signal deletes the Job and ends the run cancelled', async () => {
    const input = await pushed('abort', 'run: |\n  echo waiting\n  sleep 300\nimage: bash:5\noutputs: {model: m}\n');
    const abort = new AbortController();
    const o = await options(input, { signal: abort.signal });
    const running = runOnKubernetes({ ...o, onStatus: (s) => s.status === 'running' && abort.abort() });
    const state = await running;
    expect(state).toMatchObject({ status: 'cancelled', terminationReason: 'interrupted' });
    expect(cluster.jobs.has(`default/kit-${state.id}`)).toBe(false);
    for (let i = 0; i < 50 && cluster.running() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(cluster.running()).toBe(0);
  });
});
