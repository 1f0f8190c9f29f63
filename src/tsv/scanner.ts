import { FileFormatError, ErrorCodes } from '../errors.js';
import { parseHeader, timeBasisOf, type FileHeader, type HeaderOptions, type TimeBasis } from './header.js';
import {
  EPOCH_CUT_REPEAT,
  EPOCH_DUPLICATE,
  EPOCH_GAP,
  EPOCH_INVALID,
  EPOCH_MIN_VALID,
  parseWallClock,
} from './timestamp.js';
import { LocalTimeResolver, TimeZoneRules } from './timezone.js';

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
  /**
   * The file starts inside an autumn repeated hour (local times): its first
   * rows were resolved to the first occurrence (summer time), and the clock
   * then went straight on past the repeated hour into winter time. Whether
   * they are the second occurrence instead is for the device's held coverage
   * to decide (src/pipeline/exactly-once.ts, docs/architecture.md#time).
   */
  leadingFold?: LeadingFold;
}

/** Rows [firstRow, rowEnd) (row indices across blocks) resolved to the first occurrence of a repeated hour. */
export interface LeadingFold {
  firstRow: number;
  rowEnd: number;
  /** seconds from the first occurrence to the second (the offset change, 3600 in Europe) */
  shift: number;
  /** first and last of those rows' epochs as resolved (first occurrence) */
  from: number;
  to: number;
}

/** The valid epochs of the leading-fold rows, as they are now in the blocks. */
export function leadingFoldEpochs(scan: ScanResult): number[] {
  const out: number[] = [];
  const lead = scan.leadingFold;
  if (!lead) return out;
  let row = 0;
  for (const b of scan.blocks) {
    for (let i = 0; i < b.epochs.length; i++, row++) {
      if (row >= lead.rowEnd) return out;
      if (row >= lead.firstRow && b.epochs[i] >= EPOCH_MIN_VALID) out.push(b.epochs[i]);
    }
  }
  return out;
}

/** Moves the leading-fold rows to the second occurrence of the repeated hour (winter time), in the blocks. */
export function shiftLeadingFold(scan: ScanResult): void {
  const lead = scan.leadingFold;
  if (!lead) return;
  let row = 0;
  for (const b of scan.blocks) {
    for (let i = 0; i < b.epochs.length; i++, row++) {
      if (row >= lead.rowEnd) break;
      if (row >= lead.firstRow && b.epochs[i] >= EPOCH_MIN_VALID) b.epochs[i] += lead.shift;
    }
  }
  scan.leadingFold = undefined;
}

export interface ScanOptions extends HeaderOptions {
  /** target block size in bytes (a block always holds whole lines) */
  blockBytes: number;
}

const HEADER_LIMIT = 1 << 20;

/** The longest data line accepted (1 MiB, docs/formats.md): a longer one fails the file (PV_ERR_LINE_TOO_LONG). */
export const LINE_LIMIT = 1 << 20;

/** A growable Uint32Array: 4 bytes a row and no per-element limit (a JS array or Set stops at 2^24). */
export class GrowableU32 {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

function lowerBound(arr: Uint32Array, n: number, v: number): number {
  let lo = 0,
    hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

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
  private zone: TimeZoneRules | null = null;
  /** the leading rows in a repeated hour: 0 before the first valid row, 1 while in it, 2 decided */
  private leadState: 0 | 1 | 2 = 0;
  private lead: (LeadingFold & { key: number; hi: number; lastLocal: number; complete: boolean }) | null = null;
  private carry: Buffer = Buffer.alloc(0);
  /** file offset of carry[0] */
  private carryOffset = 0;
  private bytes = 0;
  private lineNo = 0;
  private dataEnded = false;
  private afterEndWarned = false;
  private readonly warnings: string[] = [];

  private readonly epochs = new GrowableU32();
  /** epochs of rows that arrived in increasing order: sorted */
  private readonly increasing = new GrowableU32();
  private maxEpoch = 0;
  private readonly outOfOrder = new Set<number>();
  private readonly duplicated = new Set<number>();
  /** rows that cannot win a duplicate (cut short) */
  private readonly nonCandidates = new Set<number>();
  /** times first seen out of order in a row cut short */
  private readonly cutShort = new Set<number>();
  private backwardJumps = 0;

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
    this.zone = TimeZoneRules.get(this.basis.kind === 'utc' ? 'UTC' : this.basis.zone);
    this.resolver = new LocalTimeResolver(this.zone);
    this.head = null;
    this.lineNo = header.dataLine - 1;
    this.carry = Buffer.alloc(0);
    this.carryOffset = header.dataOffset;
    this.feed(head.subarray(header.dataOffset), eof);
  }

