import type { KitError } from '../errors.js';

/** Low-level tar header fields, shared by the streaming reader and the runner's header guard. */

const BLOCK = 512;

/** A NUL-terminated (or full-width) header field. */
export function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul === -1 ? b.length : nul).toString('utf8');
}

/** The header checksum, accepting both the unsigned sum POSIX asks for and the signed one old tars wrote. */
export function checksumOk(block: Buffer): boolean {
  const stored = parseInt(block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim() || 'x', 8);
  if (!Number.isFinite(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Octal, or GNU base-256 (high bit set) for values too large for octal. */
export function parseNumeric(field: Buffer, invalid: (why: string) => KitError): number {
  if (field[0]! & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    value += (field[0]! & 0x7f) * 256 ** (field.length - 1);
    if (!Number.isSafeInteger(value)) throw invalid('numeric field too large');
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`bad numeric field "${text}"`);
  return parseInt(text, 8);
}

/**
 * PAX records, "<len> <key>=<value>\n", in order. `nulPadding` stops at NUL bytes after the last
 * record (some writers pad the data), which the guard tolerates and the reader does not.
 */
export function parsePaxRecords(data: Buffer, invalid: (why: string) => KitError, nulPadding = false): Array<[string, string]> {
  const records: Array<[string, string]> = [];
  let offset = 0;
  while (offset < data.length) {
    if (nulPadding && data[offset] === 0) break;
    const space = data.indexOf(0x20, offset);
    if (space === -1) throw invalid('malformed PAX record');
    const length = Number(data.subarray(offset, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= space - offset || offset + length > data.length) throw invalid('malformed PAX record length');
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq === -1) throw invalid('malformed PAX record');
    records.push([record.slice(0, eq), record.slice(eq + 1)]);
    offset += length;
  }
  return records;
}
