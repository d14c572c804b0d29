import { describe, expect, it } from 'vitest';
import type { JobRequest } from '../../src/hosts/scheduler.js';
import { batchFiles, sbatchDirectives } from '../../src/slurm/batch-script.js';
import { expandIndices, jobEnd, parseSacct, parseScontrolJob, slurmView } from '../../src/slurm/job-state.js';

const WS = { root: '/shared/runs/r1/work', inputs: '/shared/runs/r1/work/inputs', outputs: '/shared/runs/r1/work/outputs' };
const request = (over: Partial<JobRequest> = {}): JobRequest => ({
  runId: 'r1', workspace: WS, setup: ['pip install -r src/requirements.txt'], run: ['torchrun --nnodes $KIT_NODE_COUNT --node-rank $KIT_NODE_RANK train.py'],
  env: {}, secrets: {}, resources: {}, nodes: 1, ...over,
});
const JOB_DIR = `${WS.root}/.kit`;

describe('sbatch directives from the run file', () => {
  it('maps nodes, GPUs, cpus, memory, time and partition', () => {
    const { args, warnings } = sbatchDirectives(
      request({ nodes: 4, gpu: { names: ['A100'], count: { min: 8, max: 8 } }, resources: { cpu: { min: 16 }, memoryMiB: { min: 65536 } }, maxDurationMs: 7_200_000 }),
      JOB_DIR,
      { partition: 'gpu', extraArgs: ['--account=proj'] },
    );
    expect(args).toEqual([
      '--job-name=kit-r1', `--output=${JOB_DIR}/job.log`, `--chdir=${WS.inputs}`, '--nodes=4', '--ntasks-per-node=1',
      '--partition=gpu', '--gres=gpu:a100:8', '--cpus-per-task=16', '--mem=65536M', '--time=120', '--account=proj',
    ]);
    expect(warnings).toEqual([]);
  });

  it('says what Slurm cannot express instead of silently dropping it', () => {
    const { args, warnings } = sbatchDirectives(request({ gpu: { names: ['A100', 'H100'], memoryMiB: { min: 40960 }, count: { min: 1, max: 2 } }, maxDurationMs: 90_000 }), JOB_DIR, {});
    expect(args).toContain('--gres=gpu:1');
    expect(args).toContain('--time=2');
    expect(warnings).toEqual([
      "Slurm's --gres names one GPU type; asking for any GPU instead of A100 or H100",
      'Slurm cannot choose GPUs by memory; resources.gpu.memory is not enforced on this backend',
      'Slurm allocates an exact GPU count; asking for 1 (the least the run file accepts)',
      'Slurm time limits count whole minutes; max_duration is enforced as 2 min',
    ]);
  });

  it('asks for no GPU when none is requested, and refuses an extra argument that is not an option', () => {
    expect(sbatchDirectives(request(), JOB_DIR, {}).args.some((a) => a.startsWith('--gres'))).toBe(false);
    expect(() => sbatchDirectives(request(), JOB_DIR, { extraArgs: ['account=proj'] })).toThrow(/--slurm-arg "account=proj": give an sbatch option/);
  });
});

