import type { LineSample } from '../tsv/block-parser.js';
import type { FileHeader, TimeBasis } from '../tsv/header.js';
import type { FileStats } from './stats.js';
import { qualityEntry, type Finding, type QualityEntry } from '../model/quality.js';

export type { ChannelReport, CountWithLines, FileReport, RunReport, RunTotals } from '../model/values.js';
import type { CountWithLines, FileReport, RunReport, RunTotals } from '../model/values.js';

const lines = (s: LineSample): CountWithLines => ({ count: s.count, first_lines: [...s.lines] });
const iso = (epoch: number): string => new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');

export function describeBasis(basis: TimeBasis): string {
  return basis.kind === 'utc' ? `UTC (${basis.source})` : `${basis.zone} (${basis.source})`;
}

export function emptyFileReport(
  path: string,
  identity: { tenant: string; campaign: string; device?: string },
): FileReport {
  return {
    path,
    tenant: identity.tenant,
    campaign: identity.campaign,
    device: identity.device ?? null,
    status: 'ok',
    error: null,
    warnings: [],
    format: null,
    format_id: null,
    master_sn: null,
    master_type: null,
    layout: null,
    time_basis: null,
    header_meta: null,
    bytes: 0,
    rows: 0,
    points: 0,
    invalid_timestamps: { count: 0, first_lines: [] },
    invalid_values: { count: 0, first_lines: [] },
    truncated_rows: { count: 0, first_lines: [] },
    overlong_rows: { count: 0, first_lines: [] },
    duplicate_rows: 0,
    zero_rows: 0,
    time_range: null,
    duration_ms: 0,
    channels: [],
  };
}

export function applyHeader(report: FileReport, header: FileHeader, basis: TimeBasis): void {
  report.format = header.format;
  report.format_id = header.formatId;
  report.master_sn = header.masterSn;
  report.master_type = header.masterType;
  report.layout = header.layout;
  report.time_basis = describeBasis(basis);
  report.header_meta = header.meta;
}

export function applyStats(report: FileReport, header: FileHeader, fileStats: FileStats): void {
  const s = fileStats.stats;
  report.rows = s.rows;
  report.points = s.points;
  report.invalid_timestamps = lines(s.invalidTimestamps);
  report.invalid_values = lines(s.invalidValues);
  report.truncated_rows = lines(s.truncatedRows);
  report.overlong_rows = lines(s.overlongRows);
  report.duplicate_rows = s.duplicateRows;
  if (s.clockResetRows > 0) report.clock_reset_rows = s.clockResetRows;
  report.zero_rows = s.zeroRows;
  report.time_range = s.points > 0 ? { first: iso(s.minTime), last: iso(s.maxTime) } : null;
  const c = s.channels;
  report.channels = header.channels.map((ch, i) => {
    const n = c.count[i];
    return {
      channel_id: ch.channelId,
      label: ch.label,
      name: ch.name,
      unit: ch.unit,
      device_sn: ch.deviceSn,
      count: n,
      min: n > 0 ? c.min[i] : null,
      max: n > 0 ? c.max[i] : null,
      mean: n > 0 ? c.sum[i] / n : null,
    };
  });
}

export function emptyTotals(): RunTotals {
  return {
    files: 0,
    files_ok: 0,
    files_failed: 0,
    bytes: 0,
    rows: 0,
    points: 0,
    invalid_timestamps: 0,
    invalid_values: 0,
    truncated_rows: 0,
    duplicate_rows: 0,
  };
}

export function addToTotals(t: RunTotals, f: FileReport): void {
  t.files++;
  if (f.status === 'ok') t.files_ok++;
  else t.files_failed++;
  t.bytes += f.bytes;
  t.rows += f.rows;
  t.points += f.points;
  t.invalid_timestamps += f.invalid_timestamps.count;
  t.invalid_values += f.invalid_values.count;
  t.truncated_rows += f.truncated_rows.count;
  t.duplicate_rows += f.duplicate_rows;
}

