/**
 * An in-process InfluxDB stand-in (node:http on 127.0.0.1, port 0) that
 * answers the requests of the three write APIs the product speaks, as the
 * servers' own source answers them. One module per API, each route citing
 * the source file or documentation page (and the versions) it follows:
 *
 *  - v1.ts       InfluxDB 1.x `/write`, `/query`, also the 1.x-compatibility API of 2.x and 3.x
 *  - v2.ts       InfluxDB OSS 2.0–2.7: `/api/v2/write`, orgs, buckets, Flux `/api/v2/query`
 *  - v2-auth.ts  2.x v1-compatible authorizations (`/private/legacy/authorizations`) and DBRP mappings
 *  - v3.ts       InfluxDB 3 Core / Enterprise: `/api/v3/write_lp`, `/api/v3/configure/database`,
 *                `/api/v3/query_sql`, resource tokens
 *  - line-protocol.ts  the minimal parser the routes store points with
 *
 * This module: recording (every request, decoded from gzip), the point store
 * (a repeated point overwrites, as in InfluxDB), routing, and scripted
 * faults: "the next N requests answer S", "run this just before the next
 * such request" (races), "refuse connections for T ms", "answer too large
 * above X bytes", reply delays and a gate that holds write replies back.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AuthRefusal,
  Bucket,
  Fault,
  InfluxMockOptions,
  LegacyAuth,
  MockApi,
  MockDbrp,
  RecordedRequest,
  ResourceToken,
  StoredPoint,
} from './types.js';
import { parseLine, type ParsedLine } from './line-protocol.js';
import { authenticateV1, queryV1, writeV1 } from './v1.js';
import { authenticateV2, createBucketV2, listBucketsV2, orgsV2, queryV2, writeV2 } from './v2.js';
import {
  bucketOfDatabase,
  createDbrp,
  createLegacyAuth,
  deniedLegacy,
  listDbrps,
  listLegacyAuths,
  oneLegacyAuth,
} from './v2-auth.js';
import {
  authenticateV3,
  createDatabaseV3,
  createResourceToken,
  deleteResourceToken,
  deniedResource,
  querySqlV3,
  writeV3,
} from './v3.js';

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

export class InfluxMock {
  readonly options: InfluxMockOptions;
  readonly requests: RecordedRequest[] = [];
  /** db → series key + time → point (a repeated point overwrites, as in InfluxDB) */
  private readonly store = new Map<string, Map<string, StoredPoint>>();
  /** every line a write stored, in order, repeats included */
  readonly acceptedLines: Array<{ db: string; line: string; seq: number }> = [];
  // ---- state the route modules (v1.ts, v2.ts, v2-auth.ts, v3.ts) read and change
  readonly databases = new Set<string>();
  readonly buckets = new Map<string, Bucket>();
  private readonly faults: Array<Fault & { left: number }> = [];
  private readonly hooks: Array<{ match: (req: RecordedRequest) => boolean; fn: () => void | Promise<void> }> = [];
  /** v2 v1-compatible authorizations, by id */
  readonly legacyAuths = new Map<string, LegacyAuth>();
  /** v2 explicit DBRP mappings */
  readonly dbrps: MockDbrp[] = [];
  /** the legacy authorization a 1.x request authenticated with, by request seq */
  readonly legacyOf = new Map<number, LegacyAuth>();
  /** v3 Enterprise resource tokens, by name */
  readonly resourceTokens = new Map<string, ResourceToken>();
  /** the resource token a request authenticated with, by request seq */
  readonly resourceOf = new Map<number, ResourceToken>();
  /** v3 catalog: database → table → its columns (tags, fields, time), for the limits ([v3-limits]) */
  readonly v3Tables = new Map<string, Map<string, Set<string>>>();
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private refusing: 'reset' | null = null;
  private closed = false;
  private gate: Promise<void> | null = null;
  private inFlight = 0;
  private writesInFlight = 0;
  nextId = 1;
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
          res.end(`mock failure: ${(err as Error)?.stack ?? String(err)}`);
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
    this.v3Tables.delete(name);
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
      (p) =>
        p.measurement === measurement &&
        Object.entries(tags).every(([k, v]) => p.tags[k] === v) &&
        p.time >= fromNs &&
        p.time <= toNs,
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
      const type =
        typeof payload === 'object' && payload !== null
          ? 'application/json; charset=utf-8'
          : 'text/plain; charset=utf-8';
      // 2.x repeats an error's code in X-Platform-Error-Code (kit/transport/http/api.go API.Err)
      const code =
        rec.api === 'v2' && status >= 400 && payload !== null && typeof payload === 'object'
          ? (payload as { code?: unknown }).code
          : undefined;
      res.writeHead(status, {
        ...(text ? { 'content-type': type } : {}),
        ...(typeof code === 'string' ? { 'x-platform-error-code': code } : {}),
        ...headers,
      });
      res.end(text);
    };

    if (rec.isWrite) {
      if (this.replyDelayMs > 0) await sleep(this.replyDelayMs);
      while (this.gate) await this.gate;
    }

    const hook = this.hooks.findIndex((h) => h.match(rec));
    if (hook >= 0) await this.hooks.splice(hook, 1)[0].fn();

    const fault = this.faults.find(
      (f) => f.left > 0 && (f.match === undefined || (f.match instanceof RegExp ? f.match.test(path) : f.match(rec))),
    );
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

    if (rec.isWrite && writeApi !== 'v3' && body.length > this.maxBodyBytes) {
      if (writeApi === 'v2') {
        // [v2-write] LineProtocolLengthError / [v2-src] write_handler_test.go
        return reply(413, {
          code: 'request too large',
          message: 'unable to read data: points batch is too large',
          maxLength: this.maxBodyBytes,
        });
      }
      return reply(413, { error: 'Request Entity Too Large' }); // [v1-api]
    }

    const route = `${rec.method} ${path}`;
    switch (route) {
      // ---- 1.x, and the 1.x-compatibility API of 2.x and 3.x (v1.ts: [v1-api])
      case 'POST /write':
        return writeV1(this, rec, reply);
      case 'POST /query':
      case 'GET /query':
        return queryV1(this, rec, reply);
      // ---- OSS 2.0–2.7 (v2.ts)
      case 'POST /api/v2/write': // [v2-write], [v2-trouble], [v2-src]
        return writeV2(this, rec, reply);
      case 'GET /api/v2/orgs': // [v2-orgs]
        return orgsV2(this, rec, reply);
      case 'GET /api/v2/buckets': // [v2-buckets-src]: a missing name is 404, not []
        return listBucketsV2(this, rec, reply);
      case 'POST /api/v2/buckets': // [v2-buckets-src], [v2-conflict]: a name in use is 422
        return createBucketV2(this, rec, reply);
      case 'POST /api/v2/query': // [v2-orgs]
        return queryV2(this, rec, reply);
      // ---- 2.x v1 compatibility objects (v2-auth.ts)
      case 'GET /api/v2/dbrps': // [v2-dbrp]
        return listDbrps(this, rec, reply);
      case 'POST /api/v2/dbrps': // [v2-dbrp-src]: 201 + the mapping; a duplicate is 422
        return createDbrp(this, rec, reply);
      case 'GET /private/legacy/authorizations': // [v2-legacy]: a token filter that matches nothing is 404
        return listLegacyAuths(this, rec, reply);
      case 'POST /private/legacy/authorizations': // [v2-legacy]: a token name in use is 422
        return createLegacyAuth(this, rec, reply);
      // ---- 3.x Core and Enterprise (v3.ts)
      case 'POST /api/v3/write_lp':
        return writeV3(this, rec, reply);
      case 'POST /api/v3/configure/database':
        return createDatabaseV3(this, rec, reply);
      case 'POST /api/v3/query_sql':
        return querySqlV3(this, rec, reply);
      case 'POST /api/v3/enterprise/configure/token':
        if (!this.options.v3Enterprise) return reply(404, null); // Core: no such route
        return createResourceToken(this, rec, reply);
      case 'DELETE /api/v3/configure/token':
        return deleteResourceToken(this, rec, reply);
      default: {
        const one = /^\/private\/legacy\/authorizations\/([^/]+)(\/password)?$/.exec(path);
        if (one) return oneLegacyAuth(this, rec, decodeURIComponent(one[1]), one[2] !== undefined, reply); // [v2-legacy]
        if (rec.api === 'v2') return reply(404, { code: 'not found', message: 'path not found' });
        return reply(404, 'not found');
      }
    }
  }

  /** Who may call: per API (v1.ts, v2.ts, v3.ts). */
  private authenticate(rec: RecordedRequest): AuthRefusal {
    if (rec.api === 'v2') return authenticateV2(this, rec);
    if (rec.api === 'v3') return authenticateV3(this, rec);
    if (rec.api === 'v1') return authenticateV1(this, rec);
    return null;
  }

  /** The DBRP mapping of `db` → the bucket's name ([v2-dbrp], v2-auth.ts). */
  bucketOfDatabase(db: string): string | null {
    return bucketOfDatabase(this, db);
  }

  /** Does the request's resource token (3.x) or v1 authorization (2.x) allow `action` on `db`? null: allowed, else the reply to send. */
  denied(rec: RecordedRequest, db: string, action: 'read' | 'write'): { status: number; body: object } | null {
    return deniedResource(this, rec, db, action) ?? deniedLegacy(this, rec, db, action);
  }

  ingest(
    rec: RecordedRequest,
    db: string,
    multiplier: bigint,
    atomic: boolean,
    /** a line that parses is checked in order (InfluxDB 3's schema limits); a message refuses it */
    check?: (p: ParsedLine) => string | null,
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
      const refused = 'error' in p ? p.error : (check?.(p) ?? null);
      if (refused !== null) errors.push({ line: trimmed, lineNumber: idx + 1, message: refused });
      else parsed.push({ line: trimmed, p: p as ParsedLine });
    });
    if (atomic && errors.length) return { errors, dropped };
    const now = BigInt(Date.now()) * 1_000_000n;
    let series = this.store.get(db);
    if (!series) this.store.set(db, (series = new Map()));
    for (const { line, p } of parsed) {
      const time = p.timestamp === null ? now : BigInt(p.timestamp) * multiplier;
      if (
        this.options.retentionCutoffS !== undefined &&
        time < BigInt(this.options.retentionCutoffS) * 1_000_000_000n
      ) {
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
}

/** Starts a mock on 127.0.0.1 (port 0); it is closed in `t`'s teardown. */
export async function startInfluxMock(
  t: { teardown(fn: () => unknown): void },
  options: InfluxMockOptions = {},
): Promise<InfluxMock> {
  const mock = new InfluxMock(options);
  await mock.listen(0);
  t.teardown(() => mock.close());
  return mock;
}
