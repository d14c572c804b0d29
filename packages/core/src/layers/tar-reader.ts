import { KitError } from '../errors.js';
import { padding as blockPadding } from './tar-header.js';
import { checksumOk, cString, parseNumeric, parsePaxRecords } from './tar-fields.js';

const BLOCK = 512;

/** One archive entry's header, with PAX and GNU long names already applied. */
export interface TarEntryHeader {
  name: string;
  /** '0' file, '5' directory, '2' symlink, '1' hard link, … (a NUL typeflag is read as '0'). */
  typeflag: string;
  mode: number;
  size: number;
  linkname: string;
}

export interface TarHandlers {
  entry(header: TarEntryHeader): Promise<void> | void;
  data(chunk: Buffer): Promise<void> | void;
  entryEnd(): Promise<void> | void;
}

/**
 * A streaming tar reader: push chunks, get entries and their data as slices of those chunks (no
 * copies). Reads USTAR, PAX (path, size, linkpath) and GNU long names. Anything malformed is a
 * KitError ARCHIVE_INVALID naming `where`, never a crash.
 */
export class TarReader {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private remaining = 0;
  private padding = 0;
  private state: 'header' | 'body' | 'meta' | 'end' = 'header';
  private meta: { kind: 'pax' | 'longname' | 'longlink'; size: number } | undefined;
  private pax: Record<string, string> = {};
  private longName: string | undefined;
  private longLink: string | undefined;
  private zeroBlocks = 0;

  constructor(private readonly handlers: TarHandlers, private readonly where: string) {}

  async push(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'end') return; // bytes after the trailer are ignored, as tar does
      if (this.state === 'body') {
        if (this.remaining > 0) {
          const n = Math.min(this.remaining, chunk.length - offset);
          await this.handlers.data(chunk.subarray(offset, offset + n));
          this.remaining -= n;
          offset += n;
          if (this.remaining > 0) continue;
        }
        const skip = Math.min(this.padding, chunk.length - offset);
        this.padding -= skip;
        offset += skip;
        if (this.padding === 0) {
          this.state = 'header';
          await this.handlers.entryEnd();
        }
        continue;
      }
      const need = this.state === 'meta' ? this.meta!.size + blockPadding(this.meta!.size) : BLOCK;
      const take = Math.min(need - this.pendingLength, chunk.length - offset);
      this.pending.push(chunk.subarray(offset, offset + take));
      this.pendingLength += take;
      offset += take;
      if (this.pendingLength < need) continue;
      const block = Buffer.concat(this.pending, this.pendingLength);
      this.pending = [];
      this.pendingLength = 0;
      if (this.state === 'meta') this.finishMeta(block);
      else await this.header(block);
    }
  }

  /** Call after the last chunk: a truncated archive is an error. */
  end(): void {
    if (this.state === 'body' || this.state === 'meta' || this.pendingLength > 0) {
      throw this.invalid('the archive ends in the middle of an entry (truncated layer)');
    }
    if (this.state !== 'end' && this.zeroBlocks === 0 && this.seenEntry === false) {
      throw this.invalid('no tar data');
    }
  }

  private seenEntry = false;

  private async header(block: Buffer): Promise<void> {
    if (block.every((b) => b === 0)) {
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) this.state = 'end';
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(block)) throw this.invalid('bad header checksum (not a tar archive, or corrupt)');
    const typeflag = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
    const size = this.pax.size !== undefined ? parseDecimal(this.pax.size, this) : parseNumeric(block.subarray(124, 136), (why) => this.invalid(why));
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > 1 << 20) throw this.invalid(`metadata entry of ${size} bytes is implausibly large`);
      this.meta = { kind: typeflag === 'L' ? 'longname' : typeflag === 'K' ? 'longlink' : 'pax', size };
      if (typeflag === 'g') this.meta.kind = 'pax';
      this.state = 'meta';
      this.globalPax = typeflag === 'g';
      if (size === 0) this.finishMeta(Buffer.alloc(0));
      return;
    }
    let name = cString(block.subarray(0, 100));
    const magic = block.subarray(257, 263).toString('latin1');
    if (magic === 'ustar\0' || magic === 'ustar ') {
      const prefix = magic === 'ustar\0' ? cString(block.subarray(345, 500)) : '';
      if (prefix) name = `${prefix}/${name}`;
    }
    const header: TarEntryHeader = {
      name: this.pax.path ?? this.longName ?? name,
      typeflag,
      mode: parseNumeric(block.subarray(100, 108), (why) => this.invalid(why)),
      size: typeflag === '5' || typeflag === '1' || typeflag === '2' ? 0 : size,
      linkname: this.pax.linkpath ?? this.longLink ?? cString(block.subarray(157, 257)),
    };
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;
    this.seenEntry = true;
    await this.handlers.entry(header);
    this.remaining = header.size;
    this.padding = blockPadding(header.size);
    this.state = 'body';
    if (this.remaining === 0 && this.padding === 0) {
      this.state = 'header';
      await this.handlers.entryEnd();
    }
  }

  private globalPax = false;

  private finishMeta(block: Buffer): void {
    const meta = this.meta!;
    const data = block.subarray(0, meta.size);
    this.state = 'header';
    this.meta = undefined;
    if (meta.kind === 'longname') this.longName = cString(data);
    else if (meta.kind === 'longlink') this.longLink = cString(data);
    else if (!this.globalPax) this.pax = { ...this.pax, ...Object.fromEntries(parsePaxRecords(data, (why) => this.invalid(why))) };
  }

  invalid(why: string): KitError {
    return new KitError('ARCHIVE_INVALID', `${this.where}: ${why}`);
  }
}

function parseDecimal(text: string, reader: TarReader): number {
  if (!/^\d+$/.test(text)) throw reader.invalid(`bad PAX size "${text}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw reader.invalid(`PAX size ${text} too large`);
  return value;
}
