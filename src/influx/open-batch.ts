import type { FileState } from './file-outcomes.js';
import type { Segment } from './segments.js';

/** A batch being filled: the lines of one database, with the segment of each file they came from. */
export interface OpenBatch {
  db: string;
  buf: Buffer;
  length: number;
  lines: number;
  segments: Segment<FileState>[];
  timer: NodeJS.Timeout | null;
}

export function newBatch(db: string, buf: Buffer): OpenBatch {
  return { db, buf, length: 0, lines: 0, segments: [], timer: null };
}

/** A run of whole lines of `src`: it ends before `end`, and holds `lines` lines. */
export interface LineRun {
  end: number;
  lines: number;
}

/** The whole lines of `src` from `pos` that fit in the batch, in bytes and within `maxLines` (0 when none fits). */
export function fitLines(batch: OpenBatch, src: Buffer, pos: number, maxLines: number): LineRun {
  const room = batch.buf.length - batch.length;
  let lineRoom = maxLines - batch.lines;
  let end = pos;
  let lines = 0;
  while (lineRoom > 0) {
    const nl = src.indexOf(10, end);
    if (nl < 0 || nl + 1 - pos > room) break;
    end = nl + 1;
    lines++;
    lineRoom--;
  }
  return { end, lines };
}

/** One line longer than a whole batch: the empty batch gets a buffer of its size, and it travels alone. */
export function fitOversized(batch: OpenBatch, src: Buffer, pos: number): LineRun {
  const nl = src.indexOf(10, pos);
  const end = nl < 0 ? src.length : nl + 1;
  batch.buf = Buffer.allocUnsafe(end - pos);
  return { end, lines: 1 };
}

/** Copies `src[pos, run.end)` into the batch: the file's segment grows when it is the last one, else one starts. */
export function append(batch: OpenBatch, file: FileState, src: Buffer, pos: number, run: LineRun): void {
  const { end, lines } = run;
  src.copy(batch.buf, batch.length, pos, end);
  const last = batch.segments[batch.segments.length - 1];
  if (last && last.file === file) {
    last.end += end - pos;
    last.lines += lines;
  } else {
    batch.segments.push({
      file,
      start: batch.length,
      end: batch.length + end - pos,
      lines,
      firstLine: file.lines + 1,
    });
    file.pending++;
    file.batches++;
  }
  batch.length += end - pos;
  batch.lines += lines;
  file.lines += lines;
}
