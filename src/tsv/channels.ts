import { ErrorCodes, FileFormatError } from '../errors.js';

/** The header's table (its two lines: serials, then labels) and the channels it declares. */

export type FormatVersion = 'V002' | 'V003';

/** Format ids this parser reads; anything else is refused by name. */
export const SUPPORTED_FORMATS: Readonly<Partial<Record<string, FormatVersion>>> = {
  MV_T302_V002: 'V002',
  MV_T302_V003: 'V003',
};

export interface Channel {
  /** data column, 1-based (column 0 holds the timestamp) */
  column: number;
  deviceSn: string;
  deviceType: 'master' | 'slave';
  /** `tri` or `mono` for the master's channels, undefined for slaves */
  deviceSubtype?: 'tri' | 'mono';
  label: string;
  name: string;
  unit: string;
  channelId: string;
  fieldKey: string;
}

/** A header line, with its 1-based number and the byte offset just past it. */
export interface Line {
  text: string;
  number: number;
  end: number; // byte offset just past the line's '\n' (or the buffer end)
}

/** Splits a header line into cells, dropping trailing empty cells (trailing tabs). */
export function headerCells(line: string): string[] {
  const cells = line.split('\t').map((c) => c.trim());
  while (cells.length > 0 && cells[cells.length - 1] === '') cells.pop();
  return cells;
}

/** `Ph 1 V` → name `Ph 1`, unit `V`: the unit is the last space-separated token. */
export function splitNameUnit(cell: string): { name: string; unit: string } {
  const text = cell.trim().replace(/\s+/g, ' ');
  const at = text.lastIndexOf(' ');
  if (at < 0) return { name: text, unit: '' };
  return { name: text.slice(0, at), unit: text.slice(at + 1) };
}

/**
 * Channel identity exactly as the existing PowerView deployment names it
 * (docs/architecture.md#input-format): master/slave by serial, tri/mono subtype, per-device labels
 * U1..U3/Ch1.. (tri) or U1/Ch1.. (mono) for the master, Ch1.. for slaves.
 */
export function buildChannels(
  serials: string[],
  labels: string[],
  declaredMasterType: string | undefined,
): { masterSn: string; masterType: 'tri' | 'mono'; channels: Channel[] } {
  const masterSn = serials[0];
  const cols = labels.slice(1).map((cell, i) => ({ column: i + 1, sn: serials[i + 1], ...splitNameUnit(cell) }));
  let masterType: 'tri' | 'mono';
  const declared = declaredMasterType?.trim().toLowerCase();
  if (declared === 'tri' || declared === 'mono') masterType = declared;
  else {
    const masterNames = new Set(cols.filter((c) => c.sn === masterSn).map((c) => c.name));
    masterType = masterNames.has('Ph 1') && masterNames.has('Ph 2') && masterNames.has('Ph 3') ? 'tri' : 'mono';
  }
  const perDevice = new Map<string, number>();
  const channels = cols.map((c): Channel => {
    const index = perDevice.get(c.sn) ?? 0;
    perDevice.set(c.sn, index + 1);
    const isMaster = c.sn === masterSn;
    let label: string;
    if (!isMaster) label = `Ch${index + 1}`;
    else if (masterType === 'tri') label = index < 3 ? `U${index + 1}` : `Ch${index - 2}`;
    else label = index < 1 ? 'U1' : `Ch${index}`;
    const channelId = isMaster ? `M${masterSn}_${label}` : `M${masterSn}_S${c.sn}_${label}`;
    return {
      column: c.column,
      deviceSn: c.sn,
      deviceType: isMaster ? 'master' : 'slave',
      ...(isMaster ? { deviceSubtype: masterType } : {}),
      label,
      name: c.name,
      unit: c.unit,
      channelId,
      fieldKey: c.unit === '' ? channelId : `${channelId}_${c.unit}`,
    };
  });
  return { masterSn, masterType, channels };
}

const SERIAL_RE = /^[0-9A-Za-z_-]+$/;

/**
 * The table's two lines read and checked: a supported format id, as many serials as labels, valid serials, a
 * label per column, one column per channel. `container`: the format the lines above the table imply.
 */
export function readTable(
  serialLine: Line,
  labelLine: Line,
  container: FormatVersion,
  meta: Record<string, unknown> | null,
  warnings: string[],
): { format: FormatVersion; formatId: string; masterSn: string; masterType: 'tri' | 'mono'; channels: Channel[] } {
  const serials = headerCells(serialLine.text);
  const labels = headerCells(labelLine.text);
  const formatId = labels[0] ?? '';
  const format = SUPPORTED_FORMATS[formatId];
  if (!format) {
    if (/^[A-Z]{2}_[A-Z0-9]+_V\d+$/.test(formatId) || /^MV_/.test(formatId)) {
      throw new FileFormatError(
        ErrorCodes.UNKNOWN_FORMAT,
        `unsupported format "${formatId}" (supported: ${Object.keys(SUPPORTED_FORMATS).join(', ')})`,
        labelLine.number,
      );
    }
    throw new FileFormatError(
      ErrorCodes.NO_HEADER,
      `no header: line ${labelLine.number} does not start with a format id such as MV_T302_V002`,
      labelLine.number,
    );
  }
  if (format !== container) warnings.push(`format id ${formatId} in a ${container} container`);
  if (labels.length < 2)
    throw new FileFormatError(ErrorCodes.BAD_HEADER, 'header declares no channel column', labelLine.number);
  if (serials.length !== labels.length) {
    throw new FileFormatError(
      ErrorCodes.BAD_HEADER,
      `header lines disagree: ${serials.length - 1} serial numbers for ${labels.length - 1} channel labels`,
      serialLine.number,
    );
  }
  for (const s of serials) {
    if (!SERIAL_RE.test(s))
      throw new FileFormatError(
        ErrorCodes.BAD_HEADER,
        `invalid device serial "${s.slice(0, 40)}" in the header`,
        serialLine.number,
      );
  }
  for (let i = 1; i < labels.length; i++) {
    if (labels[i] === '')
      throw new FileFormatError(ErrorCodes.BAD_HEADER, `column ${i + 1} has no label`, labelLine.number);
  }
  const declared = typeof meta?.MasterType === 'string' ? meta.MasterType : undefined;
  const { masterSn, masterType, channels } = buildChannels(serials, labels, declared);
  for (const c of channels) if (c.unit === '') warnings.push(`column ${c.column + 1} "${c.name}" has no unit`);
  const seen = new Set<string>();
  for (const c of channels) {
    if (seen.has(c.fieldKey))
      throw new FileFormatError(
        ErrorCodes.BAD_HEADER,
        `two columns map to the same channel ${c.channelId}`,
        labelLine.number,
      );
    seen.add(c.fieldKey);
  }
  return { format, formatId, masterSn, masterType, channels };
}
