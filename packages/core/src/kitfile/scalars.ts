/**
 * What a plain (unquoted) YAML scalar means to upstream `kit`, which decodes with Go yaml.v3. The
 * `yaml` package's YAML 1.2 core schema disagrees on several spellings (`0b101`, `1_000`, `017`,
 * `-0x10`, `0X1F` are numbers to yaml.v3, strings to the core schema), and those values end up in
 * the config blob, so the Kitfile is read with the failsafe schema and resolved here instead.
 *
 * Integers a double cannot hold exactly stay exact as bigint (Go keeps int64/uint64 exactly).
 */

export type PlainValue = string | number | bigint | boolean | null;

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE']);
const FALSES = new Set(['false', 'False', 'FALSE']);
const SPECIAL_FLOATS = new Map<string, number>(Object.entries({
  '.nan': NaN, '.NaN': NaN, '.NAN': NaN,
  '.inf': Infinity, '.Inf': Infinity, '.INF': Infinity,
  '+.inf': Infinity, '+.Inf': Infinity, '+.INF': Infinity,
  '-.inf': -Infinity, '-.Inf': -Infinity, '-.INF': -Infinity,
  '-0': -0, '-0.0': -0,
}));
// yaml.v3 yamlStyleFloat: only these spellings reach strconv.ParseFloat.
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** True when a plain scalar with this text is YAML null for yaml.v3 (an unset field). */
export function isPlainNull(text: string): boolean {
  return NULLS.has(text);
}

/** Go strconv.ParseInt(s, 0, 64) / ParseUint(s, 0, 64) digits: base prefixes and C-style octal. */
function goParseInteger(s: string, signed: boolean): bigint | undefined {
  let neg = false;
  let body = s;
  if (signed && (body[0] === '+' || body[0] === '-')) {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  let digits: RegExp;
  let prefix = '';
  if (/^0[xX]/.test(body)) [digits, prefix, body] = [/^[0-9a-fA-F]+$/, '0x', body.slice(2)];
  else if (/^0[bB]/.test(body)) [digits, prefix, body] = [/^[01]+$/, '0b', body.slice(2)];
  else if (/^0[oO]/.test(body)) [digits, prefix, body] = [/^[0-7]+$/, '0o', body.slice(2)];
  else if (/^0./.test(body)) [digits, prefix, body] = [/^[0-7]+$/, '0o', body.slice(1)];
  else digits = /^[0-9]+$/;
  if (!digits.test(body)) return undefined;
  const magnitude = BigInt(prefix + body);
  const value = neg ? -magnitude : magnitude;
  if (signed ? value < INT64_MIN || value > INT64_MAX : value > UINT64_MAX) return undefined;
  return value;
}

/** A number when the double holds the integer and prints it digit for digit, else the exact bigint. */
function exactInt(v: bigint): number | bigint {
  const n = Number(v);
  return String(n) === v.toString() ? n : v;
}

export type PlainTag = 'null' | 'bool' | 'int' | 'float' | 'str';

/** yaml.v3 `resolve()` for a plain scalar: the tag it implies and the value it decodes to. */
export function resolvePlainTyped(text: string): { tag: PlainTag; value: PlainValue } {
  if (NULLS.has(text)) return { tag: 'null', value: null };
  if (TRUES.has(text)) return { tag: 'bool', value: true };
  if (FALSES.has(text)) return { tag: 'bool', value: false };
  const special = SPECIAL_FLOATS.get(text);
  if (special !== undefined) return { tag: 'float', value: special };
  const str = { tag: 'str' as const, value: text };
  const c = text[0];
  if (c === '.') {
    // ParseFloat on the raw text; only decimal spellings can start with '.'.
    return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(text) ? { tag: 'float', value: Number(text) } : str;
  }
  if (!(c === '+' || c === '-' || (c >= '0' && c <= '9'))) return str;
  // yaml.v3 strips every '_' before trying the number parsers.
  const plain = text.replace(/_/g, '');
  const int = goParseInteger(plain, true) ?? goParseInteger(plain, false);
  if (int !== undefined) return { tag: 'int', value: exactInt(int) };
  if (YAML_FLOAT.test(plain)) {
    const f = Number(plain);
    // Go's ParseFloat fails on overflow, and yaml.v3 then keeps the text as a string.
    if (Number.isFinite(f)) return { tag: 'float', value: f };
  }
  return str;
}

export function resolvePlain(text: string): PlainValue {
  return resolvePlainTyped(text).value;
}

/** Whether a string must be quoted in YAML so that yaml.v3 (and we) read it back as a string. */
export function needsQuotes(s: string): boolean {
  return typeof resolvePlain(s) !== 'string' || s === '<<';
}
