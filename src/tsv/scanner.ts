import { FileFormatError, ErrorCodes } from '../errors.js';
import { parseHeader, timeBasisOf, type FileHeader, type HeaderOptions, type TimeBasis } from './header.js';
import { EPOCH_GAP, EPOCH_INVALID, EPOCH_MIN_VALID, parseWallClock } from './timestamp.js';
import { LeadTracker, type LeadingFold } from './leading-fold.js';
import { RowTimes } from './row-times.js';
import { TimeZoneRules } from './timezone.js';
import { LocalTimeResolver } from './local-time.js';
import { LINE_LIMIT, LineCut, checkLineLength } from './line-cut.js';

export { LINE_LIMIT } from './line-cut.js';

/** A run of whole data lines, the unit of work sent to a parser worker. */
export interface Block {
  /** byte offset in the file */
  offset: number;
  length: number;
  /** 1-based line number of the block's first line */
  firstLine: number;
  /** one entry per non-blank line: UTC epoch seconds, or an EPOCH_* marker */
  epochs: Uint32Array;
}

export interface ScanResult {
  header: FileHeader;
  basis: TimeBasis;
  blocks: Block[];
  rows: number;
  /** total bytes seen */
  bytes: number;
  warnings: string[];
  /** the file starts inside an autumn repeated hour (src/tsv/leading-fold.ts) */
  leadingFold?: LeadingFold;
}

export interface ScanOptions extends HeaderOptions {
  /** target block size in bytes (a block always holds whole lines) */
  blockBytes: number;
}

const HEADER_LIMIT = 1 << 20;

function isBlank(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const b = buf[i];
    if (b !== 32 && b !== 9 && b !== 13) return false;
  }
  return true;
}

/**
 * Pass 1 over a file: header, then every data line's timestamp, resolved to
 * UTC in row order (the autumn fold needs it), and the within-file duplicate
 * rule (the last occurrence of a timestamp wins). Accepts bytes in chunks of
 * any size. Memory: 8 bytes per data row of this one file.
 */
export class FileScanner {
  private readonly options: ScanOptions;
  private head: Buffer | null = Buffer.alloc(0);
  private header: FileHeader | null = null;
  private basis: TimeBasis | null = null;
  private resolver: LocalTimeResolver | null = null;
  private lead: LeadTracker | null = null;
  /** the data lines, cut from the chunks (null until the header is read) */
  private cut: LineCut | null = null;
  private bytes = 0;
  private lineNo = 0;
  private dataEnded = false;
  private afterEndWarned = false;
  private readonly warnings: string[] = [];

  private readonly epochs = new RowTimes();

  private readonly blocks: Array<Omit<Block, 'epochs'> & { firstRow: number; rowEnd: number }> = [];
  private blockStart = -1;
  private blockFirstLine = 0;
  private blockFirstRow = 0;

