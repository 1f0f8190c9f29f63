import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FileReport } from '../model/values.js';
import { ErrorCodes } from '../errors.js';

/** Seconds buckets from 5 ms to 2 min: requests, commits and file latency share them. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The service's Prometheus metrics (docs/architecture.md#metrics), prefix `powerview_`. One
 * instance per process; the ingest job, the InfluxDB writer, the PostgreSQL
 * store and the HTTP service report into it. Labels are bounded: tenants,
 * outcomes, error codes, stores and causes — never paths or devices.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly files = new Counter({
    name: 'powerview_files_total',
    help:
      'Files processed, by tenant and outcome (ok, error, noop: the same bytes were ingested before, ' +
      'unavailable: left in place for a store)',
    labelNames: ['tenant', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly fileErrors = new Counter({
    name: 'powerview_file_errors_total',
    help: 'Files that failed, by error code (docs/errors.md)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly rows = new Counter({
    name: 'powerview_rows_total',
    help: 'Data rows read from files',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly points = new Counter({
    name: 'powerview_points_written_total',
    help: 'Points written to InfluxDB (acknowledged)',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly duplicateRows = new Counter({
    name: 'powerview_duplicate_rows_total',
    help: 'Rows skipped because an earlier row of the file or an earlier file brought the same points (exactly-once)',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly invalid = new Counter({
    name: 'powerview_invalid_total',
    help: 'Invalid input skipped, by kind (timestamp, value, truncated_row)',
    labelNames: ['tenant', 'kind'] as const,
    registers: [this.registry],
  });
  readonly layoutDrift = new Counter({
    name: 'powerview_layout_drift_total',
    help: "Files whose header layout differs from the device's known layout",
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly qualityFindings = new Counter({
    name: 'powerview_quality_findings_total',
    help: 'Data-quality findings of the files ingested, by tenant and kind (docs/reports.md#quality-rules)',
    labelNames: ['tenant', 'kind'] as const,
    registers: [this.registry],
  });
  readonly conflictingPoints = new Counter({
    name: 'powerview_conflicting_points_total',
    help:
      'Points a file brought for a (channel, time) already held with a different value (re-export conflicts: ' +
      'the stored value is kept)',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly bytesRead = new Counter({
    name: 'powerview_bytes_read_total',
    help: 'TSV bytes read',
    registers: [this.registry],
  });
  readonly influxRequest = new Histogram({
    name: 'powerview_influx_request_duration_seconds',
    help: 'InfluxDB write request duration, by HTTP status (0: no reply)',
    labelNames: ['status'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly influxBatchLines = new Histogram({
    name: 'powerview_influx_batch_lines',
    help: 'Lines per InfluxDB write request',
    buckets: [10, 100, 500, 1000, 2500, 5000, 10000],
    registers: [this.registry],
  });
  readonly influxBatchBytes = new Histogram({
    name: 'powerview_influx_batch_bytes',
    help: 'Bytes per InfluxDB write request (before gzip)',
    buckets: [1 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'powerview_retries_total',
    help: 'Store requests retried, by store and cause',
    labelNames: ['store', 'cause'] as const,
    registers: [this.registry],
  });
  readonly pgCopyRows = new Counter({
    name: 'powerview_pg_copy_rows_total',
    help: 'Rows COPY-streamed into PostgreSQL, by table (hourly, coverage)',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });
  readonly pgCommit = new Histogram({
    name: 'powerview_pg_commit_duration_seconds',
    help: 'PostgreSQL commit of a group of files (COPY, merge, coverage, ledger: one transaction)',
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'powerview_queue_depth',
    help:
      'Items waiting, by queue (files: known and not yet taken; blocks: parsed or parsing; events: hook events ' +
      'not yet handled)',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  readonly bytesInFlight = new Gauge({
    name: 'powerview_bytes_in_flight',
    help: 'Line-protocol bytes buffered or being sent to InfluxDB',
    registers: [this.registry],
  });
  readonly workerUtilization = new Gauge({
    name: 'powerview_worker_pool_utilization',
    help: 'Share of time the parser threads were busy since the pool started (0..1)',
    registers: [this.registry],
  });
  readonly fileLatency = new Histogram({
    name: 'powerview_file_latency_seconds',
    help: 'File end to end: upload complete (event or settled) → committed in both stores',
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'powerview_last_success_timestamp_seconds',
    help: 'Unix time of the last file ingested successfully, per tenant',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly hookEvents = new Counter({
    name: 'powerview_hook_events_total',
    help: 'SFTPGo hook calls, by action and result (queued, ignored, refused)',
    labelNames: ['action', 'result'] as const,
    registers: [this.registry],
  });

  readonly storeRefused = new Gauge({
    name: 'powerview_store_refused',
    help:
      'Whether a store refuses the credentials right now (1: ingestion waits, files stay in place, retried), by ' +
      'store',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });
  readonly jobUp = new Gauge({
    name: 'powerview_ingest_job_up',
    help: 'Whether the ingest job runs (serve): 0 between a job failure and its restart',
    registers: [this.registry],
  });
  readonly jobRestarts = new Counter({
    name: 'powerview_ingest_job_restarts_total',
    help: 'Ingest job restarts after an unexpected end (serve), by reason (store_failure, crash)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaults?: boolean } = {}) {
    if (options.defaults ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'powerview_' });
  }

  /** Everything a finished file's report says. */
  fileDone(r: FileReport, latencySeconds?: number): void {
    const tenant = r.tenant || 'unknown';
    const outcome =
      r.status === 'ok'
        ? r.ledger?.noop
          ? 'noop'
          : 'ok'
        : r.error?.code === ErrorCodes.STORE_UNAVAILABLE
          ? 'unavailable'
          : 'error';
    this.files.inc({ tenant, outcome });
    if (r.status !== 'ok' && r.error) this.fileErrors.inc({ code: r.error.code });
    this.bytesRead.inc(r.bytes);
    if (r.rows) this.rows.inc({ tenant }, r.rows);
    if (r.status === 'ok' && r.points) this.points.inc({ tenant }, r.points);
    if (r.duplicate_rows) this.duplicateRows.inc({ tenant }, r.duplicate_rows);
    if (r.invalid_timestamps.count) this.invalid.inc({ tenant, kind: 'timestamp' }, r.invalid_timestamps.count);
    if (r.invalid_values.count) this.invalid.inc({ tenant, kind: 'value' }, r.invalid_values.count);
    if (r.truncated_rows.count) this.invalid.inc({ tenant, kind: 'truncated_row' }, r.truncated_rows.count);
    if (r.layout_drift) this.layoutDrift.inc({ tenant });
    if (r.status === 'ok') for (const q of r.quality ?? []) this.qualityFindings.inc({ tenant, kind: q.kind });
    // counted once the file is committed (a file left in place is compared again by the run that commits it)
    if (r.status === 'ok' && r.conflicting_points) this.conflictingPoints.inc({ tenant }, r.conflicting_points);
    if (r.status === 'ok') {
      this.lastSuccess.set({ tenant }, Date.now() / 1000);
      if (latencySeconds !== undefined) this.fileLatency.observe(latencySeconds);
    }
  }

  /** One InfluxDB write request. */
  influxRequestDone(seconds: number, lines: number, bytes: number, status: number): void {
    this.influxRequest.observe({ status: String(status) }, seconds);
    this.influxBatchLines.observe(lines);
    this.influxBatchBytes.observe(bytes);
  }
}
