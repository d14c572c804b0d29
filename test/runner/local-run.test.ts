// `kit run` with the local backend, end to end with the built CLI: a real training run of
// examples/fine-tune, its output ModelKit and provenance, lineage, and the ways runs end
// (failing setup, timeout, cancel), secrets kept out of logs, and GPU selection through a
// scripted nvidia-smi (a TEST DOUBLE: this machine has no GPU).
import { spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { KIT, kitIn, kitOk, ROOT } from '../kit-cli.js';

const FINE_TUNE = join(ROOT, 'examples/fine-tune');
const FAKE_NVIDIA_SMI_DIR = join(ROOT, 'packages/runner/test/fixtures/nvidia-smi');
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'kit-run-'));
  await kitOk(home, ['pack', FINE_TUNE, '-t', 'demo/ft:base']);
});

/** examples/fine-tune with another run file. */
async function variant(runFile: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kit-run-proj-'));
  cpSync(FINE_TUNE, dir, { recursive: true });
  await writeFile(join(dir, 'kitrun.yaml'), runFile);
  return dir;
}

const runs = async (h = home) => JSON.parse((await kitOk(h, ['runs', 'list', '--json'])).stdout) as Array<{ id: string; status: string; terminationReason?: string; gpus?: string[] }>;

describe('kit run (local backend)', () => {
  it('trains examples/fine-tune and packs the result: new model, input layers reused, lineage in provenance', async () => {
    const run = await kitOk(home, ['run', 'demo/ft:base', '-t', 'demo/ft:trained']);
    expect(run.stdout).toContain('epoch 20/20');
    expect(run.stdout).toMatch(/trained: eval mse 0\.00\d+/);
    const [latest] = await runs();
    expect(latest).toMatchObject({ status: 'succeeded', terminationReason: 'exit_code:0' });

    const base = JSON.parse((await kitOk(home, ['inspect', 'demo/ft:base'])).stdout);
    const trained = JSON.parse((await kitOk(home, ['inspect', 'demo/ft:trained'])).stdout);
    const byPath = (m: { layers: Array<{ digest: string; annotations: Record<string, string> }> }) =>
      Object.fromEntries(m.layers.map((l) => [l.annotations['org.opencontainers.image.title'] ?? l.annotations['org.cncf.model.filepath'], l.digest]));
    const before = byPath(base.manifest);
    const after = byPath(trained.manifest);
    for (const path of ['src', 'kitrun.yaml', 'data/train.csv', 'data/eval.csv', 'README.md']) expect(after[path]).toBe(before[path]);
    expect(after['model/model.json']).toBeDefined();
    expect(after['model/base.json']).toBeUndefined();
    expect(trained.kitfile.model.path).toBe('model/model.json');
    expect(trained.kitfile.model.version).toBe(`1.0.0+${latest!.id}`);
    expect(trained.kitfile.model.parameters.lineage).toEqual({ parent: `localhost/demo/ft@${base.digest}`, run: latest!.id });
    expect(trained.kitfile.model.parameters.metrics.eval_mse).toBeLessThan(0.01);

    const out = await mkdtemp(join(tmpdir(), 'kit-run-out-'));
    await kitOk(home, ['unpack', 'demo/ft:trained', '--filter', 'model', '-d', out]);
    const model = JSON.parse(readFileSync(join(out, 'model/model.json'), 'utf8'));
    expect(model.weights[0]).toBeCloseTo(3, 1);
    expect(model.bias).toBeCloseTo(4, 1);

    const steps = JSON.parse((await kitOk(home, ['lineage', 'demo/ft:trained', '--json'])).stdout);
    expect(steps).toEqual([
      { digest: trained.digest, runId: latest!.id, builder: 'https://modelkit-ts.dev/runner/local', signed: false, input: { uri: `oci://localhost/demo/ft@${base.digest}`, digest: base.digest } },
      { digest: base.digest, signed: false },
    ]);
    expect((await kitOk(home, ['runs', 'logs', latest!.id])).stdout).toContain('trained: eval mse');
  });

  it('signs the provenance with --key, and kit verify accepts it under a policy requiring it', async () => {
    const keys = await mkdtemp(join(tmpdir(), 'kit-run-keys-'));
    await kitOk(home, ['keygen', '--output-key-prefix', join(keys, 'runner')]);
    await kitOk(home, ['run', 'demo/ft:base', '-t', 'demo/ft:signed', '--key', join(keys, 'runner.key')]);
    const policy = join(keys, 'provenance-policy.yaml');
    await writeFile(policy, `signers:\n  - key: runner.pub\nattestations:\n  - predicateType: https://slsa.dev/provenance/v1\n`);
    await kitOk(home, ['sign', 'demo/ft:signed', '--key', join(keys, 'runner.key')]);
    const report = JSON.parse((await kitOk(home, ['verify', 'demo/ft:signed', '--policy', policy, '--json'])).stdout);
    expect(report.attestations.map((a: { predicateType: string }) => a.predicateType)).toEqual(['https://slsa.dev/provenance/v1']);
    const steps = JSON.parse((await kitOk(home, ['lineage', 'demo/ft:signed', '--json'])).stdout);
    expect(steps[0].signed).toBe(true);
  });

  it('ends in failed_setup with the exit code when setup fails, and kit exits non-zero', async () => {
    const dir = await variant('setup: exit 3\nrun: echo never\noutputs:\n  model: model/model.json\n');
    const r = await kitIn(home, ['run', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed_setup \(exit_code:3\)/);
    expect(r.stdout).not.toContain('never');
    expect((await runs())[0]).toMatchObject({ status: 'failed_setup', terminationReason: 'exit_code:3' });
  });

  it('retries a failed run step when the run file asks for retry on error', async () => {
    const dir = await variant(
      'run: |\n  if [ ! -f "$KIT_INPUT_DIR/attempted" ]; then touch "$KIT_INPUT_DIR/attempted"; echo first attempt fails; exit 1; fi\n  mkdir -p $KIT_OUTPUT_DIR/model && echo {} > $KIT_OUTPUT_DIR/model/model.json\nretry:\n  on_events: [error]\n  duration: 5m\noutputs:\n  model: model/model.json\n',
    );
    const r = await kitOk(home, ['run', dir]);
    expect(r.stdout).toContain('first attempt fails');
    expect(r.stdout).toContain('[kit] run ended with exit code 1; retrying');
    expect((await runs())[0]).toMatchObject({ status: 'succeeded' });
    const once = await variant('run: exit 1\noutputs:\n  model: model/model.json\n');
    expect((await kitIn(home, ['run', once])).code).toBe(1); // without retry: one attempt, failed
    expect((await runs())[0]).toMatchObject({ status: 'failed', terminationReason: 'exit_code:1' });
  });

  it('enforces max_duration', async () => {
    const dir = await variant('run: sleep 60\nmax_duration: 1s\noutputs:\n  model: model/model.json\n');
    const started = Date.now();
    const r = await kitIn(home, ['run', dir]);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect((await runs())[0]).toMatchObject({ status: 'timed_out', terminationReason: 'max_duration_exceeded' });
  });

  it('max_duration bounds setup and run together, not each of them', async () => {
    const dir = await variant('setup: sleep 2\nrun: |\n  sleep 2\n  echo finished\nmax_duration: 3s\noutputs:\n  model: model/model.json\n');
    const r = await kitIn(home, ['run', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('finished');
    expect((await runs())[0]).toMatchObject({ status: 'timed_out', terminationReason: 'max_duration_exceeded' });
  });

  it('kit runs cancel stops the whole process group', async () => {
    const marker = `kit-cancel-${process.pid}-${Date.now()}`;
    const dir = await variant(`run: |\n  bash -c 'sleep 300; echo ${marker}' &\n  sleep 300\noutputs:\n  model: model/model.json\n`);
    const child = spawn(process.execPath, [KIT, 'run', dir], { env: { ...process.env, KITOPS_HOME: home }, stdio: 'ignore' });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await sleep(100);
      id = (await runs()).find((s) => s.status === 'running')?.id;
    }
    expect(id).toBeDefined();
    await kitOk(home, ['runs', 'cancel', id!]);
    expect(await exited).toBe(1);
    expect((await runs()).find((s) => s.id === id)).toMatchObject({ status: 'cancelled', terminationReason: 'interrupted' });
    const ps = await new Promise<string>((done) => {
      const p = spawn('ps', ['-eo', 'args']);
      let out = '';
      p.stdout.on('data', (c) => (out += c));
      p.once('close', () => done(out));
    });
    expect(ps).not.toContain(marker);
  });

  it('passes secrets to the run but never into its log, and refuses to start without them', async () => {
    const dir = await variant('run: |\n  echo "token is $HF_TOKEN"\n  mkdir -p $KIT_OUTPUT_DIR/model && echo {} > $KIT_OUTPUT_DIR/model/model.json\nsecrets: [HF_TOKEN]\noutputs:\n  model: model/model.json\n');
    const missing = await kitIn(home, ['run', dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('HF_TOKEN');
    const secret = 'hf_s3cr3t_value_123';
    const r = await new Promise<{ code: number | null; stdout: string }>((done) => {
      const p = spawn(process.execPath, [KIT, 'run', dir], { env: { ...process.env, KITOPS_HOME: home, HF_TOKEN: secret } });
      let stdout = '';
      p.stdout.on('data', (c) => (stdout += c));
      p.once('close', (code) => done({ code, stdout }));
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('token is ***');
    expect(r.stdout).not.toContain(secret);
    const [latest] = await runs();
    expect((await kitOk(home, ['runs', 'logs', latest!.id])).stdout).not.toContain(secret);
  });

  it('grants GPUs by UUID from nvidia-smi (scripted test double) and never lets two runs share one', async () => {
    const dir = await variant('run: |\n  echo "cuda=$CUDA_VISIBLE_DEVICES order=$CUDA_DEVICE_ORDER"\n  sleep 2\n  mkdir -p $KIT_OUTPUT_DIR/model && echo {} > $KIT_OUTPUT_DIR/model/model.json\nresources:\n  gpu: A100:2\noutputs:\n  model: model/model.json\n');
    const env = { ...process.env, KITOPS_HOME: home, PATH: `${FAKE_NVIDIA_SMI_DIR}:${process.env.PATH}`, FAKE_NVIDIA_SMI_SCENARIO: 'two-a100' };
    const runWith = () =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
        const p = spawn(process.execPath, [KIT, 'run', dir], { env });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (c) => (stdout += c));
        p.stderr.on('data', (c) => (stderr += c));
        p.once('close', (code) => done({ code, stdout, stderr }));
      });
    const first = runWith();
    await sleep(1000);
    const second = await runWith();
    const done = await first;
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/cuda=GPU-[0-9a-f-]+,GPU-[0-9a-f-]+ order=PCI_BUS_ID/);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('failed (no_capacity)');
    expect(second.stderr).toContain('2 reserved by other runs');
  });
});
