/**
 * The sbatch script for a run: directives from the run file's resources, then setup and run as job
 * steps (srun, one task per node) so that every node gets the per-node half of the environment
 * contract and one failed node fails the step. Marker files on the shared filesystem say which step
 * the job is in and how it ended; the scheduler reads them beside Slurm's own state.
 */
import { KitError } from '@modelkit/core';
import { shellQuote } from '../hosts/shell-quote.js';
import type { JobRequest } from '../hosts/scheduler.js';
import { GPU_QUERY_FIELDS } from '../gpu/nvidia-smi.js';

/** Files of the job, under `<workspace>/.kit/`. */
export const JOB_FILES = {
  dir: '.kit',
  script: 'job.sbatch',
  node: 'node.sh',
  setup: 'setup.sh',
  run: 'run.sh',
  log: 'job.log',
  phase: 'phase',
  exit: 'exit',
  gpusPrefix: 'gpus-',
  gpus: (node: string) => `${JOB_FILES.gpusPrefix}${node}.csv`,
  /** Per node: the GPU indices Slurm gave its run step. */
  nodeGpus: 'node-',
  /** Per step and node: the exit code of that node's share (`status-run-<node>`). */
  status: 'status-',
} as const;

/** torchrun's default rendezvous port; the contract names it so every node agrees. */
export const MASTER_PORT = 29500;

export interface SlurmJobOptions {
  partition?: string;
  /** Extra `#SBATCH` arguments, as given (e.g. --account=proj, --qos=high). */
  extraArgs?: string[];
}

export interface BatchFiles {
  /** sbatch's options, given on its command line (a path with spaces would not survive an #SBATCH line). */
  args: string[];
  script: string;
  node: string;
  setup: string;
  run: string;
  /** Things the run file asks that Slurm cannot express, said in the run's log. */
  warnings: string[];
}

export function sbatchDirectives(request: JobRequest, jobDir: string, options: SlurmJobOptions): { args: string[]; warnings: string[] } {
  const warnings: string[] = [];
  const args = [
    `--job-name=kit-${request.runId}`,
    `--output=${jobDir}/${JOB_FILES.log}`,
    `--chdir=${request.workspace.inputs}`,
    `--nodes=${request.nodes}`,
    '--ntasks-per-node=1',
  ];
  if (options.partition) args.push(`--partition=${options.partition}`);
  const gpu = request.gpu;
  if (gpu && gpu.count.max !== 0) {
    const count = Math.max(gpu.count.min, 1);
    let type = '';
    if (gpu.names?.length === 1) type = `${gpu.names[0]!.toLowerCase()}:`;
    else if (gpu.names && gpu.names.length > 1) warnings.push(`Slurm's --gres names one GPU type; asking for any GPU instead of ${gpu.names.join(' or ')}`);
    if (gpu.memoryMiB) warnings.push('Slurm cannot choose GPUs by memory; resources.gpu.memory is not enforced on this backend');
    if (gpu.count.max === undefined || gpu.count.max > count) warnings.push(`Slurm allocates an exact GPU count; asking for ${count} (the least the run file accepts)`);
    args.push(`--gres=gpu:${type}${count}`);
  }
  const cpu = request.resources.cpu;
  if (cpu) args.push(`--cpus-per-task=${Math.max(cpu.min, 1)}`);
  const memory = request.resources.memoryMiB;
  if (memory && memory.min > 0) args.push(`--mem=${memory.min}M`);
  if (request.maxDurationMs !== undefined) {
    const minutes = Math.max(1, Math.ceil(request.maxDurationMs / 60_000));
    if (minutes * 60_000 !== request.maxDurationMs) warnings.push(`Slurm time limits count whole minutes; max_duration is enforced as ${minutes} min`);
    args.push(`--time=${minutes}`);
  }
  for (const extra of options.extraArgs ?? []) {
    if (!extra.startsWith('-')) throw new KitError('INVALID_ARGUMENT', `--slurm-arg "${extra}": give an sbatch option such as --account=proj`);
    args.push(extra);
  }
  return { args, warnings };
}

