// `kit run --backend ssh` end to end with the built CLI against a real sshd on 127.0.0.1: the
// fine-tune example trains on the "remote" host, the outputs come back and are packed with
// provenance naming the SSH builder; a failing setup ends the run with its exit code.
// (Cancel, timeouts, dropped connections and GPU locks over SSH: packages/runner/test/hosts/ssh.test.ts.)
import { cpSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '../../packages/runner/test/sshd-harness.js';
import { kitIn, kitOk, ROOT } from '../kit-cli.js';

const FINE_TUNE = join(ROOT, 'examples/fine-tune');
let sshd: Sshd;
let home: string;
let sshArgs: string[];

beforeAll(async () => {
  sshd = await startSshd();
  home = await mkdtemp(join(tmpdir(), 'kit-ssh-run-'));
  sshArgs = ['--backend', 'ssh', '--host', `${sshd.user}@${sshd.host}:${sshd.port}`, '--ssh-key', sshd.privateKeyPath, '--ssh-known-hosts', sshd.knownHostsPath];
  await kitOk(home, ['pack', FINE_TUNE, '-t', 'demo/ft:base']);
});
afterAll(async () => {
  await sshd?.stop();
});

describe('kit run --backend ssh', () => {
  it('trains on the SSH host and packs the outputs with provenance from the ssh builder', async () => {
    const run = await kitOk(home, ['run', 'demo/ft:base', ...sshArgs, '-t', 'demo/ft:ssh']);
    expect(run.stdout).toContain('epoch 20/20');
    const trained = JSON.parse((await kitOk(home, ['inspect', 'demo/ft:ssh'])).stdout);
    expect(trained.kitfile.model.parameters.metrics.eval_mse).toBeLessThan(0.01);
    const [step] = JSON.parse((await kitOk(home, ['lineage', 'demo/ft:ssh', '--json'])).stdout);
    expect(step.builder).toBe('https://modelkit-ts.dev/runner/ssh');
    const [state] = JSON.parse((await kitOk(home, ['runs', 'list', '--json'])).stdout);
    expect(state).toMatchObject({ status: 'succeeded', backend: expect.stringMatching(/^ssh:\/\//) });
  });

  it('reports a failing setup on the SSH host with its exit code', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kit-ssh-proj-'));
    cpSync(FINE_TUNE, dir, { recursive: true });
    await writeFile(join(dir, 'kitrun.yaml'), 'setup: exit 7\nrun: echo never\noutputs:\n  model: model/model.json\n');
    const r = await kitIn(home, ['run', dir, ...sshArgs]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('failed_setup (exit_code:7)');
  });
});
