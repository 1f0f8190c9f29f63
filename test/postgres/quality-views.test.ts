/**
 * The quality and completeness BI views against the real PostgreSQL: a tenant's login reads its own
 * findings and completeness only (row-level security through bi_owner's views), each tool's reader its
 * own views; the findings carry their file's path and open flag; completeness counts the covered part
 * of a device's first and last local day and a day without data inside its span.
 */
import t from 'tap';
import { migrate } from '../../src/postgres/migrate.js';
import { servicesSkip } from '../support/services.js';
import { ingestFile, partial, sqlStateOf, testDatabase } from '../support/postgres-db.js';

t.setTimeout(600_000);

const pid = process.pid;
const HOUR = 3600;
const METABASE = ['vw_metabase_quality', 'vw_metabase_completeness'];
const POWERBI = ['vw_powerbi_quality', 'vw_powerbi_completeness'];
// 2025-01-15 21:00 UTC = 22:00 in Paris (UTC+1 in January)
const H0 = Date.UTC(2025, 0, 15, 21) / 1000;
// 2025-01-20 10:00 UTC
const X = Date.UTC(2025, 0, 20, 10) / 1000;

t.test('quality and completeness views', { skip: servicesSkip }, async (t) => {
  const db = await testDatabase(t, 'qviews');
  await migrate(db.pool);
  const ta = `qv_a_${pid}`;
  const tb = `QV.b-${pid}`;
  const roleA = `pv_tenant_qv_a_${pid}`;
  const roleB = `pv_tenant_qv_b_${pid}`;
  db.dropRoleLater(roleA);
  db.dropRoleLater(roleB);
  const ingest = db.poolAs(await db.loginRole(`pv_q${pid}_ingest`, ['powerview_ingest']));
  await ingest.query('SELECT core.ensure_tenant($1)', [ta]);
  await ingest.query("SELECT core.ensure_tenant($1, 'America/New_York')", [tb]);

  // tenant a, device 1: two channels, 22:00 and 23:00 on the 15th (local), 00:00 and 02:00 on the 16th
  const hours = [H0, H0 + HOUR, H0 + 2 * HOUR, H0 + 4 * HOUR];
  const fa = await ingestFile(ingest, {
    tenant: ta,
    campaign: 'camp-1',
    device: '02000001',
    partials: hours.flatMap((h) => [partial('M02000001_Ch1', 'W', h, 6, 10), partial('M02000001_U1', 'V', h, 6, 230)]),
  });
  // tenant a, device 2: one channel, one hour on the 20th and one on the 22nd, nothing on the 21st
  await ingestFile(ingest, {
    tenant: ta,
    campaign: 'camp-1',
    device: '02000002',
    partials: [partial('M02000002_Ch1', 'W', X, 6, 1), partial('M02000002_Ch1', 'W', X + 48 * HOUR, 6, 1)],
  });
  const fb = await ingestFile(ingest, {
    tenant: tb,
    campaign: 'camp-b',
    device: '02000003',
    partials: [partial('M02000003_Ch1', 'W', H0, 6, 5)],
  });
  await ingest.query('UPDATE core.devices SET step_s = 600');
  const finding = `INSERT INTO core.quality_events
      (tenant, campaign, device_master_sn, channel_id, kind, t_start, t_end, measure, file_id, closed_at)
      VALUES ($1, $2, $3, $4, $5, to_timestamp($6::float8), to_timestamp($6::float8 + 3000), $7, $8, $9)`;
  await ingest.query(finding, [ta, 'camp-1', '02000001', null, 'gap', H0 + 3 * HOUR, 6, null, null]);
  await ingest.query(finding, [ta, 'camp-1', '02000001', 'M02000001_U1', 'voltage_out_of_band', H0, 3, fa, null]);
  await ingest.query(finding, [ta, 'camp-1', '02000002', null, 'gap', X, 138, null, new Date()]);
  await ingest.query(finding, [tb, 'camp-b', '02000003', 'M02000003_Ch1', 'zero_run', H0, 6, fb, null]);

  t.test("a tenant's login reads its own findings and completeness only, in every view", async (t) => {
    for (const [tenant, role] of [
      [ta, roleA],
      [tb, roleB],
    ]) {
      const c = db.poolAs(await db.loginRole(`pv_q${pid}_${role.slice(-12)}`, [role]));
      for (const view of [...METABASE, ...POWERBI]) {
        const r = await c.query(
          `SELECT count(*) FILTER (WHERE tenant = $1)::int AS own, count(*) FILTER (WHERE tenant <> $1)::int AS other
             FROM bi.${view}`,
          [tenant],
        );
        t.equal(r.rows[0].other, 0, `${tenant} ${view}: no row of another tenant`);
        t.ok(r.rows[0].own > 0, `${tenant} ${view}: its own rows`);
      }
      const leak = await c.query('SELECT count(*)::int AS n FROM bi.vw_metabase_quality WHERE tenant = $1', [
        tenant === ta ? tb : ta,
      ]);
      t.equal(leak.rows[0].n, 0, `${tenant}: asking for the other tenant by name gives nothing`);
      t.equal(await sqlStateOf(c.query('SELECT 1 FROM core.quality_events')), '42501', 'no access to core');
    }
  });

  for (const [tool, own, foreign] of [
    ['lecteur_metabase', METABASE, POWERBI],
    ['lecteur_powerbi', POWERBI, METABASE],
  ] as const) {
    t.test(`${tool}: reads its own quality views for every tenant, not the other tool's`, async (t) => {
      const c = db.poolAs(await db.loginRole(`pv_q${pid}_${tool}`, [tool]));
      for (const view of own) {
        const r = await c.query(`SELECT array_agg(DISTINCT tenant ORDER BY tenant) AS tenants FROM bi.${view}`);
        t.same(r.rows[0].tenants, [ta, tb].sort(), `${view}: every tenant`);
        t.not(await sqlStateOf(c.query(`DELETE FROM bi.${view}`)), 'ok', `${view}: no DELETE`);
      }
      for (const view of foreign)
        t.equal(await sqlStateOf(c.query(`SELECT 1 FROM bi.${view}`)), '42501', `${view}: not its tool's`);
    });
  }

  t.test('a finding carries its file path and whether it is open', async (t) => {
    const r = await db.pool.query(
      `SELECT q.kind, q.file_path, f.path, q.open, q.closed_at IS NULL AS null_closed
         FROM bi.vw_powerbi_quality q LEFT JOIN core.files f ON f.file_id = $2
        WHERE q.tenant = $1 ORDER BY q.event_id`,
      [ta, fa],
    );
    t.equal(r.rows.length, 3);
    t.equal(r.rows[0].file_path, null, 'a finding of the series: no file');
    t.equal(r.rows[1].file_path, r.rows[1].path, "the file's path");
    t.match(r.rows[1].file_path, /^\/data\/qv_a_\d+\/camp-1\/02000001\/\w+\.tsv$/);
    t.same(
      r.rows.map((x) => x.open),
      [true, true, false],
      'open = not closed',
    );
    t.same(
      r.rows.map((x) => x.open),
      r.rows.map((x) => x.null_closed),
    );
  });

  t.test('completeness: the covered part of the first and last day, a day without data', async (t) => {
    const r = await db.pool.query(
      `SELECT device_master_sn AS dev, day::text, channels::int, step_s, samples_received::int AS received,
              samples_expected::int AS expected, round(completeness::numeric, 4)::float AS ratio
         FROM bi.vw_metabase_completeness WHERE tenant = $1 ORDER BY dev, day`,
      [ta],
    );
    t.same(r.rows, [
      // 21:00Z → 23:00Z (local midnight): 12 points × 2 channels, all received
      { dev: '02000001', day: '2025-01-15', channels: 2, step_s: 600, received: 24, expected: 24, ratio: 1 },
      // 23:00Z → last sample 01:50Z + 600 s: 18 points × 2, the 01:00Z hour missing
      { dev: '02000001', day: '2025-01-16', channels: 2, step_s: 600, received: 24, expected: 36, ratio: 0.6667 },
      // 10:00Z → 23:00Z: 78 points
      { dev: '02000002', day: '2025-01-20', channels: 1, step_s: 600, received: 6, expected: 78, ratio: 0.0769 },
      { dev: '02000002', day: '2025-01-21', channels: 1, step_s: 600, received: 0, expected: 144, ratio: 0 },
      // 23:00Z (the 21st) → 10:50Z + 600 s: 72 points
      { dev: '02000002', day: '2025-01-22', channels: 1, step_s: 600, received: 6, expected: 72, ratio: 0.0833 },
    ]);
    const b = await db.pool.query(
      'SELECT day::text, time_zone, samples_expected::int AS e FROM bi.vw_powerbi_completeness WHERE tenant = $1',
      [tb],
    );
    // 21:00Z is 16:00 in New York: one local day, 6 points
    t.same(b.rows, [{ day: '2025-01-15', time_zone: 'America/New_York', e: 6 }], "the tenant's own zone");
    await ingest.query('UPDATE core.devices SET step_s = NULL WHERE tenant = $1', [tb]);
    const unknown = await db.pool.query(
      'SELECT samples_received::int AS r, samples_expected, completeness FROM bi.vw_powerbi_completeness WHERE tenant = $1',
      [tb],
    );
    t.same(unknown.rows, [{ r: 6, samples_expected: null, completeness: null }], 'no step known: nothing expected');
  });
});
