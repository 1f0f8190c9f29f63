import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Logger } from 'pino';
import { ErrorCodes, PowerViewError, StoreError, errorMessage } from '../errors.js';
import { InfluxHttp } from '../influx/http-api.js';
import { InfluxWriter, type RetryCause } from '../influx/writer.js';
import { LpBatcher, type FileWriteOutcome } from '../influx/batcher.js';
import { tenantNameProblem, type InfluxConfig } from '../influx/config.js';
import { MetaSummaries } from '../influx/meta.js';
import { MEASUREMENT } from '../tsv/series.js';
import { Pipeline, type FileAggregates, type FileTask, type PipelineOptions } from './pipeline.js';
import { emptyFileReport, runHead, type FileReport, type RunReport } from './report.js';
import { RunReportWriter } from './run-report.js';
import { moveFinished, releaseTaken } from './lifecycle.js';
import { Slots } from '../util/flow.js';
import { BACKOFF, backoffDelay } from '../util/retry.js';
import { DatabaseError, failureOwner } from '../postgres/errors.js';
import type { StoreHealth } from './store-health.js';
import type { Pool } from 'pg';
import { IngestStore } from '../postgres/ingest-store.js';
import { ExactlyOnce } from './exactly-once.js';
import { AlreadyCommittedError, StaleCoverageError, type CommitFence } from '../postgres/ingest-store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeviceClaims } from '../service/claims.js';

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
  /** a job that never ends (serve): at most this many file reports in memory, the most recent (totals count all) */
  reportKeep?: number;
  /** PostgreSQL: hourly aggregates, coverage, ledger (exactly-once). Absent: InfluxDB only. */
  postgres?: {
    pool: Pool;
    force?: boolean;
    commitLingerMs?: number;
    commitMaxFiles?: number;
    fence?: CommitFence;
    claims?: DeviceClaims;
  };
  /** Prometheus metrics to report into */
  metrics?: Metrics;
  /** a partly filled InfluxDB batch is sent after this long (default 1000 ms; the service uses less: latency) */
  lingerMs?: number;
  /** each file once its outcome is final (reported, moved or left in place) */
  onFileDone?: (report: FileReport, task: FileTask) => void;
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

/**
 * One backfill run: TSV files → InfluxDB, each file moved to parsed/ once all
 * its lines were acknowledged, or to error/ when it cannot be read or the
 * store rejected its lines; files the store never acknowledged stay put.
 */
