/**
 * Helpers for the `powerview serve` integration tests (test/service/*.test.ts):
 * a fresh migrated database per test file, a `serve` child process with its
 * HTTP endpoints, overlapping synthetic logger files, the expected distinct
 * points computed by the pipeline itself (a dry run), and one check that
 * nothing was lost or doubled in either store.
 * The services, their environment and the locks are services.ts's.
 */
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { generateFile } from '../../fixtures/generate.js';
import { discover } from '../../src/pipeline/discover.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { cliPath, projectRoot } from './helpers.js';
import {
  createDatabase,
  dropDatabase,
  dropDatabaseAndRoles,
  influxQuery,
  pointsOf,
  pointsOfLp,
  runCli,
  servicesUp,
} from './services.js';

export const HOOK_SECRET = 'serve-test-secret-0123456789';

// ---------------------------------------------------------------- small tools

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Polls `check` until it returns a truthy value; the last value (falsy) after `timeoutMs`. */
export async function waitUntil<T>(check: () => T | Promise<T>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v || Date.now() >= deadline) return v;
    await sleep(everyMs);
  }
}

/** A temporary folder, removed (with what the test left in it) when `t` ends. */
export function tempDir(t: Test, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `pv-serve-${label}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A tenant name of its own for each test (letters, digits and '_'). */
export function tenantName(label: string): string {
  return `sv_${label}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`.toLowerCase();
}

/** What every serve test starts from: a fresh database, a tenant of its own (its InfluxDB database dropped with the
 *  database), and a temporary folder `base` holding an empty data root `base/root`. */
export interface ServeSetup {
  db: ServeDb;
  tenant: string;
  base: string;
  root: string;
}

export async function serveSetup(t: Test, dbLabel: string, label: string): Promise<ServeSetup> {
  const db = await serveDb(t, dbLabel);
  const tenant = tenantName(label);
  db.tenants.push(tenant);
  const base = tempDir(t, label);
  const root = join(base, 'root');
  mkdirSync(root);
  return { db, tenant, base, root };
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

// ---------------------------------------------------------------- database

export interface ServeDb {
  /** the services' environment with DATABASE_URL pointing at the fresh database */
  env: Record<string, string>;
  url: string;
  pool: pg.Pool;
  /** InfluxDB databases (tenants) to drop at the end */
  tenants: string[];
}

/**
 * A fresh PostgreSQL database, migrated with `powerview migrate`, dropped
 * when `t` ends together with the tenant roles the service created and the
 * InfluxDB databases of `tenants`.
 */
export async function serveDb(t: Test, label: string): Promise<ServeDb> {
  const base = await servicesUp();
  const name = `pv_serve_${process.pid}_${label}`.toLowerCase();
  const url = await createDatabase(base, name);
  const env = { ...base, DATABASE_URL: url };
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  pool.on('error', () => {}); // PostgreSQL stopped by a test: idle clients die, the pool makes new ones
  const db: ServeDb = { env, url, pool, tenants: [] };
  t.teardown(async () => {
    let roles: string[] = [];
    try {
      const r = await pool.query<{ role: string }>('SELECT core.tenant_role(tenant) AS role FROM core.tenants');
      roles = r.rows.flatMap((x) => [x.role, `pv_login_${x.role.slice('pv_tenant_'.length)}`]);
    } catch {
      // the database may never have been migrated
    }
    await pool.end().catch(() => {});
    await dropDatabaseAndRoles(base, name, roles);
    for (const tenant of db.tenants) await dropDatabase(base, tenant).catch(() => {});
  });
  const m = await runCli(['migrate', '--json'], env);
  if (m.code !== 0) throw new Error(`powerview migrate failed (${m.code}): ${m.stderr.slice(-1000)}`);
  return db;
}

// ---------------------------------------------------------------- the serve process

export interface ServeOptions {
  root: string;
  stateDir: string;
  host?: string;
  /** default: a free port */
  port?: number;
  settle?: number;
  rescan?: number;
  drain?: number;
  workers?: number;
  /** more flags */
  args?: string[];
  /** more environment */
  extraEnv?: Record<string, string>;
}

export interface HookReply {
  status: number;
  body: Record<string, unknown>;
}

export interface ServeProc {
  child: ChildProcess;
  url: string;
  port: number;
  /** everything written to stderr so far (pino JSON lines and the start banner) */
  stderr(): string;
  /** the JSON log lines so far */
  logs(): Array<Record<string, unknown>>;
  /** resolves when the process has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** POST /hooks/sftpgo with the secret as Bearer token (or the given Authorization) */
  hook(event: Record<string, unknown>, authorization?: string): Promise<HookReply>;
  /** GET a path; status and text */
  get(path: string): Promise<{ status: number; text: string }>;
  /** /metrics parsed */
  metrics(): Promise<PromSamples>;
  /** SIGKILL (if still running) and wait for the exit */
  kill(): Promise<void>;
}

/** Runs `powerview serve` with the services' environment; resolves once /healthz answers 200. */
export async function startServe(t: Test, env: Record<string, string>, o: ServeOptions): Promise<ServeProc> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? (await freePort());
  const args = [
    'serve',
    '--root',
    o.root,
    '--http-addr',
    `${host}:${port}`,
    '--settle',
    String(o.settle ?? 1),
    '--rescan',
    String(o.rescan ?? 5),
    '--drain-timeout',
    String(o.drain ?? 30),
    '--state-dir',
    o.stateDir,
    '--workers',
    String(o.workers ?? 1),
    '--meta-db',
    '',
    '--grafana-dir',
    '',
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: projectRoot,
    env: {
      ...process.env,
      ...env,
      POWERVIEW_HOOK_SECRET: HOOK_SECRET,
      POWERVIEW_LOG_LEVEL: 'info',
      ...(o.extraEnv ?? {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const kill = async () => {
    if (!done) child.kill('SIGKILL');
    await exited;
  };
  t.teardown(kill);
  const url = `http://${host}:${port}`;
  const get = async (path: string) => {
    const res = await fetch(url + path);
    return { status: res.status, text: await res.text() };
  };
  const ok = await waitUntil(
    async () => {
      if (done) return true;
      try {
        return (await get('/healthz')).status === 200;
      } catch {
        return false;
      }
    },
    30_000,
    100,
  );
  if (done || !ok) {
    await kill();
    throw new Error(`powerview serve did not start on ${url}:\n${stderr.slice(-2000)}`);
  }
  return {
    child,
    url,
    port,
    stderr: () => stderr,
    logs: () => parseLogs(stderr),
    exited,
    hook: (event, authorization = `Bearer ${HOOK_SECRET}`) => postHook(url, event, authorization),
    get,
    metrics: async () => parseProm((await get('/metrics')).text),
    kill,
  };
}