  constructor(options: ScanOptions) {
    this.options = options;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.head) {
      this.head = this.head.length ? Buffer.concat([this.head, chunk]) : chunk;
      this.tryHeader(false);
      // header still incomplete: keep a copy, the caller may reuse its read buffer
      if (this.head === chunk) this.head = Buffer.from(chunk);
      return;
    }
    this.feed(chunk, false);
  }

  end(): ScanResult {
    if (this.head) this.tryHeader(true);
    this.feed(Buffer.alloc(0), true);
    return this.finish();
  }

  private tryHeader(eof: boolean): void {
    const head = this.head!;
    const header = parseHeader(head, eof);
    if (!header) {
      if (head.length > HEADER_LIMIT) throw new FileFormatError(ErrorCodes.NO_HEADER, 'no header within the first MiB');
      return;
    }
    this.header = header;
    this.basis = timeBasisOf(header, this.options);
    const zone = TimeZoneRules.get(this.basis.kind === 'utc' ? 'UTC' : this.basis.zone);
    this.resolver = new LocalTimeResolver(zone);
    this.lead = new LeadTracker(zone);
    this.head = null;
    this.lineNo = header.dataLine - 1;
    this.cut = new LineCut(
      header.dataOffset,
      (buf, s, nl, base) => this.line(buf, s, nl, base),
      () => this.lineNo,
    );
    this.feed(head.subarray(header.dataOffset), eof);
  }

  private feed(chunk: Buffer, eof: boolean): void {
    if (!this.cut) return;
    const end = this.cut.feed(chunk, eof);
    if (eof) this.closeBlock(end);
  }

  private line(buf: Buffer, s: number, nl: number, base: number): void {
    if (nl - s > LINE_LIMIT) checkLineLength(nl - s, this.lineNo);
    this.lineNo++;
    if (this.dataEnded) {
      if (!this.afterEndWarned && !isBlank(buf, s, nl)) {
        this.afterEndWarned = true;
        this.warnings.push(`line ${this.lineNo}: content after END_DATA ignored`);
      }
      return;
    }
    let e = nl;
    if (e > s && buf[e - 1] === 13) e--;
    const first = buf[s];
    if (first === 69 /* E */ && e - s >= 8 && buf.toString('latin1', s, e).trim() === 'END_DATA') {
      this.closeBlock(base + s);
      this.dataEnded = true;
      return;
    }
    if (this.blockStart < 0) {
      this.blockStart = base + s;
      this.blockFirstLine = this.lineNo;
      this.blockFirstRow = this.epochs.length;
    }
    if (e === s || ((first === 32 || first === 9 || first === 13) && isBlank(buf, s, e))) {
      // blank line: not a row
    } else {
      this.row(buf, s, e);
    }
    const lineEnd = base + Math.min(nl + 1, buf.length);
    if (lineEnd - this.blockStart >= this.options.blockBytes) this.closeBlock(lineEnd);
  }

  private row(buf: Buffer, s: number, e: number): void {
    const rowIndex = this.epochs.length;
    const local = parseWallClock(buf, s, e);
    if (local < 0) return this.epochs.marker(EPOCH_INVALID);
    const utc = this.resolver!.toUtc(local);
    if (Number.isNaN(utc)) return this.epochs.marker(EPOCH_GAP);
    if (utc < EPOCH_MIN_VALID || utc > 0xffffffff) return this.epochs.marker(EPOCH_INVALID);
    if (!this.lead!.decided) this.lead!.track(rowIndex, local, utc);
    if (!this.epochs.time(utc)) return;
    // out of order: a repeat, perhaps; a row cut short cannot be the occurrence that wins
    let cells = 1;
    for (let i = s; i < e; i++) if (buf[i] === 9) cells++;
    this.epochs.outOfOrderRow(utc, cells <= this.header!.channels.length);
  }

  private closeBlock(end: number): void {
    if (this.blockStart < 0) return;
    if (end > this.blockStart) {
      this.blocks.push({
        offset: this.blockStart,
        length: end - this.blockStart,
        firstLine: this.blockFirstLine,
        firstRow: this.blockFirstRow,
        rowEnd: this.epochs.length,
      });
    }
    this.blockStart = -1;
  }

  private finish(): ScanResult {
    const header = this.header!;
    const epochs = this.epochs.settle();
    const leadingFold = this.lead?.result((test) => this.epochs.someOutOfOrder(test));
    if (header.expectsEndData && !this.dataEnded) this.warnings.push('missing END_DATA: the file may be truncated');
    if (this.epochs.backwardJumps > 0) {
      this.warnings.push(
        `${this.epochs.backwardJumps} row(s) more than a day earlier than an earlier row (clock reset or re-export?)`,
      );
    }
    const blocks = this.blocks.map((b): Block => ({
      offset: b.offset,
      length: b.length,
      firstLine: b.firstLine,
      epochs: epochs.slice(b.firstRow, b.rowEnd),
    }));
    return {
      header,
      basis: this.basis!,
      blocks,
      rows: this.epochs.length,
      bytes: this.bytes,
      warnings: [...header.warnings, ...this.warnings],
      ...(leadingFold ? { leadingFold } : {}),
    };
  }
}
