/**
 * A generated year of one device (monthly re-exports overlapping by a
 * week): PostgreSQL hourly samples/sum/min/max equal InfluxQL
 * count/sum/min/max … GROUP BY time(1h) over the same series.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { exportFileName, writeFile as writeTsv } from '../../fixtures/generate.js';
import { ingestArgs } from '../support/cli-helpers.js';
import { dropDatabase, influxQuery, runCli, servicesSkip, servicesUp } from '../support/services.js';

t.setTimeout(600_000);

const STEP = 600;
const WEEK = 7 * 86400;
const START = Date.UTC(2024, 0, 1) / 1000;

t.test(
  'a year of one device: PostgreSQL hourly rows equal InfluxQL GROUP BY time(1h)',
  { skip: servicesSkip },
  async (t) => {
    const env = await servicesUp();
    const company = `year_${process.pid}`;
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    t.teardown(async () => {
      await pool.end();
      await dropDatabase(env, company).catch(() => {});
    });
    t.equal((await runCli(['migrate', '--json'], env)).code, 0);
    const root = mkdtempSync(join(tmpdir(), 'pv-year-'));
    const dir = join(root, company, 'year', '02001171');
    mkdirSync(dir, { recursive: true });
    for (let m = 0; m < 13; m++) {
      const start = START + m * 4 * WEEK;
      await writeTsv(join(dir, exportFileName(start + 5 * WEEK, 'v003')), {
        format: 'v003',
        masterSn: '02001171',
        channels: 6,
        slaves: 0,
        slaveChannels: 0,
        rows: (5 * WEEK) / STEP,
        start,
        step: STEP,
        defects: m % 4 === 0 ? ['invalid-values', 'duplicates'] : [],
        seed: 100 + m,
      });
    }
    const run = await runCli(ingestArgs(root, '--report-dir', join(root, 'r'), root), env);
    t.equal(run.code, 0, run.stderr.slice(-1000));
    const report = JSON.parse(run.stdout);
    t.ok(report.totals.duplicate_rows > 0, `overlaps skipped as duplicates (${report.totals.duplicate_rows} rows)`);

    const channels = await pool.query<{ channel_id: string; channel_unit: string }>(
      'SELECT DISTINCT channel_id, channel_unit FROM core.hourly WHERE tenant = $1 ORDER BY 1',
      [company],
    );
    t.equal(channels.rows.length, 6);
    let compared = 0;
    let differing = 0;
    for (const { channel_id: id, channel_unit: unit } of channels.rows) {
      const field = `${id}_${unit}`;
      const q = await influxQuery(
        env,
        company,
        `SELECT count("${field}"), sum("${field}"), min("${field}"), max("${field}") FROM electrical WHERE channel_id = '${id}' AND time >= ${START}s AND time < ${START + 60 * WEEK}s GROUP BY time(1h)`,
      );
      const influx = new Map<number, number[]>();
      for (const row of q.series![0].values as number[][]) if (row[1] > 0) influx.set(row[0], row.slice(1));
      const pgRows = await pool.query<{
        hour: string;
        samples: string;
        sum_value: number;
        min_value: number;
        max_value: number;
      }>(
        `SELECT extract(epoch from hour)::bigint AS hour, samples, sum_value, min_value, max_value FROM core.hourly WHERE tenant = $1 AND channel_id = $2`,
        [company, id],
      );
      t.equal(pgRows.rows.length, influx.size, `${id}: as many hours in both stores`);
      for (const r of pgRows.rows) {
        const i = influx.get(Number(r.hour));
        compared++;
        const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
        if (
          !i ||
          Number(r.samples) !== i[0] ||
          !close(r.sum_value, i[1]) ||
          r.min_value !== i[2] ||
          r.max_value !== i[3]
        )
          differing++;
      }
    }
    t.ok(compared > 6 * 8000, `${compared} channel-hours compared`);
    t.equal(differing, 0, 'zero difference between PostgreSQL and InfluxQL');
  },
);