export function parseLogs(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by a kill
    }
  }
  return out;
}

/** POST /hooks/sftpgo; a body given as a string or Buffer is sent as is. */
export async function postHook(url: string, event: unknown, authorization?: string): Promise<HookReply> {
  const body =
    typeof event === 'string' ? event : Buffer.isBuffer(event) ? new Uint8Array(event) : JSON.stringify(event);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(`${url}/hooks/sftpgo`, { method: 'POST', headers, body });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

/**
 * A raw POST over a plain socket, for bodies larger than the server accepts:
 * the headers and the first `firstBytes` of the body go at once, then the
 * client waits (up to a second) for an early reply before sending the rest,
 * as a client honouring an early error does. (A client that pushes the whole
 * body first may see the connection reset instead: the server closes it on
 * unread data.) `chunked`: chunked transfer encoding, no Content-Length.
 */
export function rawPost(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  options: { chunked?: boolean; firstBytes?: number } = {},
): Promise<{ status: number; text: string } | { error: string }> {
  const chunked = options.chunked ?? false;
  return new Promise((resolve) => {
    const u = new URL(path, url);
    const socket = connect(Number(u.port), u.hostname);
    const received: Buffer[] = [];
    let failure = '';
    let replied: (() => void) | null = null;
    socket.on('data', (d: Buffer) => {
      received.push(d);
      replied?.();
    });
    socket.on('error', (err) => (failure ||= err.message));
    socket.on('close', () => {
      replied?.();
      const text = Buffer.concat(received).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) resolve({ status: Number(m[1]), text: text.slice(text.indexOf('\r\n\r\n') + 4) });
      else resolve({ error: failure || 'no reply' });
    });
    const frame = (piece: Buffer) =>
      chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
    const head = [
      `POST ${u.pathname} HTTP/1.1`,
      `host: ${u.host}`,
      'connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      chunked ? 'transfer-encoding: chunked' : `content-length: ${body.length}`,
      '',
      '',
    ].join('\r\n');
    const first = Math.min(options.firstBytes ?? 0, body.length);
    socket.write(first > 0 ? Buffer.concat([Buffer.from(head), frame(body.subarray(0, first))]) : head);
    let off = first;
    const pump = () => {
      while (off < body.length && !socket.destroyed) {
        const piece = body.subarray(off, off + 16384);
        off += piece.length;
        if (!socket.write(frame(piece))) return void socket.once('drain', pump);
      }
      if (socket.destroyed) return;
      if (chunked) socket.end('0\r\n\r\n');
      else socket.end();
    };
    const timer = setTimeout(() => {
      replied = null;
      pump();
    }, 1000);
    replied = () => {
      replied = null;
      clearTimeout(timer);
    };
  });
}

