/**
 * Helpers for the `powerview serve` integration tests (test/service/*.test.ts):
 * a fresh migrated database and a tenant of its own per test, and
 * `startServeCase`, the setup most serve tests share (fixtures, a `serve`
 * child, delivery, the wait, the final check, the stop). The pieces are in
 * serve-process.ts (the child and its endpoints), serve-http.ts (hook calls,
 * Prometheus text), serve-fixtures.ts (files and expectations) and
 * serve-check.ts (nothing lost, nothing doubled), re-exported here.
 * The services, their environment and the locks are services.ts's.
 */
import type { Test } from 'tap';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { checkStores, notParsed, waitParsed } from './serve-check.js';
import { deliver, expectedOf, rebase, serial, writeDeviceFiles } from './serve-fixtures.js';
import type { DeviceSpec, Expected } from './serve-fixtures.js';
import { uploadEvent } from './serve-http.js';
import { startServe, stopServe, type ServeOptions, type ServeProc } from './serve-process.js';
import { createDatabase, dropDatabase, dropDatabaseAndRoles, runCli, servicesUp } from './services.js';

export * from './serve-check.js';
export * from './serve-fixtures.js';
export * from './serve-http.js';
export * from './serve-process.js';
export { influxCount } from './services.js';

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

// ---------------------------------------------------------------- one serve case

export interface ServeFixtureOptions {
  /** names the database (serveDb's label) */
  db: string;
  /** names the tenant and the temporary folder */
  label: string;
  /** each device's files (`masterSn` defaults to `serial(i)`), under `<tenant>/camp/<sn>/` */
  devices: Array<Omit<DeviceSpec, 'masterSn'> & { masterSn?: string }>;
  /** written to `base/stage`, for the test to deliver while serve runs; default: in the root */
  staged?: boolean;
}

/** A serve test's fixtures: serveSetup, the devices' files, and what the stores must hold once they are ingested. */
export interface ServeFixtures extends ServeSetup {
  /** `base/stage` (staged) or the root: where the files were written */
  stage: string;
  /** `base/state`, serve's state folder */
  stateDir: string;
  /** each device's files in export order, where they were written */
  perDevice: string[][];
  /** every file, one device after the other */
  files: string[];
  /** the same files' paths under the root, where they are or will be delivered */
  inRoot: string[];
  /** What the stores must hold once `paths` (under the root) are ingested: from a copy taken when written. */
  expected(paths?: string[]): Promise<Expected>;
  /** checkStores over `paths` (under the root; default: every file). */
  check(paths?: string[], expected?: Expected): Promise<void>;
}

/** serveSetup and the devices' files, with a copy in `base/ref` for the expectation. */
export async function serveFixtures(t: Test, o: ServeFixtureOptions): Promise<ServeFixtures> {
  const setup = await serveSetup(t, o.db, o.label);
  const { db, tenant, base, root } = setup;
  const stage = o.staged ? join(base, 'stage') : root;
  const ref = join(base, 'ref');
  const perDevice = o.devices.map((d, i) => writeDeviceFiles(stage, tenant, 'camp', { masterSn: serial(i), ...d }));
  cpSync(stage, ref, { recursive: true });
  const files = perDevice.flat();
  const inRoot = files.map((p) => rebase(stage, root, p));
  const expected = (paths = inRoot) =>
    expectedOf(
      ref,
      paths.map((p) => rebase(root, ref, p)),
    );
  return {
    ...setup,
    stage,
    stateDir: join(base, 'state'),
    perDevice,
    files,
    inRoot,
    expected,
    async check(paths = inRoot, exp) {
      await checkStores(t, db, tenant, paths, exp ?? (await expected(paths)));
    },
  };
}

export interface ServeCaseOptions extends ServeFixtureOptions {
  /** the environment serve runs with; default: the fresh database's (`db.env`) */
  env?: (db: ServeDb) => Record<string, string> | Promise<Record<string, string>>;
  /** serve's flags besides the root and the state folder (startServe's defaults: settle 1, rescan 5, one worker) */
  serve?: Omit<ServeOptions, 'root' | 'stateDir'>;
}

export interface ServeCase extends ServeFixtures {
  serve: ServeProc;
  /** Moves `paths` from the stage into the root (staged) and sends each its upload hook: answered 200. */
  send(paths: string[], what?: string): Promise<string[]>;
  /** Waits until every file of `paths` is in parsed/ (asserted as `what`); says what is left when not. */
  ingested(paths: string[], timeoutMs: number, what: string): Promise<boolean>;
  /** SIGTERM: serve exits 0. */
  stop(): Promise<void>;
}

/**
 * The setup most serve tests share: serveFixtures, then `powerview serve`
 * started on the root with its state in `base/state`, and the steps that
 * follow (send, ingested, check, stop).
 */
export async function startServeCase(t: Test, o: ServeCaseOptions): Promise<ServeCase> {
  const f = await serveFixtures(t, o);
  const env = o.env ? await o.env(f.db) : f.db.env;
  const serve = await startServe(t, env, { ...o.serve, root: f.root, stateDir: f.stateDir });
  return {
    ...f,
    serve,
    async send(paths, what = 'hook answered 200') {
      const out = o.staged ? deliver(f.stage, f.root, paths) : paths;
      for (const p of out) t.equal((await serve.hook(uploadEvent(f.root, p))).status, 200, what);
      return out;
    },
    async ingested(paths, timeoutMs, what) {
      const done = await waitParsed(paths, timeoutMs);
      t.ok(done, what);
      if (!done) t.comment(`not parsed: ${notParsed(paths).length}; logs:\n${serve.stderr().slice(-3000)}`);
      return done;
    },
    stop: () => stopServe(t, serve),
  };
}
