import { ErrorCodes, StoreError } from '../errors.js';
import { serverMessage } from './replies.js';
import type { Reply } from './transport.js';

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

const MAX_KEPT_BODY = 64 * 1024;

/** An error body kept with a rejection: the first 64 KiB (a partial write of many lines is read whole, kept short). */
export function bodyOf(reply: Reply): string {
  return reply.body.length > MAX_KEPT_BODY ? reply.body.slice(0, MAX_KEPT_BODY) : reply.body;
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

/**
 * The store refused a request as a whole (`what`: "InfluxDB rejected lines", …): STORE_REJECTED with the server's
 * message, a limit's hint, the body kept short, and the refused lines when known.
 */
export function storeRejection(what: string, reply: Reply, lines?: string[] | null): StoreError {
  const message = serverMessage(reply.body);
  return new StoreError(ErrorCodes.STORE_REJECTED, `${what} (HTTP ${reply.status}): ${message}${limitHint(message)}`, {
    status: reply.status,
    body: bodyOf(reply),
    ...(lines ? { lines } : {}),
  });
}

const count = (n: number): string => n.toLocaleString('en-US');

/** What a rejection is made of: the first one received, and the file's (or segment's) lines counted. */
export interface RejectionParts {
  first: StoreError;
  lines: number;
  stored: number;
  refused: RefusedLine[];
  refusedCount: number;
}

/**
 * The rejection of one file's lines (or of one segment of them), from what the server answered: STORE_PARTIAL when
 * some lines were stored — the file is not "rejected as a whole" — STORE_REJECTED when none were; the refused
 * lines by the file's own numbers when the server named them, the server's message otherwise; a limit's hint.
 */
export function rejectionOf(args: RejectionParts): StoreError {
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
 * The first rejection of a file's (or segment's) parts, counted again over the whole: lines stored by other parts,
 * or named beside the refused ones, make it a partial write; none (`first` null): every line stored.
 */
export function wholeRejection(parts: Omit<RejectionParts, 'first'> & { first: StoreError | null }): StoreError | null {
  const { first } = parts;
  return first && (parts.stored > 0 || parts.refusedCount > 0) ? rejectionOf({ ...parts, first }) : first;
}
