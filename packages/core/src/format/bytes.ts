/**
 * Human-readable sizes as `kit list` prints them (kit's pkg/output FormatBytes): binary units up
 * to PiB, one decimal, rounded *down* (1048575 B is "1023.9 KiB", never "1024.0 KiB"), and plain
 * integer bytes below 1 KiB. Arithmetic is done in bigint so that sizes beyond 2^53 (and the
 * rounding at unit boundaries) come out exactly.
 */
import { KitError } from '../errors.js';

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

export function formatBytes(n: number | bigint): string {
  let value: bigint;
  if (typeof n === 'bigint') {
    value = n;
  } else if (Number.isFinite(n)) {
    value = BigInt(Math.floor(n));
  } else {
    throw new KitError('INVALID_ARGUMENT', `cannot format ${String(n)} as a size in bytes`);
  }
  if (value < 0n) throw new KitError('INVALID_ARGUMENT', `cannot format a negative size (${value} bytes)`);
  if (value < 1024n) return `${value} B`;

  // Largest unit not exceeding the value; PiB is the top unit, so 2^60 B is "1024.0 PiB".
  let unit = 0;
  let divisor = 1024n;
  while (unit < UNITS.length - 1 && value >= divisor * 1024n) {
    divisor *= 1024n;
    unit++;
  }
  const tenths = (value * 10n) / divisor; // bigint division truncates: the floor we want
  return `${tenths / 10n}.${tenths % 10n} ${UNITS[unit]}`;
}
