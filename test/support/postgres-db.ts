/**
 * PostgreSQL fixtures for the test/postgres/*.test.ts files: a fresh database
 * per test file (roles are cluster-wide, so tests tolerate existing ones and
 * drop only the roles they create), LOGIN roles, and small query helpers.
 */
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { resolvePgConfig } from '../../src/postgres/config.js';
import { createPool } from '../../src/postgres/db.js';
import { createDatabase, dropDatabaseAndRoles, servicesUp } from './services.js';

export const TEST_PASSWORD = 'pv-test-pw';

export interface TestDatabase {
  name: string;
  /** postgres:// URL of the database, as the superuser of ops/services.sh */
  url: string;
  /** superuser pool on the database */
  pool: pg.Pool;
  env: Record<string, string>;
  /** URL of the database for another user */
  urlAs(user: string, password?: string): string;
  /** a pool as another user, ended in teardown */
  poolAs(user: string, password?: string): pg.Pool;
  /** a LOGIN role (dropped in teardown, after the database) member of `memberOf` */
  loginRole(name: string, memberOf?: string[]): Promise<string>;
  /** a role to drop in teardown (e.g. a tenant role made by core.ensure_tenant) */
  dropRoleLater(name: string): void;
}

let seq = 0;

/** A fresh database pv_test_<pid>_<label>, dropped (with the roles the test made) when `t` ends. */
export async function testDatabase(t: Test, label: string): Promise<TestDatabase> {
  const env = await servicesUp();
  const name = `pv_test_${process.pid}_${label}_${seq++}`.toLowerCase();
  const url = await createDatabase(env, name);
  const urlAs = (user: string, password = TEST_PASSWORD): string => {
    const u = new URL(url);
    u.username = encodeURIComponent(user);
    u.password = encodeURIComponent(password);
    return u.toString();
  };
  const pools: pg.Pool[] = [];
  const roles: string[] = [];
  const poolFor = (connectionString: string): pg.Pool => {
    const p = createPool(resolvePgConfig({ databaseUrl: connectionString }, {}), { max: 4 });
    pools.push(p);
    return p;
  };
  const pool = poolFor(url);
  t.teardown(async () => {
    for (const p of pools) await p.end().catch(() => {});
    await dropDatabaseAndRoles(env, name, roles);
  });
  return {
    name,
    url,
    pool,
    env,
    urlAs,
    poolAs: (user, password) => poolFor(urlAs(user, password)),
    async loginRole(role, memberOf = []) {
      await pool.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
      await pool.query(
        `CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD '${TEST_PASSWORD}'${memberOf.length ? ` IN ROLE ${memberOf.map((r) => pg.escapeIdentifier(r)).join(', ')}` : ''}`,
      );
      roles.push(role);
      return role;
    },
    dropRoleLater(role) {
      roles.push(role);
    },
  };
}

/**
 * `pg_dump --schema-only` of the database, minus the \restrict / \unrestrict
 * lines recent pg_dump releases frame a dump with (a random key per dump).
 */
