import { randomUUID } from 'node:crypto';
import type { Env, IngestConfig } from '../config/config.js';
import { ErrorCodes } from '../errors.js';
import type { InfluxConfig } from '../influx/config.js';
import type { FileTask } from '../pipeline/pipeline.js';
import { emptyFileReport, runHead, totalsOf, type RunReport } from '../pipeline/report.js';
import { summaryTable, terminalColumns } from './summary.js';

export interface PrintOptions {
  human: boolean;
  /** the data root: paths are shown relative to it */
  root?: string;
  env: Env;
  /** why PostgreSQL is off: '--no-postgres' or 'no DATABASE_URL' */
  postgresOff: string;
}

/** The summary table on a terminal, else the JSON report, on stdout. */
export function printReport(report: RunReport, how: PrintOptions): void {
  if (!how.human) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const columns = terminalColumns(process.stdout, how.env);
  process.stdout.write(`${summaryTable(report, { root: how.root, columns, postgresOff: how.postgresOff })}\n`);
}

/**
 * The report of a run a store's absence stopped before it began: every file left in place with
 * STORE_UNAVAILABLE, as a run that waited the whole store wait would have reported them.
 */
export function preflightReport(
  tasks: FileTask[],
  config: Readonly<IngestConfig>,
  influx: Readonly<InfluxConfig>,
  message: string,
  postgres: boolean,
): RunReport {
  const files = tasks.map((task) => {
    const r = emptyFileReport(task.path, task.identity);
    r.bytes = task.size ?? 0;
    r.status = 'error';
    r.error = { code: ErrorCodes.STORE_UNAVAILABLE, message };
    r.moved_to = null;
    return r;
  });
  const head = runHead({
    runId: randomUUID(),
    dryRun: false,
    started: new Date(),
    t0: performance.now(),
    points: 0,
    workers: config.workers,
    v002TimeZone: config.v002TimeZone,
  });
  return {
    ...head,
    influx: {
      url: influx.url,
      api: influx.api,
      gzip: influx.gzip,
      batch_lines: influx.batchLines,
      batch_bytes: influx.batchBytes,
      concurrency: influx.concurrency,
      requests: 0,
      retries: {},
    },
    store_failure: { code: ErrorCodes.STORE_UNAVAILABLE, message },
    ...(postgres
      ? {
          postgres: {
            commits: 0,
            hourly_rows: 0,
            coverage_rows: 0,
            commit_seconds: 0,
            plan_seconds: 0,
            hourly_rows_per_second: 0,
          },
        }
      : {}),
    report_path: null,
    totals: totalsOf(files),
    files,
  };
}
