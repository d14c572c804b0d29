import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KitError } from '@modelkit/core';
import { parseGpuSpec, type GpuRequest } from '../../src/runfile/index.js';

const GB = 1024;

describe('parseGpuSpec: the dstack GPU grammar', () => {
  it.each<[string, GpuRequest]>([
    ['A100', { names: ['A100'], count: { min: 1, max: 1 } }],
    ['A100:80GB:2', { names: ['A100'], memoryMiB: { min: 80 * GB, max: 80 * GB }, count: { min: 2, max: 2 } }],
    ['2:80GB:A100', { names: ['A100'], memoryMiB: { min: 80 * GB, max: 80 * GB }, count: { min: 2, max: 2 } }],
    ['A100,H100', { names: ['A100', 'H100'], count: { min: 1, max: 1 } }],
    ['H100,A100:2', { names: ['H100', 'A100'], count: { min: 2, max: 2 } }],
    ['H100:1..2', { names: ['H100'], count: { min: 1, max: 2 } }],
    ['24GB..', { memoryMiB: { min: 24 * GB }, count: { min: 1, max: 1 } }],
    ['..40GB', { memoryMiB: { max: 40 * GB }, count: { min: 1, max: 1 } }],
    ['24GB..80GB', { memoryMiB: { min: 24 * GB, max: 80 * GB }, count: { min: 1, max: 1 } }],
    ['24..80GB', { memoryMiB: { min: 24 * GB, max: 80 * GB }, count: { min: 1, max: 1 } }],
    ['24GB..:2', { memoryMiB: { min: 24 * GB }, count: { min: 2, max: 2 } }],
    ['40GB..80GB:4', { memoryMiB: { min: 40 * GB, max: 80 * GB }, count: { min: 4, max: 4 } }],
    ['1..2', { count: { min: 1, max: 2 } }],
    ['2..', { count: { min: 2 } }],
    ['..4', { count: { min: 1, max: 4 } }],
    ['4', { count: { min: 4, max: 4 } }],
    ['nvidia', { count: { min: 1, max: 1 } }],
    ['nvidia:A100:2', { names: ['A100'], count: { min: 2, max: 2 } }],
    ['NVIDIA:H100', { names: ['H100'], count: { min: 1, max: 1 } }],
    ['RTX4090:24GB', { names: ['RTX4090'], memoryMiB: { min: 24 * GB, max: 24 * GB }, count: { min: 1, max: 1 } }],
    ['A10G', { names: ['A10G'], count: { min: 1, max: 1 } }],
    ['H100-SXM5', { names: ['H100-SXM5'], count: { min: 1, max: 1 } }],
    ['A100 : 80GB : 2', { names: ['A100'], memoryMiB: { min: 80 * GB, max: 80 * GB }, count: { min: 2, max: 2 } }],
    ['L4:512MB', { names: ['L4'], memoryMiB: { min: 512, max: 512 }, count: { min: 1, max: 1 } }],
    ['1TB..', { memoryMiB: { min: 1024 * GB }, count: { min: 1, max: 1 } }],
    ['80gib', { memoryMiB: { min: 80 * GB, max: 80 * GB }, count: { min: 1, max: 1 } }],
    ['1.5GB', { memoryMiB: { min: 1.5 * GB, max: 1.5 * GB }, count: { min: 1, max: 1 } }],
  ])('%s', (spec, expected) => {
    expect(parseGpuSpec(spec)).toEqual(expected);
  });

  it.each([
    ['', 'gpu: the GPU spec is empty; write e.g. A100:80GB:2, H100,A100:1..2, 24GB.. or 2'],
    ['A100::2', 'gpu: "A100::2" has an empty part between ":"; write e.g. A100:80GB:2, H100,A100:1..2, 24GB.. or 2'],
    ['A100:', 'gpu: "A100:" has an empty part between ":"'],
    ['A100:H100', 'gpu: "A100:H100" gives the GPU name twice ("A100" and "H100"); list alternative names with commas, e.g. A100,H100'],
    ['2:4', 'gpu: "2:4" gives the GPU count twice ("2" and "4"); keep one count'],
    ['24GB:80GB', 'gpu: "24GB:80GB" gives the GPU memory twice ("24GB" and "80GB"); keep one memory'],
    ['nvidia:nvidia', 'gpu: "nvidia:nvidia" gives the GPU vendor twice'],
    ['amd:MI300X', 'gpu: "amd" GPUs are not supported: this runner finds GPUs with nvidia-smi; write nvidia or leave the vendor out'],
    ['tpu', 'gpu: "tpu" GPUs are not supported'],
    ['A100,,H100', 'gpu: an empty GPU name in "A100,,H100"; separate names with single commas, e.g. A100,H100'],
    ['A100,80GB', 'gpu: "80GB" in "A100,80GB" is not a GPU name; names start with a letter; separate a memory or count from the names with ":", e.g. A100:80GB'],
    ['A100!', 'gpu: "A100!" is not a GPU name; names are letters, digits, ".", "-" and "_", e.g. A100 or RTX4090'],
    ['A100:80XB', 'gpu: "80XB" is not a size; write a number with MB, GB or TB'],
    ['A100:80GB..40GB', 'gpu: "80GB..40GB" has its minimum above its maximum; write 40GB..80GB'],
    ['A100:2..1', 'gpu: "2..1" has its minimum above its maximum; write 1..2'],
    ['A100:0', 'gpu: "0": counts start at 1'],
    ['A100:1.5', 'gpu: "1.5" is not a count; write a whole number like 2, or a range like 1..2, 2.. or ..4'],
    ['A100:1..2..3', 'gpu: "1..2..3" has more than one ".."'],
    ['..', 'gpu: ".." is an empty range'],
    ['A100:$', 'gpu: "$" is not a count'],
    ['A100:-1', 'gpu: "-1" is not a count'],
  ])('%j is refused', (spec, message) => {
    const e = (() => { try { parseGpuSpec(spec); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(KitError);
    expect((e as KitError).code).toBe('INVALID_ARGUMENT');
    expect((e as KitError).message).toContain(message);
  });

  it('names the caller\'s field', () => {
    expect(() => parseGpuSpec('A100:xx', '--gpu')).toThrow('--gpu: "A100:xx" gives the GPU name twice');
  });

  it('reads any order of name, memory and count tokens back to the same request', () => {
    const name = fc.constantFrom('A100', 'H100', 'L40S', 'RTX4090', 'A10G');
    fc.assert(fc.property(
      fc.option(fc.uniqueArray(name, { minLength: 1, maxLength: 3 }), { nil: undefined }),
      fc.option(fc.tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 100 })), { nil: undefined }),
      fc.option(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 8 })), { nil: undefined }),
      fc.boolean(),
      (names, memory, count, vendor) => {
        const tokens = [
          ...(vendor ? ['nvidia'] : []),
          ...(names ? [names.join(',')] : []),
          ...(memory ? [`${memory[0]}GB..${memory[0] + memory[1]}GB`] : []),
          ...(count ? [`${count[0]}..${count[0] + count[1]}`] : []),
        ];
        fc.pre(tokens.length > 0);
        const expected: GpuRequest = {
          ...(names && { names }),
          ...(memory && { memoryMiB: { min: memory[0] * GB, max: (memory[0] + memory[1]) * GB } }),
          count: count ? { min: count[0], max: count[0] + count[1] } : { min: 1, max: 1 },
        };
        for (const order of [tokens, [...tokens].reverse()]) expect(parseGpuSpec(order.join(':'))).toEqual(expected);
      },
    ));
  });
});
