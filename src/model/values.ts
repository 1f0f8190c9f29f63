/**
 * The values the stages hand each other and the report is rendered from:
 * plain data, no behaviour, so that every layer (stores, metrics, pipeline)
 * can name them without importing the pipeline (docs/architecture.md, "Layers").
 */
import type { FileHeader } from '../tsv/header.js';
import type { Finding, QualityEntry } from './quality.js';
import type { ConflictSummary } from './conflicts.js';

export interface CountWithLines {
  count: number;
  first_lines: number[];
}

export interface ChannelReport {
  channel_id: string;
  label: string;
  name: string;
  unit: string;
  device_sn: string;
  count: number;
  min: number | null;
  max: number | null;
  mean: number | null;
}

export interface FileReport {
  path: string;
  tenant: string;
  campaign: string;
  device: string | null;
  status: 'ok' | 'error';
  error: {
    code: string;
    message: string;
    line?: number;
    /** store rejections: the HTTP status and the lines the server named */
    http_status?: number;
    server_lines?: string[];
    /**
     * lines InfluxDB 3 refused by number (first 20): the file's own line numbers (of its line protocol), reason, line
     */
    refused_lines?: Array<{ line: number; error: string; text: string }>;
  } | null;
  warnings: string[];
  format: string | null;
  format_id: string | null;
  master_sn: string | null;
  master_type: string | null;
  layout: string | null;
  time_basis: string | null;
  header_meta: Record<string, unknown> | null;
  bytes: number;
  rows: number;
  points: number;
  invalid_timestamps: CountWithLines;
  invalid_values: CountWithLines;
  truncated_rows: CountWithLines;
  overlong_rows: CountWithLines;
  duplicate_rows: number;
  zero_rows: number;
  time_range: { first: string; last: string } | null;
  duration_ms: number;
  channels: ChannelReport[];
  /** where the file went after the run (parsed/ or error/); absent in a dry run, null when it stayed */
  moved_to?: string | null;
  /** lines acknowledged (stored) by InfluxDB and batches that carried them; `refused`: lines it did not store */
  written?: { lines: number; batches: number; refused?: number } | null;
  /** sha256 of the file's bytes (with PostgreSQL on: the ledger's key) */
  sha256?: string;
  /**
   * points an earlier file already brought: skipped in both stores
   * (docs/architecture.md#postgresql-output-and-exactly-once)
   */
  held_points?: number;
  /** the export time from the file name (export-order.ts), UTC; null when the name holds none */
  export_time?: string | null;
  /** the header layout differs from the device's known layout */
  layout_drift?: boolean;
  /** the PostgreSQL ledger row committed with the aggregates; `noop`: why nothing was written */
  ledger?: { file_id: number | null; noop: string | null } | null;
  /** --verify: points the file wrote, and points InfluxDB holds for its series over its time range */
  verify?: { expected: number; found: number } | null;
  /** rows dated far from the file's other rows: written to neither store (docs/reports.md#quality-rules) */
  clock_reset_rows?: number;
  /** the file's data-quality findings (docs/reports.md#quality-rules); gaps and layout changes need PostgreSQL */
  quality?: QualityEntry[];
  /**
   * points already held that this file brought with a different value (docs/reports.md#re-export-conflicts);
   * absent when not compared (no PostgreSQL)
   */
  conflicting_points?: number;
  /** with conflicts: how many were compared, the largest difference, the first examples */
  conflicts?: ConflictSummary;
}

export interface RunTotals {
  files: number;
  files_ok: number;
  files_failed: number;
  bytes: number;
  rows: number;
  points: number;
  invalid_timestamps: number;
  invalid_values: number;
  truncated_rows: number;
  duplicate_rows: number;
}

export interface RunReport {
  run_id: string;
  dry_run: boolean;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  points_per_second: number;
  workers: number;
  /** peak resident memory of the process (all threads), from getrusage */
  peak_rss_bytes: number;
  v002_timezone: string;
  /** where the line protocol went (absent in a dry run) */
  influx?: {
    url: string;
    api: string;
    gzip: boolean;
    batch_lines: number;
    batch_bytes: number;
    concurrency: number;
    requests: number;
    retries: Record<string, number>;
  };
  /** PostgreSQL commits of the run (absent with --no-postgres) */
  postgres?: {
    commits: number;
    hourly_rows: number;
    coverage_rows: number;
    commit_seconds: number;
    plan_seconds: number;
    hourly_rows_per_second: number;
  };
  /** a store stopped the run: files not acknowledged stay where they are */
  store_failure?: { code: string; message: string } | null;
  /** the meta database could not take the summaries */
  meta_warning?: string;
  /**
   * files whose report is in the report file but not in `files` here (long runs keep at most a few thousand in memory)
   */
  files_omitted?: number;
  /** where this report was written */
  report_path?: string | null;
  totals: RunTotals;
  files: FileReport[];
}

/** A run of equally spaced timestamps: start, start + step, … (n of them). */
export interface Run {
  start: number;
  step: number;
  n: number;
}

/** What a parsed file brings to PostgreSQL. */
export interface FileAggregates {
  sha256: string;
  header: FileHeader;
  /** HOURLY_FIELDS numbers per (channel, hour) */
  hourly: Map<number, Float64Array>;
  /** runs of timestamps written, per channel (index as in header.channels) */
  coverage: Run[][];
  skippedPoints: number;
  noop: string | null;
  /** the file's own findings (clock resets, implausible values) and the thresholds they were found with */
  quality?: { findings: readonly Finding[]; thresholds: Readonly<Record<string, number>> };
  /** the held points compared with the stored values; null when none was held or compared */
  conflicts?: ConflictSummary | null;
}
