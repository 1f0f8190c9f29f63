import { FileFormatError, ErrorCodes } from '../errors.js';

/** The longest data line accepted (1 MiB, docs/formats.md): a longer one fails the file (PV_ERR_LINE_TOO_LONG). */
export const LINE_LIMIT = 1 << 20;

/** A line of `bytes` bytes after line `lineNo` is refused past LINE_LIMIT. */
export function checkLineLength(bytes: number, lineNo: number): void {
  if (bytes > LINE_LIMIT) {
    throw new FileFormatError(
      ErrorCodes.LINE_TOO_LONG,
      `line ${lineNo + 1} is longer than ${LINE_LIMIT} bytes (1 MiB) without a newline: not a logger export`,
      lineNo + 1,
    );
  }
}

/** One line: `buf[s..nl)` (nl: its newline, or the end at eof), `base` the file offset of buf[0]. */
export type OnLine = (buf: Buffer, s: number, nl: number, base: number) => void;

/**
 * Cuts the data part of a file, fed in chunks of any size, into lines: each
 * complete line is handed on where it lies in its chunk; only the line cut
 * at a chunk's end is copied (never the whole chunk), and it never grows
 * past LINE_LIMIT, so a line without a newline costs O(LINE_LIMIT), not O(n²).
 */
export class LineCut {
  private carry: Buffer = Buffer.alloc(0);

  constructor(
    /** file offset of carry[0] */
    private carryOffset: number,
    private readonly onLine: OnLine,
    /** the last line number handed on (for the error of a line too long) */
    private readonly lineNo: () => number,
  ) {}

  /** Hands on every complete line of `chunk` (at eof the unterminated last one too); returns the offset reached. */
  feed(chunk: Buffer, eof: boolean): number {
    let buf = chunk;
    let base = this.carryOffset;
    if (this.carry.length) {
      const nl = chunk.indexOf(10);
      if (nl < 0 && !eof) {
        checkLineLength(this.carry.length + chunk.length, this.lineNo());
        this.carry = Buffer.concat([this.carry, chunk]);
        return base + this.carry.length;
      }
      const cut = nl < 0 ? chunk.length : nl + 1;
      const joined = Buffer.concat([this.carry, chunk.subarray(0, cut)]);
      this.lines(joined, base, eof && cut === chunk.length);
      base += joined.length;
      buf = chunk.subarray(cut);
    }
    const pos = this.lines(buf, base, eof);
    if (!eof) checkLineLength(buf.length - pos, this.lineNo());
    // a copy: `chunk` may be the caller's reusable read buffer
    this.carry = Buffer.from(buf.subarray(pos));
    this.carryOffset = base + pos;
    return base + buf.length;
  }

  /** Hands on every complete line of `buf` (and the unterminated last one at eof); returns where it stopped. */
  private lines(buf: Buffer, base: number, eof: boolean): number {
    let pos = 0;
    while (pos < buf.length) {
      let nl = buf.indexOf(10, pos);
      if (nl < 0) {
        if (!eof) break;
        nl = buf.length;
      }
      this.onLine(buf, pos, nl, base);
      pos = nl + 1;
    }
    return Math.min(pos, buf.length);
  }
}
