/**
 * The serve tests' final check: nothing lost, nothing doubled, in the data
 * root, the ledger, InfluxDB and the PostgreSQL hourly aggregates.
 */
import type { Test } from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Expected } from './serve-fixtures.js';
import type { ServeDb } from './serve-harness.js';
import { waitUntil } from './serve-process.js';
import { influxCount, pointsOf } from './services.js';

/** For files too large to compare point by point: the number of distinct points and the files' sha256. */
export interface LightExpected {
  distinctPoints: number;
  sha256: string[];
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
