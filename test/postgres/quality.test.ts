/**
 * Quality findings in PostgreSQL, through the real CLI, PostgreSQL and
 * InfluxDB: a file's findings in its commit, gaps found between files and
 * closed by the file that fills them, a file's internal gap, thresholds per
 * tenant, --force replacing a file's findings, the metric.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { GAP_ROWS, defectRows, writeFile as writeTsv, type Defect, type FileSpec } from '../../fixtures/generate.js';
import {
  createDatabase,
  dropDatabase,
  dropDatabaseAndRoles,
  runCli,
  servicesSkip,
  servicesUp,
} from '../support/services.js';

t.setTimeout(600_000); // includes the wait for the shared services lock, like the other service tests

const STEP = 600;
const T0 = Date.UTC(2025, 5, 2) / 1000;
const DAY = 144;

function spec(masterSn: string, startRow: number, rows: number, defects: Defect[] = [], seed = 1): FileSpec {
  return {
    format: 'v003',
    masterSn,
    channels: 6,
    slaves: 0,
    slaveChannels: 0,
    rows,
    start: T0 + startRow * STEP,
    step: STEP,
    defects,
    seed,
  };
}

interface Row {
  kind: string;
  channel_id: string | null;
  ts: number;
  te: number;
  measure: number;
  file_id: string | null;
  closed: boolean;
}

t.test('quality findings committed with their files', { skip: servicesSkip }, async (t) => {
  const services = await servicesUp();
  const dbName = `quality_${process.pid}`;
  const env = { ...services, DATABASE_URL: await createDatabase(services, dbName) };
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
  const a = `qa_${process.pid}`;
  const b = `qb_${process.pid}`;
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
    const args = [
      'ingest',
      '--json',
      '--meta-db',
      '',
      '--root',
      root,
      '--metrics-file',
      metrics,
      ...extra,
      join(dir, name),
    ];
    const r = await runCli(args, env);
    t.equal(r.code, 0, r.stderr.slice(-800));
    return { file: JSON.parse(r.stdout).files[0], metrics: readFileSync(metrics, 'utf8') };
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

  await t.test('a gap between two files, closed by the file that fills it', async (t) => {
    const dev = '02001171';
    await ingest(a, dev, 'T302_250602_235000.tsv', spec(dev, 0, DAY));
    t.same(await events(a, dev), [], 'one clean file: nothing');
    const c = await ingest(a, dev, 'T302_250604_235000.tsv', spec(dev, 2 * DAY, DAY, [], 3));
    const gap = { kind: 'gap', channel_id: null, ts: T0 + DAY * STEP, te: T0 + (2 * DAY - 1) * STEP, measure: DAY };
    t.same(
      (await events(a, dev)).map(({ kind, channel_id, ts, te, measure, file_id, closed }) => ({
        kind,
        channel_id,
        ts,
        te,
        measure,
        file_id,
        closed,
      })),
      [{ ...gap, file_id: null, closed: false }],
      'the day between them: 144 samples missing, a finding of the series',
    );
    t.same(
      c.file.quality.map((q: { kind: string; measure: number }) => [q.kind, q.measure]),
      [['gap', DAY]],
      'in the file report',
    );
    t.match(c.metrics, new RegExp(`powerview_quality_findings_total\\{tenant="${a}",kind="gap"\\} 1`));
    const step = await pool.query('SELECT step_s FROM core.devices WHERE tenant = $1 AND device_master_sn = $2', [
      a,
      dev,
    ]);
    t.equal(step.rows[0].step_s, STEP, 'the device step');
    const b2 = await ingest(a, dev, 'T302_250603_235000.tsv', spec(dev, DAY, DAY, [], 2));
    const after = await events(a, dev);
    t.equal(after.length, 1, 'no new gap');
    t.equal(after[0].closed, true, 'the gap is closed');
    t.same(b2.file.quality, [], 'the filling file finds nothing');
    t.ok(
      b2.file.warnings.some((w: string) => /1 gap\(s\) of the device closed/.test(w)),
      'and says it closed one',
    );
  });

  await t.test("a file's own gap belongs to the file", async (t) => {
    const dev = '02001172';
    const s = spec(dev, 0, 400, ['gap']);
    const r = await ingest(a, dev, 'T302_250605_235000.tsv', s);
    const at = defectRows(s).gap;
    const rows = await events(a, dev);
    t.equal(rows.length, 1);
    t.match(rows[0], { kind: 'gap', ts: T0 + at.from * STEP, te: T0 + (at.to - 1) * STEP, measure: GAP_ROWS });
    t.equal(Number(rows[0].file_id), r.file.ledger.file_id, 'owned by its file');
  });

  await t.test('a layout change: a finding with both layouts', async (t) => {
    const dev = '02001174';
    const first = await ingest(a, dev, 'T302_250607_235000.tsv', spec(dev, 0, DAY));
    const other = { ...spec(dev, DAY, DAY, [], 5), channels: 5 };
    const second = await ingest(a, dev, 'T302_250608_235000.tsv', other);
    t.equal(second.file.layout_drift, true);
    t.not(first.file.layout, second.file.layout);
    const rows = await pool.query(
      `SELECT kind, detail, file_id, extract(epoch FROM t_start)::float8 AS ts, extract(epoch FROM t_end)::float8 AS te
         FROM core.quality_events WHERE tenant = $1 AND device_master_sn = $2`,
      [a, dev],
    );
    t.same(
      rows.rows.map((r) => [r.kind, r.detail, Number(r.file_id), r.ts, r.te]),
      [
        [
          'layout_change',
          { from: first.file.layout, to: second.file.layout },
          second.file.ledger.file_id,
          T0 + DAY * STEP,
          T0 + (2 * DAY - 1) * STEP,
        ],
      ],
      'only the layout change: the two files are contiguous',
    );
    t.same(
      second.file.quality.map((q: { kind: string }) => q.kind),
      ['layout_change'],
    );
  });

  await t.test("negative power: only on a channel the device's earlier files never had negative", async (t) => {
    const fresh = '02001175';
    const s = spec(fresh, 0, 400, ['negative-power']);
    const alone = await ingest(a, fresh, 'T302_250609_235000.tsv', s);
    const at = defectRows(s)['negative-power'];
    t.same(
      alone.file.quality.map((q: { kind: string; measure: number }) => [q.kind, q.measure]),
      [['negative_power', at.to - at.from]],
    );
    t.match(await events(a, fresh), [{ kind: 'negative_power', channel_id: 'M02001175_Ch1', measure: 4 }]);
    // the same file after a day in which that channel went negative: the device's history overrules the file
    const seen = '02001176';
    const before = await ingest(a, seen, 'T302_250610_235000.tsv', spec(seen, 0, DAY));
    t.ok(before.file.channels[3].min < 0, 'the first file has negative values on Ch1');
    const later = await ingest(a, seen, 'T302_250611_235000.tsv', { ...spec(seen, DAY, 400, ['negative-power']) });
    t.same(later.file.quality, [], 'not in the report');
    t.ok(later.file.warnings.some((w: string) => /negative_power on M02001176_Ch1 not recorded/.test(w)));
    t.same(await events(a, seen), [], 'not in PostgreSQL');
  });

  await t.test('thresholds per tenant; --force replaces the findings', async (t) => {
    const dev = '02001173';
    await pool.query('SELECT core.ensure_tenant($1)', [b]);
    await pool.query("INSERT INTO core.quality_thresholds (tenant, parameter, value) VALUES ($1, 'stuck_min_h', 10)", [
      b,
    ]);
    const s = spec(dev, 0, 400, ['stuck']);
    const ra = await ingest(a, dev, 'T302_250606_235000.tsv', s);
    const rb = await ingest(b, dev, 'T302_250606_235000.tsv', s);
    t.same(
      ra.file.quality.map((q: { kind: string }) => q.kind),
      ['stuck_value'],
      'default: 8 h is stuck',
    );
    t.same(rb.file.quality, [], 'tenant b: stuck from 10 h on');
    const stuck = (await events(a, dev)).filter((e) => e.kind === 'stuck_value');
    t.equal(stuck.length, 1);
    t.match(stuck[0], { measure: defectRows(s).stuck.to - defectRows(s).stuck.from, channel_id: 'M02001173_Ch3' });
    t.same(await events(b, dev), []);
    // the same bytes again with --force: the file's findings replaced, not doubled
    const again = await ingest(a, dev, 'T302_250606_235000.tsv', s, ['--force']);
    t.equal(again.file.status, 'ok');
    const replaced = (await events(a, dev)).filter((e) => e.kind === 'stuck_value');
    t.equal(replaced.length, 1, 'one finding after --force');
    t.equal(Number(replaced[0].file_id), again.file.ledger.file_id);
    await pool.query('DELETE FROM core.files WHERE file_id = $1', [again.file.ledger.file_id]);
    t.same(
      (await events(a, dev)).filter((e) => e.kind === 'stuck_value'),
      [],
      "a file's removal removes its findings",
    );
  });
});