describe('the batch script', () => {
  it('runs setup then run as srun steps on every node, with markers, and keeps commands out of the script', () => {
    const files = batchFiles(request({ nodes: 2 }), JOB_DIR, {});
    expect(files.script).toMatch(/^#!\/bin\/bash\n/);
    expect(files.args).toContain('--nodes=2');
    expect(files.script).toContain('# Submitted as: sbatch --job-name=kit-r1 ');
    const lines = files.script.split('\n');
    expect(files.script).toContain(`  srun --ntasks-per-node=1 --kill-on-bad-exit=1 bash ${JOB_DIR}/node.sh "$1"`);
    const setup = lines.indexOf('step setup');
    const run = lines.indexOf('step run');
    expect(setup).toBeGreaterThan(0);
    expect(run).toBeGreaterThan(setup);
    expect(files.script).toContain(`echo "setup $code" > ${JOB_DIR}/exit; exit "$code"`);
    expect(files.script).not.toContain('pip install');
    expect(files.setup).toBe('pip install -r src/requirements.txt\n');
    expect(files.node).toContain('export KIT_NODE_RANK="${SLURM_NODEID:-0}"');
    expect(files.script).toContain('export KIT_MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"');
  });

  it('leaves setup out when there is none, and quotes a workspace path with spaces', () => {
    const files = batchFiles(request({ setup: [], workspace: { ...WS, root: '/shared/my runs/r1' } }), '/shared/my runs/r1/.kit', {});
    expect(files.script).not.toContain('setting_up');
    expect(files.script).toContain("bash '/shared/my runs/r1/.kit'/node.sh \"$1\"");
    expect(files.args).toContain('--output=/shared/my runs/r1/.kit/job.log');
  });
});

describe('Slurm job states', () => {
  const line = 'JobId=42 JobName=kit-r1 UserId=root(0) JobState=PENDING Reason=Resources Dependency=(null) ExitCode=0:0 NodeList=(null) NumNodes=1';
  it('reads scontrol show job -o', () => {
    expect(parseScontrolJob(line)).toEqual({ id: '42', state: 'PENDING', reason: 'Resources', exitCode: 0, signal: 0, nodeList: undefined });
    expect(parseScontrolJob('slurm_load_jobs error: Invalid job id specified')).toBeUndefined();
    expect(parseScontrolJob('JobId=7 JobState=CANCELLED+ Reason=None ExitCode=0:15 NodeList=vm')).toMatchObject({ state: 'CANCELLED', signal: 15, nodeList: 'vm' });
  });

  it('maps states onto the runner: pending, started, ended', () => {
    expect(slurmView(parseScontrolJob(line)!)).toEqual({ ended: false, phase: 'pending', reason: 'Resources' });
    expect(slurmView({ id: '1', state: 'COMPLETING' })).toEqual({ ended: false, phase: 'started' });
    expect(slurmView({ id: '1', state: 'TIMEOUT' })).toEqual({ ended: true });
  });

  it.each([
    ['COMPLETED', 'run 0', { outcome: 'succeeded', step: 'run', exitCode: 0 }],
    ['FAILED', 'setup 3', { outcome: 'failed', step: 'setup', exitCode: 3 }],
    ['FAILED', 'run 5', { outcome: 'failed', step: 'run', exitCode: 5 }],
    ['CANCELLED', undefined, { outcome: 'cancelled', step: 'run', exitCode: null }],
    ['TIMEOUT', undefined, { outcome: 'timed_out', step: 'run', exitCode: null }],
    ['NODE_FAIL', undefined, { outcome: 'interrupted', step: 'run', exitCode: null }],
    ['PREEMPTED', undefined, { outcome: 'interrupted', step: 'run', exitCode: null }],
    ['OUT_OF_MEMORY', undefined, { outcome: 'failed', step: 'run', exitCode: null, detail: 'slurm:OUT_OF_MEMORY' }],
  ] as const)('%s with marker %s', (state, marker, expected) => {
    expect(jobEnd({ id: '1', state, exitCode: 0, signal: 0 }, marker, 'running')).toMatchObject(expected);
  });

  it('reads sacct, for a job slurmctld has forgotten', () => {
    expect(parseSacct('42|CANCELLED by 0|0:15\n')).toEqual({ id: '42', state: 'CANCELLED', exitCode: 0, signal: 15 });
    expect(parseSacct('43|FAILED|2:0\n')).toEqual({ id: '43', state: 'FAILED', exitCode: 2, signal: 0 });
    expect(parseSacct('')).toBeUndefined();
  });

  it('expands Slurm index lists', () => {
    expect(expandIndices('0-2,5')).toEqual([0, 1, 2, 5]);
  });
});
