import { promisify } from 'node:util';
import { gzip as gzipCb, constants as zlibConstants } from 'node:zlib';
import { ErrorCodes, StoreError } from '../errors.js';
import type { InfluxHttp } from './http-api.js';
import { storeRejection } from './rejection.js';
import {
  linesWithField,
  partialWriteErrors,
  rejectedLines,
  serverMessage,
  tooLarge,
  v1PartialRefused,
  wholeRequestRefusal,
} from './replies.js';
import { RetryLoop, type RetryOptions, type RetryPolicy, type WriterHooks } from './retry-loop.js';
import {
  halves,
  mergeOutcomes,
  placeRefusedLines,
  rejectAll,
  sameOutcome,
  totalLines,
  type Segment,
  type SegmentOutcome,
} from './segments.js';
import type { Reply } from './transport.js';

export type { RetryCause } from './replies.js';
export type { RefusedLine } from './rejection.js';
export type { RetryPolicy, WriterHooks } from './retry-loop.js';
export type { Segment, SegmentOutcome } from './segments.js';

const gzip = promisify(gzipCb);

/** One write as `send` was asked for it: what a split or a resend of each file's part starts from. */
interface WriteRequest<F> {
  db: string;
  body: Uint8Array;
  segments: Segment<F>[];
  precision: 's' | 'ns';
}

/**
 * Sends batches of line protocol with the retry rules of docs/architecture.md#influxdb-output: 429/503
 * honour Retry-After, 5xx and network errors back off exponentially with
 * jitter (`retry-loop.ts`), a missing database is created, 413 (and 3.x's 500 "max request
 * size") splits the batch, any other 4xx is a rejection kept with the
 * server's message and the lines it named — InfluxDB 3's partial writes
 * by line number, on the files they came from, without sending again what
 * was stored (`segments.ts`). A database the server refuses to create (400/422: its name,
 * a limit) fails the files of that database only. What a reply means: `replies.ts`.
 * Throws StoreError(STORE_UNAVAILABLE) when the store wait runs out and
 * StoreError(STORE_AUTH) on 401/403: both stop the run, no file is blamed.
 */
export class InfluxWriter {
  private readonly http: InfluxHttp;
  private readonly hooks: WriterHooks;
  private readonly retry: RetryLoop;
  private readonly gzip: boolean;
  private readonly known = new Set<string>();

  constructor(http: InfluxHttp, policy: RetryPolicy, hooks: WriterHooks = {}) {
    this.http = http;
    this.gzip = http.config.gzip;
    this.hooks = hooks;
    this.retry = new RetryLoop(policy, hooks);
  }

  /** The run is over (a store failure stopped it): requests still retrying give up now. */
  stop(reason: StoreError): void {
    this.retry.stop(reason);
  }

  /** Retries network errors and transient statuses until the store wait runs out. */
  retrying(db: string, call: () => Promise<Reply>, options: RetryOptions = {}): Promise<Reply> {
    return this.retry.run(db, call, options);
  }

  /**
   * Creates the database unless this writer already did; retried like a write. Resolves with null, or with the
   * refusal of this database alone (400/422: a name the server refuses, InfluxDB 3's database limit): its files
   * fail, other databases go on. Anything else that is not a success (a redirect, 404, 401) stops the run.
   */
  async ensureDatabase(db: string): Promise<StoreError | null> {
    if (this.known.has(db)) return null;
    // 403 here is a user that may write but not create databases (below), not a refused login
    const reply = await this.retrying(db, () => this.http.createDatabase(db), { retry403: false });
    if (reply.status === 400 || reply.status === 422)
      return storeRejection(`InfluxDB refused to create database "${db}"`, reply);
    // 403: a user allowed to write but not to create databases (1.x non-admin): the database
    // may well exist; the write says if it does not
    if (reply.status >= 300 && reply.status !== 403) this.failReply(reply, `cannot create database "${db}"`);
    this.known.add(db);
    return null;
  }

