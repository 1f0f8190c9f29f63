/**
 * What the serve benches share: the services (held like a test file holds
 * them), the migrations, a tenant wiped clean in both stores, and a
 * `powerview serve` child fed by SFTPGo-like hook calls.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { servicesUp } from '../test/support/services.js';

export const projectRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const cli = join(projectRoot, 'bin', 'powerview.js');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** influxd's pid, from the services' state dir (POWERVIEW_SERVICES_DIR when set); read each time: tests restart it. */
export function influxPid(): number {
  const dir = process.env.POWERVIEW_SERVICES_DIR ?? join(projectRoot, '.powerview', 'services');
  return Number(readFileSync(join(dir, 'influxdb', 'influxd.pid'), 'utf8').trim());
}

export async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** The part of an InfluxQL reply the benches read. */
export interface InfluxQLReply {
  results?: Array<{ series?: Array<{ values?: unknown[][] }> }>;
}

export interface BenchServices {
  env: Record<string, string>;
  pool: pg.Pool;
  influxql: (q: string, db?: string) => Promise<InfluxQLReply>;
  /** the tenant's rows in PostgreSQL (its provisioning kept) and its InfluxDB database: gone */
  wipeTenant: (tenant: string) => Promise<void>;
  close: () => Promise<void>;
}

/** Data tables keyed by tenant, children first (foreign keys). */
const TENANT_DATA = [
  'file_hourly',
  'hourly',
  'coverage',
  'files',
  'device_coverage_versions',
  'channels',
  'devices',
] as const;

/** The services up (a test that stops a store meanwhile would spoil the figures), migrated. */
export async function benchServices(): Promise<BenchServices> {
  const env = await servicesUp();
  execFileSync(process.execPath, [cli, 'migrate'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  const influxAuth = `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`;
  const influxql = async (q: string, db = ''): Promise<InfluxQLReply> => {
    const r = await fetch(`${env.INFLUX_URL}/query?${new URLSearchParams({ q, db })}`, {
      method: 'POST',
      headers: { authorization: influxAuth },
    });
    return (await r.json()) as InfluxQLReply;
  };
  return {
    env,
    pool,
    influxql,
    wipeTenant: async (tenant) => {
      for (const table of TENANT_DATA) await pool.query(`DELETE FROM core.${table} WHERE tenant = $1`, [tenant]);
      await influxql(`DROP DATABASE "${tenant}"`);
    },
    close: () => pool.end(),
  };
}

/** What both stores hold of a tenant: ok ledger rows, hourly samples, InfluxDB points of `electrical`. */
export async function tenantTotals(
  s: BenchServices,
  tenant: string,
): Promise<{ ledgerRows: number; hourlySamples: number; influxPoints: number }> {
  const ledger = await s.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM core.files WHERE tenant = $1 AND status = 'ok'",
    [tenant],
  );
  const hourly = await s.pool.query<{ s: string }>(
    'SELECT coalesce(sum(samples), 0)::text AS s FROM core.hourly WHERE tenant = $1',
    [tenant],
  );
  const counted = await s.influxql('SELECT count(*) FROM electrical', tenant);
  const influxPoints = Object.entries(counted.results?.[0]?.series?.[0]?.values?.[0] ?? [])
    .slice(1)
    .reduce((sum, [, v]) => sum + Number(v), 0);
  return { ledgerRows: ledger.rows[0].n, hourlySamples: Number(hourly.rows[0].s), influxPoints };
}

export interface ServeChild {
  child: ChildProcess;
  base: string;
  /** an SFTPGo hook call (Bearer secret) */
  hook(body: object): Promise<Response>;
  stop(): Promise<void>;
}

/** `powerview serve` on a free port, ready (GET /readyz 200); `extraArgs` after the common ones. */
export async function startServe(opts: {
  env: Record<string, string>;
  root: string;
  stateDir: string;
  logFile: string;
  secret: string;
  nodeArgs?: string[];
  extraArgs?: string[];
  stdio?: 'inherit' | 'pipe';
}): Promise<ServeChild> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      cli,
      'serve',
      '--root',
      opts.root,
      '--http-addr',
      `127.0.0.1:${port}`,
      '--state-dir',
      opts.stateDir,
      '--log-file',
      opts.logFile,
      '--log-level',
      process.env.BENCH_LOG_LEVEL ?? 'warn',
      '--grafana-dir',
      '',
      ...(opts.extraArgs ?? []),
    ],
    {
      env: { ...process.env, ...opts.env, POWERVIEW_HOOK_SECRET: opts.secret },
      stdio: ['ignore', 'inherit', opts.stdio ?? 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 600 || child.exitCode !== null) throw new Error('serve did not become ready');
    await sleep(100);
  }
  const hook = (body: object) =>
    fetch(`${base}/hooks/sftpgo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { child, base, hook, stop };
}
