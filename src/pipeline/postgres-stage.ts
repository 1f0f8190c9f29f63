import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { ErrorCodes, PowerViewError, StoreError, errorMessage } from '../errors.js';
import { DatabaseError, failureOwner } from '../postgres/errors.js';
import { AlreadyCommittedError, IngestStore, type CommitFence } from '../postgres/ingest-store.js';
import { BACKOFF, backoffDelay, sleep } from '../util/retry.js';
import { Slots } from '../util/flow.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeviceClaims } from './device-claims.js';
import type { FileAggregates } from './pipeline.js';
import type { PlannedFile } from './exactly-once.js';
import type { FileReport, RunReport } from './report.js';
import type { StoreHealth } from './store-health.js';
import type { JobEvents } from './events.js';
import type { Finding } from '../model/quality.js';

/** Commits queued or in flight at most (default): past it a file waits for a slot before it is queued. */
export const MAX_PENDING_COMMITS = 256;

export interface PostgresStageOptions {
  pool: Pool;
  force?: boolean;
  commitLingerMs?: number;
  commitMaxFiles?: number;
  fence?: CommitFence;
  claims?: DeviceClaims;
  /** how long a PostgreSQL call is retried while the store is what fails (then STORE_UNAVAILABLE) */
  waitMs: number;
  /** commits queued or in flight at most; default MAX_PENDING_COMMITS */
  maxPending?: number;
}

/** Who hears about PostgreSQL waits: the log, the metrics, serve's health, the job's events. */
export interface PostgresObservers {
  log?: Logger;
  metrics?: Metrics;
  health?: StoreHealth;
  events?: JobEvents;
}

/** What the PostgreSQL stage made of one file: its ledger row, or why none was written. */
export interface CommitResult {
  readonly ledger: { readonly file_id: number | null; readonly noop: string | null };
  readonly warnings: readonly string[];
  /** found at commit (docs/reports.md#quality-rules): the layout change and the gaps of the file's window */
  readonly quality?: readonly Finding[];
  /** the file's own findings its device's history overruled: left out of the report */
  readonly qualityDropped?: readonly Finding[];
}

/**
 * The PostgreSQL stage (docs/architecture.md#postgresql-output-and-exactly-once):
 * a file's hourly aggregates, coverage and ledger row committed together, in
 * groups (IngestStore's group commit, behind the commit fence), at most
 * `maxPending` files queued; every call retried while PostgreSQL is what fails.
 */
export class PostgresStage {
  readonly store: IngestStore;
  private readonly slots: Slots;

  constructor(
    private readonly options: PostgresStageOptions,
    private readonly observers: PostgresObservers = {},
  ) {
    this.store = new IngestStore(options.pool, {
      lingerMs: options.commitLingerMs,
      maxGroup: options.commitMaxFiles,
      fence: options.fence,
      metrics: observers.metrics,
    });
    const max = options.maxPending ?? MAX_PENDING_COMMITS;
    if (!Number.isInteger(max) || max < 1) throw new TypeError('options.maxPending must be a positive integer');
    this.slots = new Slots(max);
  }

  /** A call retried under this stage's wait bound and backoff (the Planner's look-ups go through it too). */
  readonly retry = <T>(call: () => Promise<T>): Promise<T> => retryPostgres(call, this.options.waitMs, this.observers);

  /**
   * Commits the parsed file. Throws StaleCoverageError (the fence refused the
   * plan: the Planner plans it again) and the errors the retry let through.
   */
  async commit(parsed: Readonly<FileReport>, agg: FileAggregates, planned: PlannedFile | null, runId: string) {
    if (agg.noop) return result(null, agg.noop, `${agg.noop}: nothing written`);
    await this.slots.acquire();
    try {
      const fileId = await this.retry(() =>
        this.store.commitFile({
          report: parsed,
          agg,
          runId,
          layoutDrift: planned?.layoutDrift ?? false,
          knownLayout: planned?.knownLayout ?? null,
          replace: planned?.replace ?? null,
          planVersion: planned?.version ?? null,
        }),
      );
      const q = this.store.takeQuality(fileId);
      const warnings = q?.gapsClosed ? [`quality: ${q.gapsClosed} gap(s) of the device closed by this file`] : [];
      for (const f of q?.dropped ?? [])
        warnings.push(`quality: ${f.kind} on ${f.channelId} not recorded: the channel was negative in earlier files`);
      return Object.freeze({
        ...result(fileId, null),
        warnings,
        quality: Object.freeze(q?.findings ?? []),
        qualityDropped: Object.freeze(q?.dropped ?? []),
      });
    } catch (err) {
      if (!(err instanceof AlreadyCommittedError)) throw err;
      // two processes took the same bytes (the service's claims make this rare): the first commit stands
      return result(null, err.message, `${err.message}: nothing added`);
    } finally {
      this.slots.release();
    }
  }

