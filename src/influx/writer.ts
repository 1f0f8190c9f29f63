import { promisify } from 'node:util';
import { gzip as gzipCb, constants as zlibConstants } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, StoreError, errorMessage } from '../errors.js';
import { jitteredBackoff } from '../pipeline/flow.js';
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
}

export type SegmentOutcome<F> = { segment: Segment<F>; rejection: StoreError | null };

/**
 * "Too large" replies: 413 (1.x, 2.x), and InfluxDB 3's 500 "max request
 * size (N bytes) exceeded": the batch is split, never retried as it is.
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
        const reasons = (j.data as Array<{ line_number?: unknown; error_message?: unknown }>)
          .filter((d) => typeof d?.error_message === 'string')
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
  const m = /input field \\?"((?:[^"\\]|\\.)+?)\\?" on measurement \\?"((?:[^"\\]|\\.)+?)\\?"/.exec(serverMessage(body));
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

/**
 * Sends batches of line protocol with the retry rules of DESIGN §3: 429/503
 * honour Retry-After, 5xx and network errors back off exponentially with
 * jitter, a missing database is created, 413 splits the batch, any other 4xx
 * is a rejection kept with the server's message and the lines it named.
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
    this.policy = { baseDelayMs: 250, maxDelayMs: 5000, waitOutCredentials: false, ...policy };
    this.hooks = hooks;
  }

  /** The run is over (a store failure stopped it): requests still retrying give up now. */
  stop(reason: StoreError): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.stopping.abort();
  }

  /** Creates the database unless this writer already did; retried like a write. */
  async ensureDatabase(db: string): Promise<void> {
    if (this.known.has(db)) return;
    // 403 here is a user that may write but not create databases (below), not a refused login
    const reply = await this.retrying(db, () => this.http.createDatabase(db), { retry403: false });
    // 403: a user allowed to write but not to create databases (1.x non-admin): the database
    // may well exist; the write says if it does not
    if (reply.status >= 300 && reply.status !== 403) this.failReply(reply, `cannot create database "${db}"`);
    this.known.add(db);
  }

  /**
   * Writes `body` (whole lines) to `db`. Resolves with one outcome per segment
   * once the store acknowledged or rejected every line.
   */
  async send<F>(db: string, body: Uint8Array, segments: Segment<F>[], precision: 's' | 'ns' = 's'): Promise<SegmentOutcome<F>[]> {
    await this.ensureDatabase(db);
    const lines = segments.reduce((s, g) => s + g.lines, 0);
    const payload = this.gzip ? await gzip(body, { level: zlibConstants.Z_BEST_SPEED }) : body;
    let reply = await this.retrying(db, () => this.timed(lines, payload.length, () => this.http.write(db, payload, this.gzip, precision)));
    if (reply.status === 404 && /not found/i.test(reply.body)) {
      // dropped behind our back (or created by an earlier run and removed): create it again, once
      this.known.delete(db);
      this.hooks.onRetry?.('database_missing', db, 0, serverMessage(reply.body));
      await this.ensureDatabase(db);
      reply = await this.retrying(db, () => this.timed(lines, payload.length, () => this.http.write(db, payload, this.gzip, precision)));
    }
    if (reply.status >= 200 && reply.status < 300) return segments.map((segment) => ({ segment, rejection: null }));
    if (reply.status < 400) {
      // a redirect or an informational status is no answer about the lines: a misconfigured URL
      this.failReply(reply, `unexpected reply to a write${reply.status >= 300 ? ': does INFLUX_URL point at a redirect?' : ''}`);
    }
    if (reply.status === 401 || reply.status === 403) this.failReply(reply, 'InfluxDB refused the credentials');
    if (tooLarge(reply) && lines > 1) return this.split(db, body, segments, precision);
    if (segments.length > 1) {
      // which file's lines were refused? send each file's part alone (a repeated point is an
      // overwrite), one after another: this request already holds its in-flight slot
      const out: SegmentOutcome<F>[] = [];
      for (const s of segments) {
        const [o] = await this.send(db, body.subarray(s.start, s.end), [{ ...s, start: 0, end: s.end - s.start }], precision);
        out.push({ segment: s, rejection: o.rejection });
      }
      return out;
    }
    const message = serverMessage(reply.body);
    const rejection = new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB rejected lines (HTTP ${reply.status}): ${message}`, {
      status: reply.status,
      body: reply.body,
      lines: (() => {
        const named = rejectedLines(reply.body);
        return (named.length ? named : linesWithField(reply.body, body)).slice(0, 20);
      })(),
    });
    return segments.map((segment) => ({ segment, rejection }));
  }

  /** 413: halves on a line boundary, each half sent on its own. */
  private async split<F>(db: string, body: Uint8Array, segments: Segment<F>[], precision: 's' | 'ns'): Promise<SegmentOutcome<F>[]> {
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
        if (a < b) part.push({ file: s.file, start: a - from, end: b - from, lines: countLines(buf, a, b) });
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
        if (!refused && reply.status < 500 && reply.status !== 408 && reply.status !== 429) this.hooks.onCredentialsAccepted?.();
        const transient = tooLarge(reply) ? null : refused && this.policy.waitOutCredentials ? 'credentials' : transientCause(reply.status);
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
          `InfluxDB unavailable for ${Math.round(this.policy.storeWaitMs / 1000)} s (${attempt + 1} attempts; last: ${detail})`,
        );
      }
      const jittered = jitteredBackoff(attempt, this.policy.baseDelayMs, this.policy.maxDelayMs);
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

/** Outcomes of split parts → one per original segment (rejected when any part of it was). */
function mergeOutcomes<F>(segments: Segment<F>[], parts: SegmentOutcome<F>[]): SegmentOutcome<F>[] {
  return segments.map((segment) => {
    const rejected = parts.find((p) => p.segment.file === segment.file && p.rejection);
    return { segment, rejection: rejected?.rejection ?? null };
  });
}
