import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, rmSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../errors.js';
import { environment, reportDirOf, type IngestConfig } from '../config/config.js';
import type { InfluxConfig } from '../influx/config.js';
import { makeLogger, type Logger } from '../log/logger.js';
import { Metrics } from '../metrics/metrics.js';
import { runIngestJob } from '../pipeline/ingest-job.js';
import type { FileTask } from '../pipeline/pipeline.js';
import { cleanStalePins, dropPinsNow } from '../pipeline/taken.js';
import type { FileReport, RunReport } from '../pipeline/report.js';
import { resolvePgConfig, type PgConfig } from '../postgres/config.js';
import { clientConfigOf, createPool } from '../postgres/db.js';
import type { Pool } from 'pg';
import { assertMigrated } from '../postgres/migrate.js';
import { Claims } from '../service/claims.js';
import type { IngestFlags } from './ingest-flags.js';
import { preflightReport, printReport } from './ingest-output.js';
import { preflight } from './preflight.js';
import { Progress } from './progress.js';

/** `powerview ingest` for real: InfluxDB writes, file moves, report file, meta summaries. */
export async function runWrite(
  tasks: FileTask[],
  flags: IngestFlags,
  config: Readonly<IngestConfig>,
  influx: Readonly<InfluxConfig>,
  /** the folder given, when it was one: the root when no file names it (reports beside it, not in the cwd) */
  given?: string,
): Promise<number> {
  const env = environment();
  const root = tasks[0]?.root ?? config.dataRoot ?? given;
  const reportDir = reportDirOf(config, root);
  const human = !flags.json && process.stdout.isTTY;
  const showBar = human && flags.progress !== false && process.stderr.isTTY;
  // PostgreSQL (aggregates, exactly-once) when a database is configured, unless --no-postgres
  const pgConfig: PgConfig | null =
    flags.postgres !== false && config.postgresConfigured
      ? resolvePgConfig({ databaseUrl: flags.databaseUrl }, env)
      : null;
  if (flags.force && !pgConfig)
    throw new UsageError(
      `--force replaces a file's aggregates and coverage in PostgreSQL: ${
        flags.postgres === false ? 'it cannot run with --no-postgres' : 'it needs DATABASE_URL'
      }`,
    );
  // a store that is not there at all fails the run in seconds, not after the whole store wait
  const absent = await preflight(influx, pgConfig);
  const how = { human, root, env, postgresOff: flags.postgres === false ? '--no-postgres' : 'no DATABASE_URL' };
  if (absent) {
    const n = tasks.length;
    if (human) process.stdout.write(`${n} ${plural(n, 'file')} left in place: nothing was written or moved\n`);
    else printReport(preflightReport(tasks, config, influx, absent.message, Boolean(pgConfig)), how);
    process.stderr.write(`powerview: ${absent.message}\n`);
    return 3;
  }
  // with a bar on the terminal, the per-file log lines go to a file instead of under the bar
  const logFile = flags.logFile
    ? resolve(flags.logFile)
    : showBar
      ? join(dirname(reportDir), 'powerview-ingest.log')
      : null;
  const logger = makeLogger(config.logLevel, logFile);
  const totalBytes = tasks.reduce((s, t) => s + (t.size ?? 0), 0);
  const { pgPool, claims } = pgConfig ? await openPostgres(pgConfig, logger) : { pgPool: null, claims: null };
  // pins a stopped run of this host left (Ctrl-C, a crash): gone, or the only copy of its bytes given a name
  for (const r of new Set(tasks.map((task) => task.root ?? root))) if (r) await cleanStalePins(r, logger);
  const progress = showBar ? new Progress(totalBytes, tasks.length) : null;
  const metrics = flags.metricsFile ? new Metrics({ defaults: false }) : null;
  const reportName = `ingest-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.json`;
  const finished: FileReport[] = [];
  const stopInterrupt = onInterrupt(() => interrupted(tasks, finished, join(reportDir, reportName), progress, logger));
  logger.info(
    { event: 'run_start', files: tasks.length, bytes: totalBytes, influx: influx.url, api: influx.api },
    'ingest started',
  );
  let result;
  try {
    result = await runIngestJob(tasks, {
      ...(pgPool
        ? { postgres: { pool: pgPool, force: flags.force, ...(claims ? { claims, fence: claims.fence } : {}) } }
        : {}),
      pipeline: { workers: config.workers, blockBytes: config.blockBytes, v002TimeZone: config.v002TimeZone },
      influx,
      metaDb: config.metaDb,
      verify: flags.verify,
      reportDir,
      reportName,
      logger,
      onProgress: progress?.update,
      onFileDone: (r) => {
        finished.push(r);
        progress?.fileDone(r);
      },
      ...(progress ? { onStoreWait: progress.storeWait } : {}),
      ...(config.postgresWaitMs !== null ? { postgresWaitMs: config.postgresWaitMs } : {}),
      ...(metrics ? { metrics } : {}),
    });
  } finally {
    stopInterrupt();
    progress?.stop();
    await claims?.close();
    await pgPool?.end();
  }
  if (metrics && flags.metricsFile) await writeMetricsFile(metrics, flags.metricsFile);
  const { report, exitCode } = result;
  logEnd(logger, report, exitCode);
  await printEnd(report, how, reportDir);
  return exitCode;
}

