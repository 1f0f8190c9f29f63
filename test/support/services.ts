import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { cliPath, projectRoot } from './helpers.js';

/**
 * The one services harness: the local services of ops/services.sh for the
 * tests that need them (their environment, start/stop, InfluxQL and CLI
 * helpers), and the locks test processes take between them (the services
 * lock, the port lock).
 */
/** The local services' script. */
export const servicesScript = join(projectRoot, 'ops', 'services.sh');

/** Set POWERVIEW_SKIP_SERVICES=1 to skip the tests that need real services. */
export const servicesSkip =
  process.env.POWERVIEW_SKIP_SERVICES === '1' ? 'POWERVIEW_SKIP_SERVICES=1: real-service tests skipped' : false;

// ---------------------------------------------------------------- locks between test processes

/**
 * Takes the lock folder `dir` (under .powerview/) for this process: `mkdir`
 * is the atomic step, the holder's pid goes in `dir/pid`. A live holder is
 * waited for; a dead holder's lock is taken over, and so is a folder left
 * without a pid (a crash between the two steps) once it stays empty for
 * 500 ms. Resolves to the release function, also run when the process
 * exits; release removes only our own lock. Throws after `timeoutMs`, or at
 * once when this process already holds it (waiting would never end).
 */
export async function takeLock(dir: string, timeoutMs = Infinity): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const release = await tryLock(dir);
    if (release) return release;
    if (Date.now() > deadline) throw new Error(`${dir} held by pid ${lockHolder(dir)} for too long`);
    await sleep(200);
  }
}

