import { describe, expect, it } from 'vitest';
import { parseCountRange, parseMemoryMiB, parseMemoryRange } from '../../src/runfile/index.js';

describe('dstack sizes and ranges', () => {
  it.each<[string, number]>([
    ['16GB', 16 * 1024], ['16gb', 16 * 1024], ['16GiB', 16 * 1024], ['512MB', 512], ['512mib', 512],
    ['1TB', 1024 * 1024], ['2TiB', 2 * 1024 * 1024], ['16', 16 * 1024], ['0.5GB', 512], ['.5GB', 512], ['16 GB', 16 * 1024],
  ])('size %s is %d MiB (units are binary, a bare number is GB)', (text, mib) => {
    expect(parseMemoryMiB(text, 'memory')).toBe(mib);
  });

  it.each(['16KB', 'GB', '-1GB', '1e3GB', '16PB', ''])('size %j is refused', (text) => {
    expect(() => parseMemoryMiB(text, 'memory')).toThrow(`memory: ${JSON.stringify(text)} is not a size; write a number with MB, GB or TB`);
  });

  it.each<[string, { min?: number; max?: number }]>([
    ['16GB', { min: 16384, max: 16384 }],
    ['8GB..', { min: 8192 }],
    ['..64GB', { max: 65536 }],
    ['8GB..64GB', { min: 8192, max: 65536 }],
    ['8 GB .. 64 GB', { min: 8192, max: 65536 }],
  ])('memory range %s', (text, range) => {
    expect(parseMemoryRange(text, 'memory')).toEqual(range);
  });

  it.each<[string, { min: number; max?: number }]>([
    ['4', { min: 4, max: 4 }], ['2..', { min: 2 }], ['..8', { min: 1, max: 8 }], ['2..8', { min: 2, max: 8 }], ['3..3', { min: 3, max: 3 }],
  ])('count range %s', (text, range) => {
    expect(parseCountRange(text, 'cpu')).toEqual(range);
  });

  it.each([
    ['0', 'cpu: "0": counts start at 1'],
    ['..0', 'cpu: "..0": counts start at 1'],
    ['8..2', 'cpu: "8..2" has its minimum above its maximum; write 2..8'],
    ['x86:4', 'cpu: "x86:4" is not a count'],
    ['2.5', 'cpu: "2.5" is not a count'],
    ['..', 'cpu: ".." is an empty range'],
    ['1..2..3', 'cpu: "1..2..3" has more than one ".."'],
    ['99999999999999999999', 'is not a count'],
  ])('count %j is refused', (text, message) => {
    expect(() => parseCountRange(text, 'cpu')).toThrow(message);
  });

  it('refuses a memory range whose minimum is above its maximum', () => {
    expect(() => parseMemoryRange('64GB..8GB', 'resources.memory')).toThrow('resources.memory: "64GB..8GB" has its minimum above its maximum; write 8GB..64GB');
  });
});