export async function runIngestJob(
  tasks: FileTask[] | AsyncIterable<FileTask>,
  options: IngestJobOptions,
): Promise<IngestJobResult> {
  const runId = randomUUID();
  const started = new Date();
  const t0 = performance.now();
  const log = options.logger;
  const metrics = options.metrics;
  const moveFiles = options.moveFiles ?? true;
  const retries: Record<string, number> = {};
  let requests = 0;
  const http = new InfluxHttp(options.influx);
  const writer = new InfluxWriter(
    http,
    { storeWaitMs: options.influx.storeWaitMs, waitOutCredentials: !!options.health },
    {
      onRetry(cause: RetryCause, db, delayMs, detail) {
        retries[cause] = (retries[cause] ?? 0) + 1;
        metrics?.retries.inc({ store: 'influxdb', cause });
        if (cause === 'credentials') options.health?.refused('influxdb', 'credentials refused', detail);
        log?.warn({ event: 'retry', cause, db, delay_ms: Math.round(delayMs), detail }, 'InfluxDB write retried');
      },
      onCredentialsAccepted: () => options.health?.ok('influxdb'),
      onRequest(seconds, lines, bytes, status) {
        requests++;
        metrics?.influxRequestDone(seconds, lines, bytes, status);
      },
    },
  );
  const batcher = new LpBatcher(writer, {
    ...options.influx,
    ...(options.lingerMs !== undefined ? { lingerMs: options.lingerMs } : {}),
  });
  const verifySlots = new Slots(4);
  const reportName = `ingest-${started.toISOString().replace(/[:.]/g, '-')}-${runId.slice(0, 8)}.json`;
  let collector: RunReportWriter;
  try {
    collector =
      options.reportKeep !== undefined
        ? new RunReportWriter(options.reportDir ?? null, reportName, options.reportKeep, { recent: true })
        : new RunReportWriter(options.reportDir ?? null, reportName);
  } catch (err) {
    // no report file is no reason not to ingest: the report stays in memory, the CLI warns
    log?.error({ event: 'report', dir: options.reportDir, error: errorMessage(err) }, 'report folder not writable');
    collector =
      options.reportKeep !== undefined
        ? new RunReportWriter(null, reportName, options.reportKeep, { recent: true })
        : new RunReportWriter(null, reportName);
  }
  const metaDb = options.metaDb ?? 'powerview_meta';
  const meta = metaDb ? new MetaSummaries(writer, metaDb, runId, log) : null;
  /** files whose outcome is still being settled (moves, verify): bounded by the writer's batches */
  const finishing = new Set<Promise<void>>();
  const record = (report: FileReport, task?: FileTask) => {
    collector.add(report);
    meta?.file(report);
    metrics?.fileDone(report, task?.receivedAt !== undefined ? (Date.now() - task.receivedAt) / 1000 : undefined);
    if (task) options.onFileDone?.(report, task);
  };

  /** files whose company or campaign cannot name a database or role: refused up front */
  const refused = (task: FileTask): boolean => {
    // the company is a database name: with the store's rule (InfluxDB 3 takes no '.')
    const problem =
      tenantNameProblem('company', task.identity.company, options.influx.api) ??
      tenantNameProblem('campaign', task.identity.campaign);
    if (!problem) return false;
    const r = emptyFileReport(task.path, task.identity);
    r.bytes = task.size ?? 0;
    r.status = 'error';
    r.error = { code: ErrorCodes.TENANT_NAME, message: problem };
    r.moved_to = null;
    record(r, task);
    log?.error({ event: 'file', path: task.path, status: 'error', code: r.error.code, error: problem }, 'file refused');
    return true;
  };
  const runnable: FileTask[] | AsyncIterable<FileTask> = Array.isArray(tasks)
    ? tasks.filter((t) => !refused(t))
    : (async function* () {
        for await (const t of tasks) if (!refused(t)) yield t;
      })();

  const store = options.postgres
    ? new IngestStore(options.postgres.pool, {
        lingerMs: options.postgres.commitLingerMs,
        maxGroup: options.postgres.commitMaxFiles,
        fence: options.postgres.fence,
        metrics,
      })
    : null;
  const once = store
    ? new ExactlyOnce(store, {
        force: options.postgres?.force,
        claims: options.postgres?.claims,
        retry: (call) => retryPg(options.influx.storeWaitMs, log, metrics, options.health, call),
      })
    : null;

  /**
   * Files the commit fence refused (a plan made against coverage another
   * process changed since): planned again in this run, against the coverage
   * now committed, at most MAX_REPLANS times each. A refused file goes back
   * to the pipeline once its finish is over (its plan and claim let go).
   */
  const replans = new Map<FileTask, number>();
  const toReplan = new Set<FileTask>();
  const again: FileTask[] = [];
  /** handed to the pipeline again, not yet back at onFile */
  const replanning = new Set<FileTask>();
  /** files handed to the pipeline whose outcome is not final (a refused one may come back) */
  let live = 0;
  let stopped = false;
  let nudge: (() => void) | null = null;
  const poke = () => {
    const n = nudge;
    nudge = null;
    n?.();
  };
  const replan = (task: FileTask, err: StaleCoverageError): boolean => {
    const n = replans.get(task) ?? 0;
    if (n >= MAX_REPLANS || stopped) return false;
    replans.set(task, n + 1);
    toReplan.add(task);
    log?.warn(
      { event: 'replan', path: task.path, attempt: n + 1, error: err.message },
      'file planned again: its device coverage changed since its plan',
    );
    return true;
  };
  /** the run's files, then the refused ones again; ends once no file handed over can come back */
  const withReplans = async function* (source: FileTask[] | AsyncIterable<FileTask>): AsyncGenerator<FileTask> {
    const it: Iterator<FileTask> | AsyncIterator<FileTask> = Array.isArray(source)
      ? source[Symbol.iterator]()
      : source[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<FileTask>> | null = null;
    let ended = false;
    try {
      while (!stopped) {
        if (again.length > 0) {
          const task = again.shift()!;
          live++;
          replanning.add(task);
          yield task;
          continue;
        }
        if (ended) {
          if (live === 0) return;
          await new Promise<void>((r) => (nudge = r));
          continue;
        }
        next ??= Promise.resolve(it.next());
        const woken = new Promise<'again'>((r) => (nudge = () => r('again')));
        const r = await Promise.race([next, woken]);
        if (r === 'again') continue;
        nudge = null;
        next = null;
        if (r.done) {
          ended = true;
          continue;
        }
        live++;
        yield r.value;
      }
    } finally {
      // the run stopped early: the source lets go (a stream's pending next() answers done through onAbort)
      if (!ended) void Promise.resolve(it.return?.()).catch(() => {});
    }
  };

  /** The file's commit in PostgreSQL, retried while PostgreSQL is unreachable. */
  const commit = async (report: FileReport, task: FileTask, agg: FileAggregates): Promise<void> => {
    const planned = once!.plannedFile(task);
    report.layout_drift = planned?.layoutDrift ?? false;
    if (planned?.layoutDrift)
      report.warnings.push(
        `header layout differs from the device's known layout (${planned.knownLayout} → ${agg.header.layout})`,
      );
    report.held_points = agg.skippedPoints;
    if (agg.noop) {
      report.ledger = { file_id: null, noop: agg.noop };
      report.warnings.push(`${agg.noop}: nothing written`);
      return;
    }
    let fileId: number;
    try {
      fileId = await retryPg(options.influx.storeWaitMs, log, metrics, options.health, () =>
        store!.commitFile({
          report,
          agg,
          runId,
          layoutDrift: planned?.layoutDrift ?? false,
          replace: planned?.replace ?? null,
          planVersion: planned?.version ?? null,
        }),
      );
    } catch (err) {
      // the fence refused a plan made against coverage another process changed since: finish() plans the file again
      if (err instanceof StaleCoverageError) throw err;
      if (!(err instanceof AlreadyCommittedError)) throw err;
      // two processes took the same bytes (the service's claims make this rare): the first commit stands
      report.ledger = { file_id: null, noop: err.message };
      report.warnings.push(`${err.message}: nothing added`);
      return;
    }
    report.ledger = { file_id: fileId, noop: null };
  };

  /** taken files whose pin finish() settled */
  const settledTaken = new WeakSet<FileTask>();
  const finish = async (report: FileReport, task: FileTask, agg: FileAggregates | null): Promise<void> => {
    const tParsed = performance.now();
    const outcome: FileWriteOutcome = await batcher.outcome(task);
    const planned = replans.get(task);
    if (planned)
      report.warnings.push(
        `planned again ${planned === 1 ? 'once' : `${planned} times`}: another process committed coverage of the device after its plan`,
      );
    const tInflux = performance.now();
    let tPg = tInflux;
    // lines the store stored; those it refused counted apart (a partial write keeps what was stored)
    report.written =
      outcome.status === 'rejected'
        ? { lines: outcome.stored, batches: outcome.batches, refused: outcome.refused }
        : { lines: outcome.status === 'unavailable' ? 0 : outcome.lines, batches: outcome.batches };
    report.moved_to = null;
    try {
      if (report.status === 'error' && store && !report.sha256) {
        // failed before pass 1 finished hashing it: the ledger still wants its identity
        report.sha256 = await sha256Of(task.taken?.pin ?? task.path).catch(() => undefined);
      }
      if (report.status === 'error' && storeOwned(report)) {
        // PostgreSQL was not there (or refused us) to plan it: a good file stays where it is, for a later run
      } else if (report.status === 'error') {
        // unreadable: the cause travels with it
        if (moveFiles) report.moved_to = await moveFinished(task.path, 'error', report.error, task.taken);
      } else if (outcome.status === 'unavailable') {
        fail(report, outcome.error);
      } else if (outcome.status === 'rejected') {
        fail(report, outcome.error);
        // by the file's own line numbers, the whole line as sent (InfluxDB 3 names them; it echoes only 20 bytes)
        if (outcome.refusedLines.length) report.error!.refused_lines = outcome.refusedLines;
        if (moveFiles) report.moved_to = await moveFinished(task.path, 'error', report.error, task.taken);
      } else {
        if (options.verify) await verifyFile(report);
        if (report.status === 'ok' && once && agg) {
          try {
            await commit(report, task, agg);
          } catch (err) {
            if (err instanceof StaleCoverageError) {
              if (replan(task, err)) return;
              // left in place (the store's, never error/): the next run or serve's retry plans it again
              const why = stopped
                ? 'the run stopped before a new plan'
                : `still changing after ${MAX_REPLANS} new plans`;
              err = new StoreError(
                ErrorCodes.STORE_UNAVAILABLE,
                `${err.message.replace(/: planned again$/, '')}: ${why}, left in place`,
              );
            }
            fail(
              report,
              err instanceof PowerViewError
                ? err
                : new StoreError(ErrorCodes.STORE_REJECTED, `PostgreSQL refused the file's data: ${errorMessage(err)}`),
            );
            // the data itself was refused (retried store failures never get here): the file goes with its cause
            if (!storeOwned(report) && moveFiles)
              report.moved_to = await moveFinished(task.path, 'error', report.error, task.taken);
          }
          tPg = performance.now();
        }
        if (report.status === 'ok' && moveFiles)
          report.moved_to = await moveFinished(task.path, 'parsed', undefined, task.taken);
      }
    } catch (err) {
      report.warnings.push(`could not move the file: ${errorMessage(err)}`);
    } finally {
      once?.release(task);
      // left in place (or the move failed): the pin goes; the bytes read are kept aside if a new version replaced the path
      // (a file planned again keeps its pin: it is read again from the same bytes)
      if (task.taken && !toReplan.has(task)) {
        await keepTaken(report, task);
        settledTaken.add(task);
      }
    }
    // the ledger knows failed files too (with their cause), unless the store itself is what failed
    if (store && report.status === 'error' && !storeOwned(report) && !batcher.fatal) {
      await store
        .recordFailure(report, runId)
        .catch((err: unknown) => report.warnings.push(`ledger: ${errorMessage(err)}`));
    }
    const fields = {
      event: 'file',
      path: task.path,
      status: report.status,
      rows: report.rows,
      points: report.points,
      duplicate_rows: report.duplicate_rows,
      moved_to: report.moved_to,
      duration_ms: report.duration_ms,
      // after parsing: waiting for InfluxDB's acknowledgement, then the PostgreSQL commit, then the move
      wait_ms: {
        influx: Math.round(tInflux - tParsed),
        postgres: Math.round(tPg - tInflux),
        move: Math.round(performance.now() - tPg),
      },
      ...(report.error ? { code: report.error.code, error: report.error.message } : {}),
    };
    if (report.status === 'ok') log?.info(fields, 'file ingested');
    // a store that went away or a claim lost with its PostgreSQL session: the file is fine, kept, and taken again
    else if (!report.moved_to && report.error?.code === ErrorCodes.STORE_UNAVAILABLE)
      log?.warn(fields, `file kept in place, retried later: ${report.error.message}`);
    else log?.error(fields, 'file failed');
    record(report, task);
  };

  const verifyFile = async (report: FileReport): Promise<void> => {
    if (!report.time_range || !report.master_sn) return;
    await verifySlots.acquire();
    try {
      const from = Date.parse(report.time_range.first) / 1000;
      const to = Date.parse(report.time_range.last) / 1000;
      let found: number | null = null;
      // the count is retried like a write (the store may be restarting); its reply is kept
      const reply = await writer.retrying(report.company, async () => {
        const r = await http.countPoints(
          report.company,
          MEASUREMENT,
          { campaign: report.campaign, device_master_sn: report.master_sn! },
          from,
          to,
        );
        if (typeof r === 'number') {
          found = r;
          return { status: 200, retryAfter: null, body: '' };
        }
        return r;
      });
      if (found === null) throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 500)}`);
      report.verify = { expected: report.points, found };
      if (found < report.points) {
        report.status = 'error';
        report.error = {
          code: ErrorCodes.VERIFY_MISMATCH,
          message: `--verify: InfluxDB holds ${found} points of this file's series over its time range, the file wrote ${report.points}`,
        };
      }
    } catch (err) {
      // unverified is not verified: the file stays where it is, to be verified by a later run
      report.verify = null;
      report.status = 'error';
      report.error = {
        code: ErrorCodes.VERIFY_MISMATCH,
        message: `--verify could not count the points back: ${errorMessage(err)}`,
      };
    } finally {
      verifySlots.release();
    }
  };

  let reached = 0;
  let finishFailure: Error | null = null;
  const pipeline = new Pipeline({
    ...options.pipeline,
    sink: batcher,
    collectReports: false,
    onProgress: options.onProgress,
    ...(once ? { planFile: once.planFile, onConsumed: once.onConsumed } : {}),
    takeFiles: moveFiles,
    onAbort: () => {
      stopped = true;
      poke();
      once?.abort();
      options.onAbort?.();
    },
    onFile: (report, task, agg) => {
      if (!replans.has(task)) reached++;
      replanning.delete(task);
      const done: Promise<void> = finish(report, task, agg)
        .catch((err: unknown) => {
          // a file's ending failed (disk full for the report, say): it is reported, never lost from the totals
          finishFailure ??= err instanceof Error ? err : new Error(String(err));
          log?.error({ event: 'file', path: task.path, error: errorMessage(err) }, 'file could not be finished');
          if (report.status === 'ok') {
            report.status = 'error';
            report.error = { code: ErrorCodes.READ, message: `could not finish the file: ${errorMessage(err)}` };
          }
          try {
            record(report, task);
          } catch {
            // the report spool itself is failing: the totals still counted it if add() got that far
          }
        })
        .finally(() => {
          finishing.delete(done);
          live--;
          if (toReplan.delete(task)) again.push(task);
          poke();
        });
      finishing.add(done);
    },
  });
  options.onStart?.({ pipeline, batcher });
  let storeFailure: StoreError | null = null;
  /** not a store's failure (a bug): the files in flight are settled as left in place, then it is thrown */
  let crash: Error | null = null;
  try {
    await pipeline.run(once ? withReplans(runnable) : runnable);
    await batcher.close();
  } catch (err) {
    if (err instanceof StoreError) storeFailure = err;
    else {
      crash = err instanceof Error ? err : new Error(String(err));
      storeFailure = new StoreError(ErrorCodes.STORE_UNAVAILABLE, `ingest job failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  } finally {
    await pipeline.close();
  }
  storeFailure ??= batcher.fatal;
  if (storeFailure) {
    // other batches may still be retrying: they give up now, their files stay where they are
    writer.stop(storeFailure);
    batcher.abandon(storeFailure);
  }
  while (finishing.size > 0) await Promise.all([...finishing]);
  // files taken and never finished (the run stopped): their pins go (a stream's are its owner's to settle)
  for (const task of Array.isArray(runnable) ? runnable : [])
    if (task.taken && !settledTaken.has(task)) await keepTaken(null, task);

  // refused by the fence and not planned again before the run stopped: left where they are, as the store's
  stopped = true;
  for (const task of new Set([...again, ...toReplan, ...replanning])) {
    const r = emptyFileReport(task.path, task.identity);
    r.bytes = task.size ?? 0;
    r.moved_to = null;
    fail(
      r,
      storeFailure ??
        new StoreError(
          ErrorCodes.STORE_UNAVAILABLE,
          'refused by the coverage fence and not planned again before the run stopped',
        ),
    );
    record(r, task);
  }
  again.length = 0;
  replanning.clear();
  // files the run never reached (a store stopped it; files are reported in order): left where they are
  // (a stream's files not taken are its owner's: the service keeps them queued)
  for (const task of Array.isArray(runnable) ? runnable.slice(reached) : []) {
    const r = emptyFileReport(task.path, task.identity);
    r.bytes = task.size ?? 0;
    r.moved_to = null;
    fail(r, storeFailure ?? new StoreError(ErrorCodes.STORE_UNAVAILABLE, 'not processed'));
    record(r, task);
  }

  const totals = collector.totals;
  const head: Omit<RunReport, 'files' | 'totals'> = {
    ...runHead({
      runId,
      dryRun: false,
      started,
      t0,
      points: totals.points,
      workers: pipeline.workers,
      v002TimeZone: options.pipeline.v002TimeZone ?? 'Europe/Paris',
    }),
    influx: {
      url: options.influx.url,
      api: options.influx.api,
      gzip: options.influx.gzip,
      batch_lines: options.influx.batchLines,
      batch_bytes: options.influx.batchBytes,
      concurrency: options.influx.concurrency,
      requests,
      retries,
    },
    store_failure: storeFailure ? { code: storeFailure.code, message: storeFailure.message } : null,
    ...(store
      ? {
          postgres: {
            commits: store.stats.commits,
            hourly_rows: store.stats.hourlyRows,
            coverage_rows: store.stats.coverageRows,
            commit_seconds: Math.round(store.stats.commitSeconds * 1000) / 1000,
            plan_seconds: Math.round((once?.planSeconds ?? 0) * 1000) / 1000,
            hourly_rows_per_second:
              store.stats.commitSeconds > 0 ? Math.round(store.stats.hourlyRows / store.stats.commitSeconds) : 0,
          },
        }
      : {}),
  };
  if (meta) {
    const warning = storeFailure ? 'InfluxDB unavailable' : await meta.finish({ ...head, totals }, options.metaWaitMs);
    if (warning) head.meta_warning = `run summary not written to ${metaDb}: ${warning}`;
    // a summary still retrying past its wait gives up (the data batches are all settled by now)
    if (warning && options.metaWaitMs !== undefined)
      writer.stop(new StoreError(ErrorCodes.STORE_UNAVAILABLE, `meta summaries dropped: ${warning}`));
  }
  await http.close();
  if (crash) throw crash;
  let reportPath: string | null = null;
  try {
    reportPath = await collector.finish(head);
  } catch (err) {
    collector.discard();
    log?.error({ event: 'report', error: errorMessage(err) }, 'report file not written');
  }
  const report: RunReport = {
    ...head,
    report_path: reportPath,
    files_omitted: collector.omitted,
    totals,
    files: collector.files(),
  };
  let exitCode = totals.files_failed > 0 || finishFailure ? 1 : 0;
  // 3 only when running again later can help; credentials, a refused database or a redirect need a fix first
  if (storeFailure) exitCode = storeFailure.code === ErrorCodes.STORE_UNAVAILABLE ? 3 : 2;
  return { report, exitCode };
}

/** A file the commit fence refuses is planned again in the run at most this many times (then left in place, STORE_UNAVAILABLE). */
export const MAX_REPLANS = 3;

/** A taken file left in place: releaseTaken, and a warning naming where the bytes read were kept aside. */
async function keepTaken(report: FileReport | null, task: FileTask): Promise<void> {
  try {
    const aside = await releaseTaken(task.path, task.taken!);
    if (aside)
      report?.warnings.push(`${task.path} was replaced while it was read: the bytes read are kept as ${aside}`);
  } catch (err) {
    report?.warnings.push(`could not release the taken file: ${errorMessage(err)}`);
  }
}

/** Failed because of a store (unavailable, credentials): not the file's fault, it stays where it is. */
function storeOwned(report: FileReport): boolean {
  return report.error?.code === ErrorCodes.STORE_UNAVAILABLE || report.error?.code === ErrorCodes.STORE_AUTH;
}

function fail(report: FileReport, err: PowerViewError): void {
  report.status = 'error';
  report.error = { code: err.code, message: err.message.split('\n')[0] };
  if (err instanceof StoreError && (err.code === ErrorCodes.STORE_REJECTED || err.code === ErrorCodes.STORE_PARTIAL)) {
    report.error.http_status = err.status;
    report.error.server_lines = err.lines;
  }
}

/**
 * A PostgreSQL call of the job, retried while the failure is the store's
 * (src/postgres/errors.ts, PG_FAILURE_OWNERS): cancelled, timed out, locked,
 * deadlocked, full, read-only, shutting down, unreachable, a permission taken
 * away, a connection lost mid-transaction. Refused credentials are waited out
 * too when `health` is given (serve), else they stop the file as STORE_AUTH.
 * Past the store wait: STORE_UNAVAILABLE, the file stays where it is. Only an
 * error about the data itself (or one of ours: PowerViewError) is thrown as is.
 */
async function retryPg<T>(
  waitMs: number,
  log: Logger | undefined,
  metrics: Metrics | undefined,
  health: StoreHealth | undefined,
  call: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await call();
      health?.ok('postgres');
      return out;
    } catch (err) {
      if (err instanceof PowerViewError && !(err instanceof DatabaseError)) throw err;
      const { owner, cause } = failureOwner(err);
      if (owner === 'file') throw err;
      if (owner === 'credentials') {
        if (!health)
          throw new StoreError(ErrorCodes.STORE_AUTH, `PostgreSQL ${cause}: ${errorMessage(err)}`, { cause: err });
        health.refused('postgres', cause, errorMessage(err));
      }
      if (Date.now() >= deadline) {
        throw new StoreError(
          ErrorCodes.STORE_UNAVAILABLE,
          `PostgreSQL unavailable for ${Math.round(waitMs / 1000)} s (${cause}): ${errorMessage(err)}`,
          { cause: err },
        );
      }
      const delay = backoffDelay(BACKOFF.postgres, attempt);
      const label =
        owner === 'credentials'
          ? 'credentials'
          : cause === 'unreachable' || cause === 'connection lost'
            ? 'unavailable'
            : (sqlStateOf(err) ?? 'unavailable');
      metrics?.retries.inc({ store: 'postgres', cause: label });
      log?.warn(
        { event: 'retry', store: 'postgres', cause, delay_ms: Math.round(delay), detail: errorMessage(err) },
        'PostgreSQL call retried',
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function sqlStateOf(err: unknown): string | undefined {
  if (err instanceof DatabaseError) return err.sqlState;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