export function schemaDump(url: string): string {
  const dump = execFileSync('pg_dump', ['--schema-only', '--no-tablespaces', '--dbname', url], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return dump.replace(/^\\(un)?restrict .*$/gm, '');
}

/** SQLSTATE of the error a promise rejects with, or 'ok' when it resolves. */
export async function sqlStateOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** One file's contribution to one channel and UTC hour (a row of staging.hourly_partials). */
export interface Partial {
  channel_id: string;
  channel_unit: string;
  /** epoch seconds, on the hour */
  hour: number;
  samples: number;
  sum_value: number;
  min_value: number;
  max_value: number;
  first_time: number;
  first_value: number;
  last_time: number;
  last_value: number;
  energy_wh: number | null;
}

const iso = (epoch: number): string => new Date(epoch * 1000).toISOString();
const copyField = (v: string | number | null): string => (v === null ? '\\N' : String(v));

let fileSeq = 0;

/**
 * Ingests one synthetic file the way the ingest does (as any role with
 * powerview_ingest): campaign, device and channels, the ledger row, its hourly
 * partials COPY-streamed into staging and merged, a coverage run, one
 * transaction. Returns the file_id.
 */
export async function ingestFile(
  pool: pg.Pool,
  f: { tenant: string; campaign: string; device: string; partials: Partial[]; merge?: boolean },
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO core.campaigns (tenant, campaign) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      f.tenant,
      f.campaign,
    ]);
    await client.query(
      `INSERT INTO core.devices (tenant, device_master_sn, master_type, layout, first_seen, last_seen) VALUES ($1, $2, 'Tri', 'L1', now(), now())
       ON CONFLICT (tenant, device_master_sn) DO UPDATE SET last_seen = now()`,
      [f.tenant, f.device],
    );
    for (const ch of new Set(f.partials.map((p) => `${p.channel_id}\t${p.channel_unit}`))) {
      const [id, unit] = ch.split('\t');
      await client.query(
        `INSERT INTO core.channels (tenant, device_master_sn, channel_id, channel_label, channel_name, channel_unit, device_sn, device_type)
         VALUES ($1, $2, $3, $4, $5, $6, $2, 'master') ON CONFLICT DO NOTHING`,
        [f.tenant, f.device, id, id.split('_').at(-1), `name of ${id}`, unit],
      );
    }
    const sha = createHash('sha256').update(`${process.pid} ${fileSeq++} ${Math.random()}`).digest('hex');
    const times = f.partials.flatMap((p) => [p.first_time, p.last_time]);
    const ins = await client.query<{ file_id: string }>(
      `INSERT INTO core.files (tenant, campaign, device_master_sn, path, sha256, size, status, rows, points, first_time, last_time)
       VALUES ($1, $2, $3, $4, $5, 1, 'ok', $6, $7, $8, $9) RETURNING file_id`,
      [
        f.tenant,
        f.campaign,
        f.device,
        `/data/${f.tenant}/${f.campaign}/${f.device}/${sha.slice(0, 8)}.tsv`,
        sha,
        f.partials.length,
        f.partials.reduce((s, p) => s + p.samples, 0),
        times.length ? iso(Math.min(...times)) : null,
        times.length ? iso(Math.max(...times)) : null,
      ],
    );
    const fileId = Number(ins.rows[0].file_id);
    const lines = f.partials.map(
      (p) =>
        [
          fileId,
          fileId,
          f.tenant,
          f.campaign,
          f.device,
          p.channel_id,
          p.channel_unit,
          iso(p.hour),
          p.samples,
          p.sum_value,
          p.min_value,
          p.max_value,
          iso(p.first_time),
          p.first_value,
          iso(p.last_time),
          p.last_value,
          p.energy_wh,
        ]
          .map(copyField)
          .join('\t') + '\n',
    );
    await pipeline(
      Readable.from(lines),
      client.query(
        copyFrom(
          'COPY staging.hourly_partials (batch_id, file_id, tenant, campaign, device_master_sn, channel_id, channel_unit, hour, samples, sum_value, ' +
            'min_value, max_value, first_time, first_value, last_time, last_value, energy_wh) FROM STDIN',
        ),
      ),
    );
    if (f.merge !== false) await client.query('SELECT core.merge_hourly($1)', [fileId]);
    for (const p of f.partials.slice(0, 1)) {
      await client.query(
        'INSERT INTO core.coverage (tenant, device_master_sn, channel_id, file_id, t_start, step, n) VALUES ($1, $2, $3, $4, $5, 600, $6)',
        [f.tenant, f.device, p.channel_id, fileId, p.first_time, p.samples],
      );
    }
    await client.query('COMMIT');
    return fileId;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** A simple partial: `samples` values v, v+1, … every 600 s from the start of the hour. */
export function partial(channel_id: string, channel_unit: string, hour: number, samples: number, v: number): Partial {
  const values = Array.from({ length: samples }, (_, i) => v + i);
  return {
    channel_id,
    channel_unit,
    hour,
    samples,
    sum_value: values.reduce((a, b) => a + b, 0),
    min_value: Math.min(...values),
    max_value: Math.max(...values),
    first_time: hour,
    first_value: values[0],
    last_time: hour + 600 * (samples - 1),
    last_value: values.at(-1)!,
    energy_wh: channel_unit === 'W' ? values.reduce((a, b) => a + b, 0) / 6 : null,
  };
}
