/**
 * dstack durations (`Duration.parse`): a whole number with one unit — `90s`, `30m`, `2h`, `1d`,
 * `1w` — or plain seconds (`7200`, as a YAML number or a string). Compound forms such as `1h30m`
 * are not dstack's, so they are refused with the single-unit spelling to write instead.
 */
import { invalid, quote } from './problems.js';

const SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const SINGLE = /^(\d+)\s*([smhdw])$/;
const COMPOUND = /^(?:\d+[smhdw])+$/;
const HINT = 'write a whole number with s, m, h, d or w (90s, 30m, 2h, 1d), or plain seconds';

/** Parses a duration to milliseconds; it must be longer than zero. */
export function parseDuration(text: string | number, where: string): number {
  const seconds = typeof text === 'number' ? fromNumber(text, where) : fromText(text.trim(), where);
  if (seconds <= 0) throw invalid(where, `${quote(String(text))} is no time at all; a duration must be longer than 0`);
  const ms = seconds * 1000;
  if (!Number.isSafeInteger(ms)) throw invalid(where, `${quote(String(text))} is too long to be a duration; ${HINT}`);
  return ms;
}

function fromNumber(n: number, where: string): number {
  if (!Number.isInteger(n) || n < 0) throw invalid(where, `${n} is not a whole number of seconds; ${HINT}`);
  return n;
}

function fromText(text: string, where: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const m = SINGLE.exec(text);
  if (m) return Number(m[1]) * SECONDS[m[2]];
  if (COMPOUND.test(text)) {
    return fail(where, text, `dstack durations take one unit; write ${singleUnit(text)}`);
  }
  if (SINGLE.test(text.toLowerCase())) return fail(where, text, `units are lower case; write ${text.toLowerCase()}`);
  return fail(where, text, HINT);
}

function fail(where: string, text: string, hint: string): never {
  throw invalid(where, `${quote(text)} is not a duration; ${hint}`);
}

/** `1h30m` -> `90m`: the largest unit that holds the total exactly. */
function singleUnit(compound: string): string {
  let total = 0;
  for (const [, amount, unit] of compound.matchAll(/(\d+)([smhdw])/g)) total += Number(amount) * SECONDS[unit];
  const [unit, size] = Object.entries(SECONDS).reverse().find(([, s]) => total % s === 0) ?? ['s', 1];
  return `${total / size}${unit}`;
}
