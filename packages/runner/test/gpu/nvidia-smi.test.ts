import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KitError } from '@modelkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLocalGpus, NVIDIA_SMI_APPS_QUERY, NVIDIA_SMI_BANNER, NVIDIA_SMI_GPU_QUERY, parseGpuCsv } from '../../src/gpu/index.js';
import { caught } from '../../../core/test/helpers/caught.js';

const BANNER = `Tue Mar 12 10:00:00 2024
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+`;

describe('nvidia-smi invocations', () => {
  it('queries CSV without header or units, and compute apps by GPU UUID', () => {
    expect(NVIDIA_SMI_GPU_QUERY).toEqual(['nvidia-smi', '--query-gpu=index,uuid,name,memory.total,memory.used,driver_version', '--format=csv,noheader,nounits']);
    expect(NVIDIA_SMI_APPS_QUERY).toEqual(['nvidia-smi', '--query-compute-apps=gpu_uuid,pid', '--format=csv,noheader,nounits']);
    expect(NVIDIA_SMI_BANNER).toEqual(['nvidia-smi']);
  });
});

describe('parseGpuCsv', () => {
  it('parses a mixed H100/A100/L4 host with trailing spaces, CRLF and blank lines', () => {
    const csv = [
      '0, GPU-1f6e2a1b-8d3c-4c8e-9a57-0b2f3c4d5e6f, NVIDIA H100 80GB HBM3, 81559, 0, 550.90.07  ',
      '',
      '1, GPU-2a7f3b2c-9e4d-5d9f-ab68-1c3f4d5e6f70 , NVIDIA A100-SXM4-80GB ,81920,  40213 , 550.90.07\r',
      '   2, GPU-3b8a4c3d-af5e-6ea0-bc79-2d4a5e6f7081, NVIDIA L4, 23034, 296, 550.90.07   ',
      '',
    ].join('\n');
    const apps = 'GPU-2a7f3b2c-9e4d-5d9f-ab68-1c3f4d5e6f70, 48211\nGPU-2a7f3b2c-9e4d-5d9f-ab68-1c3f4d5e6f70, 48300\n';
    expect(parseGpuCsv(csv, apps, BANNER)).toEqual([
      { index: 0, uuid: 'GPU-1f6e2a1b-8d3c-4c8e-9a57-0b2f3c4d5e6f', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 0, processes: 0, driverVersion: '550.90.07', cudaVersion: '12.4' },
      { index: 1, uuid: 'GPU-2a7f3b2c-9e4d-5d9f-ab68-1c3f4d5e6f70', name: 'NVIDIA A100-SXM4-80GB', memoryTotalMiB: 81920, memoryUsedMiB: 40213, processes: 2, driverVersion: '550.90.07', cudaVersion: '12.4' },
      { index: 2, uuid: 'GPU-3b8a4c3d-af5e-6ea0-bc79-2d4a5e6f7081', name: 'NVIDIA L4', memoryTotalMiB: 23034, memoryUsedMiB: 296, processes: 0, driverVersion: '550.90.07', cudaVersion: '12.4' },
    ]);
  });

  it('reads [N/A], N/A and [Not Supported] as missing: memory 0, driver unset', () => {
    const csv = [
      '0, GPU-aaaaaaaa-0000-0000-0000-000000000000, NVIDIA A100-SXM4-40GB, 40960, [N/A], 535.129.03',
      '1, GPU-bbbbbbbb-0000-0000-0000-000000000000, NVIDIA GB10, [N/A], [Not Supported], 580.95.05',
      '2, GPU-cccccccc-0000-0000-0000-000000000000, Tesla T4, 15360, N/A, [N/A]',
    ].join('\n');
    const gpus = parseGpuCsv(csv, 'GPU-aaaaaaaa-0000-0000-0000-000000000000, [N/A]\n');
    expect(gpus.map((g) => [g.memoryTotalMiB, g.memoryUsedMiB, g.processes, g.driverVersion])).toEqual([
      [40960, 0, 1, '535.129.03'],
      [0, 0, 0, '580.95.05'],
      [15360, 0, 0, undefined],
    ]);
    expect(gpus.every((g) => g.cudaVersion === undefined)).toBe(true);
  });

  it('accepts a header line, MiB units and "No running processes found"', () => {
    const csv = 'index, uuid, name, memory.total [MiB], memory.used [MiB], driver_version\n0, GPU-x, NVIDIA L4, 23034 MiB, 0 MiB, 550.90.07\n';
    const [gpu] = parseGpuCsv(csv, 'No running processes found\n', 'CUDA Version: 13.0');
    expect(gpu).toMatchObject({ index: 0, memoryTotalMiB: 23034, memoryUsedMiB: 0, processes: 0, cudaVersion: '13.0' });
  });

  it('gives [] for empty output', () => {
    expect(parseGpuCsv('', '')).toEqual([]);
    expect(parseGpuCsv('\n  \n', '\n')).toEqual([]);
  });

  it('rejects nonsense naming the line', () => {
    const wrongCount = caught(() => parseGpuCsv('0, GPU-x, NVIDIA L4, 23034, 0, 550.90.07\nGPU-y, NVIDIA L4, 23034\n', ''));
    expect(wrongCount.code).toBe('FORMAT_UNSUPPORTED');
    expect(wrongCount.message).toMatch(/line 2 \("GPU-y, NVIDIA L4, 23034"\): expected 6 comma-separated fields .* got 3/);
    expect(caught(() => parseGpuCsv('zero, GPU-x, NVIDIA L4, 1, 0, 550\n', '')).message).toMatch(/line 1 .*GPU index "zero" is not a number/);
    expect(caught(() => parseGpuCsv('0, [N/A], NVIDIA L4, 1, 0, 550\n', '')).message).toMatch(/line 1 .*no usable GPU UUID/);
    expect(caught(() => parseGpuCsv('0, GPU-x, NVIDIA L4, lots, 0, 550\n', '')).message).toMatch(/memory.total "lots" is not a number of MiB at line 1/);
    expect(caught(() => parseGpuCsv('Failed to initialize NVML: Driver/library version mismatch\n', '')).message).toMatch(/line 1 \("Failed to initialize NVML/);
    expect(caught(() => parseGpuCsv('', 'GPU-x, 12\nGPU-x\n')).message).toMatch(/compute-apps output at line 2: "GPU-x"/);
    expect(caught(() => parseGpuCsv('', 'GPU-x, twelve\n')).message).toMatch(/compute-apps output at line 1/);
  });
});

/** The TEST DOUBLE in test/fixtures/nvidia-smi stands in for NVIDIA's tool, spawned for real via PATH. */
describe('listLocalGpus with the fake nvidia-smi first on PATH', () => {
  const fake = fileURLToPath(new URL('../fixtures/nvidia-smi/nvidia-smi', import.meta.url));
  const saved = { PATH: process.env.PATH, scenario: process.env.FAKE_NVIDIA_SMI_SCENARIO };
  let binDir: string;
  let emptyDir: string;

  beforeAll(async () => {
    binDir = await mkdtemp(join(tmpdir(), 'fake-nvidia-smi-'));
    emptyDir = await mkdtemp(join(tmpdir(), 'no-nvidia-smi-'));
    // A copy made executable here, so the test does not depend on the checkout keeping the mode bit.
    await copyFile(fake, join(binDir, 'nvidia-smi'));
    await chmod(join(binDir, 'nvidia-smi'), 0o755);
  });
  afterAll(async () => {
    process.env.PATH = saved.PATH;
    if (saved.scenario === undefined) delete process.env.FAKE_NVIDIA_SMI_SCENARIO;
    else process.env.FAKE_NVIDIA_SMI_SCENARIO = saved.scenario;
    await rm(binDir, { recursive: true, force: true });
    await rm(emptyDir, { recursive: true, force: true });
  });

  function useFake(scenario: string): void {
    process.env.PATH = `${binDir}${delimiter}${saved.PATH ?? ''}`;
    process.env.FAKE_NVIDIA_SMI_SCENARIO = scenario;
  }

  it('two-a100: two idle A100s with driver and CUDA versions', async () => {
    useFake('two-a100');
    const gpus = await listLocalGpus();
    expect(gpus.map((g) => [g.index, g.name, g.memoryTotalMiB, g.processes, g.driverVersion, g.cudaVersion])).toEqual([
      [0, 'NVIDIA A100-SXM4-80GB', 81920, 0, '550.54.15', '12.4'],
      [1, 'NVIDIA A100-SXM4-80GB', 81920, 0, '550.54.15', '12.4'],
    ]);
  });

  it('mixed: H100, A100 and L4 with one busy H100', async () => {
    useFake('mixed');
    const gpus = await listLocalGpus();
    expect(gpus.map((g) => `${g.index}:${g.name}:${g.memoryUsedMiB}:${g.processes}`)).toEqual([
      '0:NVIDIA H100 80GB HBM3:0:0',
      '1:NVIDIA H100 80GB HBM3:40213:1',
      '2:NVIDIA A100-SXM4-80GB:1:0',
      '3:NVIDIA L4:0:0',
      '4:NVIDIA L4:296:0',
    ]);
  });

  it('busy and na scenarios', async () => {
    useFake('busy');
    expect((await listLocalGpus()).map((g) => g.processes)).toEqual([2, 1]);
    useFake('na');
    const na = await listLocalGpus();
    expect(na.map((g) => [g.name, g.memoryTotalMiB, g.memoryUsedMiB, g.processes, g.cudaVersion])).toEqual([
      ['NVIDIA A100-SXM4-40GB', 40960, 0, 1, '13.0'],
      ['NVIDIA GB10', 0, 0, 0, '13.0'],
    ]);
  });

  it('none: "No devices were found" gives []', async () => {
    useFake('none');
    expect(await listLocalGpus()).toEqual([]);
  });

  it('a failing nvidia-smi is a KitError with its first line', async () => {
    useFake('driver-fail');
    const e = await listLocalGpus().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KitError);
    expect((e as KitError).code).toBe('IO');
    expect((e as KitError).message).toBe(
      "nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,driver_version --format=csv,noheader,nounits failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
    );
  });

  it('no nvidia-smi on PATH (ENOENT) gives []', async () => {
    process.env.PATH = emptyDir;
    expect(await listLocalGpus()).toEqual([]);
  });
});

describe('listLocalGpus with an injected exec', () => {
  it('passes the three invocations and parses their output', async () => {
    const calls: string[][] = [];
    const gpus = await listLocalGpus(async (argv) => {
      calls.push(argv);
      if (argv === NVIDIA_SMI_GPU_QUERY) return '0, GPU-x, NVIDIA L4, 23034, 0, 550.90.07\n';
      if (argv === NVIDIA_SMI_APPS_QUERY) return 'GPU-x, 77\n';
      return BANNER;
    });
    expect(calls).toEqual([NVIDIA_SMI_GPU_QUERY, NVIDIA_SMI_APPS_QUERY, NVIDIA_SMI_BANNER]);
    expect(gpus).toEqual([{ index: 0, uuid: 'GPU-x', name: 'NVIDIA L4', memoryTotalMiB: 23034, memoryUsedMiB: 0, processes: 1, driverVersion: '550.90.07', cudaVersion: '12.4' }]);
  });

  it('ENOENT gives []; other failures become KitErrors; a failing banner only loses the CUDA version', async () => {
    const enoent = Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
    expect(await listLocalGpus(() => Promise.reject(enoent))).toEqual([]);
    const e = await listLocalGpus(() => Promise.reject(new Error('ssh: connection reset'))).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KitError);
    expect((e as KitError).message).toMatch(/^nvidia-smi --query-gpu=.* failed: ssh: connection reset$/);
    const gpus = await listLocalGpus(async (argv) => {
      if (argv === NVIDIA_SMI_BANNER) throw new Error('banner failed');
      return argv === NVIDIA_SMI_GPU_QUERY ? '0, GPU-x, NVIDIA L4, 23034, 0, 550.90.07' : '';
    });
    expect(gpus[0].cudaVersion).toBeUndefined();
    const apps = await listLocalGpus(async (argv) => {
      if (argv === NVIDIA_SMI_APPS_QUERY) throw enoent;
      return '0, GPU-x, NVIDIA L4, 23034, 0, 550.90.07';
    }).catch((err: unknown) => err);
    expect(apps).toBeInstanceOf(KitError);
  });
});
