import { isAbsolute, relative, sep } from 'node:path';
import type { Env } from '../config/config.js';
import type { FileReport, RunReport } from '../pipeline/report.js';
import { elide, renderTable, type Column } from './table.js';

const MAX_ROWS = 100;
/** the width assumed when neither the terminal nor COLUMNS says */
export const DEFAULT_COLUMNS = 100;

export interface SummaryOptions {
  /** paths are shown relative to this folder (the data root); default: the working directory */
  root?: string;
  /** terminal width; default 100 */
  columns?: number;
  /** why PostgreSQL took no part, for the line saying so: 'no DATABASE_URL' or '--no-postgres' */
  postgresOff?: string;
  cwd?: string;
}

/** The width to fit: COLUMNS when set (exported on purpose, as `ls` reads it), else the TTY's, else 100. */
export function terminalColumns(out: { isTTY?: boolean; columns?: number }, env: Env): number {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (out.isTTY && out.columns && out.columns > 0) return out.columns;
  return DEFAULT_COLUMNS;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** "1 commit", "2 commits", "1,234 duplicate rows". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${fmt(n)} ${n === 1 ? one : many}`;
}

// the columns a narrow terminal gives up first: the defect counts (every one is in --json); the last
// column is cut before the path
const COLUMNS: Column[] = [
  { title: 'file', align: 'left', elide: 'middle', min: 24 },
  { title: 'status', align: 'left' },
  { title: 'rows', align: 'right', drop: 5, lastResort: true },
  { title: 'points', align: 'right', drop: 6, lastResort: true },
  { title: 'bad ts', align: 'right', drop: 3 },
  { title: 'bad values', align: 'right', drop: 2 },
  { title: 'truncated', align: 'right', drop: 1 },
  { title: 'duplicates', align: 'right', drop: 4 },
  { title: 'range (UTC) / error', align: 'left', elide: 'end', min: 20 },
];

/** The human summary printed on a TTY: a table that fits the terminal, then the totals. */
export function summaryTable(report: RunReport, options: SummaryOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  const columns = options.columns ?? DEFAULT_COLUMNS;
  const shownPath = (p: string) => {
    const base = options.root ?? cwd;
    const rel = relative(base, p);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : relative(cwd, p) || p;
  };
  // a long run lists its failures only; every file is in the JSON report
  const many = report.files.length > MAX_ROWS || (report.files_omitted ?? 0) > 0;
  const shown = many ? report.files.filter((f) => f.status !== 'ok').slice(0, MAX_ROWS) : report.files;
  const paths = shown.map((f) => shownPath(f.path));
  // the company and campaign folders every listed file shares are said once, above: the rows keep the device
  const under = sharedFolders(paths);
  const lines = renderTable(
    COLUMNS,
    shown.map((f, i) => row(f, paths[i].slice(under.length))),
    columns,
  );
  // an error cut short in the table is given whole below it
  const room = columns - lines[0].indexOf('range (UTC) / error');
  if (under) lines.unshift(`in ${elide(under, columns - 3)}`);
  shown.forEach((f, i) => {
    if (f.error && f.error.message.length > room) lines.push(`error: ${paths[i]}: ${f.error.message}`);
  });
  const t = report.totals;
  if (many) lines.push(`(${shown.length} failed files listed of ${t.files}; every file is in the JSON report)`);
  lines.push('');
  lines.push(
    `${count(t.files, 'file')} (${t.files_ok} ok, ${t.files_failed} failed), ${count(t.rows, 'row')}, ` +
      `${count(t.points, 'point')}, ${count(t.duplicate_rows, 'duplicate row')} skipped, ` +
      `in ${(report.duration_ms / 1000).toFixed(2)} s (${fmt(Math.round(report.points_per_second))} points/s)` +
      (report.dry_run ? ' — dry run: nothing written or moved' : ''),
  );
  // a dry run asks no store: the exactly-once plan (points held already, files ingested before) is not known
  if (report.dry_run)
    lines.push('points: every point of the files; a real run with PostgreSQL skips those the stores already hold');
  if (!report.dry_run) lines.push(...storeLines(report, options.postgresOff ?? 'no DATABASE_URL'));
  let warnings = 0;
  for (const f of report.files) {
    for (const w of f.warnings) if (warnings++ < MAX_ROWS) lines.push(`warning: ${shownPath(f.path)}: ${w}`);
  }
  return lines.join('\n');
}

/** `company/campaign/` when every path starts with the same two folders (and goes on below them), else ''. */
function sharedFolders(paths: string[]): string {
  if (paths.length === 0) return '';
  const parts = paths[0].split(sep);
  if (parts.length < 4) return '';
  const head = `${parts[0]}${sep}${parts[1]}${sep}`;
  return paths.every((p) => p.startsWith(head) && p.split(sep).length >= 4) ? head : '';
}

/**
 * `2025-08-03 00:00 → 23:50` from ISO times in UTC: the date once when both ends share it, the seconds only
 * when either end has some (`2025-08-03 00:00:05 → 2025-08-04 00:00:00` keeps them).
 */
export function shortRange(first: string, last: string): string {
  let a = first.replace('T', ' ').replace(/Z$/, '');
  let b = last.replace('T', ' ').replace(/Z$/, '');
  if (a.endsWith(':00') && b.endsWith(':00') && a.length === 19 && b.length === 19) {
    a = a.slice(0, 16);
    b = b.slice(0, 16);
  }
  return `${a} → ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b}`;
}

function row(f: FileReport, path: string): string[] {
  // a file whose bytes were ingested before wrote nothing: said so, not "ok, 0 points"
  const noop = f.ledger?.noop;
  return [
    path,
    noop ? 'no-op' : f.status,
    fmt(f.rows),
    fmt(f.points),
    fmt(f.invalid_timestamps.count),
    fmt(f.invalid_values.count),
    fmt(f.truncated_rows.count),
    fmt(f.duplicate_rows),
    f.error ? f.error.message : noop ? noop : f.time_range ? shortRange(f.time_range.first, f.time_range.last) : '',
  ];
}

/** What each store did: InfluxDB requests and where the files went, PostgreSQL commits (or why it was off). */
function storeLines(report: RunReport, postgresOff: string): string[] {
  const lines: string[] = [];
  const moved = (to: string) => report.files.filter((f) => f.moved_to?.split(/[\\/]/).at(-2) === to).length;
  const stayed = report.files.filter((f) => !f.moved_to).length;
  const retries = Object.entries(report.influx?.retries ?? {}).map(([k, v]) => `${v} ${k}`);
  lines.push(
    `InfluxDB ${report.influx?.url} (${report.influx?.api}): ${count(report.influx?.requests ?? 0, 'request')}` +
      `${retries.length ? `, retries: ${retries.join(', ')}` : ''}; ` +
      `files: ${moved('parsed')} to parsed/, ${moved('error')} to error/, ${stayed} left in place`,
  );
  if (report.postgres) {
    const noop = report.files.filter((f) => f.ledger?.noop).length;
    const drift = report.files.filter((f) => f.layout_drift).length;
    const held = report.files.reduce((n, f) => n + (f.held_points ?? 0), 0);
    const conflicting = report.files.reduce((n, f) => n + (f.conflicting_points ?? 0), 0);
    const differ = conflicting ? `; ${conflicting} of them with a different value, stored value kept` : '';
    lines.push(
      `PostgreSQL: ${count(report.postgres.commits, 'commit')}, ${count(report.postgres.hourly_rows, 'hourly row')}; ` +
        `${count(held, 'point')} already held (skipped in both stores${differ}), ` +
        `${count(noop, 'file')} already ingested (no-op), ${count(drift, 'layout change')}` +
        (report.files_omitted ? ' (among the files listed)' : ''),
    );
  } else lines.push(`PostgreSQL: off (${postgresOff}): no aggregates, no exactly-once across files`);
  if (report.store_failure)
    lines.push(`stopped: ${report.store_failure.message} — the files left in place can be ingested again later`);
  if (report.meta_warning) lines.push(`warning: ${report.meta_warning}`);
  if (report.report_path) lines.push(`report: ${report.report_path}`);
  return lines;
}
