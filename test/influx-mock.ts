/**
 * An in-process InfluxDB stand-in (node:http on 127.0.0.1, port 0) that
 * answers the documented requests of the three write APIs the product speaks:
 *
 *  - InfluxDB 1.x: `POST /write`, `POST /query` (CREATE DATABASE, SELECT count(*))
 *  - InfluxDB OSS 2.x: `POST /api/v2/write`, orgs/buckets lookups and creation,
 *    `POST /api/v2/query` (a Flux `count()`, parsed with regular expressions)
 *    the v1-compatible authorizations of `influx v1 auth` (`/private/legacy/authorizations`),
 *    DBRP mappings (`/api/v2/dbrps`, virtual ones for every bucket as in 2.2+), and the 1.x
 *    `/query` and `/write` authenticated by such an authorization (user = its token name)
 *  - InfluxDB 3 Core: `POST /api/v3/write_lp`, `POST /api/v3/configure/database`,
 *    `POST /api/v3/query_sql` (a SQL `count(*)` or `SELECT 1`, parsed with regular expressions);
 *    with `v3Enterprise`, resource tokens (`POST /api/v3/enterprise/configure/token`,
 *    `DELETE /api/v3/configure/token`) honoured on query_sql, write_lp and the 1.x `/query` and `/write`
 *
 * It decodes gzip bodies, records every request, stores the points it accepted
 * (a minimal line protocol parser), and plays scripted faults: "the next N
 * requests answer S", "refuse connections for T ms", "answer 413 above X bytes",
 * reply delays and a gate that holds write replies back.
 *
 * Where each reply shape comes from (checked when this file was written):
 *  [v2-write]   https://docs.influxdata.com/influxdb/v2/api/write-data/  (POST /api/v2/write: org, bucket, precision;
 *               204; 400 LineProtocolError; 401; 404; 413 LineProtocolLengthError {code,message,maxLength}; 422; 429/503 + Retry-After)
 *  [v2-trouble] https://docs.influxdata.com/influxdb/v2/write-data/troubleshoot/  (OSS 2.x: 400 = the first malformed line,
 *               "All request data was rejected and not written"; 404 names the resource type and name; 422 = partial write,
 *               data not rejected is ingested)
 *  [v2-src]     influxdata/influxdb v2 sources: models/points.go `unable to parse '%s': %v` (failures joined by "\n");
 *               http/points/points_parser.go ErrMaxBatchSizeExceeded "points batch is too large" (size after gunzip);
 *               http/write_handler_test.go 413 body `{"code":"request too large","message":"unable to read data: points batch is too large"}`;
 *               kv/bucket.go BucketAlreadyExistsError (EConflict → HTTP 422) "bucket with name %s already exists"
 *  [v2-buckets-src] influxdata/influxdb v2.0.0–v2.7.x tenant/http_server_bucket.go handleGetBuckets → tenant/service_bucket.go
 *               FindBuckets: with a name and an orgID it is GetBucketByName (tenant/storage_bucket.go), whose miss is
 *               ErrBucketNotFoundByName (tenant/error_bucket.go, ENotFound): 404 {"code":"not found","message":"bucket \"x\" not found"}
 *  [v2-conflict] influxdata/influxdb v2.0.0–v2.7.x kit/transport/http/error_handler.go influxDBErrorToStatusCode: EConflict →
 *               422 Unprocessable Entity (not 409), body {"code":"conflict","message":…}, header X-Platform-Error-Code
 *  [v2-codes]   https://docs.influxdata.com/influxdb/v2/api/response-codes/  (201 created, 204, 401, 404, 413, 422, 429, 503)
 *  [v2-buckets] https://docs.influxdata.com/influxdb/v2/admin/buckets/create-bucket/  and the OSS v2 API spec it links
 *               (GET /api/v2/buckets?orgID=&name= → {links, buckets[]}; POST /api/v2/buckets {orgID,name,retentionRules}
 *               → 201 Bucket); GET /api/v2/orgs?org= → {links, orgs[]}; POST /api/v2/query?org= {query,type,dialect} → text/csv
 *               (annotations [] + header true: `,result,table,_value` rows)
 *  [v3-write]   https://docs.influxdata.com/influxdb3/core/write-data/http-api/v3-write-lp/  (POST /api/v3/write_lp?db=&precision=second;
 *               204; 400 {"error":"partial write of line protocol occurred","data":[{original_line,line_number,error_message}]},
 *               accept_partial defaults to true: the valid lines are written)
 *  [v3-src]     influxdata/influxdb influxdb3_server/src/http.rs (IntoResponse for Error): write to a missing database →
 *               404, text body `database not found "x"`; create an existing database → CatalogError::AlreadyExists → 409,
 *               text "attempted to create a resource that already exists"; POST /api/v3/configure/database → 200, empty body;
 *               unauthenticated → 401, empty body; RequestSizeExceeded has no arm of its own → 500
 *               "max request size (N bytes) exceeded"; query on a missing database → 404 {"error":…,"data":null}
 *  [v3-query]   https://docs.influxdata.com/influxdb3/core/query-data/execute-queries/influxdb-v3-api/  and
 *               https://docs.influxdata.com/influxdb3/core/api/query-data/  (POST /api/v3/query_sql {db,q,format:"json"} → JSON rows)
 *  [v2-legacy]  influxdata/influxdb v1/authorization/http_server.go, storage_authorization.go, error.go, authorizer.go:
 *               GET /private/legacy/authorizations?token=|id=|orgID= → 200 {links, authorizations[]} (service.go: a token
 *               or id filter that matches nothing → 404 "authorization not found"); POST {orgID, token,
 *               status, description, permissions} → 201 authorization (400 "token required for v1 user authorization type",
 *               422 {"code":"conflict","message":"token already exists"} [v2-conflict]); DELETE /{id} → 204; POST /{id}/password {password}
 *               → 204; 1.x credentials that fail (unknown name, wrong password, inactive) → 401 "Unauthorized"
 *  [v2-dbrp]    https://docs.influxdata.com/influxdb/v2/query-data/influxql/dbrp/  and the OSS spec (DBRP, DBRPCreate):
 *               GET /api/v2/dbrps?orgID=&db= → {content: DBRP[]}; POST {orgID, bucketID, database, retention_policy, default}
 *               → 201 DBRP; virtual mappings (2.2+): every bucket without an explicit one, database = bucket name, rp autogen.
 *  [v2-dbrp-src] influxdata/influxdb dbrp/service.go Create, dbrp/error.go: the same (org, database, rp) again → 422
 *               {"code":"conflict","message":"another DBRP mapping with same orgID, db, and rp exists"}
 *               Not taken from a source: the 403 this mock answers when an authorization lacks the bucket permission
 *               (the tests only rely on "refused, no data").
 *  [v3-tokens]  https://docs.influxdata.com/influxdb3/enterprise/admin/tokens/resource/create/  and .../api/auth-token/:
 *               POST /api/v3/enterprise/configure/token {token_name, permissions: [{resource_type: "db",
 *               resource_identifier: [db], actions}], expiry_secs?} → 201, the token string (shown once) and metadata;
 *               DELETE /api/v3/configure/token?token_name= → 200, 404 "token not found"; Core has no resource tokens
 *               (the create path answers 404). Not taken from a source (Enterprise is closed): the 409 for a name in
 *               use and the 403 for a token without the permission (the product only relies on "not 2xx").
 *  [v1-api]     https://docs.influxdata.com/influxdb/v1.7/tools/api/  (POST /write?db=&precision=; 204; 400 {"error":"partial write: …"};
 *               401 {"error":"authorization failed"}; 404 {"error":"database not found: \"x\""}; 413 "Request Entity Too Large";
 *               POST /query q=CREATE DATABASE … → 200 {"results":[{"statement_id":0}]})
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';

export type MockApi = 'v1' | 'v2' | 'v3' | 'other';

export interface RecordedRequest {
  /** 0-based arrival order */
  seq: number;
  method: string;
  /** path without the mock's base path and without the query string */
  path: string;
  /** the request target as received */
  url: string;
  api: MockApi;
  /** a line protocol write (`/write`, `/api/v2/write`, `/api/v3/write_lp`) */
  isWrite: boolean;
  query: Record<string, string>;
  /** lower-cased header names, as Node gives them */
  headers: Record<string, string | string[] | undefined>;
  /** body after gzip decoding */
  body: Buffer;
  text: string;
  /** bytes on the wire (before gunzip) */
  rawLength: number;
  gzipped: boolean;
  /** requests in flight (this one included) when it arrived; `writesInFlight` counts writes only */
  inFlight: number;
  writesInFlight: number;
  receivedAt: number;
  /** the answer, once sent */
  status?: number;
  answeredAt?: number;
}