/** SFTPGo's upload notification for an absolute path under the root. */
export function uploadEvent(root: string, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const rel = path.slice(root.length + 1).split('/');
  return {
    action: 'upload',
    username: rel[0],
    path,
    virtual_path: `/${rel.slice(1).join('/')}`,
    file_size: existsSync(path) ? readFileSync(path).length : 0,
    status: 1,
    protocol: 'SFTP',
    timestamp: Date.now() * 1_000_000,
    ...extra,
  };
}

// ---------------------------------------------------------------- Prometheus text

/** `name{a="x",b="y"}` → value (labels sorted), from the Prometheus text format. */
export type PromSamples = Map<string, number>;

export function parseProm(text: string): PromSamples {
  const out: PromSamples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map((x) => `${x[1]}="${x[2]}"`)
      .sort();
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

/** Sum of the samples of `name` whose labels include all of `labels`. */
export function promValue(samples: PromSamples, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, v] of samples) {
    if (!key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, val]) => key.includes(`${k}="${val}"`))) sum += v;
  }
  return sum;
}

// ---------------------------------------------------------------- fixtures

export interface DeviceSpec {
  masterSn: string;
  /** files of this device */
  files: number;
  /** data rows per file */
  rows: number;
  /** rows each file shares with the previous one (identical lines: a re-export) */
  overlap: number;
  channels?: number;
  step?: number;
  /** first row, epoch seconds (UTC, declared UTC in the V003 header) */
  start?: number;
  seed?: number;
}

/**
 * One device's files under `<root>/<company>/<campaign>/<sn>/`: consecutive
 * windows of one long V003 recording, each overlapping the previous by
 * `overlap` identical rows, named `MV2_<sn>_<export time>.tsv` (the time of
 * the window's last row, so names sort in export order). Returns the paths.
 */
export function writeDeviceFiles(root: string, company: string, campaign: string, spec: DeviceSpec): string[] {
  const step = spec.step ?? 60;
  const start = spec.start ?? Date.UTC(2025, 5, 1) / 1000;
  const stride = spec.rows - spec.overlap;
  const total = stride * (spec.files - 1) + spec.rows;
  const text = [
    ...generateFile({
      format: 'v003',
      masterSn: spec.masterSn,
      channels: spec.channels ?? 6,
      slaves: 0,
      slaveChannels: 0,
      rows: total,
      start,
      step,
      defects: [],
      seed: spec.seed ?? 7,
    }),
  ].join('');
  const lines = text.split('\n');
  const header = lines.slice(0, 6);
  const data = lines.slice(6, 6 + total);
  if (lines[6 + total] !== 'END_DATA') throw new Error('unexpected generated layout');
  const dir = join(root, company, campaign, spec.masterSn);
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (let f = 0; f < spec.files; f++) {
    const first = f * stride;
    const last = start + (first + spec.rows - 1) * step;
    const name = `MV2_${spec.masterSn}_${new Date(last * 1000).toISOString().replace(/[-:]/g, '').slice(0, 15)}.tsv`;
    const path = join(dir, name);
    writeFileSync(path, [...header, ...data.slice(first, first + spec.rows), 'END_DATA', ''].join('\n'));
    out.push(path);
  }
  return out;
}

/** A device serial for the n-th device of a test. */
export const serial = (n: number): string => String(2_100_000 + n * 13).padStart(8, '0');

/** Moves files staged under `stage` to the same place under `root` (rename: they appear complete). */
export function deliver(stage: string, root: string, paths: string[]): string[] {
  return paths.map((p) => {
    const to = join(root, p.slice(stage.length + 1));
    mkdirSync(dirname(to), { recursive: true });
    renameSync(p, to);
    return to;
  });
}

/** The same path under another root. */
export const rebase = (from: string, to: string, p: string): string => join(to, p.slice(from.length + 1));

