import { Pool } from 'undici';
import { ErrorCodes, StoreError } from '../errors.js';
import type { InfluxConfig } from './config.js';

/** What InfluxDB answered to one request. */
export interface Reply {
  status: number;
  /** `Retry-After` as received, when present */
  retryAfter: string | null;
  body: string;
}

const MAX_ERROR_BODY = 64 * 1024;

/**
 * The three InfluxDB HTTP API shapes over one keep-alive undici Pool:
 * writes, database/bucket creation, and the point counts behind --verify.
 * Network failures throw (the caller retries); HTTP statuses are returned.
 */
export class InfluxHttp {
  readonly config: Readonly<InfluxConfig>;
  private readonly pool: Pool;
  /** the path prefix of INFLUX_URL ("" or e.g. "/influx") */
  readonly basePath: string;
  private orgId: string | null = null;

  constructor(config: Readonly<InfluxConfig>, connections = config.concurrency + 2) {
    this.config = config;
    const url = new URL(config.url);
    this.basePath = url.pathname === '/' ? '' : url.pathname;
    this.pool = new Pool(url.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: config.requestTimeoutMs,
      bodyTimeout: config.requestTimeoutMs,
      connectTimeout: 10_000,
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private authHeader(): string | undefined {
    const c = this.config;
    if (c.api === 'v3') return `Bearer ${c.token}`;
    if (c.api === 'v2') return `Token ${c.token}`;
    if (c.username !== undefined) return `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    if (c.token) return `Token ${c.token}`;
    return undefined;
  }

  writePath(db: string, precision: 's' | 'ns' = 's'): string {
    const q = new URLSearchParams();
    switch (this.config.api) {
      case 'v1':
        q.set('db', db);
        q.set('precision', precision);
        return `${this.basePath}/write?${q}`;
      case 'v2':
        q.set('org', this.config.org!);
        q.set('bucket', db);
        q.set('precision', precision);
        return `${this.basePath}/api/v2/write?${q}`;
      case 'v3':
        q.set('db', db);
        q.set('precision', precision === 's' ? 'second' : 'nanosecond');
        return `${this.basePath}/api/v3/write_lp?${q}`;
    }
  }

  async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: Uint8Array | string,
    headers: Record<string, string> = {},
    maxErrorBody = MAX_ERROR_BODY,
  ): Promise<Reply> {
    const auth = this.authHeader();
    const res = await this.pool.request({
      method,
      path,
      body,
      headers: { ...(auth ? { authorization: auth } : {}), ...headers },
    });
    let text = '';
    if (res.statusCode === 204) await res.body.dump();
    else text = await readLimited(res.body, res.statusCode === 200 || res.statusCode === 201 ? Infinity : maxErrorBody);
    const ra = res.headers['retry-after'];
    return { status: res.statusCode, retryAfter: Array.isArray(ra) ? (ra[0] ?? null) : (ra ?? null), body: text };
  }

  /** Is InfluxDB answering? (`/ping`: 204 on 1.x, 2.x and 3.x; no database touched) */
  async ping(): Promise<boolean> {
    try {
      const r = await this.request('GET', `${this.basePath}/ping`);
      return r.status >= 200 && r.status < 300;
    } catch {
      return false;
    }
  }

  /** One write request; `gzipped` says the body is already compressed. */
  write(db: string, body: Uint8Array, gzipped: boolean, precision: 's' | 'ns' = 's'): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (gzipped) headers['content-encoding'] = 'gzip';
    // an InfluxDB 3 partial write lists every refused line (before 3.6 each whole): read such a reply whole
    const maxErrorBody = Math.max(MAX_ERROR_BODY, 2 * this.config.batchBytes + 150 * this.config.batchLines);
    return this.request('POST', this.writePath(db, precision), body, headers, maxErrorBody);
  }

  /** Creates the database (v1, v3) or bucket (v2) when missing; idempotent. Returns the reply that settled it. */
  async createDatabase(db: string): Promise<Reply> {
    switch (this.config.api) {
      case 'v1': {
        const q = new URLSearchParams({ q: `CREATE DATABASE ${quoteIdent(db)}` });
        return this.request('POST', `${this.basePath}/query`, q.toString(), {
          'content-type': 'application/x-www-form-urlencoded',
        });
      }
      case 'v2': {
        const orgId = await this.v2OrgId();
        if (typeof orgId !== 'string') return orgId;
        const found = await this.v2FindBucket(db);
        if ('status' in found) return found;
        if ('id' in found) return found.reply;
        const made = await this.request(
          'POST',
          `${this.basePath}/api/v2/buckets`,
          JSON.stringify({ orgID: orgId, name: db, retentionRules: [] }),
          { 'content-type': 'application/json' },
        );
        // created by someone else meanwhile: 422 {"code":"conflict","message":"bucket with name x already exists"}
        // (tenant/error_bucket.go BucketAlreadyExistsError, EConflict → 422 in kit/transport/http/error_handler.go)
        return v2Conflict(made) ? { ...made, status: 200 } : made;
      }
      case 'v3': {
        const made = await this.request('POST', `${this.basePath}/api/v3/configure/database`, JSON.stringify({ db }), {
          'content-type': 'application/json',
        });
        return made.status === 409 ? { ...made, status: 200 } : made;
      }
    }
  }

  /** v2: the ID of INFLUX_ORG (looked up once), or the reply that failed. */
  async v2OrgId(): Promise<string | Reply> {
    if (this.orgId) return this.orgId;
    const reply = await this.request(
      'GET',
      `${this.basePath}/api/v2/orgs?${new URLSearchParams({ org: this.config.org! })}`,
    );
    if (reply.status !== 200) return reply;
    const orgs = (JSON.parse(reply.body) as { orgs?: Array<{ id: string; name: string }> }).orgs ?? [];
    const org = orgs.find((o) => o.name === this.config.org);
    if (!org) {
      throw new StoreError(
        ErrorCodes.STORE_REJECTED,
        `InfluxDB organisation "${this.config.org}" not found (INFLUX_ORG)`,
        {
          status: 404,
          body: reply.body,
        },
      );
    }
    this.orgId = org.id;
    return org.id;
  }

  /**
   * v2: the bucket named `name` in INFLUX_ORG — `{ id, reply }` when it exists,
   * `{ absent, reply }` when not; the failed reply itself otherwise.
   */
  async v2FindBucket(name: string): Promise<{ id: string; reply: Reply } | { absent: true; reply: Reply } | Reply> {
    const orgId = await this.v2OrgId();
    if (typeof orgId !== 'string') return orgId;
    const reply = await this.request(
      'GET',
      `${this.basePath}/api/v2/buckets?${new URLSearchParams({ orgID: orgId, name })}`,
    );
    // 2.0–2.7 answer a name that is not there with 404
    // {"code":"not found","message":"bucket \"x\" not found"}, not an
    // empty list: a name and an orgID make FindBuckets a GetBucketByName (tenant/service_bucket.go FindBuckets,
    // tenant/storage_bucket.go GetBucketByName → ErrBucketNotFoundByName, ENotFound → 404 in
    // kit/transport/http/error_handler.go). Any other 404 (no such route: not a 2.x server) is the failed reply.
    if (reply.status === 404 && v2ErrorCode(reply) === 'not found') return { absent: true, reply };
    if (reply.status !== 200) return reply;
    const bucket = ((JSON.parse(reply.body) as { buckets?: Array<{ id: string; name: string }> }).buckets ?? []).find(
      (b) => b.name === name,
    );
    return bucket ? { id: bucket.id, reply } : { absent: true, reply };
  }

  /**
   * Points of one device's series in [from, to] (epoch seconds, inclusive):
   * InfluxQL (v1), Flux (v2) or SQL (v3). Returns the count, or the reply when it failed.
   */
  async countPoints(
    db: string,
    measurement: string,
    tags: Record<string, string>,
    from: number,
    to: number,
  ): Promise<number | Reply> {
    switch (this.config.api) {
      case 'v1': {
        const where = Object.entries(tags).map(([k, v]) => `${quoteIdent(k)} = ${quoteString(v)}`);
        where.push(`time >= ${from}s`, `time <= ${to}s`);
        const q = `SELECT count(*) FROM ${quoteIdent(measurement)} WHERE ${where.join(' AND ')}`;
        const reply = await this.request(
          'POST',
          `${this.basePath}/query?${new URLSearchParams({ db, epoch: 's' })}`,
          new URLSearchParams({ q }).toString(),
          {
            'content-type': 'application/x-www-form-urlencoded',
          },
        );
        if (reply.status !== 200) return reply;
        return sumInfluxQLCounts(reply.body);
      }
      case 'v2': {
        const filters = Object.entries(tags).map(([k, v]) => `r[${JSON.stringify(k)}] == ${JSON.stringify(v)}`);
        const flux =
          `from(bucket: ${JSON.stringify(db)}) |> range(start: ${from}, stop: ${to + 1})` +
          ` |> filter(fn: (r) => r._measurement == ${JSON.stringify(measurement)}` +
          filters.map((f) => ` and ${f}`).join('') +
          ')' +
          ` |> group() |> count()`;
        const reply = await this.request(
          'POST',
          `${this.basePath}/api/v2/query?${new URLSearchParams({ org: this.config.org! })}`,
          JSON.stringify({ query: flux, type: 'flux', dialect: { header: true, annotations: [] } }),
          { 'content-type': 'application/json', accept: 'application/csv' },
        );
        if (reply.status !== 200) return reply;
        return sumFluxCsvCounts(reply.body);
      }
      case 'v3': {
        const where = Object.entries(tags).map(([k, v]) => `${sqlIdent(k)} = ${sqlString(v)}`);
        where.push(`time >= to_timestamp_seconds(${from})`, `time <= to_timestamp_seconds(${to})`);
        const sql = `SELECT count(*) AS n FROM ${sqlIdent(measurement)} WHERE ${where.join(' AND ')}`;
        const reply = await this.request(
          'POST',
          `${this.basePath}/api/v3/query_sql`,
          JSON.stringify({ db, q: sql, format: 'json' }),
          {
            'content-type': 'application/json',
          },
        );
        if (reply.status !== 200) return reply;
        const rows = JSON.parse(reply.body) as Array<{ n: number | string }>;
        return rows.reduce((s, r) => s + Number(r.n), 0);
      }
    }
  }
}

/**
 * The `code` of an InfluxDB 2.x error body (`{"code": "...", "message": "..."}`, kit/transport/http/api.go ErrBody;
 * the same code travels in the X-Platform-Error-Code header), or null.
 */
export function v2ErrorCode(reply: Reply): string | null {
  try {
    const code = (JSON.parse(reply.body) as { code?: unknown }).code;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}

/**
 * 2.x "already exists": every conflict (EConflict) is 422 Unprocessable Entity with code "conflict", never 409
 * (kit/transport/http/error_handler.go influxDBErrorToStatusCode, the same in v2.0.0 and v2.7.x): a bucket
 * (tenant/error_bucket.go), a v1 authorization's token name (v1/authorization/error.go ErrTokenAlreadyExistsError),
 * a DBRP mapping (dbrp/error.go ErrDBRPAlreadyExists).
 */
export function v2Conflict(reply: Reply): boolean {
  return reply.status === 422 && v2ErrorCode(reply) === 'conflict';
}

async function readLimited(body: AsyncIterable<Buffer> & { dump(): Promise<void> }, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) parts.push(chunk);
    size += chunk.length;
  }
  const text = Buffer.concat(parts).toString('utf8');
  return size > limit ? text.slice(0, limit) : text;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `SELECT count(*)` answers one column per field (`count_<field>`): their sum is the number of points. */
export function sumInfluxQLCounts(body: string): number {
  const parsed = JSON.parse(body) as {
    results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }>;
  };
  let total = 0;
  for (const result of parsed.results ?? []) {
    if (result.error) throw new Error(`InfluxQL: ${result.error}`);
    for (const series of result.series ?? []) {
      for (const row of series.values) {
        series.columns.forEach((col, i) => {
          if (col !== 'time' && typeof row[i] === 'number') total += row[i];
        });
      }
    }
  }
  return total;
}

/** Flux CSV without annotations: the `_value` column of every row. */
export function sumFluxCsvCounts(body: string): number {
  const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return 0;
  const header = lines[0].split(',');
  const col = header.indexOf('_value');
  if (col < 0) return 0;
  let total = 0;
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    if (cells[col] === '_value') continue; // a second table's header
    total += Number(cells[col]) || 0;
  }
  return total;
}