  private feed(chunk: Buffer, eof: boolean): void {
    if (!this.header) return;
    let buf = chunk;
    let base = this.carryOffset;
    if (this.carry.length) {
      // only the line cut at the previous chunk's end is copied, never the whole chunk
      const nl = chunk.indexOf(10);
      if (nl < 0 && !eof) {
        // bounded: the carry never grows past LINE_LIMIT, so a line without a newline costs O(LINE_LIMIT), not O(n²)
        this.checkLineLength(this.carry.length + chunk.length);
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const cut = nl < 0 ? chunk.length : nl + 1;
      const joined = Buffer.concat([this.carry, chunk.subarray(0, cut)]);
      this.lines(joined, base, eof && cut === chunk.length);
      base += joined.length;
      buf = chunk.subarray(cut);
    }
    const pos = this.lines(buf, base, eof);
    if (!eof) this.checkLineLength(buf.length - pos);
    // a copy: `chunk` may be the caller's reusable read buffer
    this.carry = Buffer.from(buf.subarray(pos));
    this.carryOffset = base + pos;
    if (eof) this.closeBlock(base + buf.length);
  }

  /** Feeds every complete line of `buf` (and the unterminated last one at eof); returns where it stopped. */
  private lines(buf: Buffer, base: number, eof: boolean): number {
    let pos = 0;
    while (pos < buf.length) {
      let nl = buf.indexOf(10, pos);
      if (nl < 0) {
        if (!eof) break;
        nl = buf.length;
      }
      this.line(buf, pos, nl, base);
      pos = nl + 1;
    }
    return Math.min(pos, buf.length);
  }

  private checkLineLength(bytes: number): void {
    if (bytes > LINE_LIMIT) {
      throw new FileFormatError(
        ErrorCodes.LINE_TOO_LONG,
        `line ${this.lineNo + 1} is longer than ${LINE_LIMIT} bytes (1 MiB) without a newline: not a logger export`,
        this.lineNo + 1,
      );
    }
  }

  private line(buf: Buffer, s: number, nl: number, base: number): void {
    if (nl - s > LINE_LIMIT) {
      this.checkLineLength(nl - s);
    }
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
    if (local < 0) {
      this.epochs.push(EPOCH_INVALID);
      return;
    }
    const utc = this.resolver!.toUtc(local);
    if (Number.isNaN(utc)) {
      this.epochs.push(EPOCH_GAP);
      return;
    }
    if (utc < EPOCH_MIN_VALID || utc > 0xffffffff) {
      this.epochs.push(EPOCH_INVALID);
      return;
    }
    if (this.leadState !== 2) this.trackLead(rowIndex, local, utc);
    this.epochs.push(utc);
    if (utc > this.maxEpoch) {
      this.maxEpoch = utc;
      this.increasing.push(utc);
      return;
    }
    if (this.maxEpoch - utc > 86400) this.backwardJumps++;
    // a row cut short cannot be the occurrence that wins
    let cells = 1;
    for (let i = s; i < e; i++) if (buf[i] === 9) cells++;
    const cut = cells <= this.header!.channels.length;
    if (cut) this.nonCandidates.add(rowIndex);
    const at = lowerBound(this.increasing.data, this.increasing.length, utc);
    const seen =
      (at < this.increasing.length && this.increasing.data[at] === utc) ||
      this.outOfOrder.has(utc) ||
      this.cutShort.has(utc);
    if (seen) this.duplicated.add(utc);
    else if (cut) this.cutShort.add(utc);
    else this.outOfOrder.add(utc);
  }

  /**
   * Follows the file's first valid rows while they are the first occurrence of a repeated hour
   * (ScanResult.leadingFold).
   */
  private trackLead(rowIndex: number, local: number, utc: number): void {
    const zone = this.zone!;
    if (this.leadState === 0) {
      this.leadState = 2;
      if (zone.isUtc) return;
      const r = zone.classify(local);
      if (r.kind !== 'fold' || utc !== r.earlier) return;
      const w = zone.foldWindowsNear(local).find((x) => x.key === r.key);
      if (!w) return;
      this.lead = {
        firstRow: rowIndex,
        rowEnd: rowIndex + 1,
        shift: r.later - r.earlier,
        from: utc,
        to: utc,
        key: r.key,
        hi: w.hi,
        lastLocal: local,
        complete: false,
      };
      this.leadState = 1;
      return;
    }
    const lead = this.lead!;
    const r = zone.classify(local);
    if (r.kind === 'fold' && r.key === lead.key && utc === r.earlier && local > lead.lastLocal) {
      lead.rowEnd = rowIndex + 1;
      lead.lastLocal = local;
      lead.to = utc;
      return;
    }
    this.leadState = 2;
    // straight on past the repeated hour, into winter time (not back to its start: the file holds both occurrences)
    lead.complete = r.kind === 'ok' && local >= lead.hi && local < lead.hi + 3600 && utc > lead.to + lead.shift;
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

  /**
   * The leading fold rows, when the file went on into winter time and no other row falls on them, before or after a
   * shift.
   */
  private leadingFold(): LeadingFold | undefined {
    const lead = this.lead;
    if (!lead?.complete) return undefined;
    const clash = (v: number) =>
      (v >= lead.from && v <= lead.to) || (v >= lead.from + lead.shift && v <= lead.to + lead.shift);
    for (const v of this.outOfOrder) if (clash(v)) return undefined;
    for (const v of this.duplicated) if (clash(v)) return undefined;
    return { firstRow: lead.firstRow, rowEnd: lead.rowEnd, shift: lead.shift, from: lead.from, to: lead.to };
  }

  private finish(): ScanResult {
    const header = this.header!;
    const epochs = this.epochs.data;
    if (this.duplicated.size > 0) {
      // one row per time: the last complete occurrence, or the first when none is complete
      const won = new Set<number>();
      const first = new Map<number, number>();
      for (let r = this.epochs.length - 1; r >= 0; r--) {
        const t = epochs[r];
        if (!this.duplicated.has(t)) continue;
        first.set(t, r);
        if (this.nonCandidates.has(r)) epochs[r] = EPOCH_CUT_REPEAT;
        else if (won.has(t)) epochs[r] = EPOCH_DUPLICATE;
        else won.add(t);
      }
      for (const [t, r] of first) if (!won.has(t)) epochs[r] = t;
    }
    if (header.expectsEndData && !this.dataEnded) this.warnings.push('missing END_DATA: the file may be truncated');
    if (this.backwardJumps > 0) {
      this.warnings.push(
        `${this.backwardJumps} row(s) more than a day earlier than an earlier row (clock reset or re-export?)`,
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
      ...(this.leadingFold() ? { leadingFold: this.leadingFold()! } : {}),
    };
  }
}
