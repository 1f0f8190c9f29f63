import type { FileReport } from './report.js';

/** A store being waited for: the CLI's progress line says so ("waiting for InfluxDB: 503, retry 4 in 8 s"). */
export interface StoreWait {
  readonly store: 'influxdb' | 'postgres';
  /**
   * why, short: InfluxDB's HTTP status or network error code (else its RetryCause),
   * PostgreSQL's SQLSTATE, 'unavailable' or 'credentials' (the retries metric's label)
   */
  readonly cause: string;
  /** the store's own words (HTTP status and body, SQLSTATE message) */
  readonly detail: string;
  /** retries of this wait so far, 1 for the first */
  readonly attempt: number;
  /** the wait before the next try */
  readonly delayMs: number;
}

/** Progress of a job, as it happens. Every callback is optional and must not throw. */
export interface JobEvents {
  /** a file's outcome is final: its report, rendered once */
  fileDone?(report: FileReport): void;
  /** a store call failed on the store's side and is tried again after `delayMs` */
  storeWait?(wait: StoreWait): void;
}
