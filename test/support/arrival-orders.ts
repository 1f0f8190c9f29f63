/**
 * Exactly-once in every arrival order (docs/architecture.md): three
 * overlapping re-exports of one device, ingested one run per file in a given
 * order, leave PostgreSQL hourly aggregates equal to those of the distinct
 * points (the first file that brings a point wins) and InfluxDB holding
 * exactly those points. The six orders are split over three test files by
 * the export that arrives first (exactly-once*.test.ts), so that none comes
 * near tap's time limit.
 */
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { v003Spec, writeFile as writeTsv, type FileSpec } from '../../fixtures/generate.js';
import { ingestArgs } from './cli-helpers.js';
import { dropDatabase, pointsOf, pointsOfLp, runCli, servicesUp } from './services.js';

const STEP = 600;
const T0 = Date.UTC(2025, 2, 3, 0, 0, 0) / 1000;

/** A V003 file of 02001171 (6 channels, a slave of 3): `rows` rows from row `startRow` of the day T0. */
function spec(startRow: number, rows: number, seed: number, defects: FileSpec['defects'] = []): FileSpec {
  return v003Spec({ slaves: 1, slaveChannels: 3, rows, start: T0 + startRow * STEP, step: STEP, defects, seed });
}

/** Three overlapping exports with different values where they overlap (so the winner shows), one with invalid cells. */
const FILES: Array<[string, FileSpec]> = [
  ['T302_250304_000000.tsv', spec(0, 144, 1, ['invalid-values'])],
  ['T302_250305_000000.tsv', spec(72, 144, 2)],
  ['T302_250306_000000.tsv', spec(200, 100, 3, ['invalid-values'])],
];

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

interface Agg {
  unit: string;
  samples: number;
  sum: number;
  min: number;
  max: number;
  energy: number;
}

/** The six arrival orders of the three files (indexes into FILES). */
export const ARRIVAL_ORDERS = permutations([0, 1, 2]);

/** Ingests the files in each order (a tenant per order) and checks both stores against the distinct points. */
export async function checkArrivalOrders(t: Test, orders: number[][]): Promise<void> {
  const env = await servicesUp();
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  t.teardown(() => pool.end());
  const migrate = await runCli(['migrate', '--json'], env);
  t.equal(migrate.code, 0, migrate.stderr.slice(-800));

  // each file's points as the product's dry run builds them (no PostgreSQL involved)
  const lpDir = mkdtempSync(join(tmpdir(), 'pv-once-lp-'));
  const filePoints: Array<Map<string, number>> = [];
  for (const [name, s] of FILES) {
    const dir = join(lpDir, 'acme', 'c', '02001171');
    mkdirSync(dir, { recursive: true });
    await writeTsv(join(dir, name), s);
    const lp = join(lpDir, `${name}.lp`);
    const r = await runCli(['ingest', '--dry-run', '--json', '--lp-out', lp, '--root', lpDir, join(dir, name)], env);
    t.equal(r.code, 0);
    filePoints.push(pointsOfLp(readFileSync(lp, 'utf8')));
  }

  for (const order of orders) {
    const company = `once_${order.join('')}_${process.pid}`;
    t.teardown(() => dropDatabase(env, company).catch(() => {}));
    const root = mkdtempSync(join(tmpdir(), 'pv-once-'));
    const dir = join(root, company, 'c', '02001171');
    mkdirSync(dir, { recursive: true });
    // arrival order: one run per file
    for (const i of order) {
      const [name, s] = FILES[i];
      await writeTsv(join(dir, name), s);
      const r = await runCli(ingestArgs(root, '--report-dir', join(root, 'r'), join(dir, name)), env);
      t.equal(r.code, 0, r.stderr.slice(-800));
    }
    // the distinct points: the first file (in arrival order) that brings a point wins
    const expected = new Map<string, number>();
    for (const i of order)
      for (const [k, v] of filePoints[i])
        if (!expected.has(k.replace(/campaign=c,/, ''))) expected.set(k.replace(/campaign=c,/, ''), v);
    const influx = new Map([...(await pointsOf(env, company))].map(([k, v]) => [k.replace(/campaign=c,/, ''), v]));
    t.equal(influx.size, expected.size, `${order.join(',')}: InfluxDB holds exactly the distinct points`);
    let differing = 0;
    for (const [k, v] of expected) if (influx.get(k) !== v) differing++;
    t.equal(differing, 0, `${order.join(',')}: every InfluxDB point is the first file's`);

    const want = new Map<string, Agg>();
    for (const [k, v] of expected) {
      // tag values may hold spaces (channel_name=Ph 1): the field and the time are the last two tokens
      const parts = k.split(' ');
      const time = parts[parts.length - 1];
      const field = parts[parts.length - 2];
      const series = parts.slice(0, -2).join(' ');
      const channel = /channel_id=([^,]+)/.exec(series)![1];
      const unit = field.slice(field.lastIndexOf('_') + 1);
      const hour = Math.floor(Number(time) / 3600) * 3600;
      const key = `${channel} ${hour}`;
      const a = want.get(key) ?? { unit, samples: 0, sum: 0, min: Infinity, max: -Infinity, energy: 0 };
      a.samples++;
      a.sum += v;
      a.min = Math.min(a.min, v);
      a.max = Math.max(a.max, v);
      if (unit === 'W') a.energy += (v * STEP) / 3600;
      want.set(key, a);
    }
    const rows = await pool.query<{
      channel_id: string;
      hour: number;
      samples: string;
      sum_value: number;
      min_value: number;
      max_value: number;
      energy_wh: number | null;
    }>(
      `SELECT channel_id, extract(epoch from hour)::bigint AS hour, samples, sum_value, min_value, max_value, energy_wh
       FROM core.hourly WHERE tenant = $1`,
      [company],
    );
    t.equal(rows.rows.length, want.size, `${order.join(',')}: one hourly row per channel and hour`);
    t.equal(
      rows.rows.reduce((n, r) => n + Number(r.samples), 0),
      expected.size,
      `${order.join(',')}: samples add up to the distinct points`,
    );
    let bad = 0;
    for (const r of rows.rows) {
      const w = want.get(`${r.channel_id} ${r.hour}`);
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
      if (
        !w ||
        Number(r.samples) !== w.samples ||
        !close(r.sum_value, w.sum) ||
        r.min_value !== w.min ||
        r.max_value !== w.max ||
        (w.unit === 'W' ? !close(r.energy_wh ?? NaN, w.energy) : r.energy_wh !== null)
      ) {
        bad++;
      }
    }
    t.equal(bad, 0, `${order.join(',')}: PostgreSQL hourly rows equal the distinct-point aggregates`);
    const ledger = await pool.query(
      'SELECT count(*)::int AS n, sum(duplicate_rows)::int AS dup FROM core.files WHERE tenant = $1',
      [company],
    );
    t.equal(ledger.rows[0].n, 3, 'three ledger rows');
  }
}
