import type { Logger } from 'pino';
import { ErrorCodes, errorMessage } from '../errors.js';
import type { LpBatcher } from '../influx/batcher.js';
import type { Metrics } from '../metrics/metrics.js';
import { runIngestJob } from '../pipeline/ingest-job.js';
import type { IngestJobOptions } from '../pipeline/job-options.js';
import { moveFinished } from '../pipeline/lifecycle.js';
import { releaseTaken } from '../pipeline/taken.js';
import type { FileTask, Pipeline } from '../pipeline/pipeline.js';
import { emptyFileReport, type FileReport } from '../pipeline/report.js';
import type { StoreHealth } from '../pipeline/store-health.js';
import { BACKOFF, backoffDelay } from '../util/retry.js';
import type { Claims } from './claims.js';
import type { JobFeed } from './job-feed.js';
import type { ServiceOptions } from './options.js';
import type { Scheduler } from './scheduler.js';

/**
 * Batching windows of serve (bench/latency --max, docs/benchmarks.md): a file
 * arriving alone waits this long for others to share its InfluxDB request
 * and its PostgreSQL transaction, well within the 1 s latency bar; shorter
 * windows made each file pay a request and a commit of its own.
 */
const INFLUX_LINGER_MS = 100;
const COMMIT_LINGER_MS = 50;
/** small groups: a backlog is committed in short transactions, not one long one (latency) */
const COMMIT_MAX_FILES = 16;
/** a file in the job at this many crashes in a row is failed alone */
const CRASH_SUSPECT = 3;

export interface SupervisorDeps {
  options: Pick<ServiceOptions, 'pipeline' | 'influx' | 'metaDb' | 'pool' | 'lingerMs' | 'commitLingerMs'>;
  feed: JobFeed;
  scheduler: Scheduler;
  claims: Claims;
  health: StoreHealth;
  metrics: Metrics;
  log?: Logger;
  /** the pipeline is done with a file (moved, or left in place and handed back to the scheduler) */
  fileFinished: (path: string, movedTo: string | null, bytes: number) => void;
}

type JobEnd = { reason: 'store_failure' | 'crash'; detail: string };

/**
 * The one ingest job of serve, restarted whenever it ends while serve is not
 * stopping (a run-level store failure, a bug): serve never lives on without
 * ingesting. Files it held go back to the scheduler, kept in place.
 */
export class JobSupervisor {
  /** the running pipeline and batcher (gauges), null between jobs */
  running: { pipeline: Pipeline; batcher: LpBatcher } | null = null;
  /** why the ingest job is not running (between an unexpected end and its restart), else null */
  private jobDown: string | null = null;
  private jobDownAt = 0;
  private wakeRestart: (() => void) | null = null;
  private stopping = false;
  /** path → consecutive job crashes while the file was in the job */
  private readonly crashes = new Map<string, number>();

  constructor(private readonly deps: SupervisorDeps) {}

  /** Why the job is not running, for /readyz: until a restarted job ingests a file, or runs a minute. */
  get down(): string | null {
    if (this.jobDown && Date.now() - this.jobDownAt > 60_000 && this.running) this.jobDown = null;
    return this.jobDown;
  }

  /** Stopping: no restart; a restart waited for ends at once. */
  stop(): void {
    this.stopping = true;
    this.wakeRestart?.();
  }