export interface StoredPoint {
  db: string;
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, string>;
  /** nanoseconds since the epoch */
  time: bigint;
  line: string;
}

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** which requests it applies to: a RegExp tested on the path, or a predicate; default every request */
  match?: RegExp | ((req: RecordedRequest) => boolean);
}

export interface InfluxMockOptions {
  /** v2 `Token`, v3 `Bearer`, v1 `Token` accepted with this value; no auth checks when absent */
  token?: string;
  /** v1 Basic authentication (or u/p query parameters) */
  username?: string;
  password?: string;
  /** v2 organisation that exists; default "acme" */
  org?: string;
  orgId?: string;
  /** databases / buckets that exist at start */
  databases?: string[];
  /** write bodies (after gunzip) above this many bytes are refused: 413 (v1, v2) or 500 (v3, see [v3-src]) */
  maxBodyBytes?: number;
  /** every write reply waits this long */
  replyDelayMs?: number;
  /** prefix the product's URL carries (e.g. "/influx"): stripped before routing */
  basePath?: string;
  /**
   * v2 with unparsable lines: OSS 2.x rejects the whole request ([v2-trouble]); true stores the valid
   * lines (the partial-write behaviour of InfluxDB Cloud / 3.x v2-compatible endpoints).
   */
  v2PartialWrites?: boolean;
  /** v3 writes to a missing database create it (InfluxDB 3 Core does); false answers 404 */
  v3CreateOnWrite?: boolean;
  /** v2: points older than this (epoch seconds) are dropped with 422 "points beyond retention policy" */
  retentionCutoffS?: number;
  /** v2: every bucket has a virtual DBRP mapping (2.2+, the default); false: 2.0–2.1, only explicit ones */
  virtualDbrps?: boolean;
  /** v3: InfluxDB 3 Enterprise (resource tokens); default Core */
  v3Enterprise?: boolean;
}

/** An InfluxDB 3 Enterprise resource token ([v3-tokens]) */
export interface ResourceToken {
  id: number;
  name: string;
  token: string;
  databases: string[];
  actions: string[];
}

/** A v2 permission ([v2-legacy]) */
export interface MockPermission {
  action: 'read' | 'write';
  resource: { type: string; id?: string; orgID?: string };
}

/** A v1-compatible authorization of InfluxDB 2.x ([v2-legacy]); `password` null until one is set */
export interface LegacyAuth {
  id: string;
  token: string;
  status: 'active' | 'inactive';
  description: string;
  orgID: string;
  userID: string;
  permissions: MockPermission[];
  password: string | null;
}

export interface MockDbrp {
  id: string;
  orgID: string;
  bucketID: string;
  database: string;
  retention_policy: string;
  default: boolean;
  virtual?: boolean;
}

interface Bucket {
  id: string;
  orgID: string;
  type: 'user';
  name: string;
  retentionRules: unknown[];
  createdAt: string;
  updatedAt: string;
}

interface ParsedLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, string>;
  timestamp: string | null;
}

