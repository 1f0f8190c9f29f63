import { basename } from 'node:path';
import { TimeZoneRules } from '../tsv/timezone.js';
import { LocalTimeResolver } from '../tsv/local-time.js';

/**
 * The export-order rule (docs/cli.md#export-order), one module for `ingest`,
 * `serve`'s scheduler and the ledger's `export_time`:
 *
 * - the export time is the LAST `YYMMDD_HHMMSS` or `YYYYMMDD_HHMMSS` in the
 *   file name (the separator `_` or `T`; digits on either side do not belong to
 *   it): `T302_251012_031720.tsv`, `T302_251012_031720_UTC.tsv`,
 *   `T302_02001283_T302_260108_214031.tsv` (renamed: serial in front),
 *   `MV2_02001000_20250803T000000.tsv`; 2-digit years are 20YY;
 * - `_UTC` right after it (or a V003 header declaring UTC, where the header is
 *   known) means UTC; otherwise the time is wall-clock time in the tenant's
 *   zone (the configured local zone; in the autumn repeated hour summer time,
 *   in the spring gap the offset before it);
 * - files are applied by export time; files without one come after all files
 *   with one; ties and those without one in path order.
 */

export interface ExportStamp {
  /** the wall-clock time of the name, as seconds since 1970 read as if UTC */
  wallClock: number;
  /** the name says UTC (`_UTC` after the time) */
  utc: boolean;
}

// zero-width so that overlapping candidates are all seen (a serial's digits may start one)
const CANDIDATE = /(?<!\d)(?=(\d{8}|\d{6})[_T](\d{2})(\d{2})(\d{2})(?!\d)(_UTC(?![A-Za-z0-9]))?)/gi;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The last valid export time written in the file name, or null. */
export function exportStampOf(path: string): ExportStamp | null {
  const name = basename(path);
  let found: ExportStamp | null = null;
  for (const m of name.matchAll(CANDIDATE)) {
    const date = m[1];
    const year = date.length === 8 ? Number(date.slice(0, 4)) : 2000 + Number(date.slice(0, 2));
    const rest = date.length === 8 ? date.slice(4) : date.slice(2);
    const month = Number(rest.slice(0, 2));
    const day = Number(rest.slice(2, 4));
    const [h, mi, s] = [Number(m[2]), Number(m[3]), Number(m[4])];
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || h > 23 || mi > 59 || s > 59) continue;
    found = { wallClock: Date.UTC(year, month - 1, day, h, mi, s) / 1000, utc: m[5] !== undefined };
  }
  return found;
}

/**
 * The export time of a file as ms since the epoch, or null when the name holds
 * none. `zone`: the tenant's zone for a local time; `headerUtc`: the V003
 * header declares UTC.
 */
export function exportEpochOf(path: string, zone: string, headerUtc = false): number | null {
  const stamp = exportStampOf(path);
  if (!stamp) return null;
  if (stamp.utc || headerUtc) return stamp.wallClock * 1000;
  const resolver = new LocalTimeResolver(TimeZoneRules.get(zone));
  let utc = resolver.toUtc(stamp.wallClock);
  // inside the spring gap: the offset before the change (a clock that has not jumped yet)
  if (Number.isNaN(utc)) utc = resolver.toUtc(stamp.wallClock - 3600) + 3600;
  return Number.isNaN(utc) ? null : utc * 1000;
}

/** The export time as an ISO timestamp (the ledger's `export_time`), or null. */
export function exportTimeOf(path: string, zone: string, headerUtc = false): string | null {
  const t = exportEpochOf(path, zone, headerUtc);
  return t === null ? null : new Date(t).toISOString();
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Export order for files of the tenant's `zone`: by export time, files
 * without one after, ties in path order. The key of each path is computed
 * once and cached (a scheduler compares a path many times).
 */
export function exportOrder(zone: string): (a: string, b: string) => number {
  TimeZoneRules.get(zone);
  const keys = new Map<string, number>();
  const key = (p: string): number => {
    let k = keys.get(p);
    if (k === undefined) {
      k = exportEpochOf(p, zone) ?? Infinity;
      if (keys.size > 10_000) keys.clear();
      keys.set(p, k);
    }
    return k;
  };
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : byCodePoint(a, b);
  };
}

/** `paths` sorted in export order (a new array). */
export function sortByExportOrder(paths: readonly string[], zone: string): string[] {
  return [...paths].sort(exportOrder(zone));
}