// ---------------------------------------------------------------- expectations

export interface Expected {
  /** distinct points `measurement,tags field time` → value (pointsOf's keys) */
  points: Map<string, number>;
  /** data rows of all files */
  rows: number;
  /** points of all files, overlaps counted each time */
  allPoints: number;
  /** rows a later file brings again (total rows − distinct rows per device) */
  duplicateRows: number;
  /** `device channel hour` → samples and sum */
  hourly: Map<string, { samples: number; sum: number }>;
  /** sha256 of each file's bytes */
  sha256: string[];
  files: number;
}

/**
 * What the stores must hold once `paths` (all under `root`) are ingested:
 * the pipeline's own line protocol (a dry run, on this thread), reduced to
 * its distinct points.
 */
export async function expectedOf(root: string, paths: string[]): Promise<Expected> {
  const tasks = await discover(paths, { root });
  const parts: Buffer[] = [];
  const sink = {
    write(chunk: Uint8Array) {
      parts.push(Buffer.from(chunk)); // copied: the pipeline reuses the memory
    },
    async close() {},
  };
  const p = new Pipeline({ workers: 0, sink });
  let reports;
  try {
    reports = await p.run(tasks);
  } finally {
    await p.close();
  }
  for (const r of reports)
    if (r.status !== 'ok') throw new Error(`fixture ${r.path} does not parse: ${r.error?.message}`);
  const lp = Buffer.concat(parts).toString('utf8');
  const points = new Map<string, number>();
  let allPoints = 0;
  for (const [k, v] of pointsOfLp(lp)) points.set(k, v);
  for (const line of lp.split('\n')) if (line) allPoints++;
  const rows = reports.reduce((s, r) => s + r.rows, 0);
  const deviceRows = new Map<string, Set<number>>();
  const hourly = new Map<string, { samples: number; sum: number }>();
  for (const [key, v] of points) {
    // tag values may hold spaces (channel_name=Ph 1): the field and the time are the last two words
    const i2 = key.lastIndexOf(' ');
    const series = key.slice(0, key.lastIndexOf(' ', i2 - 1));
    const tag = (name: string) => new RegExp(`,${name}=([^,]*)`).exec(series)?.[1] ?? '';
    const t = Number(key.slice(i2 + 1));
    const dev = tag('device_master_sn');
    let set = deviceRows.get(dev);
    if (!set) deviceRows.set(dev, (set = new Set()));
    set.add(t);
    const hk = `${dev} ${tag('channel_id')} ${Math.floor(t / 3600) * 3600}`;
    const h = hourly.get(hk) ?? { samples: 0, sum: 0 };
    h.samples++;
    h.sum += v;
    hourly.set(hk, h);
  }
  const distinctRows = [...deviceRows.values()].reduce((s, x) => s + x.size, 0);
  return {
    points,
    rows,
    allPoints,
    duplicateRows: rows - distinctRows,
    hourly,
    sha256: paths.map((p) => sha256(readFileSync(p))),
    files: paths.length,
  };
}

// ---------------------------------------------------------------- the final check

/** For files too large to compare point by point: the number of distinct points and the files' sha256. */
export interface LightExpected {
  distinctPoints: number;
  sha256: string[];
}

/** Points of `electrical` in an InfluxDB database (count over every field). */
export async function influxCount(env: Record<string, string>, db: string): Promise<number> {
  const r = await influxQuery(env, db, 'SELECT count(*) FROM electrical');
  const s = r.series?.[0];
  if (!s) return 0;
  return s.columns.reduce((n, c, i) => (c === 'time' ? n : n + Number(s.values[0][i])), 0);
}

/** Where a file is once ingested. */
export const parsedPath = (p: string): string => join(dirname(p), 'parsed', basename(p));

/** Files of `paths` not yet in their parsed/ folder. */
export function notParsed(paths: string[]): string[] {
  return paths.filter((p) => !existsSync(parsedPath(p)));
}

/** Waits until every file of `paths` is in parsed/ (or `timeoutMs` passes); true when they all are. */
export async function waitParsed(paths: string[], timeoutMs: number): Promise<boolean> {
  return waitUntil(() => notParsed(paths).length === 0, timeoutMs, 250);
}

/**
 * Zero files lost, zero duplicated: every file in its parsed/ folder (and
 * nothing else there, nothing in error/, nothing left in place), one ledger
 * row with status ok per file (its sha256), InfluxDB holding exactly the
 * expected distinct points with their values, and the PostgreSQL hourly
 * samples and sums equal to those of the distinct points.
 */
