import { ThresholdCache } from '../postgres/thresholds-store.js';
import type { IngestJobOptions, IngestJobResult } from './job-options.js';
import { randomUUID } from 'node:crypto';
import { ErrorCodes, StoreError, errorMessage } from '../errors.js';
import { MetaSummaries } from '../influx/meta.js';
import { Pipeline, type FileAggregates, type FileTask } from './pipeline.js';
import type { FileReport } from './report.js';
import { fileSource, type FileSource } from './source.js';
import { Planner } from './planner.js';
import { InfluxStage } from './influx-stage.js';
import { PostgresStage } from './postgres-stage.js';
import { Finisher, keepTaken, leftInPlace } from './finisher.js';
import { errorOf } from './outcomes.js';
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

  /** files whose outcome is still being settled (moves, verify): bounded by the writer's batches */
  const finishing = new Set<Promise<void>>();
  let reached = 0;
  let finishFailed = false;
  const onFile = (report: FileReport, task: FileTask, agg: FileAggregates | null) => {
    if (planner?.reached(task) ?? true) reached++;
    const parsed = Object.freeze({ ...report, warnings: Object.freeze([...report.warnings]) }) as Readonly<FileReport>;
    const done: Promise<void> = finisher
      .finish(parsed, task, agg)
      .then((final) => {
        if (final) record(final, task);
      })
      .catch((err: unknown) => {
        // a file's ending failed (disk full for the report, say): it is reported, never lost from the totals
        finishFailed = true;
        log?.error({ event: 'file', path: task.path, error: errorMessage(err) }, 'file could not be finished');
        const error = parsed.error ?? {
          code: ErrorCodes.READ,
          message: `could not finish the file: ${errorMessage(err)}`,
        };
        try {
          record({ ...parsed, warnings: [...parsed.warnings], status: 'error', error }, task);
        } catch {
          // the report spool itself is failing: the totals still counted it if add() got that far
        }
      })
      .finally(() => {
        finishing.delete(done);
        planner?.settled(task);
      });
    finishing.add(done);
  };
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
    onFile,
  });
  options.onStart?.({ pipeline, batcher: influx.batcher });
  const { storeFailure, crash } = await runPipeline(pipeline, influx, planner ? planner.tasks(runnable) : runnable);
  while (finishing.size > 0) await Promise.all([...finishing]);
  // files taken and never finished (the run stopped): their pins go (a stream's are its owner's to settle)
  for (const task of Array.isArray(runnable) ? runnable : [])
    if (task.taken && !finisher.settledTaken.has(task)) await keepTaken(task);
  // refused by the fence and not planned again before the run stopped: left where they are, as the store's
  const unplanned = new StoreError(
    ErrorCodes.STORE_UNAVAILABLE,
    'refused by the coverage fence and not planned again before the run stopped',
  );
  for (const task of planner?.leftOver() ?? []) record(leftInPlace(task, errorOf(storeFailure ?? unplanned)), task);
  // files the run never reached (a store stopped it; files are reported in order): left where they are
  // (a stream's files not taken are its owner's: the service keeps them queued)
  const notProcessed = new StoreError(ErrorCodes.STORE_UNAVAILABLE, 'not processed');
  for (const task of Array.isArray(runnable) ? runnable.slice(reached) : [])
    record(leftInPlace(task, errorOf(storeFailure ?? notProcessed)), task);

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
    finishFailed,
  });
}
