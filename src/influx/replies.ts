import { jsonObject, type Reply } from './transport.js';

/**
 * What an InfluxDB reply means, read from its status and body: may the same request succeed later, is the batch
 * too large, which lines did the server name, what is its message.
 */

/** Why a request is tried again (metrics label). */
export type RetryCause = 'network' | 'throttled' | 'server_error' | 'timeout' | 'database_missing' | 'credentials';

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
export function transientCause(status: number): RetryCause | null {
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
  const j = jsonObject(body) as { error?: unknown; message?: unknown; data?: unknown } | null;
  if (j && typeof j.message === 'string') return j.message;
  if (j && typeof j.error === 'string') {
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
export interface LineError {
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
  const j = jsonObject(reply.body);
  if (!j || typeof j.error !== 'string' || !/partial write/i.test(j.error) || !Array.isArray(j.data)) return null;
  if (j.data.length === 0) return null;
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
}

/**
 * InfluxDB 3 refusing the request as a whole, not a line of it: `{"error": …, "data": null}` (http.rs
 * ErrorMessage<()>: the database limit, a database name it refuses). Every part of the batch would get the same
 * answer: no use sending each file's part alone.
 */
export function wholeRequestRefusal(reply: Reply): boolean {
  if (reply.status !== 400 && reply.status !== 422) return false;
  const j = jsonObject(reply.body);
  return j !== null && typeof j.error === 'string' && 'data' in j && j.data === null;
}

/**
 * InfluxDB 1.x's partial write: 400 `{"error":"partial write: … dropped=N"}`. The other lines of the request were
 * stored; refused are those it could not parse (each quoted after `unable to parse '`) and the `dropped=N` ones
 * (a field type conflict, a point beyond the retention policy). Their number; null when the reply is not one (a
 * request refused whole names no `partial write`).
 */
export function v1PartialRefused(reply: Reply): number | null {
  if (reply.status !== 400) return null;
  const j = jsonObject(reply.body) as { error?: unknown } | null;
  if (!j || typeof j.error !== 'string' || !j.error.startsWith('partial write:')) return null;
  const unparsable = j.error.split("unable to parse '").length - 1;
  const dropped = Number(/dropped=(\d+)/.exec(j.error)?.[1] ?? 0);
  return unparsable + dropped;
}