/** Minimal line protocol: returns the parsed line or the reason it is refused. */
export function parseLine(line: string): ParsedLine | { error: string } {
  // key: up to the first unescaped space
  let i = 0;
  while (i < line.length && !(line[i] === ' ' && line[i - 1] !== '\\')) i++;
  const key = line.slice(0, i);
  if (key === '') return { error: 'missing measurement' };
  if (i >= line.length) return { error: 'missing fields' };
  // field set: up to the next unescaped space outside a quoted string
  let j = i + 1;
  let quoted = false;
  for (; j < line.length; j++) {
    const c = line[j];
    if (c === '\\') {
      j++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (c === ' ' && !quoted) break;
  }
  const fieldText = line.slice(i + 1, j);
  const timestamp = j < line.length ? line.slice(j + 1).trim() : '';
  if (fieldText === '') return { error: 'missing fields' };
  if (quoted) return { error: 'unbalanced quotes' };
  const keyParts = splitUnescaped(key, ',', false);
  const measurement = keyParts[0];
  if (measurement === '') return { error: 'missing measurement' };
  const tags: Record<string, string> = {};
  for (const part of keyParts.slice(1)) {
    const eq = indexUnescaped(part, '=');
    if (eq <= 0 || eq === part.length - 1) return { error: 'missing tag value' };
    tags[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const fields: Record<string, string> = {};
  for (const part of splitUnescaped(fieldText, ',', true)) {
    const eq = indexUnescaped(part, '=');
    if (eq <= 0) return { error: 'missing fields' };
    const value = part.slice(eq + 1);
    if (value === '') return { error: 'missing field value' };
    if (!/^(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\d+[iu]|t|T|true|True|TRUE|f|F|false|False|FALSE|"(?:[^"\\]|\\.)*")$/.test(value)) {
      return { error: `invalid field format` };
    }
    fields[part.slice(0, eq)] = value;
  }
  if (timestamp !== '' && !/^-?\d+$/.test(timestamp)) return { error: 'bad timestamp' };
  return { measurement, tags, fields, timestamp: timestamp === '' ? null : timestamp };
}

function indexUnescaped(s: string, ch: string): number {
  for (let k = 0; k < s.length; k++) {
    if (s[k] === '\\') k++;
    else if (s[k] === ch) return k;
  }
  return -1;
}

function splitUnescaped(s: string, sep: string, quoteAware: boolean): string[] {
  const out: string[] = [];
  let from = 0;
  let quoted = false;
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if (c === '\\') {
      k++;
      continue;
    }
    if (quoteAware && c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(s.slice(from, k));
      from = k + 1;
    }
  }
  out.push(s.slice(from));
  return out;
}

const NS_PER: Record<string, bigint> = {
  ns: 1n,
  nanosecond: 1n,
  us: 1_000n,
  u: 1_000n,
  microsecond: 1_000n,
  ms: 1_000_000n,
  millisecond: 1_000_000n,
  s: 1_000_000_000n,
  second: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

function writePathApi(path: string): MockApi | null {
  if (path === '/write') return 'v1';
  if (path === '/api/v2/write') return 'v2';
  if (path === '/api/v3/write_lp') return 'v3';
  return null;
}

function apiOf(path: string): MockApi {
  if (path.startsWith('/api/v3/')) return 'v3';
  if (path.startsWith('/api/v2/') || path.startsWith('/private/')) return 'v2';
  if (path === '/write' || path === '/query') return 'v1';
  return 'other';
}

function jsonString(quoted: string): string {
  return JSON.parse(quoted) as string;
}

export class InfluxMock {
  readonly options: InfluxMockOptions;
  readonly requests: RecordedRequest[] = [];
  /** db → series key + time → point (a repeated point overwrites, as in InfluxDB) */
  private readonly store = new Map<string, Map<string, StoredPoint>>();
  /** every line a write stored, in order, repeats included */
  readonly acceptedLines: Array<{ db: string; line: string; seq: number }> = [];
  private readonly databases = new Set<string>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly faults: Array<Fault & { left: number }> = [];
  private readonly hooks: Array<{ match: (req: RecordedRequest) => boolean; fn: () => void | Promise<void> }> = [];
  /** v2 v1-compatible authorizations, by id */
  readonly legacyAuths = new Map<string, LegacyAuth>();
  /** v2 explicit DBRP mappings */
  readonly dbrps: MockDbrp[] = [];
  /** the legacy authorization a 1.x request authenticated with, by request seq */
  private readonly legacyOf = new Map<number, LegacyAuth>();
  /** v3 Enterprise resource tokens, by name */
  readonly resourceTokens = new Map<string, ResourceToken>();
  /** the resource token a request authenticated with, by request seq */
  private readonly resourceOf = new Map<number, ResourceToken>();
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private refusing: 'reset' | null = null;
  private closed = false;
  private gate: Promise<void> | null = null;
  private inFlight = 0;
  private writesInFlight = 0;
  private nextId = 1;
  port = 0;
  maxBodyBytes: number;
  replyDelayMs: number;
  maxInFlight = 0;
  maxWritesInFlight = 0;
  readonly org: string;
  readonly orgId: string;

  constructor(options: InfluxMockOptions = {}) {
    this.options = options;
    this.org = options.org ?? 'acme';
    this.orgId = options.orgId ?? '0a1b2c3d4e5f6789';
    this.maxBodyBytes = options.maxBodyBytes ?? Infinity;
    this.replyDelayMs = options.replyDelayMs ?? 0;
    for (const db of options.databases ?? []) this.createDatabase(db);
    this.server = this.makeServer();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${this.options.basePath ?? ''}`;
  }

  private makeServer(): Server {
    const server = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`mock failure: ${(err as Error)?.stack ?? err}`);
        } else res.destroy();
      });
    });
    server.on('connection', (socket: Socket) => {
      if (this.refusing) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.closed = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed.catch(() => {});
  }

  // ---- scripted behaviour -------------------------------------------------

  /** The next `times` requests the fault matches answer its status, headers and body. */
  failNext(times: number, fault: Fault): void {
    this.faults.push({ ...fault, left: times });
  }

  /**
   * "Meanwhile": the next request `match` accepts runs `fn` first (once), as if another client had acted
   * just before it arrived — a race played deterministically.
   */
  beforeNext(match: (req: RecordedRequest) => boolean, fn: () => void | Promise<void>): void {
    this.hooks.push({ match, fn });
  }

  /**
   * For `ms`, connections fail. `reset`: the server keeps listening but destroys every socket at once
   * (kept-alive ones included); `close`: the listener is closed (ECONNREFUSED) and reopened on the same port.
   * Resolves when the server accepts connections again.
   */
  async refuseFor(ms: number, how: 'reset' | 'close' = 'reset'): Promise<void> {
    if (how === 'reset') {
      this.refusing = 'reset';
      for (const s of this.sockets) s.destroy();
      await sleep(ms);
      this.refusing = null;
      return;
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
    await sleep(ms);
    if (this.closed) return;
    this.server = this.makeServer();
    await this.listen(this.port);
  }

  /** Write replies wait until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((r) => (release = r));
    return () => {
      this.gate = null;
      release();
    };
  }

  createDatabase(name: string): void {
    this.databases.add(name);
    if (!this.buckets.has(name)) {
      const now = new Date().toISOString();
      this.buckets.set(name, {
        id: (this.nextId++).toString(16).padStart(16, '0'),
        orgID: this.orgId,
        type: 'user',
        name,
        retentionRules: [],
        createdAt: now,
        updatedAt: now,
      });
    }
  }

  /** Drops a database/bucket and its points ("dropped behind the writer's back"). */
  dropDatabase(name: string): void {
    this.databases.delete(name);
    this.buckets.delete(name);
    this.store.delete(name);
  }

  hasDatabase(name: string): boolean {
    return this.databases.has(name);
  }

  points(db: string): StoredPoint[] {
    return [...(this.store.get(db)?.values() ?? [])];
  }

  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.isWrite);
  }

  /** Number of points of `db` matching measurement, tags and [fromNs, toNs] (inclusive). */
  count(db: string, measurement: string, tags: Record<string, string>, fromNs: bigint, toNs: bigint): number {
    return this.points(db).filter(
      (p) => p.measurement === measurement && Object.entries(tags).every(([k, v]) => p.tags[k] === v) && p.time >= fromNs && p.time <= toNs,
    ).length;
  }

  // ---- request handling ---------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.refusing) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.refusing) {
      req.socket.destroy();
      return;
    }
    const raw = Buffer.concat(chunks);
    const target = new URL(req.url ?? '/', 'http://mock');
    const base = this.options.basePath ?? '';
    let path = target.pathname;
    if (base && path.startsWith(base)) path = path.slice(base.length) || '/';
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    let body = raw;
    let gzipError: string | null = null;
    if (encoding === 'gzip') {
      try {
        body = gunzipSync(raw);
      } catch (err) {
        gzipError = (err as Error).message;
      }
    }
    const writeApi = writePathApi(path);
    const rec: RecordedRequest = {
      seq: this.requests.length,
      method: req.method ?? 'GET',
      path,
      url: req.url ?? '/',
      api: apiOf(path),
      isWrite: writeApi !== null && req.method === 'POST',
      query: Object.fromEntries(target.searchParams),
      headers: { ...req.headers },
      body,
      text: body.toString('utf8'),
      rawLength: raw.length,
      gzipped: encoding === 'gzip',
      inFlight: 0,
      writesInFlight: 0,
      receivedAt: performance.now(),
    };
    this.requests.push(rec);
    this.inFlight++;
    if (rec.isWrite) this.writesInFlight++;
    rec.inFlight = this.inFlight;
    rec.writesInFlight = this.writesInFlight;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.maxWritesInFlight = Math.max(this.maxWritesInFlight, this.writesInFlight);
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      this.inFlight--;
      if (rec.isWrite) this.writesInFlight--;
    };
    res.on('finish', () => {
      rec.answeredAt ??= performance.now();
      done();
    });
    res.on('close', done);
    const reply = (status: number, payload: string | object | null, headers: Record<string, string> = {}) => {
      rec.status = status;
      rec.answeredAt = performance.now();
      const text = payload === null ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
      const type = typeof payload === 'object' && payload !== null ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
      res.writeHead(status, { ...(text ? { 'content-type': type } : {}), ...headers });
      res.end(text);
    };

    if (rec.isWrite) {
      if (this.replyDelayMs > 0) await sleep(this.replyDelayMs);
      while (this.gate) await this.gate;
    }

    const hook = this.hooks.findIndex((h) => h.match(rec));
    if (hook >= 0) await this.hooks.splice(hook, 1)[0].fn();

    const fault = this.faults.find((f) => f.left > 0 && (f.match === undefined || (f.match instanceof RegExp ? f.match.test(path) : f.match(rec))));
    if (fault) {
      fault.left--;
      rec.status = fault.status;
      rec.answeredAt = performance.now();
      res.writeHead(fault.status, fault.headers ?? {});
      res.end(fault.body ?? '');
      return;
    }

    if (gzipError !== null) {
      if (rec.api === 'v2') return reply(400, { code: 'invalid', message: `unable to decode gzip body: ${gzipError}` });
      if (rec.api === 'v3') return reply(400, `error decoding gzip stream: ${gzipError}`);
      return reply(400, { error: `unable to decode gzip body: ${gzipError}` });
    }
    const authProblem = this.authenticate(rec);
    if (authProblem) return reply(authProblem.status, authProblem.body);

    if (rec.isWrite && body.length > this.maxBodyBytes) {
      if (writeApi === 'v2') {
        // [v2-write] LineProtocolLengthError / [v2-src] write_handler_test.go
        return reply(413, { code: 'request too large', message: 'unable to read data: points batch is too large', maxLength: this.maxBodyBytes });
      }
      if (writeApi === 'v3') return reply(500, `max request size (${this.maxBodyBytes} bytes) exceeded`); // [v3-src]
      return reply(413, { error: 'Request Entity Too Large' }); // [v1-api]
    }

    const route = `${rec.method} ${path}`;
    switch (route) {
      case 'POST /write':
        return this.writeV1(rec, reply);
      case 'POST /query':
      case 'GET /query':
        return this.queryV1(rec, reply);
      case 'POST /api/v2/write':
        return this.writeV2(rec, reply);
      case 'GET /api/v2/orgs':
        return this.orgsV2(rec, reply);
      case 'GET /api/v2/buckets':
        return this.listBucketsV2(rec, reply);
      case 'POST /api/v2/buckets':
        return this.createBucketV2(rec, reply);
      case 'POST /api/v2/query':
        return this.queryV2(rec, reply);
      case 'GET /api/v2/dbrps':
        return this.listDbrps(rec, reply);
      case 'POST /api/v2/dbrps':
        return this.createDbrp(rec, reply);
      case 'GET /private/legacy/authorizations':
        return this.listLegacyAuths(rec, reply);
      case 'POST /private/legacy/authorizations':
        return this.createLegacyAuth(rec, reply);
      case 'POST /api/v3/write_lp':
        return this.writeV3(rec, reply);
      case 'POST /api/v3/configure/database':
        return this.createDatabaseV3(rec, reply);
      case 'POST /api/v3/query_sql':
        return this.querySqlV3(rec, reply);
      case 'POST /api/v3/enterprise/configure/token':
        if (!this.options.v3Enterprise) return reply(404, null); // Core: no such route
        return this.createResourceToken(rec, reply);
      case 'DELETE /api/v3/configure/token':
        return this.deleteResourceToken(rec, reply);
      default: {
        const one = /^\/private\/legacy\/authorizations\/([^/]+)(\/password)?$/.exec(path);
        if (one) return this.oneLegacyAuth(rec, decodeURIComponent(one[1]), one[2] !== undefined, reply);
        if (rec.api === 'v2') return reply(404, { code: 'not found', message: 'path not found' });
        return reply(404, 'not found');
      }
    }
  }

  private authenticate(rec: RecordedRequest): { status: number; body: string | object | null } | null {
    const { token, username, password } = this.options;
    const auth = String(rec.headers.authorization ?? '');
    if (rec.api === 'v2') {
      if (token === undefined) return null;
      if (auth === `Token ${token}`) return null;
      return { status: 401, body: { code: 'unauthorized', message: 'unauthorized access' } }; // [v2-write]
    }
    if (rec.api === 'v3') {
      if (token === undefined) return null;
      if (auth === `Bearer ${token}`) return null;
      const rt = this.resourceTokenOf(/^(?:Bearer|Token) (.+)$/.exec(auth)?.[1]);
      if (rt) {
        this.resourceOf.set(rec.seq, rt);
        let db: string | undefined;
        let action: 'read' | 'write' | null = null;
        if (rec.path === '/api/v3/query_sql') {
          action = 'read';
          try {
            db = (JSON.parse(rec.text) as { db?: string }).db;
          } catch {
            db = undefined;
          }
        } else if (rec.path === '/api/v3/write_lp') {
          action = 'write';
          db = rec.query.db;
        }
        // administration needs the admin token; data needs the permission on the database
        const denied = action === null || db === undefined ? { status: 403, body: { error: 'forbidden' } } : this.denied(rec, db, action);
        return denied;
      }
      return { status: 401, body: null }; // [v3-src] empty body
    }
    if (rec.api === 'v1') {
      // 3.x on its 1.x API: the token as Token/Bearer, as the Basic password, or as p
      const rt = this.resourceTokenOf(this.v1Secret(rec));
      if (rt) {
        this.resourceOf.set(rec.seq, rt);
        return null;
      }
      const legacy = this.legacyCredentials(rec);
      if (legacy) {
        // [v2-legacy] authorizer.go: unknown name, wrong password or inactive → ErrCredentialsUnauthorized
        const a = [...this.legacyAuths.values()].find((x) => x.token === legacy.user);
        if (!a || a.password === null || a.password !== legacy.password || a.status !== 'active') {
          return { status: 401, body: { code: 'unauthorized', message: 'Unauthorized' } };
        }
        this.legacyOf.set(rec.seq, a);
        return null;
      }
      if (username === undefined && token === undefined) return null;
      if (username !== undefined) {
        const basic = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
        if (auth === basic) return null;
        if (rec.query.u === username && rec.query.p === (password ?? '')) return null;
      }
      if (token !== undefined && auth === `Token ${token}`) return null;
      return { status: 401, body: { error: 'authorization failed' } }; // [v1-api]
    }
    return null;
  }

  private resourceTokenOf(secret: string | undefined): ResourceToken | null {
    if (!secret || this.resourceTokens.size === 0) return null;
    return [...this.resourceTokens.values()].find((r) => r.token === secret) ?? null;
  }

  /** The secret a 1.x request carries: `Token x`, `Bearer x`, the Basic password, or `p`. */
  private v1Secret(rec: RecordedRequest): string | undefined {
    const auth = String(rec.headers.authorization ?? '');
    const scheme = /^(?:Bearer|Token) (.+)$/.exec(auth);
    if (scheme) return scheme[1];
    if (auth.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      return decoded.slice(decoded.indexOf(':') + 1);
    }
    return rec.query.p;
  }

  private createResourceToken(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    let body: { token_name?: string; permissions?: Array<{ resource_type?: string; resource_identifier?: string[]; actions?: string[] }> };
    try {
      body = JSON.parse(rec.text) as typeof body;
    } catch (err) {
      return reply(400, `serde json error: ${(err as Error).message}`);
    }
    if (!body.token_name || !body.permissions?.length) return reply(400, 'token_name and permissions are required');
    if (this.resourceTokens.has(body.token_name)) return reply(409, 'token name already exists');
    const [perm] = body.permissions;
    if (perm.resource_type !== 'db' || !perm.resource_identifier?.length || !perm.actions?.length) return reply(400, 'invalid permission');
    const rt: ResourceToken = {
      id: this.nextId++,
      name: body.token_name,
      token: `apiv3_${Buffer.from(`${this.nextId}-${Math.random()}`).toString('base64url')}`,
      databases: perm.resource_identifier,
      actions: perm.actions,
    };
    this.resourceTokens.set(rt.name, rt);
    reply(201, { id: rt.id, name: rt.name, token: rt.token, hash: 'mock', created_at: '2026-01-01T00:00:00Z', expiry: null });
  }

  private deleteResourceToken(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    const name = rec.query.token_name;
    if (!name || !this.resourceTokens.has(name)) return reply(404, { error: 'token not found', data: null });
    this.resourceTokens.delete(name);
    reply(200, null);
  }

  /** 1.x user/password of a request (Basic, or u/p parameters) when its user names a legacy authorization. */
  private legacyCredentials(rec: RecordedRequest): { user: string; password: string } | null {
    if (this.legacyAuths.size === 0) return null;
    const auth = String(rec.headers.authorization ?? '');
    let user: string | undefined;
    let password = '';
    if (auth.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = colon < 0 ? decoded : decoded.slice(0, colon);
      password = colon < 0 ? '' : decoded.slice(colon + 1);
    } else if (rec.query.u !== undefined) {
      user = rec.query.u;
      password = rec.query.p ?? '';
    }
    if (user === undefined || user === this.options.username) return null;
    return { user, password };
  }

  /** The DBRP mapping of `db` (explicit default first, else virtual when enabled) → the bucket's name. */
  bucketOfDatabase(db: string): string | null {
    const explicit = this.dbrps.find((m) => m.database === db && m.default) ?? this.dbrps.find((m) => m.database === db);
    if (explicit) return [...this.buckets.values()].find((b) => b.id === explicit.bucketID)?.name ?? null;
    if (this.options.virtualDbrps === false) return null;
    return this.buckets.has(db) ? db : null;
  }

  /** Does the request's legacy authorization or resource token (if any) allow `action` on `db`? null: allowed, else the reply to send. */
  private denied(rec: RecordedRequest, db: string, action: 'read' | 'write'): { status: number; body: object } | null {
    const rt = this.resourceOf.get(rec.seq);
    if (rt) {
      return (rt.databases.includes(db) || rt.databases.includes('*')) && rt.actions.includes(action)
        ? null
        : { status: 403, body: { error: `token lacks ${action} permission on database ${db}` } };
    }
    const a = this.legacyOf.get(rec.seq);
    if (!a) return null;
    const name = this.bucketOfDatabase(db);
    const bucket = name === null ? undefined : this.buckets.get(name);
    const allowed =
      bucket !== undefined &&
      a.permissions.some(
        (p) => p.action === action && p.resource.type === 'buckets' && (p.resource.id === undefined || p.resource.id === bucket.id) && (p.resource.orgID ?? a.orgID) === bucket.orgID,
      );
    return allowed ? null : { status: 403, body: { code: 'forbidden', message: `insufficient permissions for ${action}` } };
  }

  private authResponse(a: LegacyAuth): object {
    return {
      id: a.id,
      token: a.token,
      status: a.status,
      description: a.description,
      orgID: a.orgID,
      org: this.org,
      userID: a.userID,
      user: 'admin',
      permissions: a.permissions.map((p) => ({
        action: p.action,
        resource: { ...p.resource, ...(p.resource.id ? { name: [...this.buckets.values()].find((b) => b.id === p.resource.id)?.name } : {}), org: this.org },
      })),
      links: { self: `/private/legacy/authorizations/${a.id}`, user: `/api/v2/users/${a.userID}` },
      createdAt: '2024-01-01T00:00:00Z',
      updatedAt: '2024-01-01T00:00:00Z',
    };
  }

  private listLegacyAuths(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    const { token, id, orgID } = rec.query;
    const list = [...this.legacyAuths.values()].filter((a) =>
      id !== undefined ? a.id === id : token !== undefined ? a.token === token : orgID === undefined || a.orgID === orgID,
    );
    // [v2-legacy] service.go FindAuthorizations: an id or token filter looks one up, and a miss is ENotFound → 404
    if ((id !== undefined || token !== undefined) && list.length === 0) return reply(404, { code: 'not found', message: 'authorization not found' });
    reply(200, { links: { self: '/private/legacy/authorizations' }, authorizations: list.map((a) => this.authResponse(a)) });
  }

  private createLegacyAuth(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    let body: { orgID?: string; token?: string; status?: string; description?: string; permissions?: MockPermission[]; userID?: string };
    try {
      body = JSON.parse(rec.text) as typeof body;
    } catch {
      return reply(400, { code: 'invalid', message: 'invalid json structure' });
    }
    if (!body.permissions?.length) return reply(400, { code: 'invalid', message: 'authorization must include permissions' });
    if (!body.orgID) return reply(400, { code: 'invalid', message: 'org id required' });
    const status = body.status ?? 'active';
    if (status !== 'active' && status !== 'inactive') return reply(400, { code: 'invalid', message: 'unknown authorization status' });
    if (!body.token) return reply(400, { code: 'invalid', message: 'token required for v1 user authorization type' });
    // [v2-conflict] ErrTokenAlreadyExistsError is EConflict: 422, not 409
    if ([...this.legacyAuths.values()].some((a) => a.token === body.token)) return reply(422, { code: 'conflict', message: 'token already exists' });
    for (const p of body.permissions) {
      if (p.resource.type === 'buckets' && p.resource.id && ![...this.buckets.values()].some((b) => b.id === p.resource.id)) {
        return reply(404, { code: 'not found', message: 'bucket not found when creating auth' });
      }
    }
    const a: LegacyAuth = {
      id: (this.nextId++).toString(16).padStart(16, '0'),
      token: body.token,
      status,
      description: body.description ?? '',
      orgID: body.orgID,
      userID: body.userID ?? '00000000000000aa',
      permissions: body.permissions,
      password: null,
    };
    this.legacyAuths.set(a.id, a);
    reply(201, this.authResponse(a));
  }

  private oneLegacyAuth(rec: RecordedRequest, id: string, password: boolean, reply: (s: number, b: string | object | null) => void): void {
    const a = this.legacyAuths.get(id);
    if (!a) return reply(404, { code: 'not found', message: 'authorization not found' });
    if (password && rec.method === 'POST') {
      let body: { password?: string };
      try {
        body = JSON.parse(rec.text) as typeof body;
      } catch {
        return reply(400, { code: 'invalid', message: 'invalid json' });
      }
      a.password = body.password ?? '';
      return reply(204, null);
    }
    if (password) return reply(405, { code: 'method not allowed', message: 'method not allowed' });
    switch (rec.method) {
      case 'GET':
        return reply(200, this.authResponse(a));
      case 'DELETE':
        this.legacyAuths.delete(id);
        return reply(204, null);
      case 'PATCH': {
        const upd = JSON.parse(rec.text || '{}') as { status?: 'active' | 'inactive'; description?: string };
        if (upd.status) a.status = upd.status;
        if (upd.description !== undefined) a.description = upd.description;
        return reply(200, this.authResponse(a));
      }
      default:
        return reply(405, { code: 'method not allowed', message: 'method not allowed' });
    }
  }

  private listDbrps(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    const { orgID, org, db, bucketID } = rec.query;
    if (orgID === undefined && org === undefined) return reply(400, { code: 'invalid', message: 'either "org" or "orgID" must be provided' });
    if ((orgID !== undefined && orgID !== this.orgId) || (org !== undefined && org !== this.org)) return reply(200, { content: [] });
    const all: MockDbrp[] = [...this.dbrps];
    if (this.options.virtualDbrps !== false) {
      for (const b of this.buckets.values()) {
        if (!this.dbrps.some((m) => m.bucketID === b.id)) {
          all.push({ id: b.id, orgID: b.orgID, bucketID: b.id, database: b.name, retention_policy: 'autogen', default: true, virtual: true });
        }
      }
    }
    reply(200, { content: all.filter((m) => (db === undefined || m.database === db) && (bucketID === undefined || m.bucketID === bucketID)) });
  }

  private createDbrp(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    let body: Partial<MockDbrp> & { org?: string };
    try {
      body = JSON.parse(rec.text) as typeof body;
    } catch {
      return reply(400, { code: 'invalid', message: 'invalid json structure' });
    }
    if (!body.bucketID || !body.database || !body.retention_policy) return reply(400, { code: 'invalid', message: 'bucketID, database and retention_policy are required' });
    if (body.orgID !== this.orgId && body.org !== this.org) return reply(404, { code: 'not found', message: 'organization not found' });
    if (![...this.buckets.values()].some((b) => b.id === body.bucketID)) return reply(404, { code: 'not found', message: 'bucket not found' });
    // [v2-dbrp-src] dbrp/service.go Create: the same (org, db, rp) twice → ErrDBRPAlreadyExists (EConflict → 422 [v2-conflict])
    if (this.dbrps.some((m) => m.database === body.database && m.retention_policy === body.retention_policy)) {
      return reply(422, { code: 'conflict', message: 'another DBRP mapping with same orgID, db, and rp exists' });
    }
    const m: MockDbrp = {
      id: (this.nextId++).toString(16).padStart(16, '0'),
      orgID: this.orgId,
      bucketID: body.bucketID,
      database: body.database,
      retention_policy: body.retention_policy,
      default: body.default ?? false,
    };
    this.dbrps.push(m);
    reply(201, m); // [v2-dbrp-src] dbrp/http_server_dbrp.go postDBRP: 201 and the mapping itself
  }

  /** Parses and (unless `atomic` and something failed) stores the lines of one write. */
  private ingest(
    rec: RecordedRequest,
    db: string,
    multiplier: bigint,
    atomic: boolean,
  ): { errors: Array<{ line: string; lineNumber: number; message: string }>; dropped: number } {
    const lines = rec.text.split('\n');
    const parsed: Array<{ line: string; p: ParsedLine }> = [];
    const errors: Array<{ line: string; lineNumber: number; message: string }> = [];
    let dropped = 0;
    lines.forEach((raw, idx) => {
      const line = raw.replace(/\r$/, '');
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      const p = parseLine(trimmed);
      if ('error' in p) errors.push({ line: trimmed, lineNumber: idx + 1, message: p.error });
      else parsed.push({ line: trimmed, p });
    });
    if (atomic && errors.length) return { errors, dropped };
    const now = BigInt(Date.now()) * 1_000_000n;
    let series = this.store.get(db);
    if (!series) this.store.set(db, (series = new Map()));
    for (const { line, p } of parsed) {
      const time = p.timestamp === null ? now : BigInt(p.timestamp) * multiplier;
      if (this.options.retentionCutoffS !== undefined && time < BigInt(this.options.retentionCutoffS) * 1_000_000_000n) {
        dropped++;
        continue;
      }
      const tagKey = Object.keys(p.tags)
        .sort()
        .map((k) => `${k}=${p.tags[k]}`)
        .join(',');
      const key = `${p.measurement},${tagKey} ${time}`;
      const prior = series.get(key);
      series.set(key, {
        db,
        measurement: p.measurement,
        tags: p.tags,
        fields: { ...(prior?.fields ?? {}), ...p.fields },
        time,
        line,
      });
      this.acceptedLines.push({ db, line, seq: rec.seq });
    }
    return { errors, dropped };
  }

  private writeV1(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    let db = rec.query.db;
    if (!db) return reply(400, { error: 'database is required' });
    const denied = this.denied(rec, db, 'write');
    if (denied) return reply(denied.status, denied.body);
    if (this.legacyOf.has(rec.seq)) db = this.bucketOfDatabase(db)!;
    if (!this.databases.has(db)) return reply(404, { error: `database not found: "${db}"` }); // [v1-api]
    const multiplier = NS_PER[rec.query.precision ?? 'ns'];
    if (multiplier === undefined) return reply(400, { error: `invalid precision "${rec.query.precision}"` });
    // 1.x writes the points it could parse and reports the others ("partial write")
    const { errors } = this.ingest(rec, db, multiplier, false);
    if (errors.length) {
      return reply(400, { error: `partial write: ${errors.map((e) => `unable to parse '${e.line}': ${e.message}`).join('\n')}` });
    }
    reply(204, null);
  }

  private queryV1(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    const form = new URLSearchParams(rec.text);
    const q = form.get('q') ?? rec.query.q ?? '';
    const create = /^\s*CREATE\s+DATABASE\s+("(?:[^"\\]|\\.)*"|\w+)\s*$/i.exec(q);
    if (create) {
      const name = create[1].startsWith('"') ? jsonString(create[1]) : create[1];
      if (this.legacyOf.has(rec.seq) || this.resourceOf.has(rec.seq)) return reply(403, { code: 'forbidden', message: 'insufficient permissions' });
      this.createDatabase(name); // CREATE DATABASE is idempotent in 1.x
      return reply(200, { results: [{ statement_id: 0 }] });
    }
    const select = /^\s*SELECT\s+count\(\*\)\s+FROM\s+"((?:[^"\\]|\\.)*)"\s+WHERE\s+(.*)$/i.exec(q);
    if (!select) return reply(400, { error: `mock: unsupported query ${q}` });
    let db = form.get('db') ?? rec.query.db ?? '';
    const denied = this.denied(rec, db, 'read');
    if (denied) return reply(denied.status, denied.body);
    if (this.legacyOf.has(rec.seq)) db = this.bucketOfDatabase(db)!;
    if (!this.databases.has(db)) return reply(200, { results: [{ statement_id: 0, error: `database not found: ${db}` }] });
    const where = select[2];
    const tags: Record<string, string> = {};
    for (const m of where.matchAll(/"((?:[^"\\]|\\.)*)"\s*=\s*'((?:[^'\\]|\\.)*)'/g)) tags[m[1].replace(/\\(.)/g, '$1')] = m[2].replace(/\\(.)/g, '$1');
    const from = /time\s*>=\s*(-?\d+)s/.exec(where);
    const to = /time\s*<=\s*(-?\d+)s/.exec(where);
    const matching = this.points(db).filter(
      (p) =>
        p.measurement === select[1] &&
        Object.entries(tags).every(([k, v]) => p.tags[k] === v) &&
        (!from || p.time >= BigInt(from[1]) * 1_000_000_000n) &&
        (!to || p.time <= BigInt(to[1]) * 1_000_000_000n),
    );
    if (matching.length === 0) return reply(200, { results: [{ statement_id: 0 }] });
    // count(*) answers one count_<field> column per field key
    const perField = new Map<string, number>();
    for (const p of matching) for (const f of Object.keys(p.fields)) perField.set(f, (perField.get(f) ?? 0) + 1);
    const fieldNames = [...perField.keys()].sort();
    reply(200, {
      results: [
        {
          statement_id: 0,
          series: [{ name: select[1], columns: ['time', ...fieldNames.map((f) => `count_${f}`)], values: [[0, ...fieldNames.map((f) => perField.get(f))]] }],
        },
      ],
    });
  }

  private orgMatches(org: string | undefined): boolean {
    return org === this.org || org === this.orgId;
  }

  private writeV2(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    const { org, bucket } = rec.query;
    if (!this.orgMatches(org)) return reply(404, { code: 'not found', message: `organization name "${org}" not found` });
    if (!bucket || !this.buckets.has(bucket)) return reply(404, { code: 'not found', message: `bucket "${bucket}" not found` }); // [v2-trouble]
    const multiplier = NS_PER[rec.query.precision ?? 'ns'];
    if (multiplier === undefined || ['m', 'h', 'u'].includes(rec.query.precision ?? '')) {
      return reply(400, { code: 'invalid', message: `invalid precision; valid precision units are ns, us, ms, and s` });
    }
    const { errors, dropped } = this.ingest(rec, bucket, multiplier, !this.options.v2PartialWrites);
    if (errors.length) {
      // [v2-src] models.ParsePoints: one "unable to parse" per bad line, joined by "\n"
      return reply(400, { code: 'invalid', message: errors.map((e) => `unable to parse '${e.line}': ${e.message}`).join('\n') });
    }
    if (dropped > 0) {
      return reply(422, {
        code: 'unprocessable entity',
        message: `failure writing points to database: partial write: points beyond retention policy dropped=${dropped}`,
      });
    }
    reply(204, null);
  }

  private orgsV2(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    const wanted = rec.query.org;
    if (wanted !== undefined && wanted !== this.org) return reply(404, { code: 'not found', message: `organization name "${wanted}" not found` });
    reply(200, {
      links: { self: '/api/v2/orgs' },
      orgs: [{ id: this.orgId, name: this.org, description: '', createdAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:00:00Z' }],
    });
  }

  private listBucketsV2(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    const { orgID, org, name } = rec.query;
    if (orgID !== undefined && orgID !== this.orgId) return reply(404, { code: 'not found', message: 'organization not found' });
    if (org !== undefined && org !== this.org) return reply(404, { code: 'not found', message: `organization name "${org}" not found` });
    const list = [...this.buckets.values()].filter((b) => name === undefined || b.name === name);
    // [v2-buckets-src] a name with an org is GetBucketByName: a miss is 404, never an empty list
    if (name !== undefined && list.length === 0) return reply(404, { code: 'not found', message: `bucket ${JSON.stringify(name)} not found` });
    reply(200, { links: { self: '/api/v2/buckets?descending=false&limit=20&offset=0' }, buckets: list });
  }

  private createBucketV2(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    let body: { orgID?: string; name?: string; retentionRules?: unknown[] };
    try {
      body = JSON.parse(rec.text) as typeof body;
    } catch {
      return reply(400, { code: 'invalid', message: 'failed to decode request body' });
    }
    if (!body.name) return reply(400, { code: 'invalid', message: 'bucket name is required' });
    if (body.orgID !== this.orgId) return reply(404, { code: 'not found', message: 'organization not found' });
    if (this.buckets.has(body.name)) return reply(422, { code: 'conflict', message: `bucket with name ${body.name} already exists` }); // [v2-src]
    this.createDatabase(body.name);
    const b = this.buckets.get(body.name)!;
    b.retentionRules = body.retentionRules ?? [];
    reply(201, { ...b, links: { self: `/api/v2/buckets/${b.id}` }, labels: [] }); // [v2-buckets]
  }

  private queryV2(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    if (!this.orgMatches(rec.query.org)) return reply(404, { code: 'not found', message: `organization name "${rec.query.org}" not found` });
    let flux = '';
    try {
      flux = String((JSON.parse(rec.text) as { query?: unknown }).query ?? '');
    } catch {
      flux = rec.text;
    }
    const bucket = /from\(bucket:\s*("(?:[^"\\]|\\.)*")\)/.exec(flux);
    const range = /range\(start:\s*(-?\d+)(?:,\s*stop:\s*(-?\d+))?\)/.exec(flux);
    const meas = /r\._measurement\s*==\s*("(?:[^"\\]|\\.)*")/.exec(flux);
    if (!bucket || !range || !meas || !/\|>\s*count\(\)/.test(flux)) {
      return reply(400, { code: 'invalid', message: `mock: unsupported Flux ${flux}` });
    }
    const db = jsonString(bucket[1]);
    if (!this.buckets.has(db)) return reply(404, { code: 'not found', message: `failed to initialize execute state: could not find bucket "${db}"` });
    const tags: Record<string, string> = {};
    for (const m of flux.matchAll(/r\[("(?:[^"\\]|\\.)*")\]\s*==\s*("(?:[^"\\]|\\.)*")/g)) tags[jsonString(m[1])] = jsonString(m[2]);
    const start = BigInt(range[1]) * 1_000_000_000n;
    const stop = range[2] !== undefined ? BigInt(range[2]) * 1_000_000_000n : BigInt(Date.now()) * 1_000_000n;
    // Flux: range is [start, stop); count() counts field values (one row per field per point)
    let n = 0;
    for (const p of this.points(db)) {
      if (p.measurement !== jsonString(meas[1]) || p.time < start || p.time >= stop) continue;
      if (!Object.entries(tags).every(([k, v]) => p.tags[k] === v)) continue;
      n += Object.keys(p.fields).length;
    }
    if (n === 0) return reply(200, '\r\n'); // no table at all
    reply(200, `,result,table,_value\r\n,_result,0,${n}\r\n\r\n`);
  }

  private writeV3(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    const db = rec.query.db;
    if (!db) return reply(400, 'missing query parameter \'db\'');
    const multiplier = NS_PER[rec.query.precision ?? 'nanosecond'];
    if (rec.query.precision !== undefined && (multiplier === undefined || !['nanosecond', 'microsecond', 'millisecond', 'second'].includes(rec.query.precision))) {
      return reply(400, `serde error: unknown variant \`${rec.query.precision}\``);
    }
    if (!this.databases.has(db)) {
      if (this.options.v3CreateOnWrite ?? true) this.createDatabase(db);
      else return reply(404, `database not found ${JSON.stringify(db)}`); // [v3-src]
    }
    const { errors } = this.ingest(rec, db, multiplier ?? 1n, false);
    if (errors.length) {
      // [v3-write] accept_partial=true: valid lines written, the others listed
      return reply(400, {
        error: 'partial write of line protocol occurred',
        data: errors.map((e) => ({
          original_line: e.line,
          line_number: e.lineNumber,
          error_message: e.message === 'missing fields' ? 'No fields were provided' : e.message,
        })),
      });
    }
    reply(204, null);
  }

  private createDatabaseV3(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    let body: { db?: string };
    try {
      body = JSON.parse(rec.text) as { db?: string };
    } catch (err) {
      return reply(400, `serde json error: ${(err as Error).message}`);
    }
    if (!body.db) return reply(400, 'serde json error: missing field `db`');
    if (this.databases.has(body.db)) return reply(409, 'attempted to create a resource that already exists'); // [v3-src]
    this.createDatabase(body.db);
    reply(200, null);
  }

  private querySqlV3(rec: RecordedRequest, reply: (s: number, b: string | object | null) => void): void {
    let body: { db?: string; q?: string; format?: string };
    try {
      body = JSON.parse(rec.text) as typeof body;
    } catch (err) {
      return reply(400, `serde json error: ${(err as Error).message}`);
    }
    const db = body.db ?? '';
    const q = body.q ?? '';
    if (!this.databases.has(db)) return reply(404, { error: `query error: database not found: ${db}`, data: null });
    if (/^\s*SELECT\s+1\s*$/i.test(q)) return reply(200, [{ 'Int64(1)': 1 }]);
    const m = /^\s*SELECT\s+count\(\*\)(?:\s+AS\s+(\w+))?\s+FROM\s+"((?:[^"]|"")*)"\s+WHERE\s+(.*)$/is.exec(q);
    if (!m) return reply(400, { error: `mock: unsupported SQL ${q}`, data: null });
    const alias = m[1] ?? 'count(*)';
    const where = m[3];
    const tags: Record<string, string> = {};
    for (const t of where.matchAll(/"((?:[^"]|"")*)"\s*=\s*'((?:[^'\\]|\\.|'')*)'/g)) tags[t[1].replace(/""/g, '"')] = t[2].replace(/''/g, "'");
    const from = /time\s*>=\s*to_timestamp_seconds\((-?\d+)\)/.exec(where);
    const to = /time\s*<=\s*to_timestamp_seconds\((-?\d+)\)/.exec(where);
    const n = this.count(
      db,
      m[2].replace(/""/g, '"'),
      tags,
      from ? BigInt(from[1]) * 1_000_000_000n : -(2n ** 63n),
      to ? BigInt(to[1]) * 1_000_000_000n : 2n ** 63n,
    );
    reply(200, [{ [alias]: n }]);
  }
}

/** Starts a mock on 127.0.0.1 (port 0); it is closed in `t`'s teardown. */
export async function startInfluxMock(t: { teardown(fn: () => unknown): void }, options: InfluxMockOptions = {}): Promise<InfluxMock> {
  const mock = new InfluxMock(options);
  await mock.listen(0);
  t.teardown(() => mock.close());
  return mock;
}