  async run(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const t0 = Date.now();
      const { reason, detail } = await this.runJob();
      // stopping: what the job held stays in flight, so the journal keeps it for the next start
      if (this.stopping) return;
      await this.giveBack(detail, reason === 'crash');
      if (Date.now() - t0 > 60_000) attempt = 0;
      const delay = backoffDelay(BACKOFF.restart, attempt);
      // /readyz says so until the restarted job ingests a file (or a minute passes without another end)
      this.jobDown = `restarting after: ${detail}`;
      this.jobDownAt = Date.now();
      this.deps.metrics.jobRestarts.inc({ reason });
      this.deps.log?.error(
        { event: 'job', reason, error: detail, restart_in_ms: Math.round(delay) },
        'ingest job ended: restarting it, files kept in place',
      );
      await this.pause(delay);
      if (this.stopping) return;
    }
  }

  /** One ingest job over the feed, to its end: why it ended. */
  private async runJob(): Promise<JobEnd> {
    const { stream, end } = this.deps.feed.lend();
    this.deps.metrics.jobUp.set(1);
    try {
      const r = await runIngestJob(stream, this.jobOptions(end));
      const failure = r.report.store_failure;
      return { reason: 'store_failure', detail: failure ? `${failure.code}: ${failure.message}` : 'the job ended' };
    } catch (err) {
      return { reason: 'crash', detail: errorMessage(err) };
    } finally {
      end();
      this.running = null;
      this.deps.metrics.jobUp.set(0);
    }
  }

  private jobOptions(end: () => void): IngestJobOptions {
    const { options, claims } = this.deps;
    return {
      pipeline: options.pipeline,
      // the service waits for a store as long as it takes; SIGTERM is what ends a wait
      influx: { ...options.influx, storeWaitMs: 365 * 86400_000 },
      metaDb: options.metaDb,
      // the run summary is best effort: an unreachable InfluxDB never holds a stop for the drain bound
      metaWaitMs: 5000,
      logger: this.deps.log,
      reportDir: null,
      // serve never ends: the latest reports only (memory bounds, docs/operations.md); every file is in the log and
      // the ledger
      reportKeep: 200,
      metrics: this.deps.metrics,
      lingerMs: options.lingerMs ?? INFLUX_LINGER_MS,
      postgres: {
        pool: options.pool,
        commitLingerMs: options.commitLingerMs ?? COMMIT_LINGER_MS,
        commitMaxFiles: COMMIT_MAX_FILES,
        fence: claims.fence,
        claims,
      },
      health: this.deps.health,
      onAbort: end,
      onFileDone: (report, task) => this.fileDone(report, task),
      onStart: (running) => (this.running = running),
    };
  }

  private fileDone(report: FileReport, task: FileTask): void {
    this.deps.feed.done(task);
    this.crashes.delete(task.path);
    if (report.status === 'ok') this.jobDown = null;
    // left in place by a run-level store failure (a redirect, refused credentials): the store's, retried
    const code = report.error?.code;
    const runLevel =
      report.status === 'error' &&
      !report.moved_to &&
      (code === ErrorCodes.STORE_REJECTED || code === ErrorCodes.STORE_AUTH);
    this.deps.scheduler.done(
      runLevel ? { ...report, error: { ...report.error!, code: ErrorCodes.STORE_UNAVAILABLE } } : report,
      task,
    );
    this.deps.fileFinished(task.path, report.moved_to ?? null, report.bytes);
  }

  /**
   * Files a finished job held and never reported: back to the scheduler, left
   * in place. A file that was in the job at CRASH_SUSPECT crashes in a row is
   * failed alone (error/, with the cause): one file never kills every restart.
   */
  private async giveBack(why: string, crashed: boolean): Promise<void> {
    for (const task of [...this.deps.feed.out]) {
      this.deps.feed.done(task);
      const r = emptyFileReport(task.path, task.identity);
      r.status = 'error';
      r.moved_to = null;
      r.error = { code: ErrorCodes.STORE_UNAVAILABLE, message: `not finished: ${why}` };
      const crashes = crashed ? (this.crashes.get(task.path) ?? 0) + 1 : 0;
      if (crashes > 0) this.crashes.set(task.path, crashes);
      else this.crashes.delete(task.path);
      if (crashes >= CRASH_SUSPECT) await this.failSuspect(task, r, crashes, why);
      // taken and not finished: the pin goes (the bytes read kept aside if the path was replaced)
      if (task.taken && !r.moved_to) await releaseTaken(task.path, task.taken).catch(() => null);
      this.deps.scheduler.done(r, task);
      this.deps.fileFinished(task.path, r.moved_to ?? null, r.bytes);
    }
    if (this.crashes.size > 10_000) this.crashes.clear();
  }

  /** A file in the job at every one of its last crashes: moved to error/ with the cause. */
  private async failSuspect(task: FileTask, r: FileReport, crashes: number, why: string): Promise<void> {
    this.crashes.delete(task.path);
    r.error = {
      code: ErrorCodes.READ,
      message: `the ingest job failed ${crashes} times while this file was in it: ${why}`,
    };
    r.moved_to = await moveFinished(task.path, 'error', r.error, task.taken).catch(() => null);
    this.deps.log?.error(
      {
        event: 'file',
        path: task.path,
        status: 'error',
        code: r.error.code,
        error: r.error.message,
        moved_to: r.moved_to,
      },
      'file failed',
    );
    this.deps.metrics.fileDone(r);
  }

  /** Waits before a restart; stop() ends the wait at once. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      this.wakeRestart = () => {
        clearTimeout(timer);
        r();
      };
    });
    this.wakeRestart = null;
  }
}
