import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * A number as a COPY text field. NaN and ±Infinity become NULL: PostgreSQL
 * would read 'NaN' and 'Infinity' into a double precision column, and one such
 * value would poison every sum and bound merged into the hour. -0 is written
 * as 0 (String(-0)), which the numeric and bigint columns read alike.
 */
export function copyNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : '\\N';
}

/**
 * One text-format COPY field: NULL for null and non-finite numbers; in text,
 * the backslash and the characters COPY reads as row and column delimiters
 * are escaped (PostgreSQL's COPY text format, "Backslash characters").
 */
export function copyField(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return copyNumber(v);
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** One COPY row: its fields escaped and joined by tabs (without the trailing newline). */
export function copyRow(values: ReadonlyArray<string | number | null>): string {
  return values.map(copyField).join('\t');
}

/** Rows joined into chunks of about `size` characters, each row ended by a newline. */
export function* copyChunks(rows: Iterable<string>, size = 65536): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    chunk += `${row}\n`;
    if (chunk.length >= size) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/**
 * COPY … FROM STDIN in text format, streamed with backpressure
 * (pg-copy-streams). Rows go in chunks of ~64 KiB: one CopyData message and
 * one socket write per chunk, not per row.
 */
export async function copyRows(
  client: ClientBase,
  table: string,
  columns: readonly string[],
  rows: Iterable<string>,
): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(copyChunks(rows)), stream);
}
