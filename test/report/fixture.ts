/**
 * The report tests' databases: a fresh PostgreSQL database, two tenants provisioned as serve does
 * (logins with passwords derived from SECRET) and the demo archive ingested through the CLI: tenant A
 * has all of fixtures/demo in campaign-2025, tenant B the device 02001171 only, in a campaign of the
 * same name (the same serials and channel ids as A's), and a few quality findings of each.
 */
import type { Test } from 'tap';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { tenantLogin, tenantRole } from '../../src/grafana/names.js';
import { resolveInfluxConfig } from '../../src/influx/config.js';
import { resolvePgConfig } from '../../src/postgres/config.js';
import { migrate } from '../../src/postgres/migrate.js';
import { provisionTenant } from '../../src/provision/tenant.js';
import { tenantPool } from '../../src/report/connect.js';
import { projectRoot } from '../support/helpers.js';
import { testDatabase, type TestDatabase } from '../support/postgres-db.js';
import { influxQuery, runCli } from '../support/services.js';

export const SECRET = 'report-test-secret-0123456789';
export const CAMPAIGN = 'campaign-2025';

export interface ReportDb {
  db: TestDatabase;
  A: string;
  B: string;
  /** the environment of a `powerview report` process against this database */
  env: Record<string, string>;
  /** a pool as the tenant's own login (ended with the test) */
  loginPool: (tenant: string, secret?: string) => pg.Pool;
}

export async function reportDb(t: Test, label: string): Promise<ReportDb> {
  const db = await testDatabase(t, label);
  await migrate(db.pool);
  // parallel plans for every statement (new sessions): the sums must not depend on the plan's order of rows
  await db.pool.query(
    `ALTER DATABASE ${db.name} SET parallel_setup_cost = 0; ALTER DATABASE ${db.name} SET parallel_tuple_cost = 0;
     ALTER DATABASE ${db.name} SET min_parallel_table_scan_size = 0`,
  );
  const A = `rp${label}a${process.pid}`;
  const B = `rp${label}b${process.pid}`;
  const influx = resolveInfluxConfig({}, db.env);
  t.teardown(async () => {
    for (const name of [A, B]) {
      await influxQuery(db.env, '_internal', `DROP DATABASE "${name}"`).catch(() => {});
      await influxQuery(db.env, '_internal', `DROP USER "${tenantLogin(name)}"`).catch(() => {});
    }
  });
  for (const name of [A, B]) {
    db.dropRoleLater(tenantLogin(name));
    db.dropRoleLater(tenantRole(name));
    await provisionTenant({ pool: db.pool, influx, tenant: name, campaign: CAMPAIGN, secret: SECRET });
  }
  const root = mkdtempSync(join(tmpdir(), 'pv-report-data-'));
  const demo = join(projectRoot, 'fixtures', 'demo', 'acme', CAMPAIGN);
  cpSync(demo, join(root, A, CAMPAIGN), { recursive: true });
  cpSync(join(demo, '02001171'), join(root, B, CAMPAIGN, '02001171'), { recursive: true });
  const args = ['ingest', '--json', '--meta-db', '', '--no-progress', '--root', root];
  const ingest = await runCli([...args, '--report-dir', join(root, '..', `r-${process.pid}`), root], db.env, {
    DATABASE_URL: db.url,
  });
  if (ingest.code !== 0 && ingest.code !== 1) throw new Error(`ingest failed (${ingest.code}): ${ingest.stderr}`);
  await addFindings(db.pool, A, B);
  const pools: pg.Pool[] = [];
  t.teardown(async () => {
    for (const p of pools) await p.end().catch(() => {});
  });
  return {
    db,
    A,
    B,
    env: { ...db.env, DATABASE_URL: db.url, POWERVIEW_TENANT_SECRET: SECRET },
    loginPool: (tenant, secret = SECRET) => {
      const pool = tenantPool(resolvePgConfig({ databaseUrl: db.url }, {}), tenant, secret);
      pools.push(pool);
      return pool;
    },
  };
}

/** Two findings of A (one of a file, one of the series), one of B on the same serial, one of A out of the period. */
async function addFindings(pool: pg.Pool, A: string, B: string): Promise<void> {
  const file = async (tenant: string) =>
    (
      await pool.query<{ file_id: string }>(
        "SELECT file_id FROM core.files WHERE tenant = $1 AND status = 'ok' ORDER BY file_id LIMIT 1",
        [tenant],
      )
    ).rows[0].file_id;
  const insert = `INSERT INTO core.quality_events
    (tenant, campaign, device_master_sn, channel_id, kind, severity, t_start, t_end, measure, detail, file_id, closed_at)
    VALUES ($1, $2, '02001171', $3, $4, 'warning', $5, $6, $7, $8, $9, $10)`;
  await pool.query(insert, [
    A,
    CAMPAIGN,
    'M02001171_U1',
    'voltage_out_of_band',
    '2025-10-26T10:00:00Z',
    '2025-10-26T10:30:00Z',
    4,
    { band: [207, 253] },
    await file(A),
    null,
  ]);
  await pool.query(insert, [
    A,
    null,
    null,
    'gap',
    '2025-10-27T03:00:00Z',
    '2025-10-27T04:00:00Z',
    6,
    {},
    null,
    '2025-11-01T00:00:00Z',
  ]);
  await pool.query(insert, [
    A,
    CAMPAIGN,
    null,
    'clock_reset',
    '2020-01-01T00:00:00Z',
    '2020-01-01T00:00:00Z',
    1e8,
    {},
    null,
    null,
  ]);
  await pool.query(insert, [
    B,
    CAMPAIGN,
    'M02001171_U1',
    'stuck_value',
    '2025-10-26T10:00:00Z',
    '2025-10-26T12:00:00Z',
    12,
    { value: 230 },
    await file(B),
    null,
  ]);
}
