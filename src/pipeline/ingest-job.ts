import { ThresholdCache } from '../postgres/thresholds-store.js';
import type { IngestJobOptions, IngestJobResult } from './job-options.js';
import { randomUUID } from 'node:crypto';
import { MetaSummaries } from '../influx/meta.js';
import { Pipeline, type FileTask } from './pipeline.js';
import type { FileReport } from './report.js';
import { fileSource, type FileSource } from './source.js';
import { Planner } from './planner.js';
import { InfluxStage } from './influx-stage.js';
import { PostgresStage } from './postgres-stage.js';
import { Finisher, leftInPlace } from './finisher.js';
import { JobFiles } from './job-files.js';
import { finishRun, reportWriter, runPipeline } from './job-end.js';
import type { JobEvents } from './events.js';

export { MAX_REPLANS } from './planner.js';
export type { JobEvents, StoreWait } from './events.js';

export type { IngestJobOptions, IngestJobResult } from './job-options.js';

/**
 * One run: Source → Planner → Parser (Pipeline) → InfluxDB stage → PostgreSQL
 * stage → Finisher → report (docs/architecture.md). Each file is moved to
 * parsed/ once all its lines were acknowledged, or to error/ when it cannot
 * be read or a store rejected it; files no store acknowledged stay put.
 */
export async function runIngestJob(tasks: FileSource, options: IngestJobOptions): Promise<IngestJobResult> {
  const runId = randomUUID();
  const started = new Date();
  const t0 = performance.now();
  const { logger: log, metrics, health } = options;
  const events: JobEvents = {
    fileDone: (report) => options.events?.fileDone?.(report),
    storeWait: (wait) => {
      options.events?.storeWait?.(wait);
      options.onStoreWait?.(wait);
    },
  };
  const influx = new InfluxStage({ influx: options.influx, lingerMs: options.lingerMs, log, metrics, health, events });
  const pg = options.postgres
    ? new PostgresStage(
        {
          ...options.postgres,
          maxPending: options.postgres.maxPendingCommits,
          waitMs: options.postgresWaitMs ?? options.influx.storeWaitMs,
        },
        { log, metrics, health, events },
      )
    : null;
  const planner = pg
    ? new Planner(pg, { force: options.postgres?.force, claims: options.postgres?.claims, log })
    : null;
  // per tenant, once per run: the quality rules' thresholds (docs/reports.md#quality-rules)
  const thresholds =
    pg && options.postgres
      ? new ThresholdCache(options.postgres.pool, pg.retry, (w) => log?.warn({ event: 'quality_threshold' }, w))
      : null;
  const moveFiles = options.moveFiles ?? true;
  const finisher = new Finisher({ runId, moveFiles, verify: !!options.verify, log }, influx, pg, planner);
  const collector = reportWriter(options, started, runId);
  const metaDb = options.metaDb ?? 'powerview_meta';
  const meta = metaDb ? new MetaSummaries(influx.writer, metaDb, runId, log) : null;
  const record = (report: FileReport, task: FileTask) => {
    collector.add(report);
    meta?.file(report);
    metrics?.fileDone(report, task.receivedAt !== undefined ? (Date.now() - task.receivedAt) / 1000 : undefined);
    options.onFileDone?.(report, task);
    events.fileDone?.(report);
  };
  const runnable = fileSource(tasks, options.influx.api, (task, error) => {
    record(leftInPlace(task, error), task);
    log?.error(
      { event: 'file', path: task.path, status: 'error', code: error.code, error: error.message },
      'file refused',
    );
  });

  const files = new JobFiles(finisher, planner, record, log);
  const pipeline = new Pipeline({
    ...options.pipeline,
    sink: influx.batcher,
    collectReports: false,
    onProgress: options.onProgress,
    ...(planner ? planner.gate : {}),
    ...(thresholds ? { thresholds: (tenant: string) => thresholds.get(tenant) } : {}),
    takeFiles: moveFiles,
    // held points exist with PostgreSQL only (the plan): they are compared with what InfluxDB holds
    ...(planner ? { conflicts: influx.conflicts } : {}),
    onAbort: () => {
      planner?.stop();
      options.onAbort?.();
    },
    onFile: files.onFile,
  });
  options.onStart?.({ pipeline, batcher: influx.batcher });
  const { storeFailure, crash } = await runPipeline(pipeline, influx, planner ? planner.tasks(runnable) : runnable);
  await files.end(runnable, storeFailure);

  return finishRun({
    options,
    runId,
    started,
    t0,
    workers: pipeline.workers,
    influx,
    pg,
    planSeconds: planner?.planSeconds ?? 0,
    meta,
    metaDb,
    collector,
    storeFailure,
    crash,
    finishFailed: files.finishFailed,
  });
}
