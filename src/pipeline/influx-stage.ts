import type { Logger } from 'pino';
import { ErrorCodes, StoreError, errorMessage } from '../errors.js';
import { storedValues, type StoredValues } from '../influx/points-query.js';
import type { ConflictSource } from './conflicts.js';
import { InfluxHttp } from '../influx/http-api.js';
import { InfluxWriter, type RetryCause } from '../influx/writer.js';
import { LpBatcher } from '../influx/batcher.js';
import type { InfluxConfig } from '../influx/config.js';
import { MEASUREMENT } from '../influx/series.js';
import { Slots } from '../util/flow.js';
import type { Metrics } from '../metrics/metrics.js';
import type { FileTask } from './pipeline.js';
import { errorOf } from './outcomes.js';
import type { FileError, FileReport, RunReport } from './report.js';
import type { StoreHealth } from './store-health.js';
import type { JobEvents } from './events.js';

/** --verify counts in flight at most. */
export const VERIFY_SLOTS = 4;

export interface InfluxStageOptions {
  influx: Readonly<InfluxConfig>;
  /** a partly filled batch is sent after this long (default: the batcher's 1000 ms) */
  lingerMs?: number;
  log?: Logger;
  metrics?: Metrics;
  /** serve: refused credentials are waited out and reported here */
  health?: StoreHealth;
  events?: JobEvents;
}

/** What InfluxDB made of one file's lines. */
export interface InfluxResult {
  readonly written: NonNullable<FileReport['written']>;
  /** rejected lines (error/) or the store gave up (left in place); null: every line stored */
  readonly error: FileError | null;
  readonly rejected: boolean;
}

/** --verify's count: `verify` null when the count failed; `error` when the file is not verified. */
export interface VerifyResult {
  readonly verify: FileReport['verify'];
  readonly error: FileError | null;
}

/**
 * The InfluxDB stage: the batcher (the pipeline's sink: batches bounded in
 * lines and bytes, `concurrency` requests in flight), the writer and its
 * retries within `storeWaitMs`, and --verify's count (VERIFY_SLOTS at once).
 */
export class InfluxStage {
  readonly http: InfluxHttp;
  readonly writer: InfluxWriter;
  readonly batcher: LpBatcher;
  requests = 0;
  readonly retries: Record<string, number> = {};
  private readonly verifySlots = new Slots(VERIFY_SLOTS);
  /** retries since the last accepted request: the `attempt` of a store wait */
  private waiting = 0;

  constructor(private readonly options: InfluxStageOptions) {
    const { log, metrics, health, events } = options;
    this.http = new InfluxHttp(options.influx);
    this.writer = new InfluxWriter(
      this.http,
      { storeWaitMs: options.influx.storeWaitMs, waitOutCredentials: !!health },
      {
        onRetry: (cause: RetryCause, db, delayMs, detail) => {
          this.retries[cause] = (this.retries[cause] ?? 0) + 1;
          metrics?.retries.inc({ store: 'influxdb', cause });
          if (cause === 'credentials') health?.refused('influxdb', 'credentials refused', detail);
          log?.warn({ event: 'retry', cause, db, delay_ms: Math.round(delayMs), detail }, 'InfluxDB write retried');
          const short = /^HTTP (\d+)/.exec(detail)?.[1] ?? /^([A-Z_]+):/.exec(detail)?.[1] ?? cause;
          events?.storeWait?.({ store: 'influxdb', cause: short, detail, attempt: ++this.waiting, delayMs });
        },
        onCredentialsAccepted: () => health?.ok('influxdb'),
        onRequest: (seconds, lines, bytes, status) => {
          this.requests++;
          if (status < 300) this.waiting = 0;
          metrics?.influxRequestDone(seconds, lines, bytes, status);
        },
      },
    );
    this.batcher = new LpBatcher(this.writer, {
      ...options.influx,
      ...(options.lingerMs !== undefined ? { lingerMs: options.lingerMs } : {}),
    });
  }

  /** Waits until every line of the file was answered. */
  async outcome(task: FileTask): Promise<InfluxResult> {
    const o = await this.batcher.outcome(task);
    // lines the store stored; those it refused counted apart (a partial write keeps what was stored)
    if (o.status === 'rejected') {
      const error = errorOf(o.error);
      // by the file's own line numbers, the whole line as sent (InfluxDB 3 names them; it echoes only 20 bytes)
      if (o.refusedLines.length) error.refused_lines = o.refusedLines;
      return { written: { lines: o.stored, batches: o.batches, refused: o.refused }, error, rejected: true };
    }
    if (o.status === 'unavailable')
      return { written: { lines: 0, batches: o.batches }, error: errorOf(o.error), rejected: false };
    return { written: { lines: o.lines, batches: o.batches }, error: null, rejected: false };
  }

  /** --verify: counts the file's points back from InfluxDB over its time range. */
  async verify(parsed: Readonly<FileReport>): Promise<VerifyResult | null> {
    if (!parsed.time_range || !parsed.master_sn) return null;
    const sn = parsed.master_sn;
    const from = Date.parse(parsed.time_range.first) / 1000;
    const to = Date.parse(parsed.time_range.last) / 1000;
    await this.verifySlots.acquire();
    try {
      const counted: { found: number | null } = { found: null };
      // the count is retried like a write (the store may be restarting); its reply is kept
      const reply = await this.writer.retrying(parsed.tenant, async () => {
        const tags = { campaign: parsed.campaign, device_master_sn: sn };
        const r = await this.http.countPoints(parsed.tenant, MEASUREMENT, tags, from, to);
        if (typeof r !== 'number') return r;
        counted.found = r;
        return { status: 200, retryAfter: null, body: '' };
      });
      const found = counted.found;
      if (found === null) throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 500)}`);
      const verify = { expected: parsed.points, found };
      if (found >= parsed.points) return { verify, error: null };
      const message =
        `--verify: InfluxDB holds ${found} points of this file's series over its time range, ` +
        `the file wrote ${parsed.points}`;
      return { verify, error: { code: ErrorCodes.VERIFY_MISMATCH, message } };
    } catch (err) {
      // unverified is not verified: the file stays where it is, to be verified by a later run
      const message = `--verify could not count the points back: ${errorMessage(err)}`;
      return { verify: null, error: { code: ErrorCodes.VERIFY_MISMATCH, message } };
    } finally {
      this.verifySlots.release();
    }
  }

  /** The stored values held points are compared with (re-export conflicts), queried like a --verify count. */
  readonly conflicts: ConflictSource = {
    values: async (db, masterSn, fields, from, to) => {
      const got: { values: StoredValues | null } = { values: null };
      const reply = await this.writer.retrying(db, async () => {
        const r = await storedValues(this.http, db, MEASUREMENT, masterSn, fields, from, to);
        if (!(r instanceof Map)) return r;
        got.values = r;
        return { status: 200, retryAfter: null, body: '' };
      });
      if (got.values) return got.values;
      const message = `InfluxDB could not answer the re-export comparison: HTTP ${reply.status}: ${reply.body}`;
      throw new StoreError(ErrorCodes.STORE_UNAVAILABLE, message.slice(0, 600));
    },
    barrier: () => this.batcher.settled(),
  };

  /** The run report's `influx` block. */
  summary(): NonNullable<RunReport['influx']> {
    const i = this.options.influx;
    return {
      url: i.url,
      api: i.api,
      gzip: i.gzip,
      batch_lines: i.batchLines,
      batch_bytes: i.batchBytes,
      concurrency: i.concurrency,
      requests: this.requests,
      retries: this.retries,
    };
  }
}