export async function checkStores(
  t: Test,
  db: ServeDb,
  tenant: string,
  paths: string[],
  expected: Expected | LightExpected,
): Promise<void> {
  // files
  const devices = new Set(paths.map((p) => dirname(p)));
  t.same(
    notParsed(paths).map((p) => basename(p)),
    [],
    'every file in parsed/',
  );
  t.same(
    paths.filter((p) => existsSync(p)).map((p) => basename(p)),
    [],
    'no file left in place',
  );
  const extra: string[] = [];
  const errors: string[] = [];
  for (const d of devices) {
    const want = new Set(paths.filter((p) => dirname(p) === d).map((p) => basename(p)));
    if (existsSync(join(d, 'parsed'))) for (const f of readdirSync(join(d, 'parsed'))) if (!want.has(f)) extra.push(f);
    if (existsSync(join(d, 'error'))) errors.push(...readdirSync(join(d, 'error')));
  }
  t.same(extra, [], 'nothing else in parsed/ (no second copy of a file)');
  t.same(errors, [], 'nothing in error/');
  // ledger
  const ledger = await db.pool.query<{ status: string; sha256: string; n: number }>(
    'SELECT status, sha256, count(*)::int AS n FROM core.files WHERE tenant = $1 GROUP BY 1, 2 ORDER BY 2',
    [tenant],
  );
  t.same(
    ledger.rows.map((r) => `${r.status} ${r.sha256} ${r.n}`),
    [...expected.sha256].sort().map((s) => `ok ${s} 1`),
    `the ledger: ${expected.sha256.length} rows, status ok, one per file`,
  );
  if (!('points' in expected)) {
    // counts only (files too large to hold every point in a map)
    t.equal(await influxCount(db.env, tenant), expected.distinctPoints, `InfluxDB: ${expected.distinctPoints} points`);
    const h = await db.pool.query<{ n: string }>(
      'SELECT coalesce(sum(samples), 0)::bigint AS n FROM core.hourly WHERE tenant = $1',
      [tenant],
    );
    t.equal(Number(h.rows[0].n), expected.distinctPoints, 'PostgreSQL: hourly samples sum to the distinct points');
    return;
  }
  // InfluxDB
  const found = await pointsOf(db.env, tenant);
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const [k, v] of expected.points) {
    const got = found.get(k);
    if (got === undefined) missing.push(k);
    else if (got !== v) wrong.push(`${k}: ${got} != ${v}`);
  }
  const unexpected = [...found.keys()].filter((k) => !expected.points.has(k));
  t.equal(found.size, expected.points.size, `InfluxDB: ${expected.points.size} distinct points`);
  t.same(missing.slice(0, 5), [], `no point missing in InfluxDB (${missing.length})`);
  t.same(unexpected.slice(0, 5), [], `no unexpected point in InfluxDB (${unexpected.length})`);
  t.same(wrong.slice(0, 5), [], `every value as in the file (${wrong.length} differ)`);
  // PostgreSQL hourly
  const hourly = await db.pool.query<{
    device_master_sn: string;
    channel_id: string;
    hour: string;
    samples: string;
    sum: number;
  }>(
    `SELECT device_master_sn, channel_id, extract(epoch from hour)::bigint AS hour, samples, sum_value AS sum
       FROM core.hourly WHERE tenant = $1`,
    [tenant],
  );
  const total = hourly.rows.reduce((s, r) => s + Number(r.samples), 0);
  t.equal(total, expected.points.size, 'PostgreSQL: hourly samples sum to the distinct points');
  const bad: string[] = [];
  const seen = new Set<string>();
  for (const r of hourly.rows) {
    const k = `${r.device_master_sn} ${r.channel_id} ${r.hour}`;
    seen.add(k);
    const e = expected.hourly.get(k);
    if (!e) bad.push(`${k}: unexpected`);
    else if (e.samples !== Number(r.samples) || Math.abs(e.sum - r.sum) > 1e-6 * Math.max(1, Math.abs(e.sum))) {
      bad.push(`${k}: ${r.samples} samples, sum ${r.sum}; expected ${e.samples}, ${e.sum}`);
    }
  }
  for (const k of expected.hourly.keys()) if (!seen.has(k)) bad.push(`${k}: missing`);
  t.same(bad.slice(0, 5), [], `hourly rows equal those of the distinct points (${bad.length} differ)`);
}
