/**
 * Planning against committed coverage stays bounded: a clock-reset row
 * (01/01/20) in a 2025 file opens a window of years, over a device holding
 * more than 2^24 committed timestamps (a 1-second logger's half year).
 * Expanding them into a Set threw a RangeError and sent the file to error/;
 * coverage is now looked up as runs. Through the real CLI, PostgreSQL and
 * InfluxDB.
 */
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { v003Spec, writeFile as writeTsv, type FileSpec } from '../../fixtures/generate.js';
import { ingestArgs } from '../support/cli-helpers.js';
import { dropDatabase, runCli, servicesSkip, servicesUp } from '../support/services.js';

t.setTimeout(600_000); // includes the wait for the shared services lock, like the other service tests

const STEP = 600;
const T0 = Date.UTC(2025, 2, 3, 0, 0, 0) / 1000;
const ABOVE_2_24 = 2 ** 24 + 1_000_000;

/** A V003 file of 02001171 with 3 channels: `rows` rows from row `startRow` of the day T0. */
function spec(startRow: number, rows: number, seed: number, defects: FileSpec['defects'] = []): FileSpec {
  return v003Spec({ channels: 3, rows, start: T0 + startRow * STEP, step: STEP, defects, seed });
}

t.test(
  'a clock-reset row over more than 2^24 committed timestamps: the file ingests, held points skipped',
  { skip: servicesSkip },
  async (t) => {
    const env = await servicesUp();
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
    t.teardown(() => pool.end());
    const migrate = await runCli(['migrate', '--json'], env);
    t.equal(migrate.code, 0, migrate.stderr.slice(-800));
    const company = `clockreset_${process.pid}`;
    t.teardown(() => dropDatabase(env, company).catch(() => {}));
    const root = mkdtempSync(join(tmpdir(), 'pv-clockreset-'));
    const dir = join(root, company, 'c', '02001171');
    mkdirSync(dir, { recursive: true });
    const ingest = (name: string) => runCli(ingestArgs(root, '--report-dir', join(root, 'r'), join(dir, name)), env);

    // day 1: rows 0..143
    await writeTsv(join(dir, 'T302_250303_235000.tsv'), spec(0, 144, 1));
    const a = await ingest('T302_250303_235000.tsv');
    t.equal(a.code, 0, a.stderr.slice(-800));
    // the device also holds a 1-second logger's half year up to the first file's end: one run per channel of 17.7 M timestamps
    const end = T0 + 143 * STEP;
    const updated = await pool.query('UPDATE core.coverage SET t_start = $2, step = 1, n = $3 WHERE tenant = $1', [
      company,
      end - ABOVE_2_24 + 1,
      ABOVE_2_24,
    ]);
    t.ok(updated.rowCount! > 0, 'coverage rows widened');

    // day 2: rows 72..215, one of them a clock reset to 01/01/20 (outside anything held)
    await writeTsv(join(dir, 'T302_250304_235000.tsv'), spec(72, 144, 2, ['clock-reset']));
    const b = await ingest('T302_250304_235000.tsv');
    t.equal(b.code, 0, b.stderr.slice(-800));
    const f = JSON.parse(b.stdout).files[0];
    t.equal(f.status, 'ok', JSON.stringify(f).slice(0, 800));
    t.ok(existsSync(join(dir, 'parsed', 'T302_250304_235000.tsv')), 'moved to parsed/, not error/');
    t.notOk(existsSync(join(dir, 'error', 'T302_250304_235000.tsv')));
    // rows 72..143 are held (every channel); rows 145..215 are new, the clock-reset row dropped
    t.equal(f.held_points, 72 * 3, 'held points: 72 rows × 3 channels');
    const rows = await pool.query('SELECT status FROM core.files WHERE tenant = $1 ORDER BY file_id', [company]);
    t.same(
      rows.rows.map((r) => r.status),
      ['ok', 'ok'],
    );
    // the clock-reset row is written nowhere (docs/reports.md#quality-rules): counted, not in the coverage
    t.equal(f.clock_reset_rows, 1);
    const reset = await pool.query(
      'SELECT count(*)::int AS n FROM core.coverage WHERE tenant = $1 AND t_start <= $2 AND t_end >= $2',
      [company, Date.UTC(2020, 0, 1, 1, 0, 2) / 1000],
    );
    t.equal(reset.rows[0].n, 0, "the 2020 row is not in the second file's coverage");
  },
);
