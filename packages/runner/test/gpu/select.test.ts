import { KitError } from '@modelkit/core';
import { describe, expect, it } from 'vitest';
import { gpuEnvironment, gpuNameMatches, isFree, selectGpus, type GpuRequirement } from '../../src/gpu/index.js';
import type { GpuInfo } from '../../src/hosts/host.js';

function gpu(index: number, name: string, memoryTotalMiB: number, used = 0, processes = 0): GpuInfo {
  return { index, uuid: `GPU-${index}`, name, memoryTotalMiB, memoryUsedMiB: used, processes };
}

const A100 = 'NVIDIA A100-SXM4-80GB';
const H100 = 'NVIDIA H100 80GB HBM3';
const L4 = 'NVIDIA L4';
const GB = 1024;

/** A mixed host: 2 H100 (one busy), 1 A100 free + 1 busy, 2 L4 free. */
const MIXED = [gpu(0, H100, 81559), gpu(1, H100, 81559, 40213, 1), gpu(2, A100, 81920, 4), gpu(3, A100, 81920, 30000, 1), gpu(4, L4, 23034), gpu(5, L4, 23034, 296)];

function uuids(gpus: GpuInfo[]): string[] {
  return gpus.map((g) => g.uuid);
}

function failure(request: GpuRequirement, gpus: GpuInfo[], reserved?: Set<string>): string {
  try {
    selectGpus(request, gpus, reserved);
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    expect((e as KitError).code).toBe('INVALID_ARGUMENT');
    return (e as KitError).message;
  }
  throw new Error('expected selection to fail');
}

describe('isFree', () => {
  it('needs no compute process and used memory under the threshold (default 1024 MiB)', () => {
    expect(isFree(gpu(0, L4, 23034, 0))).toBe(true);
    expect(isFree(gpu(0, L4, 23034, 1023))).toBe(true);
    expect(isFree(gpu(0, L4, 23034, 1024))).toBe(false);
    expect(isFree(gpu(0, L4, 23034, 0, 1))).toBe(false);
    expect(isFree(gpu(0, L4, 23034, 1500), 2048)).toBe(true);
  });
});

describe('gpuNameMatches', () => {
  it.each([
    ['A100', A100, true],
    ['a100', A100, true],
    ['NVIDIA A100', A100, true],
    ['A100-80GB', A100, true],
    ['A100-40GB', A100, false],
    ['H100', H100, true],
    ['H100', 'NVIDIA H100 PCIe', true],
    ['RTX4090', 'NVIDIA GeForce RTX 4090', true],
    ['RTXA6000', 'NVIDIA RTX A6000', true],
    ['T4', 'Tesla T4', true],
    ['L4', L4, true],
    ['H100', 'NVIDIA GH100', false],
    ['H100', 'NVIDIA GH200 480GB', false],
    ['B200', 'NVIDIA GB200', false],
    ['L4', 'NVIDIA L40S', false],
    ['A10', 'NVIDIA A10G', false],
    ['A100', H100, false],
    ['', A100, false],
  ])('%s vs %s: %s', (requested, model, expected) => {
    expect(gpuNameMatches(requested, model)).toBe(expected);
  });
});

