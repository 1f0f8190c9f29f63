import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { clientConfigOf, createPool } from '../postgres/db.js';
import { Claims } from '../service/claims.js';
import { resolvePgConfig } from '../postgres/config.js';
import { assertMigrated } from '../postgres/migrate.js';
import { dirname, join, resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { pino, type Logger } from 'pino';
import { ErrorCodes, UsageError } from '../errors.js';
import { resolveIngestConfig } from '../config/config.js';
import { resolveInfluxConfig, tenantNameProblem, type InfluxConfig, type InfluxFlags } from '../influx/config.js';
import { runIngestJob } from '../pipeline/ingest-job.js';
import { discover } from '../pipeline/discover.js';
import { Pipeline, type FileTask } from '../pipeline/pipeline.js';
import { runHead, totalsOf, type RunReport } from '../pipeline/report.js';
import { CountingSink, StreamSink, type LpSink } from '../pipeline/sink.js';
import { summaryTable } from './summary.js';
import { writeFile, rename } from 'node:fs/promises';
import { Metrics } from '../metrics/metrics.js';

export interface IngestFlags extends InfluxFlags {
  dryRun?: boolean;
  json?: boolean;
  lpOut?: string;
  root?: string;
  v002Timezone?: string;
  workers?: string;
  blockSize?: string;
  includeProcessed?: boolean;
  company?: string;
  campaign?: string;
  progress?: boolean;
  verify?: boolean;
  reportDir?: string;
  metaDb?: string;
  logFile?: string;
  logLevel?: string;
  databaseUrl?: string;
  postgres?: boolean;
  force?: boolean;
  metricsFile?: string;
}

/** `powerview ingest`: returns the exit code (0 all good, 1 some file failed). */
export async function runIngest(paths: string[], flags: IngestFlags): Promise<number> {
  if ((flags.company === undefined) !== (flags.campaign === undefined)) {
    throw new UsageError('--company and --campaign go together');
  }
  for (const [kind, name] of [
    ['company', flags.company],
    ['campaign', flags.campaign],
  ] as const) {
    const problem = name === undefined ? null : tenantNameProblem(kind, name);
    if (problem) throw new UsageError(`--${kind}: ${problem}`, ErrorCodes.TENANT_NAME);
  }
  if (flags.dryRun && flags.verify)
    throw new UsageError('--verify reads back what was written: it does not go with --dry-run');
  if (!flags.dryRun && flags.lpOut)
    throw new UsageError('--lp-out goes with --dry-run (it shows the line protocol that would be sent)');
  const config = resolveIngestConfig(flags);
  const influx = flags.dryRun ? null : resolveInfluxConfig(flags);
  const tasks = await discover(paths, {
    root: config.dataRoot,
    includeProcessed: flags.includeProcessed,
    company: flags.company,
    campaign: flags.campaign,
    timeZone: config.v002TimeZone,
  });
  if (influx) return runWrite(tasks, flags, config, influx);
  const reportOut = flags.lpOut === '-' ? process.stderr : process.stdout;
  const human = !flags.json && reportOut.isTTY === true;
  const sink: LpSink = flags.lpOut ? new StreamSink(flags.lpOut) : new CountingSink();
  const totalBytes = tasks.reduce((s, t) => s + (t.size ?? 0), 0);
  const started = new Date();
  const t0 = performance.now();
  const progress =
    human && flags.progress !== false && process.stderr.isTTY ? new Progress(totalBytes, tasks.length) : null;
  const pipeline = new Pipeline({
    workers: config.workers,
    blockBytes: config.blockBytes,
    v002TimeZone: config.v002TimeZone,
    sink,
    onProgress: progress?.update,
  });
  let files;
  try {
    files = await pipeline.run(tasks);
    await sink.close();
  } finally {
    progress?.stop();
    await pipeline.close();
  }
  const totals = totalsOf(files);
  const report: RunReport = {
    ...runHead({
      runId: randomUUID(),
      dryRun: true,
      started,
      t0,
      points: totals.points,
      workers: pipeline.workers,
      v002TimeZone: config.v002TimeZone,
    }),
    totals,
    files,
  };
  reportOut.write(human ? `${summaryTable(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  return totals.files_failed > 0 ? 1 : 0;
}

/** The progress bar on a terminal: bytes done, files, points/s, ETA. */
class Progress {
  private readonly bar = new SingleBar(
    {
      format: ' {bar} {percentage}% | {files}/{totalFiles} files | {mpts} Mpoints/s | ETA {eta_formatted}',
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  private readonly t0 = performance.now();

  constructor(totalBytes: number, files: number) {
    this.bar.start(Math.max(totalBytes, 1), 0, { files: 0, totalFiles: files, mpts: '0.0' });
  }

  readonly update = (p: { bytes: number; points: number; files: number }): void => {
    const secs = (performance.now() - this.t0) / 1000;
    this.bar.update(p.bytes, { files: p.files, mpts: (p.points / secs / 1e6).toFixed(2) });
  };

  stop(): void {
    this.bar.stop();
  }
}

/** Where reports and logs go: --report-dir, POWERVIEW_REPORT_DIR, else <root>/../logs/reports. */
function reportDirOf(flags: IngestFlags, root: string | undefined): string {
  const dir = flags.reportDir ?? (process.env.POWERVIEW_REPORT_DIR || undefined);
  if (dir) return resolve(dir);
  return root ? join(dirname(resolve(root)), 'logs', 'reports') : resolve('logs', 'reports');
}

export function makeLogger(flags: { logLevel?: string }, file: string | null): Logger {
  const level = flags.logLevel ?? (process.env.POWERVIEW_LOG_LEVEL || 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new UsageError(
      `--log-level / POWERVIEW_LOG_LEVEL must be fatal, error, warn, info, debug, trace or silent, got "${level}"`,
      ErrorCodes.CONFIG,
    );
  }
  const dest = file
    ? pino.destination({ dest: file, mkdir: true, sync: false })
    : pino.destination({ fd: 2, sync: false });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/** `powerview ingest` for real: InfluxDB writes, file moves, report file, meta summaries. */
async function runWrite(
  tasks: FileTask[],
  flags: IngestFlags,
  config: ReturnType<typeof resolveIngestConfig>,
  influx: Readonly<InfluxConfig>,
): Promise<number> {
  const reportDir = reportDirOf(flags, tasks[0]?.root ?? config.dataRoot);
  const human = !flags.json && process.stdout.isTTY === true;
  const showBar = human && flags.progress !== false && process.stderr.isTTY === true;
  // with a bar on the terminal, the per-file log lines go to a file instead of under the bar
  const logFile = flags.logFile
    ? resolve(flags.logFile)
    : showBar
      ? join(dirname(reportDir), 'powerview-ingest.log')
      : null;
  const logger = makeLogger(flags, logFile);
  const totalBytes = tasks.reduce((s, t) => s + (t.size ?? 0), 0);
  // PostgreSQL (aggregates, exactly-once) when a database is configured, unless --no-postgres
  const pgConfigured =
    flags.databaseUrl !== undefined ||
    Boolean(process.env.DATABASE_URL) ||
    ['PGHOST', 'PGDATABASE', 'PGUSER'].some((k) => process.env[k]);
  const pgConfig =
    flags.postgres !== false && pgConfigured ? resolvePgConfig({ databaseUrl: flags.databaseUrl }) : null;
  const pgPool = pgConfig ? createPool(pgConfig, { max: 4, applicationName: 'powerview ingest' }) : null;
  // a logger's files are planned and committed by one process at a time (serve or another backfill): its claim is waited for
  const claims = pgConfig
    ? new Claims(clientConfigOf(pgConfig), null, logger, {
        applicationName: 'powerview ingest claims',
        onWait: (tenant, device) =>
          process.stderr.write(
            `powerview: waiting for logger ${device} (${tenant}): another process (serve or a backfill) is ingesting its files\n`,
          ),
      })
    : null;
  if (flags.force && !pgPool)
    throw new UsageError("--force replaces a file's aggregates and coverage in PostgreSQL: it needs DATABASE_URL");
  if (pgPool) {
    try {
      // the schema first: a clear "run powerview migrate", not a failure per file
      await assertMigrated(pgPool);
    } catch (err) {
      await pgPool.end();
      throw err;
    }
  }
  const progress = showBar ? new Progress(totalBytes, tasks.length) : null;
  const metrics = flags.metricsFile ? new Metrics({ defaults: false }) : null;
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
      metaDb: flags.metaDb ?? (process.env.POWERVIEW_META_DB || 'powerview_meta'),
      verify: flags.verify,
      reportDir,
      logger,
      onProgress: progress?.update,
      ...(metrics ? { metrics } : {}),
    });
  } finally {
    progress?.stop();
    await claims?.close();
    await pgPool?.end();
  }
  if (metrics && flags.metricsFile) {
    // Prometheus text format, for node_exporter's textfile collector: a backfill's counters outlive its process
    const file = resolve(flags.metricsFile);
    await writeFile(`${file}.tmp`, await metrics.registry.metrics());
    await rename(`${file}.tmp`, file);
  }
  const { report, exitCode } = result;
  if (!report.report_path)
    process.stderr.write(`powerview: warning: the report could not be written to ${reportDir} (see the log)\n`);
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
  if (human) process.stdout.write(`${summaryTable(report)}\n`);
  else if (report.report_path) {
    // the report file holds every file's report; memory holds only some of a long run's
    await pipeline(createReadStream(report.report_path), process.stdout, { end: false });
  } else process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (report.store_failure)
    process.stderr.write(`powerview: ${report.store_failure.code}: ${report.store_failure.message}\n`);
  return exitCode;
}