  /** The ledger knows failed files too, with their cause. */
  recordFailure(failed: Readonly<FileReport>, runId: string): Promise<void> {
    return this.store.recordFailure(failed, runId);
  }

  /** The run report's `postgres` block. */
  summary(planSeconds: number): NonNullable<RunReport['postgres']> {
    const s = this.store.stats;
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      commits: s.commits,
      hourly_rows: s.hourlyRows,
      coverage_rows: s.coverageRows,
      commit_seconds: round(s.commitSeconds),
      plan_seconds: round(planSeconds),
      hourly_rows_per_second: s.commitSeconds > 0 ? Math.round(s.hourlyRows / s.commitSeconds) : 0,
    };
  }
}

function result(fileId: number | null, noop: string | null, warning?: string): CommitResult {
  return Object.freeze({ ledger: Object.freeze({ file_id: fileId, noop }), warnings: warning ? [warning] : [] });
}

/**
 * A PostgreSQL call of the job, retried while the failure is the store's
 * (src/postgres/errors.ts, PG_FAILURE_OWNERS): cancelled, timed out, locked,
 * deadlocked, full, read-only, shutting down, unreachable, a permission taken
 * away, a connection lost mid-transaction. Refused credentials are waited out
 * too when `health` is given (serve), else they stop the file as STORE_AUTH.
 * Past `waitMs`: STORE_UNAVAILABLE, the file stays where it is. Only an error
 * about the data itself (or one of ours: PowerViewError) is thrown as is.
 */
export async function retryPostgres<T>(call: () => Promise<T>, waitMs: number, o: PostgresObservers): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await call();
      o.health?.ok('postgres');
      return out;
    } catch (err) {
      if (err instanceof PowerViewError && !(err instanceof DatabaseError)) throw err;
      const { owner, cause } = failureOwner(err);
      if (owner === 'file') throw err;
      if (owner === 'credentials') {
        if (!o.health)
          throw new StoreError(ErrorCodes.STORE_AUTH, `PostgreSQL ${cause}: ${errorMessage(err)}`, { cause: err });
        o.health.refused('postgres', cause, errorMessage(err));
      }
      if (Date.now() >= deadline) {
        throw new StoreError(
          ErrorCodes.STORE_UNAVAILABLE,
          `PostgreSQL unavailable for ${Math.round(waitMs / 1000)} s (${cause}): ${errorMessage(err)}`,
          { cause: err },
        );
      }
      const delay = backoffDelay(BACKOFF.postgres, attempt);
      const label = retryLabel(owner, cause, err);
      o.metrics?.retries.inc({ store: 'postgres', cause: label });
      o.log?.warn(
        { event: 'retry', store: 'postgres', cause, delay_ms: Math.round(delay), detail: errorMessage(err) },
        'PostgreSQL call retried',
      );
      o.events?.storeWait?.({
        store: 'postgres',
        cause: label,
        detail: errorMessage(err),
        attempt: attempt + 1,
        delayMs: delay,
      });
      await sleep(delay);
    }
  }
}

function retryLabel(owner: string, cause: string, err: unknown): string {
  if (owner === 'credentials') return 'credentials';
  if (cause === 'unreachable' || cause === 'connection lost') return 'unavailable';
  return sqlStateOf(err) ?? 'unavailable';
}

function sqlStateOf(err: unknown): string | undefined {
  if (err instanceof DatabaseError) return err.sqlState;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
