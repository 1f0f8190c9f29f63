import { ErrorCodes, FileFormatError } from '../errors.js';
import { readTable, type Channel, type FormatVersion, type Line } from './channels.js';

export { SUPPORTED_FORMATS, buildChannels, headerCells, splitNameUnit } from './channels.js';
export type { Channel, FormatVersion } from './channels.js';

export type TimeBasis =
  { kind: 'utc'; source: 'header' | 'config' } | { kind: 'local'; zone: string; source: 'header' | 'config' };

export interface FileHeader {
  format: FormatVersion;
  formatId: string;
  masterSn: string;
  masterType: 'tri' | 'mono';
  channels: Channel[];
  /** the V003 header JSON, kept as file metadata */
  meta: Record<string, unknown> | null;
  /** byte offset of the first line after the header */
  dataOffset: number;
  /** 1-based line number of that line */
  dataLine: number;
  /** V003 wraps data in START_DATA/END_DATA */
  expectsEndData: boolean;
  warnings: string[];
  /** a stable signature of the column layout, to detect layout drift */
  layout: string;
}

export interface HeaderOptions {
  /** zone of V002 local times (and of V003 files whose header names no usable zone) */
  v002TimeZone: string;
  isValidZone: (zone: string) => boolean;
}

function* lines(buf: Buffer, start: number): Generator<Line> {
  let pos = start;
  let number = 1;
  while (pos < buf.length) {
    let nl = buf.indexOf(10, pos);
    const complete = nl >= 0;
    if (!complete) nl = buf.length;
    let textEnd = nl;
    if (textEnd > pos && buf[textEnd - 1] === 13) textEnd--;
    yield { text: buf.toString('utf8', pos, textEnd), number, end: complete ? nl + 1 : nl };
    pos = nl + 1;
    number++;
  }
}

const MAX_JSON_LINES = 200;

/**
 * Reads the header from the first bytes of a file (a few KiB suffice; the
 * caller passes more until `null` stops being returned or the file ends).
 * Returns null when the header is not complete within `head` and `eof` is false.
 */
export function parseHeader(head: Buffer, eof: boolean): FileHeader | null {
  if (head.length === 0) {
    if (eof) throw new FileFormatError(ErrorCodes.EMPTY_FILE, 'empty file');
    return null;
  }
  const binary = () =>
    new FileFormatError(ErrorCodes.BINARY_FILE, 'binary file (NUL bytes in the header), not a logger TSV export');
  // NUL bytes in the header make a binary file; in a data row they only spoil that row
  const nulAt = head.indexOf(0);
  if (nulAt >= 0 && nulAt < 4096 && head[0] !== 0x53 /* S */ && !head.subarray(0, nulAt).includes(10)) throw binary();
  const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  const warnings: string[] = [];
  const it = lines(head, bom);
  const incomplete = (what: string, line?: number): null => {
    if (!eof) return null;
    throw new FileFormatError(ErrorCodes.NO_HEADER, `no header: ${what}`, line);
  };
  const next = (): Line | undefined => {
    for (;;) {
      const r = it.next();
      if (r.done) return undefined;
      // a line without its '\n' at the end of an incomplete head may be cut
      if (!eof && r.value.end === head.length && head[head.length - 1] !== 10) return undefined;
      if (r.value.text.trim() !== '') return r.value;
    }
  };

  let first = next();
  if (!first)
    return eof
      ? (() => {
          throw new FileFormatError(ErrorCodes.EMPTY_FILE, 'empty file (blank lines only)');
        })()
      : null;
  let meta: Record<string, unknown> | null = null;
  let container: FormatVersion = 'V002';
  if (first.text.trim() === 'START_HEADER') {
    container = 'V003';
    const v003 = readJsonHeader(first, next, incomplete);
    if (!v003) return null;
    ({ meta, first } = v003);
  }
  const serialLine = first;
  const labelLine = next();
  if (!labelLine) return incomplete('the column label line (line 2 of the table) is missing', serialLine.number);

  if (head.subarray(0, labelLine.end).indexOf(0) >= 0) throw binary();
  const { format, formatId, masterSn, masterType, channels } = readTable(
    serialLine,
    labelLine,
    container,
    meta,
    warnings,
  );
  return {
    format,
    formatId,
    masterSn,
    masterType,
    channels,
    meta,
    dataOffset: labelLine.end,
    dataLine: labelLine.number + 1,
    expectsEndData: container === 'V003',
    warnings,
    layout: `${masterType}|${channels.map((c) => `${c.deviceSn}:${c.name} ${c.unit}`).join('|')}`,
  };
}

/**
 * The JSON block of a V003 header (START_HEADER, the JSON, END_HEADER, START_DATA) from its first line; the
 * table's first line after it. Null when the head is incomplete (`incomplete` throws at the file's end).
 */
function readJsonHeader(
  start: Line,
  next: () => Line | undefined,
  incomplete: (what: string, line?: number) => null,
): { meta: Record<string, unknown>; first: Line } | null {
  const jsonLines: string[] = [];
  let line: Line | undefined;
  for (;;) {
    line = next();
    if (!line) return incomplete('START_HEADER without END_HEADER', start.number);
    if (line.text.trim() === 'END_HEADER') break;
    jsonLines.push(line.text);
    if (jsonLines.length > MAX_JSON_LINES)
      throw new FileFormatError(ErrorCodes.BAD_HEADER, 'START_HEADER without END_HEADER', start.number);
  }
  let meta: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(jsonLines.join('\n'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    meta = parsed as Record<string, unknown>;
  } catch (err) {
    throw new FileFormatError(
      ErrorCodes.BAD_HEADER,
      `header JSON between START_HEADER and END_HEADER is invalid: ${(err as Error).message}`,
      start.number + 1,
    );
  }
  const startData = next();
  if (!startData) return incomplete('END_HEADER not followed by START_DATA', line.number);
  if (startData.text.trim() !== 'START_DATA') {
    throw new FileFormatError(
      ErrorCodes.BAD_HEADER,
      `expected START_DATA after END_HEADER, found "${startData.text.slice(0, 40)}"`,
      startData.number,
    );
  }
  const first = next();
  if (!first) return incomplete('START_DATA not followed by the serial number line', startData.number);
  return { meta, first };
}

/** How this file's timestamps are to be read (docs/architecture.md#input-format). */
export function timeBasisOf(header: FileHeader, options: HeaderOptions): TimeBasis {
  if (header.meta) {
    const settings = header.meta.DataTimeSettings;
    if (typeof settings === 'string' && settings.trim().toUpperCase() === 'UTC')
      return { kind: 'utc', source: 'header' };
    const name = header.meta.TimeZoneName;
    if (typeof name === 'string' && options.isValidZone(name)) return { kind: 'local', zone: name, source: 'header' };
    header.warnings.push(
      `V003 header names no usable TimeZoneName (${JSON.stringify(name ?? null)}): local times read in ` +
        options.v002TimeZone,
    );
  }
  const zone = options.v002TimeZone;
  if (zone.toUpperCase() === 'UTC') return { kind: 'utc', source: 'config' };
  return { kind: 'local', zone, source: 'config' };
}