/** One attempt at takeLock: the release function, or null while a live process holds `dir`. */
async function tryLock(dir: string): Promise<(() => void) | null> {
  mkdirSync(dirname(dir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        // only our own lock: a holder that took it over after us keeps it
        if (lockHolder(dir) === process.pid) rmSync(dir, { recursive: true, force: true });
      };
      process.on('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(dir);
      if (holder === process.pid) throw new Error(`${dir} is already held by this process`);
      if (holder !== null && !alive(holder)) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (holder === null) {
        // between mkdir and the pid file of another taker, or left empty by a crash: give it a moment
        await sleep(500);
        if (lockHolder(dir) === null && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
        continue;
      }
      return null;
    }
  }
}

function lockHolder(dir: string): number | null {
  try {
    return Number(readFileSync(join(dir, 'pid'), 'utf8')) || null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `.powerview/port-<port>.lock` (default 9464: the address the local
 * Prometheus scrapes): any test file that runs something there takes it
 * first. Throws after `timeoutMs`.
 */
export function lockPort(port = 9464, timeoutMs = 600_000): Promise<() => void> {
  return takeLock(join(projectRoot, '.powerview', `port-${port}.lock`), timeoutMs);
}

// ---------------------------------------------------------------- the services

/**
 * Test files run in parallel processes (tap's jobs), and some stop and start
 * InfluxDB or PostgreSQL: a file that uses the services holds one set of them
 * for itself until its process exits. There are `testSlots` sets: set 0 is the
 * one `ops/services.sh up` starts (.powerview/services, the usual ports), set
 * k ≥ 1 lives in .powerview/services-k on ports shifted by 10·k and is started
 * by the first file that takes it. A file takes the first free set
 * (`.powerview/test-services.lock`, `…-k.lock`), so the service files run
 * `testSlots` at a time, each alone on its set.
 */
function slotLock(k: number): string {
  const own = process.env.POWERVIEW_SERVICES_DIR;
  if (own) return `${own.replace(/\/+$/, '')}.test-lock`;
  return join(projectRoot, '.powerview', k === 0 ? 'test-services.lock' : `test-services-${k}.lock`);
}

/**
 * POWERVIEW_TEST_SLOTS, else 2: as many as tap's jobs (package.json), so a service file never waits for a set (the
 * wait would count against tap's time limit). A single set when POWERVIEW_SERVICES_DIR names one (the tests then use
 * exactly what the caller started, locked by `<dir>.test-lock`).
 */
export const testSlots = process.env.POWERVIEW_SERVICES_DIR
  ? 1
  : Math.max(1, Number(process.env.POWERVIEW_TEST_SLOTS) || 2);

/** The settings ops/services.sh reads for set `k` (none for set 0). */
export function slotSettings(k: number): Record<string, string> {
  if (k === 0) return {};
  return {
    POWERVIEW_SERVICES_DIR: join(projectRoot, '.powerview', `services-${k}`),
    POWERVIEW_PG_PORT: String(15432 + 10 * k),
    POWERVIEW_INFLUX_PORT: String(18086 + 10 * k),
    POWERVIEW_INFLUX_RPC_PORT: String(18088 + 10 * k),
    POWERVIEW_PROM_PORT: String(19090 + 10 * k),
  };
}

let services: Promise<Record<string, string>> | null = null;

/**
 * Takes a free set of services, starts it (idempotent), holds it for this test process, returns the environment
 * pointing at it. Every test that needs a service gets its environment here (directly, or through serve-harness.ts
 * or postgres-db.ts): that import is what keeps a test file out of `npm run test:unit` (see unit-files.ts). The
 * set's settings go into process.env, so everything the test spawns (the CLI, serve, ops/services.sh) uses it too.
 */
export function servicesUp(): Promise<Record<string, string>> {
  // the promise, not its value, is kept: two callers at once in one process wait for one lock
  services ??= (async () => {
    const k = await takeSlot();
    Object.assign(process.env, slotSettings(k));
    execFileSync(servicesScript, ['up'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
    return servicesEnv();
  })();
  return services;
}

/** The first free set of services, waited for when all are taken. */
async function takeSlot(): Promise<number> {
  for (;;) {
    for (let k = 0; k < testSlots; k++) if (await tryLock(slotLock(k))) return k;
    await sleep(200);
  }
}

export function servicesEnv(): Record<string, string> {
  const out = execFileSync(servicesScript, ['env'], { encoding: 'utf8' });
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) env[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  return env;
}

// ---------------------------------------------------------------- fresh PostgreSQL databases

/** The URL of database `name` on the services' PostgreSQL, as its superuser. */
export function databaseUrl(env: Record<string, string>, name: string): string {
  const u = new URL(env.DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** An empty database `name` (one left by an earlier run is dropped first); its URL. */
export async function createDatabase(env: Record<string, string>, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return databaseUrl(env, name);
}

/** Drops database `name`, then `roles`; never throws: a teardown that throws skips the others. */
export async function dropDatabaseAndRoles(env: Record<string, string>, name: string, roles: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: env.DATABASE_URL });
  try {
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`).catch(() => {});
  } catch {
    // PostgreSQL is not there: the database is left behind (its name says which test process made it)
  } finally {
    await c.end().catch(() => {});
  }
}

export function serviceCtl(command: 'start' | 'stop' | 'restart', name: 'influxdb' | 'postgres' | 'prometheus'): void {
  execFileSync(servicesScript, [command, name], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
}

/** InfluxQL over the 1.x HTTP API with the admin credentials. */
export async function influxQuery(env: Record<string, string>, db: string, q: string): Promise<InfluxQLResult> {
  const url = new URL('/query', env.INFLUX_URL);
  url.searchParams.set('db', db);
  url.searchParams.set('epoch', 's');
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ q }).toString(),
  });
  const body = (await res.json()) as { results?: InfluxQLResult[]; error?: string };
  if (!res.ok || body.error) throw new Error(`InfluxQL ${q}: HTTP ${res.status} ${body.error ?? ''}`);
  const result = body.results![0];
  if (result.error) throw new Error(`InfluxQL ${q}: ${result.error}`);
  return result;
}

export interface InfluxQLResult {
  error?: string;
  series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
}

/** Points of `electrical` in an InfluxDB database (count over every field). */
export async function influxCount(env: Record<string, string>, db: string): Promise<number> {
  const r = await influxQuery(env, db, 'SELECT count(*) FROM electrical');
  const s = r.series?.[0];
  if (!s) return 0;
  return s.columns.reduce((n, c, i) => (c === 'time' ? n : n + Number(s.values[0][i])), 0);
}

/**
 * Every point of `measurement` in `db` as `series-key field time → value`
 * (series key: measurement and sorted tags, as in line protocol).
 */
export async function pointsOf(
  env: Record<string, string>,
  db: string,
  measurement = 'electrical',
): Promise<Map<string, number>> {
  const r = await influxQuery(env, db, `SELECT * FROM "${measurement}" GROUP BY *`);
  const out = new Map<string, number>();
  for (const s of r.series ?? []) {
    const tags = Object.entries(s.tags ?? {})
      .filter(([, v]) => v !== '')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    for (const row of s.values) {
      s.columns.forEach((col, i) => {
        if (col === 'time' || row[i] === null) return;
        out.set(`${s.name},${tags} ${col} ${String(row[0])}`, Number(row[i]));
      });
    }
  }
  return out;
}

/** Splits a line-protocol line on unescaped spaces and unescapes each tag value, into the keys of pointsOf. */
export function pointsOfLp(lp: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of lp.split('\n')) {
    if (!line) continue;
    const parts: string[] = [];
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '\\' && i + 1 < line.length) {
        cur += c + line[++i];
      } else if (c === ' ' && parts.length < 2) {
        parts.push(cur);
        cur = '';
      } else cur += c;
    }
    parts.push(cur);
    const [series, fieldSet, time] = parts;
    const pieces = series.split(/(?<!\\),/).map((p) => p.replace(/\\([ ,=\\])/g, '$1'));
    const eq = fieldSet.lastIndexOf('=');
    const field = fieldSet.slice(0, eq).replace(/\\([ ,=\\])/g, '$1');
    out.set(`${pieces.join(',')} ${field} ${time}`, Number(fieldSet.slice(eq + 1)));
  }
  return out;
}

export async function dropDatabase(env: Record<string, string>, db: string): Promise<void> {
  await influxQuery(env, db, `DROP DATABASE "${db}"`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with the services' environment (plus `extra`), collecting its output. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  extra: Record<string, string> = {},
  cwd = projectRoot,
): Promise<CliResult> & { child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd,
    env: { ...process.env, ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(done, { child });
}
