/**
 * Exactly-once across processes: one logger's overlapping files misfiled in
 * three campaign folders, ingested by three `powerview ingest` processes at
 * once. Overlap is judged per (tenant, master serial): the device claim makes
 * the processes plan one after another, so PostgreSQL's hourly samples and
 * InfluxDB's points both equal the distinct points (device, channel, time),
 * whatever campaign each point landed in.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { v003Spec, writeFile as writeTsv, type FileSpec } from '../../fixtures/generate.js';
import { ingestArgs } from '../support/cli-helpers.js';
import { dropDatabase, pointsOf, pointsOfLp, runCli, servicesSkip, servicesUp } from '../support/services.js';

t.setTimeout(600_000);

const SN = '02001172';
const STEP = 600;
const T0 = Date.UTC(2025, 2, 3, 0, 0, 0) / 1000;
/** A V003 file of SN with 3 channels: `rows` rows from row `startRow` of the day T0. */
const spec = (startRow: number, rows: number, seed: number): FileSpec =>
  v003Spec({ masterSn: SN, channels: 3, rows, start: T0 + startRow * STEP, step: STEP, seed });
/** per campaign folder: files overlapping each other and the other folders' files */
const CAMPAIGNS: Record<string, Array<[string, FileSpec]>> = {
  c1: [
    [`MV2_${SN}_20250304_000000.tsv`, spec(0, 200, 1)],
    [`MV2_${SN}_20250306_000000.tsv`, spec(300, 200, 2)],
  ],
  c2: [
    [`MV2_${SN}_20250305_000000.tsv`, spec(100, 300, 3)],
    [`MV2_${SN}_20250307_000000.tsv`, spec(450, 150, 4)],
  ],
  c3: [[`MV2_${SN}_20250308_000000.tsv`, spec(50, 500, 5)]],
};

t.test(
  'one logger in three campaign folders, three backfills at once: samples and points equal the distinct points',
  { skip: servicesSkip },
  async (t) => {
    const env = await servicesUp();
    const company = `xproc_${process.pid}`;
    t.teardown(() => dropDatabase(env, company).catch(() => {}));
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    t.teardown(() => pool.end());
    const migrate = await runCli(['migrate', '--json'], env);
    t.equal(migrate.code, 0, migrate.stderr.slice(-800));

    const root = mkdtempSync(join(tmpdir(), 'pv-xproc-'));
    const distinct = new Set<string>();
    for (const [campaign, files] of Object.entries(CAMPAIGNS)) {
      const dir = join(root, company, campaign, SN);
      mkdirSync(dir, { recursive: true });
      for (const [name, s] of files) {
        await writeTsv(join(dir, name), s);
        const lp = join(root, `${name}.lp`);
        const r = await runCli(['ingest', '--dry-run', '--json', '--lp-out', lp, '--root', root, join(dir, name)], env);
        t.equal(r.code, 0, r.stderr);
        // the point's identity without its campaign: (device, channel, field, time)
        for (const k of pointsOfLp(readFileSync(lp, 'utf8')).keys()) distinct.add(k.replace(/campaign=[^,]+,/, ''));
      }
    }
    const runs = await Promise.all(
      Object.keys(CAMPAIGNS).map((campaign) =>
        runCli(
          ingestArgs(
            root,
            '--workers',
            '1',
            '--report-dir',
            join(root, `r-${campaign}`),
            join(root, company, campaign),
          ),
          env,
        ),
      ),
    );
    for (const r of runs) t.equal(r.code, 0, r.stderr.slice(-800));

    const influx = await pointsOf(env, company);
    t.equal(influx.size, distinct.size, 'InfluxDB holds each distinct point once (in one campaign)');
    const samples = await pool.query<{ n: string }>(
      'SELECT coalesce(sum(samples), 0) AS n FROM core.hourly WHERE tenant = $1',
      [company],
    );
    const fieldsPerPoint = distinct.size; // one hourly sample per (channel, time) point
    t.equal(Number(samples.rows[0].n), fieldsPerPoint, 'hourly samples add up to the distinct points');
    const version = await pool.query<{ version: string }>(
      'SELECT version FROM core.device_coverage_versions WHERE tenant = $1 AND device_master_sn = $2',
      [company, SN],
    );
    t.ok(Number(version.rows[0]?.version) >= 1, 'commits bumped the device coverage version');
  },
);
