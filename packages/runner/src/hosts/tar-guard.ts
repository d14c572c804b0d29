import { checksumOk, cString, KitError, padding, parseNumeric, parsePaxRecords, safeEntryName } from '@modelkit/core';

const BLOCK = 512;

/**
 * Pass an uncompressed tar stream through unchanged while checking every entry header before any
 * of its bytes are passed on: only regular files and directories with safe names (no absolute
 * path, no '..'; see safeEntryName) get through. Anything else (links, devices, FIFOs, volume
 * labels, a bad checksum) ends the stream with a KitError, so the remote `tar -x` never sees it.
 *
 * Every name an entry could take (ustar name/prefix, GNU long name, PAX path) is checked, so a
 * reader that prefers a different one than GNU tar does still cannot be steered outside.
 */
export async function* guardTar(source: AsyncIterable<Buffer>, where: string): AsyncGenerator<Buffer> {
  const inspector = new HeaderInspector(where);
  for await (const chunk of source) {
    inspector.push(chunk);
    yield chunk;
  }
  inspector.end();
}

class HeaderInspector {
  /** Bytes of the current header or metadata record collected so far. */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Bytes of entry data (plus padding) still to skip, or metadata still to collect. */
  private skip = 0;
  private meta: { type: string; size: number } | undefined;
  private names: string[] = [];
  private paxSize: number | undefined;
  private zeroBlocks = 0;
  private done = false;
  private entries = 0;

  constructor(private readonly where: string) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.done) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - offset);
        this.skip -= n;
        offset += n;
        continue;
      }
      const need = this.meta ? this.meta.size : BLOCK;
      const take = Math.min(need - this.pendingLength, chunk.length - offset);
      this.pending.push(chunk.subarray(offset, offset + take));
      this.pendingLength += take;
      offset += take;
      if (this.pendingLength < need) continue;
      const record = Buffer.concat(this.pending, this.pendingLength);
      this.pending = [];
      this.pendingLength = 0;
      if (this.meta) this.finishMeta(record);
      else this.header(record);
    }
  }

  end(): void {
    if (!this.done && (this.skip > 0 || this.pendingLength > 0 || this.meta)) throw this.invalid('the archive ends in the middle of an entry');
    if (this.entries === 0 && this.zeroBlocks === 0) throw this.invalid('no tar data');
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      if (++this.zeroBlocks >= 2) this.done = true; // end of archive; tar ignores what follows
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(block)) throw this.invalid('bad header checksum (not a tar archive, or corrupt)');
    const type = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
    const headerSize = parseNumeric(block.subarray(124, 136), (why) => this.invalid(why));
    if (type === 'x' || type === 'g' || type === 'L') {
      if (headerSize > 1 << 20) throw this.invalid(`a metadata entry of ${headerSize} bytes is implausibly large`);
      this.meta = { type, size: headerSize };
      if (headerSize === 0) this.finishMeta(Buffer.alloc(0));
      return;
    }
    const size = this.paxSize ?? headerSize;
    let name = cString(block.subarray(0, 100));
    const magic = block.subarray(257, 263).toString('latin1');
    if (magic === 'ustar\0') {
      const prefix = cString(block.subarray(345, 500));
      if (prefix) name = `${prefix}/${name}`;
    }
    for (const candidate of [name, ...this.names]) {
      const clean = safeEntryName(candidate, this.where);
      if (type !== '5' && clean === '.') throw new KitError('UNSAFE_ARCHIVE', `${this.where}: a file entry has no name`);
    }
    if (type !== '0' && type !== '7' && type !== '5') {
      const kind = { '1': 'hard link', '2': 'symbolic link', '3': 'character device', '4': 'block device', '6': 'FIFO', K: 'long link name' }[type] ?? `entry of type '${type}'`;
      throw new KitError('UNSAFE_ARCHIVE', `${this.where}: entry "${this.names[0] ?? name}" is a ${kind}; only regular files and directories are unpacked (links and devices could reach outside the target)`);
    }
    // How tar treats data under a directory header differs between implementations; none is needed.
    if (type === '5' && size !== 0) throw this.invalid(`directory "${name}" claims ${size} bytes of data`);
    this.entries++;
    this.names = [];
    this.paxSize = undefined;
    this.skip = size + padding(size);
  }

  private finishMeta(record: Buffer): void {
    const meta = this.meta!;
    this.meta = undefined;
    this.skip = padding(meta.size);
    if (meta.type === 'L') {
      this.names.push(cString(record));
      return;
    }
    for (const [key, value] of parsePaxRecords(record, (why) => this.invalid(why), true)) {
      if (key === 'path' || key === 'GNU.sparse.name') this.names.push(value);
      else if (key === 'linkpath') throw new KitError('UNSAFE_ARCHIVE', `${this.where}: a PAX header carries a link target; links are not unpacked`);
      else if (key === 'size' && meta.type === 'x') {
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw this.invalid(`bad PAX size "${value}"`);
        this.paxSize = Number(value);
      }
    }
    // A global header's path would rename every later entry; refuse rather than guess.
    if (meta.type === 'g' && this.names.length > 0) throw new KitError('UNSAFE_ARCHIVE', `${this.where}: a global PAX header sets a path`);
  }

  invalid(why: string): KitError {
    return new KitError('ARCHIVE_INVALID', `${this.where}: ${why}`);
  }
}