  /**
   * Writes `body` (whole lines) to `db`. Resolves with one outcome per segment
   * once the store acknowledged or rejected every line.
   */
  async send<F>(
    db: string,
    body: Uint8Array,
    segments: Segment<F>[],
    precision: 's' | 'ns' = 's',
  ): Promise<SegmentOutcome<F>[]> {
    const refusedDb = await this.ensureDatabase(db);
    if (refusedDb) return sameOutcome(segments, refusedDb);
    const lines = totalLines(segments);
    const payload = this.gzip ? await gzip(body, { level: zlibConstants.Z_BEST_SPEED }) : body;
    const write = (): Promise<Reply> =>
      this.retrying(db, () =>
        this.timed(lines, payload.length, () => this.http.write(db, payload, this.gzip, precision)),
      );
    let reply = await write();
    if (reply.status === 404 && /not found/i.test(reply.body)) {
      // dropped behind our back (or created by an earlier run and removed): create it again, once
      this.known.delete(db);
      this.hooks.onRetry?.('database_missing', db, 0, serverMessage(reply.body));
      const refused = await this.ensureDatabase(db);
      if (refused) return sameOutcome(segments, refused);
      reply = await write();
    }
    return this.answered({ db, body, segments, precision }, reply);
  }

  /** What the store's last reply to a write means for each segment (a split or a resend may follow). */
  private async answered<F>(req: WriteRequest<F>, reply: Reply): Promise<SegmentOutcome<F>[]> {
    const { body, segments } = req;
    if (reply.status >= 200 && reply.status < 300) return sameOutcome(segments, null);
    if (reply.status < 400) {
      // a redirect or an informational status is no answer about the lines: a misconfigured URL
      this.failReply(
        reply,
        `unexpected reply to a write${reply.status >= 300 ? ': does INFLUX_URL point at a redirect?' : ''}`,
      );
    }
    if (reply.status === 401 || reply.status === 403) this.failReply(reply, 'InfluxDB refused the credentials');
    if (tooLarge(reply) && totalLines(segments) > 1) return this.split(req);
    // InfluxDB 3 named the lines it refused and stored the others: each refused line goes to its file, nothing is sent
    // again
    const named = partialWriteErrors(reply);
    const placed = named ? placeRefusedLines(named, body, segments, reply) : null;
    if (placed) return placed;
    if (segments.length > 1 && wholeRequestRefusal(reply)) return rejectAll(segments, reply, null);
    if (segments.length > 1) return this.sendEach(req);
    const refused = rejectedLines(reply.body);
    const outcome = rejectAll(
      segments,
      reply,
      (refused.length ? refused : linesWithField(reply.body, body)).slice(0, 20),
    );
    // InfluxDB 1.x stored the request's other lines: they are counted as written, not as refused
    const partial = v1PartialRefused(reply);
    if (partial !== null) outcome[0] = { ...outcome[0], stored: Math.max(0, segments[0].lines - partial) };
    return outcome;
  }

  /**
   * Which file's lines were refused? Sends each file's part alone (a repeated point is an overwrite), one after
   * another: this request already holds its in-flight slot.
   */
  private async sendEach<F>({ db, body, segments, precision }: WriteRequest<F>): Promise<SegmentOutcome<F>[]> {
    const out: SegmentOutcome<F>[] = [];
    for (const s of segments) {
      const alone = [{ ...s, start: 0, end: s.end - s.start }];
      const [o] = await this.send(db, body.subarray(s.start, s.end), alone, precision);
      out.push({ ...o, segment: s });
    }
    return out;
  }

  /** 413: halves on a line boundary, each half sent on its own. */
  private async split<F>({ db, body, segments, precision }: WriteRequest<F>): Promise<SegmentOutcome<F>[]> {
    const out: SegmentOutcome<F>[] = [];
    for (const { from, to, part } of halves(body, segments)) {
      if (part.length) out.push(...(await this.send(db, body.subarray(from, to), part, precision)));
    }
    return mergeOutcomes(segments, out);
  }

  private async timed(lines: number, bytes: number, call: () => Promise<Reply>): Promise<Reply> {
    const t0 = performance.now();
    const reply = await call();
    this.hooks.onRequest?.((performance.now() - t0) / 1000, lines, bytes, reply.status);
    return reply;
  }

  private failReply(reply: Reply, what: string): never {
    const code = reply.status === 401 || reply.status === 403 ? ErrorCodes.STORE_AUTH : ErrorCodes.STORE_REJECTED;
    throw new StoreError(code, `${what} (HTTP ${reply.status}): ${serverMessage(reply.body)}`, {
      status: reply.status,
      body: reply.body,
    });
  }
}
