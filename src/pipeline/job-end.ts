import { ErrorCodes, StoreError, errorMessage } from '../errors.js';
import type { MetaSummaries } from '../influx/meta.js';
import { DEFAULT_V002_TIME_ZONE } from '../tsv/timezone.js';
import type { InfluxStage } from './influx-stage.js';
import type { IngestJobOptions, IngestJobResult } from './job-options.js';
import { exitCodeOf } from './outcomes.js';
import type { Pipeline } from './pipeline.js';
import type { PostgresStage } from './postgres-stage.js';
import { runHead, type RunReport } from './report.js';
import { RunReportWriter } from './run-report.js';
import type { FileSource } from './source.js';

/** The end of a run (runIngestJob): the parser run to its end, the run's summary, report file and exit code. */

export interface RunEnd {
  options: IngestJobOptions;
  runId: string;
  started: Date;
  t0: number;
  workers: number;
  influx: InfluxStage;
  pg: PostgresStage | null;
  planSeconds: number;
  meta: MetaSummaries | null;
  metaDb: string;
  collector: RunReportWriter;
  storeFailure: StoreError | null;
  crash: Error | null;
  finishFailed: boolean;
}

/** The run's head (the meta summary written to InfluxDB), its report file and exit code; a crash is thrown here. */
export async function finishRun(o: RunEnd): Promise<IngestJobResult> {
  const { options, runId, started, t0, workers, influx, pg, planSeconds, meta, metaDb, collector } = o;
  const { storeFailure, crash, finishFailed } = o;
  const totals = collector.totals;
  const head: Omit<RunReport, 'files' | 'totals'> = {
    ...runHead({
      runId,
      dryRun: false,
      started,
      t0,
      points: totals.points,
      workers,
      v002TimeZone: options.pipeline.v002TimeZone ?? DEFAULT_V002_TIME_ZONE,
    }),
    influx: influx.summary(),
    store_failure: storeFailure ? { code: storeFailure.code, message: storeFailure.message } : null,
    ...(pg ? { postgres: pg.summary(planSeconds) } : {}),
  };
  if (meta) {
    const warning = storeFailure ? 'InfluxDB unavailable' : await meta.finish({ ...head, totals }, options.metaWaitMs);
    if (warning) head.meta_warning = `run summary not written to ${metaDb}: ${warning}`;
    // a summary still retrying past its wait gives up (the data batches are all settled by now)
    if (warning && options.metaWaitMs !== undefined)
      influx.writer.stop(new StoreError(ErrorCodes.STORE_UNAVAILABLE, `meta summaries dropped: ${warning}`));
  }
  await influx.http.close();
  if (crash) throw crash;
  let reportPath: string | null = null;
  try {
    reportPath = await collector.finish(head);
  } catch (err) {
    collector.discard();
    options.logger?.error({ event: 'report', error: errorMessage(err) }, 'report file not written');
  }
  const report: RunReport = {
    ...head,
    report_path: reportPath,
    files_omitted: collector.omitted,
    totals,
    files: collector.files(),
  };
  return { report, exitCode: exitCodeOf({ storeFailure, filesFailed: totals.files_failed, finishFailed }) };
}

/**
 * Runs the parser to the end and closes the batcher. A store failure stops
 * the run (other batches still retrying give up: their files stay where they
 * are); anything else is a bug: reported as the store's, and thrown at the end.
 */
export async function runPipeline(pipeline: Pipeline, influx: InfluxStage, tasks: FileSource) {
  let storeFailure: StoreError | null = null;
  let crash: Error | null = null;
  try {
    await pipeline.run(tasks);
    await influx.batcher.close();
  } catch (err) {
    if (err instanceof StoreError) storeFailure = err;
    else {
      crash = err instanceof Error ? err : new Error(String(err));
      const message = `ingest job failed: ${errorMessage(err)}`;
      storeFailure = new StoreError(ErrorCodes.STORE_UNAVAILABLE, message, { cause: err });
    }
  } finally {
    await pipeline.close();
  }
  storeFailure ??= influx.batcher.fatal;
  if (storeFailure) {
    influx.writer.stop(storeFailure);
    influx.batcher.abandon(storeFailure);
  }
  return { storeFailure, crash };
}

/** The run's report file; one that cannot be written is no reason not to ingest (kept in memory, the CLI warns). */
export function reportWriter(options: IngestJobOptions, started: Date, runId: string): RunReportWriter {
  const name = options.reportName ?? `ingest-${started.toISOString().replace(/[:.]/g, '-')}-${runId.slice(0, 8)}.json`;
  const make = (dir: string | null) =>
    options.reportKeep !== undefined
      ? new RunReportWriter(dir, name, options.reportKeep, { recent: true })
      : new RunReportWriter(dir, name);
  try {
    return make(options.reportDir ?? null);
  } catch (err) {
    options.logger?.error(
      { event: 'report', dir: options.reportDir, error: errorMessage(err) },
      'report folder not writable',
    );
    return make(null);
  }
}
