import { promisify } from 'node:util';
import { gzip as gzipCb, constants as zlibConstants } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, StoreError, errorMessage } from '../errors.js';
import { BACKOFF, backoffDelay } from '../util/retry.js';
import type { InfluxHttp, Reply } from './http-api.js';

const gzip = promisify(gzipCb);

/** Why a request is tried again (metrics label). */
export type RetryCause = 'network' | 'throttled' | 'server_error' | 'timeout' | 'database_missing' | 'credentials';

export interface WriterHooks {
  onRetry?(cause: RetryCause, db: string, delayMs: number, detail: string): void;
  onRequest?(seconds: number, lines: number, bytes: number, status: number): void;
  /** the store answered with something other than a refusal of the credentials (they work) */
  onCredentialsAccepted?(): void;
}

export interface RetryPolicy {
  /** a batch keeps retrying this long before its files fail as "store unavailable" */
  storeWaitMs: number;
  /** first backoff delay; doubles per attempt. Default 250 ms. */
  baseDelayMs?: number;
  /** backoff cap (Retry-After is honoured up to the store wait). Default 5 s. */
  maxDelayMs?: number;
  /**
   * 401 (and 403 to a write) are waited out like an outage, within the store
   * wait, instead of stopping the run (serve: a rotated password is fixed
   * without a restart). Default false: the run stops with STORE_AUTH.
   */
  waitOutCredentials?: boolean;
}

/** Part of a batch that belongs to one file (byte range, line count): a rejection lands on the right file. */
export interface Segment<F> {
  file: F;
  start: number;
  end: number;
  lines: number;
  /** number of the segment's first line among its file's lines (1-based); default 1 */
  firstLine?: number;
}

/**
 * A line the server refused by number (InfluxDB 3 partial writes): numbered as its file numbers it, its text as we sent
 * it.
 */
export interface RefusedLine {
  /** 1-based position among the file's lines (the line protocol `--dry-run --lp-out` prints for that file alone) */
  line: number;
  /** the server's reason (`error_message`) */
  error: string;
  /** the whole line, from our own batch (3.6+ sends back only its first 20 bytes) */
  text: string;
}

export interface SegmentOutcome<F> {
  segment: Segment<F>;
  /** null: every line of the segment was stored */
  rejection: StoreError | null;
  /** lines of the segment the server said it stored */
  stored: number;
  /**
   * lines refused by number (InfluxDB 3 partial writes: every other line was stored); [] when the request was refused
   * whole
   */
  refused: RefusedLine[];
}

/**
 * "Too large" replies: 413 (1.x, 2.x, InfluxDB 3.10+), and InfluxDB 3.0–3.9's
 * 500 "max request size (N bytes) exceeded" (influxdb3_server/src/http.rs:
 * RequestSizeExceeded fell to the catch-all 500 until v3.10.0 gave it 413):
 * the batch is split, never retried as it is.
 */
export function tooLarge(reply: Reply): boolean {
  return reply.status === 413 || (reply.status === 500 && /max request size \(\d+ bytes\) exceeded/.test(reply.body));
}

/** Statuses after which the same request may succeed later. */
function transientCause(status: number): RetryCause | null {
  if (status === 429 || status === 503) return 'throttled';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server_error';
  return null;
}

/** Retry-After: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The message of an InfluxDB error body: v1 `{error}`, v2 `{code, message}`, v3 `{error, data}`. */
export function serverMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown; data?: unknown };
    if (typeof j.message === 'string') return j.message;
    if (typeof j.error === 'string') {
      if (Array.isArray(j.data)) {
        const reasons = (j.data as Array<{ line_number?: unknown; error_message?: unknown } | null>)
          .flatMap((d) => (d !== null && typeof d.error_message === 'string' ? [d] : []))
          .slice(0, 5)
          .map((d) => `line ${String(d.line_number)}: ${String(d.error_message)}`);
        if (reasons.length) return `${j.error}: ${reasons.join('; ')}`;
      }
      if (j.data && typeof j.data === 'object' && !Array.isArray(j.data)) {
        const m = (j.data as { error_message?: unknown }).error_message;
        if (typeof m === 'string') return `${j.error}: ${m}`;
      }
      return j.error;
    }
  } catch {
    // not JSON: the text itself
  }
  return body.trim().slice(0, 2000);
}

