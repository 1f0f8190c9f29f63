import { relative } from 'node:path';
import type { RunReport } from '../pipeline/report.js';

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

const MAX_ROWS = 100;

/** The human summary table printed on a TTY. */
export function summaryTable(report: RunReport, cwd = process.cwd()): string {
  const rows: string[][] = [
    ['file', 'status', 'rows', 'points', 'bad ts', 'bad values', 'truncated', 'duplicates', 'range / error'],
  ];
  // a long run lists its failures only; every file is in the JSON report
  const many = report.files.length > MAX_ROWS || (report.files_omitted ?? 0) > 0;
  const shown = many ? report.files.filter((f) => f.status !== 'ok').slice(0, MAX_ROWS) : report.files;
  for (const f of shown) {
    rows.push([
      relative(cwd, f.path) || f.path,
      f.status,
      fmt(f.rows),
      fmt(f.points),
      fmt(f.invalid_timestamps.count),
      fmt(f.invalid_values.count),
      fmt(f.truncated_rows.count),
      fmt(f.duplicate_rows),
      f.error ? f.error.message : f.time_range ? `${f.time_range.first} → ${f.time_range.last}` : '',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const lines = rows.map((r) =>
    r
      .map((cell, i) =>
        i === r.length - 1 ? cell : numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]),
      )
      .join('  '),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const t = report.totals;
  if (many) lines.push(`(${shown.length} failed files listed of ${t.files}; every file is in the JSON report)`);
  lines.push('');
  lines.push(
    `${t.files} files (${t.files_ok} ok, ${t.files_failed} failed), ${fmt(t.rows)} rows, ${fmt(t.points)} points, ` +
      `${fmt(t.duplicate_rows)} duplicate rows skipped, in ${(report.duration_ms / 1000).toFixed(2)} s ` +
      `(${fmt(Math.round(report.points_per_second))} points/s)${report.dry_run ? ' — dry run: nothing written or moved' : ''}`,
  );
  if (!report.dry_run) {
    const moved = (to: string) => report.files.filter((f) => f.moved_to?.split(/[\\/]/).at(-2) === to).length;
    const stayed = report.files.filter((f) => !f.moved_to).length;
    const retries = Object.entries(report.influx?.retries ?? {}).map(([k, v]) => `${v} ${k}`);
    lines.push(
      `InfluxDB ${report.influx?.url} (${report.influx?.api}): ${fmt(report.influx?.requests ?? 0)} requests` +
        `${retries.length ? `, retries: ${retries.join(', ')}` : ''}; files: ${moved('parsed')} to parsed/, ${moved('error')} to error/, ${stayed} left in place`,
    );
    if (report.postgres) {
      const noop = report.files.filter((f) => f.ledger?.noop).length;
      const drift = report.files.filter((f) => f.layout_drift).length;
      const held = report.files.reduce((n, f) => n + (f.held_points ?? 0), 0);
      lines.push(
        `PostgreSQL: ${fmt(report.postgres.commits)} commits, ${fmt(report.postgres.hourly_rows)} hourly rows; ` +
          `${fmt(held)} points already held (skipped in both stores), ${noop} files already ingested (no-op), ${drift} layout changes` +
          `${report.files_omitted ? ' (among the files listed)' : ''}`,
      );
    }
    if (report.store_failure)
      lines.push(`stopped: ${report.store_failure.message} — the files left in place can be ingested again later`);
    if (report.meta_warning) lines.push(`warning: ${report.meta_warning}`);
    if (report.report_path) lines.push(`report: ${report.report_path}`);
  }
  let warnings = 0;
  for (const f of report.files) {
    for (const w of f.warnings)
      if (warnings++ < MAX_ROWS) lines.push(`warning: ${relative(cwd, f.path) || f.path}: ${w}`);
  }
  return lines.join('\n');
}