export function batchFiles(request: JobRequest, jobDir: string, options: SlurmJobOptions): BatchFiles {
  const { args, warnings } = sbatchDirectives(request, jobDir, options);
  const q = shellQuote;
  const dir = q(jobDir);
  const script = [
    '#!/bin/bash',
    `# kit run ${request.runId}: setup then run on every node of the allocation.`,
    `# Submitted as: sbatch ${args.map(q).join(' ')} <this file>`,
    '',
    'export KIT_MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"',
    `export KIT_MASTER_PORT=${MASTER_PORT}`,
    // torch.distributed's env:// initialisation reads these; torchrun takes the KIT_ ones as flags.
    'export MASTER_ADDR="${MASTER_ADDR:-$KIT_MASTER_ADDR}" MASTER_PORT="${MASTER_PORT:-$KIT_MASTER_PORT}"',
    'export KIT_NODE_COUNT="${SLURM_JOB_NUM_NODES:-1}"',
    'mkdir -p "$KIT_OUTPUT_DIR"',
    '',
    '# A step on every node. Its exit code is the failing node\'s own, not that of a node srun',
    '# stopped because another failed (--kill-on-bad-exit), nor srun\'s maximum over them.',
    'step() {',
    `  srun --ntasks-per-node=1 --kill-on-bad-exit=1 bash ${dir}/${JOB_FILES.node} "$1"`,
    '  local code=$? f c',
    '  if [ "$code" -ne 0 ]; then',
    `    for f in ${dir}/${JOB_FILES.status}"$1"-*; do`,
    '      c=$(cat "$f" 2>/dev/null)',
    '      if [ -n "$c" ] && [ "$c" -gt 0 ] && [ "$c" -lt 128 ]; then code=$c; break; fi',
    '    done',
    '  fi',
    '  return "$code"',
    '}',
    '',
    ...(request.setup.length > 0
      ? [
          `echo setting_up > ${dir}/${JOB_FILES.phase}`,
          'step setup',
          'code=$?',
          `if [ "$code" -ne 0 ]; then echo "setup $code" > ${dir}/${JOB_FILES.exit}; exit "$code"; fi`,
        ]
      : []),
    `echo running > ${dir}/${JOB_FILES.phase}`,
    'step run',
    'code=$?',
    `echo "run $code" > ${dir}/${JOB_FILES.exit}`,
    'exit "$code"',
    '',
  ].join('\n');
  const node = [
    '#!/bin/bash',
    '# One node\'s share of a step: the per-node half of the environment contract, then the step.',
    'export KIT_NODE_RANK="${SLURM_NODEID:-0}"',
    'export CUDA_DEVICE_ORDER=PCI_BUS_ID',
    'if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then',
    '  KIT_GPUS_PER_NODE=$(echo "$CUDA_VISIBLE_DEVICES" | tr "," "\\n" | grep -c .)',
    'else',
    '  KIT_GPUS_PER_NODE=0; export CUDA_VISIBLE_DEVICES=',
    'fi',
    'export KIT_GPUS_PER_NODE',
    // Slurm's name for this node (several slurmd may share one host), as its records are named.
    'node="${SLURMD_NODENAME:-$(hostname -s)}"',
    // What each node was given, for provenance: Slurm's indices, and nvidia-smi's names and UUIDs where it exists.
    `if [ "$1" = run ]; then echo "\${SLURM_STEP_GPUS:-\${SLURM_JOB_GPUS:-}}" > ${dir}/${JOB_FILES.nodeGpus}"$node"; fi`,
    `if [ "$1" = run ] && [ "$KIT_GPUS_PER_NODE" -gt 0 ] && command -v nvidia-smi >/dev/null 2>&1; then`,
    `  nvidia-smi --query-gpu=${GPU_QUERY_FIELDS.join(',')} --format=csv,noheader,nounits > ${dir}/${JOB_FILES.gpusPrefix}"$node".csv 2>/dev/null || true`,
    'fi',
    `bash -e ${dir}/"$1".sh`,
    'code=$?',
    `echo "$code" > ${dir}/${JOB_FILES.status}"$1-$node"`,
    'exit "$code"',
    '',
  ].join('\n');
  return { args, script, node, setup: `${request.setup.join('\n')}\n`, run: `${request.run.join('\n')}\n`, warnings };
}
