// `kit run --backend kubernetes` ending early, end to end with the built CLI: cancel and the
// deadline. The API server and kubelet are a TEST DOUBLE (no cluster can run here; see
// packages/runner/test/kubernetes/fake-apiserver.ts), the registry is the real one on 127.0.0.1.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { kitOk } from '../kit-cli.js';
import { kubernetesWorldForFile } from './kubernetes-harness.js';

const world = kubernetesWorldForFile();
const { kit, runs, pushedVariant } = world;


/** A run whose train step sleeps, started in the background and followed until it is running. */
async function startSleeper(name: string) {
  const ref = await pushedVariant(name, 'run: |\n  echo started\n  sleep 300\noutputs:\n  model: model/model.json\nimage: python:3.12-slim\n');
  const started = kit(['run', ref, '--backend', 'kubernetes', '-t', `${world.registry.host}/demo/${name}:out`]);
  let id: string | undefined;
  for (let i = 0; i < 150 && !id; i++) {
    await sleep(100);
    id = (await runs()).find((s) => s.status === 'running')?.id;
  }
  expect(id).toBeDefined();
  return { started, id: id! };
}

describe('kit run --backend kubernetes: cancel and deadline (fake API server, real registry)', () => {
  it('kit runs cancel deletes the Job (background propagation) and the run ends cancelled', async () => {
    const { started, id } = await startSleeper('cancel');
    await kitOk(world.home, ['runs', 'cancel', id]);
    const r = await started.done;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('started');
    expect((await runs()).find((s) => s.id === id)).toMatchObject({ status: 'cancelled', terminationReason: 'interrupted' });
    expect(world.cluster.jobs.has(`ml/kit-${id}`)).toBe(false);
    expect(world.cluster.requests).toContainEqual({ method: 'DELETE', path: `/apis/batch/v1/namespaces/ml/jobs/kit-${id}`, query: { propagationPolicy: 'Background' } });
    for (let i = 0; i < 50 && world.cluster.running() > 0; i++) await sleep(100);
    expect(world.cluster.running()).toBe(0); // the pod's processes were stopped
    expect(world.cluster.secrets.size).toBe(0);
  });

  it('kit runs cancel deletes the Job of a run whose kit process died', async () => {
    const { started, id } = await startSleeper('orphan');
    process.kill(started.pid, 'SIGKILL');
    await started.done;
    expect(world.cluster.jobs.has(`ml/kit-${id}`)).toBe(true); // the Job outlives its driver
    const cancelled = await kit(['runs', 'cancel', id]).done;
    expect(cancelled.stderr).toContain(`cancelled (Kubernetes Job kit-${id} in `);
    expect(world.cluster.jobs.has(`ml/kit-${id}`)).toBe(false);
    expect((await runs()).find((s) => s.id === id)).toMatchObject({ status: 'cancelled', terminationReason: 'interrupted' });
  });

  it('max_duration becomes activeDeadlineSeconds: a Job past it ends timed_out', async () => {
    const ref = await pushedVariant('deadline', 'run: sleep 60\nmax_duration: 3s\noutputs:\n  model: model/model.json\nimage: python:3.12-slim\n');
    const t0 = Date.now();
    const r = await kit(['run', ref, '--backend', 'kubernetes', '-t', `${world.registry.host}/demo/deadline:out`]).done;
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const [latest] = await runs();
    expect(latest).toMatchObject({ status: 'timed_out', terminationReason: 'max_duration_exceeded' });
    expect(world.cluster.jobs.get(`ml/kit-${latest!.id}`)!.spec.activeDeadlineSeconds).toBe(3);
  });

});
