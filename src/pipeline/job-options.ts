import type { Logger } from 'pino';
import type { InfluxConfig } from '../influx/config.js';
import type { LpBatcher } from '../influx/batcher.js';
import type { PostgresStageOptions } from './postgres-stage.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Pipeline, FileTask, PipelineOptions } from './pipeline.js';
import type { FileReport, RunReport } from './report.js';
import type { StoreHealth } from './store-health.js';
import type { JobEvents } from './events.js';

/** The options of runIngestJob (ingest-job.ts): cli/ingest.ts and service/service.ts build them. */
export interface IngestJobOptions {
  pipeline: Pick<PipelineOptions, 'workers' | 'blockBytes' | 'v002TimeZone' | 'maxBlocksInFlight' | 'keepWholeBytes'>;
  influx: Readonly<InfluxConfig>;
  /** meta database for the run and file summaries; default powerview_meta; '' writes none */
  metaDb?: string;
  /** the last summaries wait at most this long for the meta database, then are dropped (serve: shutdown is not held) */
  metaWaitMs?: number;
  /** count each file's points back from InfluxDB before moving it to parsed/ */
  verify?: boolean;
  /** move files to parsed/ and error/ (default true) */
  moveFiles?: boolean;
  logger?: Logger;
  onProgress?: (p: { bytes: number; points: number; files: number }) => void;
  /** the JSON report is written here (null or absent: kept in memory only) */
  reportDir?: string | null;
  /** the report file's name in reportDir (default ingest-<time>-<run>.json); its spool is <name>.files.jsonl */
  reportName?: string;
  /** a job that never ends (serve): at most this many file reports in memory, the most recent (totals count all) */
  reportKeep?: number;
  /** PostgreSQL: hourly aggregates, coverage, ledger (exactly-once). Absent: InfluxDB only. */
  postgres?: Omit<PostgresStageOptions, 'waitMs' | 'maxPending'> & {
    /** commits queued or in flight at most (default postgres-stage.ts MAX_PENDING_COMMITS) */
    maxPendingCommits?: number;
  };
  /** how long a PostgreSQL call is retried while PostgreSQL is what fails; default `influx.storeWaitMs` */
  postgresWaitMs?: number;
  /** Prometheus metrics to report into */
  metrics?: Metrics;
  /** a partly filled InfluxDB batch is sent after this long (default 1000 ms; the service uses less: latency) */
  lingerMs?: number;
  /** each file once its outcome is final (reported, moved or left in place) */
  onFileDone?: (report: FileReport, task: FileTask) => void;
  /** a store call is retried: the CLI says so on its progress line (attempt 1 is the first retry; events.ts) */
  onStoreWait?: (wait: { store: 'influxdb' | 'postgres'; cause: string; attempt: number; delayMs: number }) => void;
  /** progress as it happens: files done, stores waited for (events.ts) */
  events?: JobEvents;
  /** the running pipeline and batcher, for gauges (queue depths, bytes in flight, pool utilisation) */
  onStart?: (running: { pipeline: Pipeline; batcher: LpBatcher }) => void;
  /**
   * A store refusing the credentials is waited out (within the store wait)
   * instead of stopping the run, and reported here (serve: /readyz, metric, log).
   */
  health?: StoreHealth;
  /** the run gave up on its stream (a store failure stopped it): the stream's pending next() must let go */
  onAbort?: () => void;
}

export interface IngestJobResult {
  report: RunReport;
  /** 0 all good; 1 some file failed; 2 credentials refused; 3 InfluxDB unavailable: re-run later */
  exitCode: number;
}
