/**
 * For the quality-findings tests (test/postgres/quality*.test.ts): a fresh database migrated through the CLI, two
 * tenants, an ingest of one generated file with its metrics, and the findings of a device as stored.
 */
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { v003Spec, writeFile as writeTsv, type Defect, type FileSpec } from '../../fixtures/generate.js';
import { ingestArgs } from './cli-helpers.js';
import { createDatabase, dropDatabase, dropDatabaseAndRoles, runCli, servicesSkip, servicesUp } from './services.js';

export const STEP = 600;
export const T0 = Date.UTC(2025, 5, 2) / 1000;
export const DAY = 144;

/** A V003 file of `masterSn` (6 channels, no slaves): `rows` rows from row `startRow` of the day T0. */
export function spec(masterSn: string, startRow: number, rows: number, defects: Defect[] = [], seed = 1): FileSpec {
  return v003Spec({ masterSn, rows, start: T0 + startRow * STEP, step: STEP, defects, seed });
}

export interface Row {
  kind: string;
  channel_id: string | null;
  ts: number;
  te: number;
  measure: number;
  file_id: string | null;
  closed: boolean;
}

/** The fields of a file's `ingest --json` report that the quality tests read. */
export interface IngestedFile {
  status: string;
  warnings: string[];
  quality: Array<{ kind: string; measure: number }>;
  channels: Array<{ min: number }>;
  layout: string;
  layout_drift?: boolean;
  ledger: { file_id: number };
}

export interface QualityCase {
  pool: pg.Pool;
  a: string;
  b: string;
  ingest: (
    tenant: string,
    device: string,
    name: string,
    s: FileSpec,
    extra?: string[],
  ) => Promise<{ file: IngestedFile; metrics: string }>;
  events: (tenant: string, device: string) => Promise<Row[]>;
}

/** A suite of quality cases over one database: `body` adds its subtests. */
export function qualitySuite(t: Test, name: string, label: string, body: (t: Test, c: QualityCase) => Promise<void>) {
  t.test(name, { skip: servicesSkip }, async (t) => {
    const services = await servicesUp();
    const dbName = `quality_${label}_${process.pid}`;
    const env = { ...services, DATABASE_URL: await createDatabase(services, dbName) };
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
    const a = `qa${label}_${process.pid}`;
    const b = `qb${label}_${process.pid}`;
    t.teardown(async () => {
      await pool.end();
      await dropDatabaseAndRoles(services, dbName, []);
      for (const db of [a, b]) await dropDatabase(services, db).catch(() => {});
    });
    const migrate = await runCli(['migrate', '--json'], env);
    t.equal(migrate.code, 0, migrate.stderr.slice(-800));
    const root = mkdtempSync(join(tmpdir(), 'pv-quality-pg-'));
    const ingest = async (tenant: string, device: string, name: string, s: FileSpec, extra: string[] = []) => {
      const dir = join(root, tenant, 'c', device);
      mkdirSync(dir, { recursive: true });
      await writeTsv(join(dir, name), s);
      const metrics = join(root, `${name}.prom`);
      const r = await runCli(ingestArgs(root, '--metrics-file', metrics, ...extra, join(dir, name)), env);
      t.equal(r.code, 0, r.stderr.slice(-800));
      const file = (JSON.parse(r.stdout) as { files: IngestedFile[] }).files[0];
      return { file, metrics: readFileSync(metrics, 'utf8') };
    };
    const events = async (tenant: string, device: string) =>
      (
        await pool.query<Row>(
          `SELECT kind, channel_id, extract(epoch FROM t_start)::float8 AS ts, extract(epoch FROM t_end)::float8 AS te,
                measure, file_id, closed_at IS NOT NULL AS closed
           FROM core.quality_events WHERE tenant = $1 AND device_master_sn = $2 ORDER BY t_start, kind`,
          [tenant, device],
        )
      ).rows;

    await body(t, { pool, a, b, ingest, events });
  });
}
