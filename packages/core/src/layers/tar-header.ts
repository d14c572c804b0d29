/**
 * Tar headers written byte-for-byte as Go's archive/tar Writer writes the headers KitOps
 * normalises (sanitizeTarHeader: mtime 0, uid 1000, gid 0, no user/group names). Matching Go
 * exactly is what makes our layer digests equal to `kit`'s for the same input.
 */
export const BLOCK_SIZE = 512;
const NAME_SIZE = 100;
const PREFIX_SIZE = 155;
/** Largest size a 12-byte octal field holds: 8 GiB - 1. */
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

export type TarEntryType = 'file' | 'dir';

export interface TarHeaderInput {
  /** posix path relative to the context, no leading ./, no trailing / */
  name: string;
  type: TarEntryType;
  mode: number;
  size: number;
  uid?: number;
  gid?: number;
}

export const KIT_UID = 1000;
export const KIT_GID = 0;

/** Header bytes for one entry: a USTAR block, or a PAX extended header followed by the main block. */
export function encodeTarHeader(entry: TarHeaderInput): Buffer {
  const size = entry.type === 'dir' ? 0 : entry.size;
  const uid = entry.uid ?? KIT_UID;
  const gid = entry.gid ?? KIT_GID;
  const ascii = isAscii(entry.name);
  const longName = Buffer.byteLength(entry.name) > NAME_SIZE;
  const split = splitUstarPath(entry.name);
  const needsPax = !ascii || (longName && !split) || size > MAX_OCTAL_SIZE;

  if (!needsPax) {
    const block = Buffer.alloc(BLOCK_SIZE);
    const [prefix, name] = split ?? ['', entry.name];
    writeV7Fields(block, name, entry, size, uid, gid);
    writeString(block, 345, PREFIX_SIZE, prefix);
    finishBlock(block);
    return block;
  }

  // Go records every field USTAR cannot hold as-is, even a long name it could have split.
  const pax: Record<string, string> = {};
  if (!ascii || longName) pax.path = entry.name;
  if (size > MAX_OCTAL_SIZE) pax.size = String(size);
  // PAX: Go writes "<dir>/PaxHeaders.0/<base>" as the extended header's name, records sorted by key.
  const records = Object.keys(pax)
    .sort()
    .map((k) => formatPaxRecord(k, pax[k]!))
    .join('');
  const data = Buffer.from(records, 'utf8');
  const slash = entry.name.lastIndexOf('/');
  const paxName = posixJoin(slash >= 0 ? entry.name.slice(0, slash + 1) : '', 'PaxHeaders.0', entry.name.slice(slash + 1));
  const ext = Buffer.alloc(BLOCK_SIZE);
  writeString(ext, 0, NAME_SIZE, toAscii(paxName).slice(0, NAME_SIZE).replace(/\/+$/, ''));
  writeOctal(ext, 100, 8, 0);
  writeOctal(ext, 108, 8, 0);
  writeOctal(ext, 116, 8, 0);
  writeOctal(ext, 124, 12, data.length);
  writeOctal(ext, 136, 12, 0);
  ext[156] = 0x78; // 'x'
  finishBlock(ext);

  const main = Buffer.alloc(BLOCK_SIZE);
  // Go's PAX main header: ASCII-only name truncated to the field; numbers that do not fit become 0.
  writeV7Fields(main, toAscii(entry.name), entry, size > MAX_OCTAL_SIZE ? 0 : size, uid, gid);
  finishBlock(main);
  return Buffer.concat([ext, data, Buffer.alloc(padding(data.length)), main]);
}

/** Bytes of zero padding after `size` bytes of entry data. */
export function padding(size: number): number {
  const rem = size % BLOCK_SIZE;
  return rem === 0 ? 0 : BLOCK_SIZE - rem;
}

/** End of archive: exactly two zero blocks, as Go writes it (no padding to a 10 KiB record). */
export const TAR_TRAILER = Buffer.alloc(BLOCK_SIZE * 2);

function writeV7Fields(block: Buffer, name: string, entry: TarHeaderInput, size: number, uid: number, gid: number): void {
  writeString(block, 0, NAME_SIZE, name);
  writeOctal(block, 100, 8, entry.mode);
  writeOctal(block, 108, 8, uid);
  writeOctal(block, 116, 8, gid);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, 0); // mtime: zero time is written as the epoch
  block[156] = entry.type === 'dir' ? 0x35 : 0x30;
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
}

/** Magic, version and checksum: Go's setFormat(USTAR|PAX) then the checksum as "%06o\0 ". */
function finishBlock(block: Buffer): void {
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  writeOctal(block, 148, 7, sum);
  block[155] = 0x20;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  writeString(block, offset, width, value.toString(8).padStart(width - 1, '0'));
}

function writeString(block: Buffer, offset: number, width: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  bytes.copy(block, offset, 0, Math.min(bytes.length, width));
  if (bytes.length < width) block[offset + bytes.length] = 0;
  // Go replaces the trailing slashes of a truncated field with NUL, so old readers don't see a directory.
  if (bytes.length > width && block[offset + width - 1] === 0x2f) {
    let n = width;
    while (n > 0 && block[offset + n - 1] === 0x2f) n--;
    block[offset + n] = 0;
  }
}

/** Go's splitUSTARPath: a long ASCII name may be stored as prefix (<=155) + "/" + name (<=100). */
function splitUstarPath(name: string): [string, string] | undefined {
  let length = name.length;
  if (length <= NAME_SIZE || !isAscii(name)) return undefined;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (name[length - 1] === '/') length--;
  const i = name.lastIndexOf('/', length - 1);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || i > PREFIX_SIZE) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

function formatPaxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let size = bodyLen + String(bodyLen).length;
  if (String(size).length + bodyLen !== size) size = String(size).length + bodyLen;
  return `${size}${body}`;
}

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

/** Go's toASCII: drops every non-ASCII character. */
function toAscii(s: string): string {
  return s.replace(/[^\x00-\x7f]/g, '');
}

function posixJoin(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/').replace(/\/{2,}/g, '/');
}
