// Shared set-up of the `kit run --backend kubernetes` end-to-end tests: the REAL registry on
// 127.0.0.1 and the TEST DOUBLE of the Kubernetes API server and kubelet
// (packages/runner/test/kubernetes/fake-apiserver.ts; no cluster can run on this machine), and the
// built kit run as a user runs it, with a kubeconfig pointing at the double.
import { spawn } from 'node:child_process';
import { cpSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeCluster, type FakeCluster, type FakeClusterOptions } from '../../packages/runner/test/kubernetes/fake-apiserver.js';
import { startRegistry, type RegistryServer } from '../registry/harness.js';
import { afterAll, beforeAll } from 'vitest';
import { KIT, kitOk, ROOT } from '../kit-cli.js';

export const FINE_TUNE = join(ROOT, 'examples/fine-tune');
export const FAKE_NVIDIA_SMI_DIR = join(ROOT, 'packages/runner/test/fixtures/nvidia-smi');
export const KIT_IMAGE = 'registry.example.com/modelkit/kit:test';

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunRecord {
  id: string;
  input: string;
  status: string;
  terminationReason?: string;
  jobId?: string;
  inputDigest?: string;
  gpus?: string[];
  pendingReason?: string;
  output?: { digest: string; references: string[] };
}

export interface KubernetesWorld {
  registry: RegistryServer;
  cluster: FakeCluster;
  home: string;
  /** The built kit against the double's kubeconfig (namespace ml). */
  kit(args: string[], env?: Record<string, string>): { done: Promise<Result>; pid: number };
  runs(): Promise<RunRecord[]>;
  /** examples/fine-tune with another run file, packed straight into the registry. */
  pushedVariant(name: string, runFile: string): Promise<string>;
  stop(): Promise<void>;
}

export async function kubernetesWorld(options: Partial<FakeClusterOptions> = {}): Promise<KubernetesWorld> {
  const registry = await startRegistry();
  const cluster = await startFakeCluster({ kit: [process.execPath, KIT], gpuPath: FAKE_NVIDIA_SMI_DIR, env: { FAKE_NVIDIA_SMI_SCENARIO: 'two-a100' }, graceMs: 1000, ...options });
  const kubeconfig = await cluster.kubeconfig('ml');
  const home = await mkdtemp(join(tmpdir(), 'kit-k8s-run-'));
  const kit = (args: string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [KIT, ...args], {
      env: { ...process.env, KITOPS_HOME: home, DOCKER_CONFIG: join(home, 'docker'), KUBECONFIG: kubeconfig, KIT_KUBERNETES_IMAGE: KIT_IMAGE, KIT_KUBERNETES_POLL_MS: '150', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    return { done: new Promise<Result>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr }))), pid: child.pid! };
  };
  return {
    registry,
    cluster,
    home,
    kit,
    runs: async () => JSON.parse((await kitOk(home, ['runs', 'list', '--json'])).stdout) as RunRecord[],
    async pushedVariant(name, runFile) {
      const dir = await mkdtemp(join(tmpdir(), 'kit-k8s-proj-'));
      cpSync(FINE_TUNE, dir, { recursive: true });
      await writeFile(join(dir, 'kitrun.yaml'), runFile);
      const ref = `${registry.host}/demo/${name}:base`;
      await kitOk(home, ['pack', dir, '-t', ref, '--push']);
      return ref;
    },
    async stop() {
      await cluster.stop();
      await registry.stop();
    },
  };
}

/** The world of one test file: started before its tests and stopped after them; read it inside tests. */
export function kubernetesWorldForFile(options: Partial<FakeClusterOptions> = {}): KubernetesWorld {
  let world: KubernetesWorld | undefined;
  beforeAll(async () => {
    world = await kubernetesWorld(options);
  });
  afterAll(async () => {
    await world?.stop();
  });
  const current = (): KubernetesWorld => {
    if (!world) throw new Error('the Kubernetes test world starts in beforeAll: use it inside hooks and tests');
    return world;
  };
  return {
    get registry() {
      return current().registry;
    },
    get cluster() {
      return current().cluster;
    },
    get home() {
      return current().home;
    },
    kit: (args, env) => current().kit(args, env),
    runs: () => current().runs(),
    pushedVariant: (name, runFile) => current().pushedVariant(name, runFile),
    stop: () => current().stop(),
  };
}