/**
 * The PostgreSQL pool and claims of a run; the schema checked first (a clear "run powerview migrate", not a
 * failure per file). A logger's files are planned and committed by one process at a time (serve or a backfill).
 */
async function openPostgres(pgConfig: PgConfig, logger: Logger): Promise<{ pgPool: Pool; claims: Claims }> {
  const pgPool = createPool(pgConfig, { max: 4, applicationName: 'powerview ingest' });
  try {
    await assertMigrated(pgPool);
  } catch (err) {
    await pgPool.end();
    throw err;
  }
  const claims = new Claims(clientConfigOf(pgConfig), null, logger, {
    applicationName: 'powerview ingest claims',
    onWait: (tenant, device) =>
      process.stderr.write(
        `powerview: waiting for logger ${device} (${tenant}): ` +
          'another process (serve or a backfill) is ingesting its files\n',
      ),
  });
  return { pgPool, claims };
}

/** Prometheus text format, for node_exporter's textfile collector: a backfill's counters outlive its process. */
async function writeMetricsFile(metrics: Metrics, path: string): Promise<void> {
  const file = resolve(path);
  await writeFile(`${file}.tmp`, await metrics.registry.metrics());
  await rename(`${file}.tmp`, file);
}

/** The run's end on the terminal: the summary (or the report file, streamed, with --json) and the store failure. */
async function printEnd(report: RunReport, how: Parameters<typeof printReport>[1], reportDir: string): Promise<void> {
  if (!report.report_path)
    process.stderr.write(`powerview: warning: the report could not be written to ${reportDir} (see the log)\n`);
  if (how.human || !report.report_path) printReport(report, how);
  // the report file holds every file's report; memory holds only some of a long run's
  else await pipeline(createReadStream(report.report_path), process.stdout, { end: false });
  if (report.store_failure)
    process.stderr.write(`powerview: ${report.store_failure.code}: ${report.store_failure.message}\n`);
}

function logEnd(logger: Logger, report: RunReport, exitCode: number): void {
  const t = report.totals;
  logger.info(
    {
      event: 'run_end',
      run_id: report.run_id,
      files: t.files,
      files_ok: t.files_ok,
      files_failed: t.files_failed,
      points: t.points,
      points_per_second: report.points_per_second,
      exit_code: exitCode,
      report: report.report_path,
    },
    'ingest finished',
  );
  logger.flush();
}

/** Ctrl-C (SIGINT) or SIGTERM during a run: `stop` runs once; returns the un-registration. */
function onInterrupt(stop: () => void): () => void {
  const handler = () => stop();
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/**
 * Stops at once. Nothing is lost: a file is moved only once both stores hold it (docs/architecture.md,
 * durability points), so every file not finished is still in its folder and a later run takes it up;
 * the report's spool is removed (no report file for a run that did not end).
 */
function interrupted(
  tasks: FileTask[],
  finished: FileReport[],
  reportPath: string,
  progress: Progress | null,
  logger: Logger,
): void {
  progress?.stop();
  rmSync(`${reportPath}.files.jsonl`, { force: true });
  dropPinsNow(tasks);
  const parsed = finished.filter((f) => f.moved_to?.split(/[\\/]/).at(-2) === 'parsed').length;
  const failed = finished.filter((f) => f.moved_to?.split(/[\\/]/).at(-2) === 'error').length;
  // a file moved in the last instant, its report not yet recorded: gone from its folder, not left in place
  const reported = new Set(finished.map((f) => f.path));
  const unreported = tasks.filter((task) => !reported.has(task.path));
  const left = unreported.filter((task) => existsSync(task.path)).length;
  const movedLate = unreported.length - left;
  const late = movedLate ? `, ${movedLate} moved as the run stopped` : '';
  process.stderr.write(
    `\npowerview: interrupted: ${parsed} ${plural(parsed, 'file')} moved to parsed/, ${failed} to error/${late}; ` +
      `${left} left in place (not finished: the next run ingests them); no report written\n`,
  );
  logger.warn({ event: 'interrupted', files_done: parsed + failed, files_left: left }, 'ingest interrupted');
  logger.flush(() => process.exit(130));
  // a logger that cannot flush must not hold the exit
  setTimeout(() => process.exit(130), 1000).unref();
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return n === 1 ? word : many;
}