describe('selectGpus', () => {
  it('takes free GPUs of the named model, lowest index first', () => {
    expect(uuids(selectGpus({ names: ['L4'], count: { min: 1, max: 1 } }, MIXED))).toEqual(['GPU-4']);
    expect(uuids(selectGpus({ names: ['l4'], count: { min: 2, max: 2 } }, MIXED))).toEqual(['GPU-4', 'GPU-5']);
    expect(uuids(selectGpus({ names: ['H100'], count: { min: 1, max: 1 } }, MIXED))).toEqual(['GPU-0']);
  });

  it('takes as many as possible up to max, and all when max is absent', () => {
    const eight = Array.from({ length: 8 }, (_, i) => gpu(i, A100, 81920));
    expect(selectGpus({ names: ['A100'], count: { min: 2, max: 4 } }, eight)).toHaveLength(4);
    expect(selectGpus({ names: ['A100'], count: { min: 2 } }, eight)).toHaveLength(8);
    expect(uuids(selectGpus({ count: { min: 1, max: 8 } }, MIXED))).toEqual(['GPU-4', 'GPU-5']);
  });

  it('never mixes models: picks the model giving most GPUs, then the earlier requested name', () => {
    // 1 free H100, 1 free A100, 2 free L4: L4 gives 2.
    expect(uuids(selectGpus({ names: ['H100', 'A100', 'L4'], count: { min: 1, max: 2 } }, MIXED))).toEqual(['GPU-4', 'GPU-5']);
    // H100 and A100 give 1 each: H100 was named first.
    expect(uuids(selectGpus({ names: ['H100', 'A100'], count: { min: 1, max: 2 } }, MIXED))).toEqual(['GPU-0']);
    expect(uuids(selectGpus({ names: ['A100', 'H100'], count: { min: 1, max: 2 } }, MIXED))).toEqual(['GPU-2']);
  });

  it('filters by memory per GPU, reading a minimum as the labelled size', () => {
    expect(uuids(selectGpus({ memoryMiB: { min: 80 * GB }, count: { min: 1, max: 1 } }, MIXED))).toEqual(['GPU-0']); // H100 reports 81559 MiB
    expect(uuids(selectGpus({ memoryMiB: { min: 24 * GB }, count: { min: 2, max: 2 } }, MIXED))).toEqual(['GPU-4', 'GPU-5']); // L4 "24GB" = 23034 MiB
    expect(uuids(selectGpus({ memoryMiB: { max: 40 * GB }, count: { min: 1, max: 4 } }, MIXED))).toEqual(['GPU-4', 'GPU-5']);
    expect(uuids(selectGpus({ memoryMiB: { min: 40 * GB, max: 80 * GB }, count: { min: 1, max: 1 } }, MIXED))).toEqual(['GPU-0']);
  });

  it('skips reserved GPUs', () => {
    expect(uuids(selectGpus({ names: ['L4'], count: { min: 1, max: 1 } }, MIXED, new Set(['GPU-4'])))).toEqual(['GPU-5']);
  });

  it('count 0 asks for nothing', () => {
    expect(selectGpus({ count: { min: 0, max: 0 } }, MIXED)).toEqual([]);
    expect(selectGpus({ names: ['B200'], count: { min: 0, max: 2 } }, MIXED)).toEqual([]);
  });

  it('says what was asked and what the host has', () => {
    expect(failure({ names: ['A100'], memoryMiB: { min: 80 * GB, max: 80 * GB }, count: { min: 2, max: 2 } }, MIXED)).toBe(
      'asked for 2x A100 80GB; host has 1x NVIDIA H100 80GB HBM3 79.6GB free (1 busy), 1x NVIDIA A100-SXM4-80GB 80GB free (1 busy), 2x NVIDIA L4 22.5GB free',
    );
    expect(failure({ names: ['H100', 'B200'], count: { min: 2 } }, MIXED)).toMatch(/^asked for at least 2x H100 or B200; host has 1x NVIDIA H100 80GB HBM3/);
    expect(failure({ memoryMiB: { min: 100 * GB }, count: { min: 1, max: 2 } }, MIXED)).toMatch(/^asked for 1\.\.2x any GPU 100GB\.\.; host has/);
    expect(failure({ memoryMiB: { max: 16 * GB }, count: { min: 1, max: 1 } }, MIXED)).toMatch(/^asked for 1x any GPU \.\.16GB; /);
  });

  it('names busy and reserved GPUs, and a host without GPUs', () => {
    const twoA100 = [gpu(0, A100, 81920), gpu(1, A100, 81920, 61440, 2)];
    expect(failure({ names: ['A100'], count: { min: 1, max: 1 } }, twoA100, new Set(['GPU-0']))).toBe(
      'asked for 1x A100; host has 0x NVIDIA A100-SXM4-80GB 80GB free (1 busy, 1 reserved by other runs)',
    );
    expect(failure({ count: { min: 1, max: 1 } }, [])).toBe('asked for 1x any GPU; host has no NVIDIA GPUs');
    expect(failure({ memoryMiB: { min: 16 * GB }, count: { min: 1, max: 1 } }, [gpu(0, 'NVIDIA GB10', 0)])).toBe(
      'asked for 1x any GPU 16GB..; host has 1x NVIDIA GB10 (memory not reported) free',
    );
  });

  it('does not take one card of a mixed pair to satisfy 2', () => {
    const pair = [gpu(0, A100, 81920), gpu(1, H100, 81559)];
    expect(failure({ names: ['A100', 'H100'], count: { min: 2, max: 2 } }, pair)).toMatch(/^asked for 2x A100 or H100; host has 1x NVIDIA A100-SXM4-80GB 80GB free, 1x NVIDIA H100 80GB HBM3 79.6GB free$/);
  });

  it('rejects an impossible count', () => {
    expect(failure({ count: { min: 2, max: 1 } }, MIXED)).toMatch(/invalid GPU count 2\.\.1/);
    expect(failure({ count: { min: -1 } }, MIXED)).toMatch(/invalid GPU count/);
  });
});

describe('gpuEnvironment', () => {
  it('exports UUIDs in PCI bus order', () => {
    expect(gpuEnvironment([gpu(2, A100, 81920), gpu(5, A100, 81920)])).toEqual({
      CUDA_VISIBLE_DEVICES: 'GPU-2,GPU-5',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      NVIDIA_VISIBLE_DEVICES: 'GPU-2,GPU-5',
    });
  });

  it('hides every GPU when none was chosen', () => {
    expect(gpuEnvironment([])).toEqual({ CUDA_VISIBLE_DEVICES: '', CUDA_DEVICE_ORDER: 'PCI_BUS_ID', NVIDIA_VISIBLE_DEVICES: 'void' });
  });
});
