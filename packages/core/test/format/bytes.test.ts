import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KitError } from '../../src/errors.js';
import { formatBytes } from '../../src/format/bytes.js';
import { conformancePath } from '../helpers/conformance.js';

// Read the integers as bigint so that no case passes through a lossy double on the way in.
const { cases } = parse(readFileSync(conformancePath('derived', 'format-bytes.yaml'), 'utf8'), { intAsBigInt: true }) as {
  cases: Array<{ input: bigint; output: string }>;
};

describe('formatBytes: KitOps conformance (derived/format-bytes.yaml)', () => {
  it('has every case', () => expect(cases).toHaveLength(14));
  for (const c of cases) {
    it(`${c.input} → ${c.output}`, () => {
      expect(formatBytes(c.input)).toBe(c.output);
      // As a number too, where the value is exactly representable (all of these are).
      if (BigInt(Number(c.input)) === c.input) expect(formatBytes(Number(c.input))).toBe(c.output);
    });
  }
});

describe('formatBytes: edges', () => {
  it('floors rather than rounds at every unit boundary', () => {
    expect(formatBytes(1024 ** 3 - 1)).toBe('1023.9 MiB');
    expect(formatBytes(1024n ** 5n - 1n)).toBe('1023.9 TiB');
    expect(formatBytes(1024n ** 6n - 1n)).toBe('1023.9 PiB');
    expect(formatBytes(1126)).toBe('1.0 KiB');
    expect(formatBytes(1127)).toBe('1.1 KiB');
  });

  it('stays in PiB beyond 1024 PiB', () => {
    expect(formatBytes(2n ** 63n - 1n)).toBe('8191.9 PiB');
  });

  it('floors fractional byte counts and refuses nonsense', () => {
    expect(formatBytes(1023.9)).toBe('1023 B');
    for (const bad of [-1, -1n, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => formatBytes(bad)).toThrow(KitError);
    }
  });
});
