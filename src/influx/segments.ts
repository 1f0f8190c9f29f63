import { ErrorCodes, StoreError } from '../errors.js';
import { bodyOf, rejectionOf, storeRejection, wholeRejection, type RefusedLine } from './rejection.js';
import { serverMessage, type LineError } from './replies.js';
import type { Reply } from './transport.js';

/**
 * A batch is made of segments, one per file: a rejection lands on the right file, a split keeps each line's
 * number in its file.
 */

/** Part of a batch that belongs to one file (byte range, line count): a rejection lands on the right file. */
export interface Segment<F> {
  file: F;
  start: number;
  end: number;
  lines: number;
  /** number of the segment's first line among its file's lines (1-based); default 1 */
  firstLine?: number;
}

export interface SegmentOutcome<F> {
  segment: Segment<F>;
  /** null: every line of the segment was stored */
  rejection: StoreError | null;
  /** lines of the segment the server said it stored */
  stored: number;
  /**
   * lines refused by number (InfluxDB 3 partial writes: every other line was stored); [] when the request was refused
   * whole
   */
  refused: RefusedLine[];
}

export function asBuffer(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

export function totalLines(segments: readonly Segment<unknown>[]): number {
  return segments.reduce((n, s) => n + s.lines, 0);
}

function countLines(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(10, from); i >= 0 && i < to; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** Every segment alike: all its lines stored (`rejection` null), or none, refused with `rejection`. */
export function sameOutcome<F>(segments: readonly Segment<F>[], rejection: StoreError | null): SegmentOutcome<F>[] {
  return segments.map((segment) => ({ segment, rejection, stored: rejection ? 0 : segment.lines, refused: [] }));
}

/** Every segment of the request fails with the store's rejection (first refused lines, when known). */
export function rejectAll<F>(
  segments: readonly Segment<F>[],
  reply: Reply,
  lines: string[] | null,
): SegmentOutcome<F>[] {
  return sameOutcome(segments, storeRejection('InfluxDB rejected lines', reply, lines));
}

/** One half of a body cut on a line boundary: its byte range and the segments in it, numbered as before. */
export interface Half<F> {
  from: number;
  to: number;
  part: Segment<F>[];
}

/** A body (413: too large) halved on a line boundary, each segment cut where the halves meet. */
export function halves<F>(body: Uint8Array, segments: readonly Segment<F>[]): Half<F>[] {
  const buf = asBuffer(body);
  let cut = buf.indexOf(10, Math.floor(buf.length / 2));
  if (cut < 0 || cut + 1 >= buf.length) cut = buf.lastIndexOf(10, Math.floor(buf.length / 2) - 1);
  if (cut < 0) cut = buf.indexOf(10);
  const at = cut + 1;
  const ranges: Array<[number, number]> = [
    [0, at],
    [at, buf.length],
  ];
  return ranges.map(([from, to]) => {
    const part: Segment<F>[] = [];
    for (const s of segments) {
      const a = Math.max(s.start, from);
      const b = Math.min(s.end, to);
      if (a >= b) continue;
      // the part's first line keeps its number in the file
      const skipped = countLines(buf, s.start, a);
      part.push({
        file: s.file,
        start: a - from,
        end: b - from,
        lines: countLines(buf, a, b),
        firstLine: (s.firstLine ?? 1) + skipped,
      });
    }
    return { from, to, part };
  });
}

/**
 * Outcomes of split parts → one per original segment: stored and refused lines added up, the first
 * rejection kept.
 */
export function mergeOutcomes<F>(segments: Segment<F>[], parts: SegmentOutcome<F>[]): SegmentOutcome<F>[] {
  return segments.map((segment) => {
    const mine = parts.filter((p) => p.segment.file === segment.file);
    const stored = mine.reduce((n, p) => n + p.stored, 0);
    const refused = mine.flatMap((p) => p.refused);
    const first = mine.find((p) => p.rejection)?.rejection ?? null;
    // counted again over the whole segment: a part stored, another refused is a partial write of the segment
    const rejection = wholeRejection({ first, lines: segment.lines, stored, refused, refusedCount: refused.length });
    return { segment, rejection, stored, refused };
  });
}

/** Where each wanted line (1-based, ascending) starts and ends in the body, in one pass. */
function lineSpans(buf: Buffer, wanted: number[]): Map<number, [number, number]> {
  const at = new Map<number, [number, number]>();
  let line = 1;
  let pos = 0;
  for (const n of wanted) {
    for (; line < n; line++) pos = buf.indexOf(10, pos) + 1;
    const nl = buf.indexOf(10, pos);
    at.set(n, [pos, nl < 0 ? buf.length : nl]);
  }
  return at;
}

/** Does each line the server quoted (its first 20 bytes, 3.6+) begin like the line of ours with that number? */
function sameLines(buf: Buffer, at: Map<number, [number, number]>, byNumber: Map<number, LineError>): boolean {
  for (const [n, [from, to]] of at) {
    const sent = byNumber.get(n)!.original_line;
    if (sent === undefined) continue;
    const theirs = Buffer.from(sent);
    const k = Math.min(20, theirs.length, to - from);
    if (k > 0 && !buf.subarray(from, from + k).equals(theirs.subarray(0, k))) return false;
  }
  return true;
}

/**
 * The partial write's refused lines placed on the segments they came from, by line number, without sending
 * anything again (the rest was stored); null when the numbers do not fit this body (past its end, or a line whose
 * `original_line` does not begin like ours): the caller falls back to treating the request as refused whole.
 */
export function placeRefusedLines<F>(
  errors: LineError[],
  body: Uint8Array,
  segments: Segment<F>[],
  reply: Reply,
): SegmentOutcome<F>[] | null {
  const buf = asBuffer(body);
  const wanted = [...new Set(errors.map((e) => e.line_number))].sort((a, b) => a - b);
  if (wanted[wanted.length - 1] > totalLines(segments)) return null;
  const at = lineSpans(buf, wanted);
  const byNumber = new Map(errors.map((e) => [e.line_number, e]));
  if (!sameLines(buf, at, byNumber)) return null;
  const first = new StoreError(ErrorCodes.STORE_REJECTED, serverMessage(reply.body), {
    status: reply.status,
    body: bodyOf(reply),
  });
  const out: SegmentOutcome<F>[] = [];
  let before = 0;
  for (const s of segments) {
    const refused: RefusedLine[] = [];
    for (const n of wanted) {
      if (n <= before || n > before + s.lines) continue;
      const [from, to] = at.get(n)!;
      refused.push({
        line: (s.firstLine ?? 1) + (n - before) - 1,
        error: byNumber.get(n)!.error_message,
        text: buf.subarray(from, to).toString(),
      });
    }
    const stored = s.lines - refused.length;
    const rejection = refused.length
      ? rejectionOf({ first, lines: s.lines, stored, refused, refusedCount: refused.length })
      : null;
    out.push({ segment: s, rejection, stored, refused });
    before += s.lines;
  }
  return out;
}