/** The rejected lines an error body names: v3 `data[].original_line`, v1/v2 `unable to parse '…'`. */
export function rejectedLines(body: string): string[] {
  const out: string[] = [];
  try {
    const j = JSON.parse(body) as { data?: unknown };
    if (Array.isArray(j.data)) {
      for (const d of j.data as Array<{ original_line?: unknown; line_number?: unknown; error_message?: unknown }>) {
        if (typeof d.original_line === 'string') out.push(d.original_line);
      }
      if (out.length) return out;
    }
  } catch {
    // fall through to the text patterns
  }
  // the line itself may hold quotes: it ends at the last "': " before the reason
  for (const m of serverMessage(body).matchAll(/unable to parse '(.*?)': (?=[a-z])/g)) out.push(m[1]);
  return out;
}

/**
 * 1.x/2.x name a conflicting field, not its lines (`field type conflict: input
 * field "X" on measurement "M" …`): the lines of the batch that carry it.
 */
export function linesWithField(body: string, batch: Uint8Array, max = 20): string[] {
  const m = /input field \\?"((?:[^"\\]|\\.)+?)\\?" on measurement \\?"((?:[^"\\]|\\.)+?)\\?"/.exec(
    serverMessage(body),
  );
  if (!m) return [];
  const needle = Buffer.from(` ${m[1].replace(/([ ,=])/g, '\\$1')}=`);
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  const out: string[] = [];
  for (let i = buf.indexOf(needle); i >= 0 && out.length < max; i = buf.indexOf(needle, i + 1)) {
    const start = buf.lastIndexOf(10, i) + 1;
    const nl = buf.indexOf(10, i);
    const end = nl < 0 ? buf.length : nl;
    if (buf.subarray(start, start + m[2].length).toString() === m[2]) out.push(buf.subarray(start, end).toString());
    i = end;
  }
  return out;
}

/** One entry of an InfluxDB 3 partial write's `data` (influxdb3_types WriteLineError). */
interface LineError {
  line_number: number;
  error_message: string;
  original_line?: string;
}

/**
 * InfluxDB 3's partial write (influxdb3_server/src/http.rs, Error::PartialLpWrite; 3.0–3.10): with accept_partial
 * (the default) the valid lines are stored and the reply — 400, or 422 when a line hit a limit — lists the others:
 * `{"error":"partial write of line protocol occurred","data":[{error_message, line_number, original_line}]}`.
 * `line_number` is the 1-based line of the request body (our bodies hold no blank or comment line);
 * `original_line` is cut to 20 bytes from 3.6. Null when the reply is not one.
 */
export function partialWriteErrors(reply: Reply): LineError[] | null {
  if (reply.status !== 400 && reply.status !== 422) return null;
  try {
    const j = JSON.parse(reply.body) as { error?: unknown; data?: unknown };
    if (typeof j.error !== 'string' || !/partial write/i.test(j.error) || !Array.isArray(j.data) || j.data.length === 0)
      return null;
    const out: LineError[] = [];
    for (const d of j.data as Array<Record<string, unknown> | null>) {
      if (d === null || !Number.isInteger(d.line_number) || (d.line_number as number) < 1) return null;
      if (typeof d.error_message !== 'string') return null;
      out.push({
        line_number: d.line_number as number,
        error_message: d.error_message,
        ...(typeof d.original_line === 'string' ? { original_line: d.original_line } : {}),
      });
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * InfluxDB 3 refusing the request as a whole, not a line of it: `{"error": …, "data": null}` (http.rs
 * ErrorMessage<()>: the database limit, a database name it refuses). Every part of the batch would get the same
 * answer: no use sending each file's part alone.
 */
function wholeRequestRefusal(reply: Reply): boolean {
  if (reply.status !== 400 && reply.status !== 422) return false;
  try {
    const j = JSON.parse(reply.body) as { error?: unknown; data?: unknown };
    return typeof j.error === 'string' && 'data' in j && j.data === null;
  } catch {
    return false;
  }
}

/**
 * What to do about a limit of InfluxDB 3 (influxdb3_catalog/src/error.rs messages; the numbers per edition are
 * in docs/influxdb.md#limits): a sentence to append to the server's message, or ''.
 */
export function limitHint(message: string): string {
  const db = /Adding a new database would exceed limit of (\d+) databases/.exec(message);
  if (db) {
    return (
      ` — hint: this InfluxDB 3 holds at most ${db[1]} databases (Core 5, Enterprise 100), the meta database ` +
      `(--meta-db, powerview_meta) included, and every company is a database: remove a database no longer used, ` +
      `point --meta-db at an existing one or '' (no meta summaries), or move to InfluxDB 3 Enterprise ` +
      `(docs/influxdb.md#limits)`
    );
  }
  const columns = /exceed number of (tag )?columns per table limit of (\d+) columns/.exec(message);
  if (columns) {
    return (
      ` — hint: a table of InfluxDB 3 holds at most ${columns[2]} ${columns[1] ? 'tag ' : ''}columns, and this ` +
      `company's ` +
      `measurement "electrical" has one field column per device channel (plus 10 tags and time): its devices' ` +
      `channels ` +
      `exceed the limit. Files of devices already in the table still land; split the company, or see ` +
      `docs/influxdb.md#limits`
    );
  }
  if (/exceed number of tables limit/.test(message)) {
    return (
      ' — hint: InfluxDB 3 limits the tables across all databases (Core 2,000, Enterprise 10,000 by default, ' +
      '--num-table-limit): see docs/influxdb.md#limits'
    );
  }
  if (/exceed the field (family )?limit/.test(message))
    return ' — hint: a field-family limit of InfluxDB 3 (3.10+): see docs/influxdb.md#limits';
  return '';
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * The rejection of one file's lines (or of one segment of them), from what the server answered: STORE_PARTIAL when
 * some lines were stored — the file is not "rejected as a whole" — STORE_REJECTED when none were; the refused
 * lines by the file's own numbers when the server named them, the server's message otherwise; a limit's hint.
 */
export function rejectionOf(args: {
  first: StoreError;
  lines: number;
  stored: number;
  refused: RefusedLine[];
  refusedCount: number;
}): StoreError {
  const { first, lines, stored, refused, refusedCount } = args;
  const reasons = refused.length
    ? refused
        .slice(0, 5)
        .map((r) => `line ${r.line}: ${r.error}`)
        .join('; ') + (refusedCount > 5 ? `; … (${count(refusedCount - 5)} more)` : '')
    : serverMessage(first.body) || first.message;
  const hint = limitHint(refused.length ? refused.map((r) => r.error).join('\n') : `${first.body}\n${first.message}`);
  const head =
    stored > 0
      ? `InfluxDB stored ${count(stored)} of ${count(lines)} lines and refused ${count(lines - stored)} (HTTP ` +
        `${first.status})`
      : `InfluxDB rejected lines (HTTP ${first.status})`;
  return new StoreError(
    stored > 0 ? ErrorCodes.STORE_PARTIAL : ErrorCodes.STORE_REJECTED,
    `${head}: ${reasons}${hint}`,
    {
      status: first.status,
      body: first.body,
      lines: refused.length ? refused.slice(0, 20).map((r) => r.text) : first.lines,
    },
  );
}

/**
 * The partial write's refused lines placed on the segments they came from, by line number, without sending
 * anything again (the rest was stored); null when the numbers do not fit this body (past its end, or a line whose
 * `original_line` does not begin like ours): the caller falls back to treating the request as refused whole.
 */
function placeRefusedLines<F>(
  errors: LineError[],
  body: Uint8Array,
  segments: Segment<F>[],
  reply: Reply,
): SegmentOutcome<F>[] | null {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const total = segments.reduce((n, s) => n + s.lines, 0);
  const wanted = [...new Set(errors.map((e) => e.line_number))].sort((a, b) => a - b);
  if (wanted[wanted.length - 1] > total) return null;
  // one pass over the body: where each wanted line starts and ends
  const at = new Map<number, [number, number]>();
  let line = 1;
  let pos = 0;
  for (const n of wanted) {
    for (; line < n; line++) pos = buf.indexOf(10, pos) + 1;
    const nl = buf.indexOf(10, pos);
    at.set(n, [pos, nl < 0 ? buf.length : nl]);
  }
  const byNumber = new Map(errors.map((e) => [e.line_number, e]));
  for (const [n, [from, to]] of at) {
    const sent = byNumber.get(n)!.original_line;
    if (sent === undefined) continue;
    const theirs = Buffer.from(sent);
    const k = Math.min(20, theirs.length, to - from);
    if (k > 0 && !buf.subarray(from, from + k).equals(theirs.subarray(0, k))) return null;
  }
  const kept = bodyOf(reply);
  const out: SegmentOutcome<F>[] = [];
  let before = 0;
  for (const s of segments) {
    const refused: RefusedLine[] = [];
    for (const n of wanted) {
      if (n <= before || n > before + s.lines) continue;
      const [from, to] = at.get(n)!;
      refused.push({
        line: (s.firstLine ?? 1) + (n - before) - 1,
        error: byNumber.get(n)!.error_message,
        text: buf.subarray(from, to).toString(),
      });
    }
    const stored = s.lines - refused.length;
    const rejection = refused.length
      ? rejectionOf({
          first: new StoreError(ErrorCodes.STORE_REJECTED, serverMessage(reply.body), {
            status: reply.status,
            body: kept,
          }),
          lines: s.lines,
          stored,
          refused,
          refusedCount: refused.length,
        })
      : null;
    out.push({ segment: s, rejection, stored, refused });
    before += s.lines;
  }
  return out;
}

/** An error body kept with a rejection: the first 64 KiB (a partial write of many lines is read whole, kept short). */
function bodyOf(reply: Reply): string {
  return reply.body.length > MAX_KEPT_BODY ? reply.body.slice(0, MAX_KEPT_BODY) : reply.body;
}

const MAX_KEPT_BODY = 64 * 1024;

/**
 * Sends batches of line protocol with the retry rules of docs/architecture.md#influxdb-output: 429/503
 * honour Retry-After, 5xx and network errors back off exponentially with
 * jitter, a missing database is created, 413 (and 3.x's 500 "max request
 * size") splits the batch, any other 4xx is a rejection kept with the
 * server's message and the lines it named — InfluxDB 3's partial writes
 * by line number, on the files they came from, without sending again what
 * was stored. A database the server refuses to create (400/422: its name,
 * a limit) fails the files of that database only.
 * Throws StoreError(STORE_UNAVAILABLE) when the store wait runs out and
 * StoreError(STORE_AUTH) on 401/403: both stop the run, no file is blamed.
 */
export class InfluxWriter {
  private readonly http: InfluxHttp;
  private readonly policy: Required<RetryPolicy>;
  private readonly hooks: WriterHooks;
  private readonly gzip: boolean;
  private readonly known = new Set<string>();
  private stopped: StoreError | null = null;
  /** wakes every request waiting for its next attempt when the run stops */
  private readonly stopping = new AbortController();

  constructor(http: InfluxHttp, policy: RetryPolicy, hooks: WriterHooks = {}) {
    this.http = http;
    this.gzip = http.config.gzip;
    this.policy = {
      baseDelayMs: BACKOFF.influxWrite.baseMs,
      maxDelayMs: BACKOFF.influxWrite.maxMs,
      waitOutCredentials: false,
      ...policy,
    };
    this.hooks = hooks;
  }

  /** The run is over (a store failure stopped it): requests still retrying give up now. */
  stop(reason: StoreError): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.stopping.abort();
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
    if (reply.status === 400 || reply.status === 422) {
      const message = serverMessage(reply.body);
      return new StoreError(
        ErrorCodes.STORE_REJECTED,
        `InfluxDB refused to create database "${db}" (HTTP ${reply.status}): ${message}${limitHint(message)}`,
        {
          status: reply.status,
          body: bodyOf(reply),
        },
      );
    }
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
    if (refusedDb) return segments.map((segment) => ({ segment, rejection: refusedDb, stored: 0, refused: [] }));
    const lines = segments.reduce((s, g) => s + g.lines, 0);
    const payload = this.gzip ? await gzip(body, { level: zlibConstants.Z_BEST_SPEED }) : body;
    let reply = await this.retrying(db, () =>
      this.timed(lines, payload.length, () => this.http.write(db, payload, this.gzip, precision)),
    );
    if (reply.status === 404 && /not found/i.test(reply.body)) {
      // dropped behind our back (or created by an earlier run and removed): create it again, once
      this.known.delete(db);
      this.hooks.onRetry?.('database_missing', db, 0, serverMessage(reply.body));
      const refused = await this.ensureDatabase(db);
      if (refused) return segments.map((segment) => ({ segment, rejection: refused, stored: 0, refused: [] }));
      reply = await this.retrying(db, () =>
        this.timed(lines, payload.length, () => this.http.write(db, payload, this.gzip, precision)),
      );
    }
    if (reply.status >= 200 && reply.status < 300)
      return segments.map((segment) => ({ segment, rejection: null, stored: segment.lines, refused: [] }));
    if (reply.status < 400) {
      // a redirect or an informational status is no answer about the lines: a misconfigured URL
      this.failReply(
        reply,
        `unexpected reply to a write${reply.status >= 300 ? ': does INFLUX_URL point at a redirect?' : ''}`,
      );
    }
    if (reply.status === 401 || reply.status === 403) this.failReply(reply, 'InfluxDB refused the credentials');
    if (tooLarge(reply) && lines > 1) return this.split(db, body, segments, precision);
    // InfluxDB 3 named the lines it refused and stored the others: each refused line goes to its file, nothing is sent
    // again
    const named = partialWriteErrors(reply);
    const placed = named ? placeRefusedLines(named, body, segments, reply) : null;
    if (placed) return placed;
    if (segments.length > 1 && wholeRequestRefusal(reply)) return rejectAll(segments, reply, null);
    if (segments.length > 1) {
      // which file's lines were refused? send each file's part alone (a repeated point is an
      // overwrite), one after another: this request already holds its in-flight slot
      const out: SegmentOutcome<F>[] = [];
      for (const s of segments) {
        const [o] = await this.send(
          db,
          body.subarray(s.start, s.end),
          [{ ...s, start: 0, end: s.end - s.start }],
          precision,
        );
        out.push({ ...o, segment: s });
      }
      return out;
    }
    const refused = rejectedLines(reply.body);
    return rejectAll(segments, reply, (refused.length ? refused : linesWithField(reply.body, body)).slice(0, 20));
  }

  /** 413: halves on a line boundary, each half sent on its own. */
  private async split<F>(
    db: string,
    body: Uint8Array,
    segments: Segment<F>[],
    precision: 's' | 'ns',
  ): Promise<SegmentOutcome<F>[]> {
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    let cut = buf.indexOf(10, Math.floor(buf.length / 2));
    if (cut < 0 || cut + 1 >= buf.length) cut = buf.lastIndexOf(10, Math.floor(buf.length / 2) - 1);
    if (cut < 0) cut = buf.indexOf(10);
    const at = cut + 1;
    const halves: Array<[number, number]> = [
      [0, at],
      [at, buf.length],
    ];
    const out: SegmentOutcome<F>[] = [];
    for (const [from, to] of halves) {
      const part: Segment<F>[] = [];
      for (const s of segments) {
        const a = Math.max(s.start, from);
        const b = Math.min(s.end, to);
        if (a < b) {
          // the part's first line keeps its number in the file
          const skipped = countLines(buf, s.start, a);
          part.push({
            file: s.file,
            start: a - from,
            end: b - from,
            lines: countLines(buf, a, b),
            firstLine: (s.firstLine ?? 1) + skipped,
          });
        }
      }
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

  /** Retries network errors and transient statuses until the store wait runs out. */
  async retrying(db: string, call: () => Promise<Reply>, options: { retry403?: boolean } = {}): Promise<Reply> {
    const deadline = Date.now() + this.policy.storeWaitMs;
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw this.stopped;
      let cause: RetryCause;
      let detail: string;
      let hinted: number | null = null;
      try {
        const reply = await call();
        const refused = reply.status === 401 || (reply.status === 403 && options.retry403 !== false);
        if (!refused && reply.status < 500 && reply.status !== 408 && reply.status !== 429)
          this.hooks.onCredentialsAccepted?.();
        const transient = tooLarge(reply)
          ? null
          : refused && this.policy.waitOutCredentials
            ? 'credentials'
            : transientCause(reply.status);
        if (!transient) return reply;
        cause = transient;
        detail = `HTTP ${reply.status}: ${serverMessage(reply.body)}`;
        hinted = retryAfterMs(reply.retryAfter);
      } catch (err) {
        if (err instanceof StoreError) throw err;
        const code = (err as { code?: string }).code ?? '';
        cause = /TIMEOUT/.test(code) ? 'timeout' : 'network';
        detail = `${code ? `${code}: ` : ''}${errorMessage(err)}`;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new StoreError(
          ErrorCodes.STORE_UNAVAILABLE,
          `InfluxDB unavailable for ${Math.round(this.policy.storeWaitMs / 1000)} s (${attempt + 1} attempts; last: ` +
            `${detail})`,
        );
      }
      const jittered = backoffDelay({ baseMs: this.policy.baseDelayMs, maxMs: this.policy.maxDelayMs }, attempt);
      // Retry-After: 0 (or a past date) still waits the first backoff step: no request storm
      const delay = Math.min(left, hinted !== null ? Math.max(hinted, this.policy.baseDelayMs) : jittered);
      this.hooks.onRetry?.(cause, db, delay, detail);
      await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => {});
    }
  }

  private failReply(reply: Reply, what: string): never {
    const code = reply.status === 401 || reply.status === 403 ? ErrorCodes.STORE_AUTH : ErrorCodes.STORE_REJECTED;
    throw new StoreError(code, `${what} (HTTP ${reply.status}): ${serverMessage(reply.body)}`, {
      status: reply.status,
      body: reply.body,
    });
  }
}

function countLines(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(10, from); i >= 0 && i < to; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Outcomes of split parts → one per original segment: stored and refused lines added up, the first
 * rejection kept.
 */
function mergeOutcomes<F>(segments: Segment<F>[], parts: SegmentOutcome<F>[]): SegmentOutcome<F>[] {
  return segments.map((segment) => {
    const mine = parts.filter((p) => p.segment.file === segment.file);
    const stored = mine.reduce((n, p) => n + p.stored, 0);
    const refused = mine.flatMap((p) => p.refused);
    const first = mine.find((p) => p.rejection)?.rejection ?? null;
    // counted again over the whole segment: a part stored, another refused is a partial write of the segment
    const rejection =
      first && (stored > 0 || refused.length > 0)
        ? rejectionOf({ first, lines: segment.lines, stored, refused, refusedCount: refused.length })
        : first;
    return { segment, rejection, stored, refused };
  });
}

/** Every segment of the request fails with the store's rejection (first refused lines, when known). */
function rejectAll<F>(segments: readonly Segment<F>[], reply: Reply, lines: string[] | null): SegmentOutcome<F>[] {
  const message = serverMessage(reply.body);
  const rejection = new StoreError(
    ErrorCodes.STORE_REJECTED,
    `InfluxDB rejected lines (HTTP ${reply.status}): ${message}${limitHint(message)}`,
    { status: reply.status, body: bodyOf(reply), ...(lines ? { lines } : {}) },
  );
  return segments.map((segment) => ({ segment, rejection, stored: 0, refused: [] }));
}
