/**
 * dstack's ranges and sizes. A range is `a..b`, `a..` or `..b`; a single value `a` is the exact
 * range `a..a` (dstack's `Range`). Sizes are dstack's `Memory`: `MB`, `GB`, `TB` are powers of 1024
 * (so `80GB` is 80 × 1024 MiB, which is how GPU memory is sold and how nvidia-smi counts it), and a
 * bare number is GB. `MiB`/`GiB`/`TiB` are accepted as the same units. Spaces are ignored.
 */
import type { CountRange } from './schema.js';
import { invalid, quote } from './problems.js';

const MIB_PER_UNIT: Readonly<Record<string, number>> = {
  '': 1024, mb: 1, mib: 1, gb: 1024, gib: 1024, tb: 1024 * 1024, tib: 1024 * 1024,
};
const SIZE = /^(\d+(?:\.\d+)?|\.\d+)([a-z]*)$/i;
const COUNT = /^\d+$/;
const COUNT_HINT = 'write a whole number like 2, or a range like 1..2, 2.. or ..4';
const SIZE_HINT = 'write a number with MB, GB or TB, e.g. 16GB, or a range like 24GB.., ..80GB or 24GB..80GB';

/** Splits `a..b`; an absent side is undefined. */
function splitRange(text: string, where: string, hint: string): [string | undefined, string | undefined] {
  const parts = text.split('..');
  if (parts.length === 1) return [text, text];
  if (parts.length > 2) throw invalid(where, `${quote(text)} has more than one ".."; ${hint}`);
  const [lo, hi] = parts.map((p) => (p === '' ? undefined : p));
  if (lo === undefined && hi === undefined) throw invalid(where, `${quote(text)} is an empty range; ${hint}`);
  return [lo, hi];
}

function checkOrder(text: string, where: string, min: number | undefined, max: number | undefined, swapped: string): void {
  if (min !== undefined && max !== undefined && min > max) {
    throw invalid(where, `${quote(text)} has its minimum above its maximum; write ${swapped}`);
  }
}

/** Parses one size to MiB. */
export function parseMemoryMiB(text: string, where: string): number {
  const m = SIZE.exec(text.replace(/\s+/g, ''));
  const perUnit = m ? MIB_PER_UNIT[m[2].toLowerCase()] : undefined;
  if (!m || perUnit === undefined) throw invalid(where, `${quote(text)} is not a size; ${SIZE_HINT}`);
  return Number(m[1]) * perUnit;
}

/** `16GB`, `8GB..`, `..64GB`, `24GB..80GB` -> MiB bounds; a single size is an exact range. */
export function parseMemoryRange(text: string, where: string): { min?: number; max?: number } {
  const compact = text.replace(/\s+/g, '');
  const [lo, hi] = splitRange(compact, where, SIZE_HINT);
  const min = lo === undefined ? undefined : parseMemoryMiB(lo, where);
  const max = hi === undefined ? undefined : parseMemoryMiB(hi, where);
  checkOrder(compact, where, min, max, `${hi}..${lo}`);
  return { ...(min !== undefined && { min }), ...(max !== undefined && { max }) };
}

/**
 * `4`, `2..`, `..8`, `1..2` -> a count range. Counts start at 1 (asking for zero GPUs is leaving
 * out `gpu`), so an open lower bound is 1.
 */
export function parseCountRange(text: string, where: string): CountRange {
  const compact = text.replace(/\s+/g, '');
  const [lo, hi] = splitRange(compact, where, COUNT_HINT);
  const count = (part: string): number => {
    const n = Number(part);
    if (!COUNT.test(part) || !Number.isSafeInteger(n)) throw invalid(where, `${quote(text)} is not a count; ${COUNT_HINT}`);
    if (n < 1) throw invalid(where, `${quote(text)}: counts start at 1; ${COUNT_HINT}`);
    return n;
  };
  const min = lo === undefined ? 1 : count(lo);
  const max = hi === undefined ? undefined : count(hi);
  checkOrder(compact, where, min, max, `${hi}..${lo}`);
  return max === undefined ? { min } : { min, max };
}