export function totalsOf(files: FileReport[]): RunTotals {
  const t = emptyTotals();
  for (const f of files) addToTotals(t, f);
  return t;
}

/** The fields every run report starts with, measured at the end of the run. */
export function runHead(fields: {
  runId: string;
  dryRun: boolean;
  started: Date;
  /** performance.now() at the start */
  t0: number;
  points: number;
  workers: number;
  v002TimeZone: string;
}): Omit<RunReport, 'files' | 'totals'> {
  const durationMs = performance.now() - fields.t0;
  return {
    run_id: fields.runId,
    dry_run: fields.dryRun,
    started_at: fields.started.toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: Math.round(durationMs),
    points_per_second: durationMs > 0 ? Math.round(fields.points / (durationMs / 1000)) : 0,
    workers: fields.workers,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    v002_timezone: fields.v002TimeZone,
  };
}

/** Why a file failed, as its report says it. */
export type FileError = NonNullable<FileReport['error']>;

/**
 * The values the stages after the parser handed on for one file: the report
 * is rendered from them once, at the end (renderFileReport). Absent fields
 * are stages the file never reached; they stay absent from the report.
 */
export interface FileResults {
  /** the parser's value (ParsedFile): never changed after it was handed on */
  readonly parsed: Readonly<FileReport>;
  /** hashed after a failure that came before the parser finished hashing (the ledger's key) */
  readonly sha256?: string;
  /** InfluxDB stage: lines acknowledged */
  readonly written?: FileReport['written'];
  /** --verify: absent when not verified, null when the count failed */
  readonly verify?: FileReport['verify'];
  /** Planner: what the plan decided, once the PostgreSQL stage took the file */
  readonly plan?: { readonly layoutDrift: boolean; readonly heldPoints: number };
  /** PostgreSQL stage: the ledger row */
  readonly ledger?: FileReport['ledger'];
  /** PostgreSQL stage: the findings its commit added (layout change, gaps) */
  readonly quality?: readonly Finding[];
  /** PostgreSQL stage: the parser's findings the device's history overruled */
  readonly qualityDropped?: readonly Finding[];
  /** the first failure after parsing (null: the parser's own outcome stands) */
  readonly error: FileError | null;
  /** Finisher: where the file went (null: left in place); absent when files are not moved */
  readonly movedTo?: string | null;
  /** warnings of the stages after parsing, in the order they were met */
  readonly warnings: readonly string[];
}

const findingKey = (q: QualityEntry): string => `${q.kind}\u0000${q.channel}\u0000${q.range.first}`;

/** The file's report, rendered once from the stages' values (the JSON shape users and tests read). */
export function renderFileReport(r: FileResults): FileReport {
  const p = r.parsed;
  const error = r.error ?? p.error;
  const out: FileReport = {
    ...p,
    status: error ? 'error' : 'ok',
    error: error ? { ...error } : null,
    warnings: [...p.warnings, ...r.warnings],
  };
  if (r.written !== undefined) out.written = r.written;
  if (r.movedTo !== undefined) out.moved_to = r.movedTo;
  if (r.sha256 !== undefined && out.sha256 === undefined) out.sha256 = r.sha256;
  if (r.verify !== undefined) out.verify = r.verify;
  if (r.plan) {
    out.layout_drift = r.plan.layoutDrift;
    out.held_points = r.plan.heldPoints;
  }
  if (r.ledger !== undefined) out.ledger = r.ledger;
  if (r.qualityDropped?.length && p.quality) {
    const gone = new Set(r.qualityDropped.map((f) => findingKey(qualityEntry(f))));
    out.quality = p.quality.filter((q) => !gone.has(findingKey(q)));
  }
  if (r.quality?.length) out.quality = [...(out.quality ?? []), ...r.quality.map(qualityEntry)];
  return out;
}
