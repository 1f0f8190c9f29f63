/**
 * Roles and row-level security against the real PostgreSQL (PostgreSQL 15 of
 * ops/services.sh): tenant roles read only their tenant, through every bi
 * view and in every core table; lecteur_* read their own views only and
 * write nothing; core.ensure_tenant().
 */
import t from 'tap';
import type pg from 'pg';
import { migrate } from '../../src/postgres/migrate.js';
import { servicesSkip } from '../support/services.js';
import { ingestFile, partial, sqlStateOf, testDatabase } from '../support/postgres-db.js';

t.setTimeout(300_000);

const pid = process.pid;
const H = Date.UTC(2025, 0, 15, 10) / 1000;

const RLS_TABLES = ['tenants', 'campaigns', 'devices', 'channels', 'files', 'coverage', 'file_hourly', 'hourly'];
const METABASE = ['vw_metabase_channel_hourly', 'vw_metabase_energy_daily', 'vw_metabase_energy_monthly'];
const POWERBI = ['vw_powerbi_channel_hourly', 'vw_powerbi_energy_daily', 'vw_powerbi_energy_monthly'];

async function tablesOf(pool: pg.Pool, schemas: string[]): Promise<string[]> {
  const r = await pool.query<{ t: string }>(
    "SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname = ANY($1) ORDER BY 1",
    [schemas],
  );
  return r.rows.map((x) => x.t);
}

t.test('row-level security and roles', { skip: servicesSkip }, async (t) => {
  const db = await testDatabase(t, 'rls');
  await migrate(db.pool);
  const ta = `rls_a_${pid}`;
  const tb = `RLS.b-${pid}`;
  const roleA = `pv_tenant_rls_a_${pid}`;
  const roleB = `pv_tenant_rls_b_${pid}`;
  db.dropRoleLater(roleA);
  db.dropRoleLater(roleB);

  // the ingest as a LOGIN member of powerview_ingest: tenants, rows, merge
  const ingestUser = await db.loginRole(`pv_t${pid}_ingest`, ['powerview_ingest']);
  const ingest = db.poolAs(ingestUser);
  t.equal((await ingest.query('SELECT core.ensure_tenant($1) AS r', [ta])).rows[0].r, roleA);
  t.equal(
    (await ingest.query("SELECT core.ensure_tenant($1, 'America/New_York') AS r", [tb])).rows[0].r,
    roleB,
    "'.' and '-' become '_', lower case",
  );
  for (const [tenant, dev, v] of [
    [ta, '02001084', 10],
    [tb, '02001171', 1000],
  ] as const) {
    await ingestFile(ingest, {
      tenant,
      campaign: 'camp-1',
      device: dev,
      partials: [
        partial(`M${dev}_Ch1`, 'W', H, 6, v),
        partial(`M${dev}_U1`, 'V', H, 6, v),
        partial(`M${dev}_Ch1`, 'W', H + 3600, 6, v),
      ],
    });
  }
  const totals = await ingest.query(
    'SELECT tenant, count(*)::int AS n FROM core.hourly GROUP BY tenant ORDER BY tenant',
  );
  t.same(
    totals.rows,
    [
      { tenant: tb, n: 3 },
      { tenant: ta, n: 3 },
    ].sort((x, y) => (x.tenant < y.tenant ? -1 : 1)),
    'the ingest role sees and writes every tenant',
  );

  t.test('a LOGIN member of pv_tenant_a reads only tenant a, in every bi view', async (t) => {
    const user = await db.loginRole(`pv_t${pid}_reader_a`, [roleA]);
    const a = db.poolAs(user);
    for (const view of [...METABASE, ...POWERBI]) {
      const r = await a.query(
        `SELECT count(*) FILTER (WHERE tenant = $1)::int AS own, count(*) FILTER (WHERE tenant <> $1)::int AS other FROM bi.${view}`,
        [ta],
      );
      t.equal(r.rows[0].other, 0, `${view}: no row of another tenant`);
      t.ok(r.rows[0].own > 0, `${view}: its own rows`);
    }
    const daily = await a.query('SELECT time_zone, energy_wh, samples FROM bi.vw_metabase_energy_daily');
    t.same(
      daily.rows.map((r) => r.time_zone),
      ['Europe/Paris'],
      "the tenant's own zone, one W channel, one day",
    );
    for (const table of await tablesOf(db.pool, ['core', 'staging'])) {
      t.equal(
        await sqlStateOf(a.query(`SELECT 1 FROM ${table} LIMIT 1`)),
        '42501',
        `${table}: no access without a grant`,
      );
    }
    t.equal(await sqlStateOf(a.query(`SET ROLE ${roleB}`)), '42501', 'cannot switch to tenant b');
    t.equal(await sqlStateOf(a.query('SELECT core.ensure_tenant($1)', [`x${pid}`])), '42501', 'cannot create tenants');
    for (const view of [...METABASE, ...POWERBI]) {
      t.not(await sqlStateOf(a.query(`DELETE FROM bi.${view}`)), 'ok', `${view}: no DELETE`);
    }
  });

  t.test('with SELECT on the core tables, a pv_tenant_a member still reads only tenant a there', async (t) => {
    const user = await db.loginRole(`pv_t${pid}_core_a`, [roleA]);
    await db.pool.query(`GRANT USAGE ON SCHEMA core TO ${user}`);
    await db.pool.query(`GRANT SELECT ON ${RLS_TABLES.map((x) => `core.${x}`).join(', ')} TO ${user}`);
    const a = db.poolAs(user);
    for (const table of RLS_TABLES) {
      const r = await a.query(
        `SELECT count(*) FILTER (WHERE tenant = $1)::int AS own, count(*) FILTER (WHERE tenant <> $1)::int AS other FROM core.${table}`,
        [ta],
      );
      t.equal(r.rows[0].other, 0, `core.${table}: no row of tenant b`);
      t.ok(r.rows[0].own > 0, `core.${table}: the rows of tenant a`);
    }
    const plain = await db.loginRole(`pv_t${pid}_core_none`);
    await db.pool.query(`GRANT USAGE ON SCHEMA core TO ${plain}`);
    await db.pool.query(`GRANT SELECT ON core.hourly TO ${plain}`);
    const none = await db.poolAs(plain).query('SELECT count(*)::int AS n FROM core.hourly');
    t.equal(none.rows[0].n, 0, 'a grant without a tenant role shows no row');
  });

  t.test("a leaky function in the reader's WHERE clause sees no row of another tenant", async (t) => {
    // RLS quals run before any non-leakproof qual of the query, also through a view
    const user = await db.loginRole(`pv_t${pid}_leaky_a`, [roleA]);
    const client = await db.poolAs(user).connect();
    try {
      const seen: string[] = [];
      client.on('notice', (n) => seen.push(n.message ?? ''));
      await client.query(`CREATE FUNCTION pg_temp.leak(x text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
        BEGIN RAISE NOTICE 'saw %', x; RETURN true; END $$`);
      for (const view of [...METABASE, ...POWERBI]) {
        await client.query(`SELECT * FROM bi.${view} WHERE pg_temp.leak(tenant)`);
      }
      t.ok(seen.length > 0, 'the function ran');
      t.same([...new Set(seen)], [`saw ${ta}`], 'on rows of tenant a only');
    } finally {
      client.release();
    }
  });

  t.test('tenant b sees b only, through both tools’ views', async (t) => {
    const b = db.poolAs(await db.loginRole(`pv_t${pid}_reader_b`, [roleB]));
    for (const view of [...METABASE, ...POWERBI]) {
      const r = await b.query(`SELECT array_agg(DISTINCT tenant) AS tenants FROM bi.${view}`);
      t.same(r.rows[0].tenants, [tb], view);
    }
  });

  for (const [tool, own, foreign] of [
    ['lecteur_metabase', METABASE, POWERBI],
    ['lecteur_powerbi', POWERBI, METABASE],
  ] as const) {
    t.test(`${tool}: reads its views (every tenant), nothing else, writes nothing`, async (t) => {
      const user = await db.loginRole(`pv_t${pid}_${tool}`, [tool]);
      const c = db.poolAs(user);
      for (const view of own) {
        const r = await c.query(`SELECT array_agg(DISTINCT tenant ORDER BY tenant) AS tenants FROM bi.${view}`);
        t.same(r.rows[0].tenants, [ta, tb].sort(), `${view}: every tenant`);
        for (const stmt of [
          `DELETE FROM bi.${view}`,
          `UPDATE bi.${view} SET tenant = tenant`,
          `INSERT INTO bi.${view} (tenant) VALUES ('x')`,
        ]) {
          t.not(await sqlStateOf(c.query(stmt)), 'ok', `${stmt}: refused`);
        }
      }
      for (const view of foreign)
        t.equal(await sqlStateOf(c.query(`SELECT 1 FROM bi.${view}`)), '42501', `${view}: not its tool's`);
      for (const table of await tablesOf(db.pool, ['core', 'staging'])) {
        t.equal(await sqlStateOf(c.query(`SELECT 1 FROM ${table}`)), '42501', `${table}: no SELECT`);
        t.equal(await sqlStateOf(c.query(`DELETE FROM ${table}`)), '42501', `${table}: no DELETE`);
      }
      t.equal(await sqlStateOf(c.query("INSERT INTO core.tenants (tenant) VALUES ('intruder')")), '42501', 'no INSERT');
      t.equal(await sqlStateOf(c.query('UPDATE core.hourly SET samples = 0')), '42501', 'no UPDATE');
      t.equal(await sqlStateOf(c.query('SELECT core.merge_hourly(1)')), '42501', 'no merge');
      t.equal(await sqlStateOf(c.query('CREATE TABLE bi.mine (x int)')), '42501', 'no CREATE in bi');
      t.equal(await sqlStateOf(c.query('CREATE TABLE public.mine (x int)')), '42501', 'no CREATE in public');
    });
  }

  t.test('a role with no grant reads no view', async (t) => {
    const c = db.poolAs(await db.loginRole(`pv_t${pid}_nobody`));
    for (const view of [...METABASE, ...POWERBI])
      t.equal(await sqlStateOf(c.query(`SELECT 1 FROM bi.${view}`)), '42501', view);
  });

  t.test('the views are owned by bi_owner: neither the table owner nor BYPASSRLS', async (t) => {
    const r = await db.pool.query(`
      SELECT DISTINCT pg_get_userbyid(v.relowner) AS view_owner, pg_get_userbyid(h.relowner) AS table_owner,
             (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE oid = v.relowner) AS bypass,
             h.relrowsecurity AS rls
        FROM pg_class v, pg_class h
       WHERE v.relnamespace = 'bi'::regnamespace AND v.relkind = 'v' AND h.oid = 'core.hourly'::regclass`);
    t.same(r.rows, [{ view_owner: 'bi_owner', table_owner: 'admin_donnees', bypass: false, rls: true }]);
  });

  t.test('core.ensure_tenant: validation, role names, idempotence, collisions', async (t) => {
    const again = await ingest.query('SELECT core.ensure_tenant($1) AS r', [ta]);
    t.equal(again.rows[0].r, roleA, 'a second call returns the same role');
    const zone = await ingest.query(
      "SELECT core.ensure_tenant($1, 'Asia/Tokyo') AS r, (SELECT time_zone FROM core.tenants WHERE tenant = $1) AS z",
      [tb],
    );
    t.equal(zone.rows[0].z, 'America/New_York', 'an existing tenant keeps its time zone');
    t.equal(
      await sqlStateOf(ingest.query('SELECT core.ensure_tenant($1)', [`rls_B-${pid}`])),
      '23505',
      'a tenant whose role another tenant has: refused',
    );
    for (const bad of ['-lead', 'a b', '', 'x'.repeat(64), 'é', "a'b", 'a;b']) {
      t.equal(
        await sqlStateOf(ingest.query('SELECT core.ensure_tenant($1)', [bad])),
        '22023',
        `invalid name ${JSON.stringify(bad)}`,
      );
    }
    t.equal(
      await sqlStateOf(ingest.query('SELECT core.ensure_tenant($1, $2)', [`tz_${pid}`, 'Mars/Olympus'])),
      '22023',
      'unknown zone',
    );
    t.equal(
      await sqlStateOf(
        db.pool.query("INSERT INTO core.tenants (tenant, time_zone) VALUES ('zone_check', 'Mars/Olympus')"),
      ),
      '23514',
      'the table checks the zone too',
    );

    const long = `L${pid}`.padEnd(63, 'x');
    const longRole = (await ingest.query('SELECT core.ensure_tenant($1) AS r', [long])).rows[0].r as string;
    db.dropRoleLater(longRole);
    t.equal(Buffer.byteLength(longRole), 63, 'a long tenant name: the role name stops at 63 bytes');
    t.match(longRole, /^pv_tenant_l\d+x+_[0-9a-f]{8}$/);
    const made = await db.pool.query(
      `SELECT r.rolcanlogin, pg_has_role(r.oid, 'powerview_tenants', 'MEMBER') AS grouped
         FROM pg_roles r WHERE rolname = $1`,
      [longRole],
    );
    t.same(made.rows, [{ rolcanlogin: false, grouped: true }], 'NOLOGIN, member of powerview_tenants');

    // roles are cluster-wide: an existing role (another database made it) is reused
    const shared = `shared_${pid}`;
    await db.pool.query(`CREATE ROLE pv_tenant_${shared} NOLOGIN`);
    db.dropRoleLater(`pv_tenant_${shared}`);
    t.equal((await ingest.query('SELECT core.ensure_tenant($1) AS r', [shared])).rows[0].r, `pv_tenant_${shared}`);

    const concurrent = `conc_${pid}`;
    db.dropRoleLater(`pv_tenant_${concurrent}`);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => ingest.query('SELECT core.ensure_tenant($1) AS r', [concurrent])),
    );
    t.same(
      results.map((r) => r.rows[0].r),
      Array(4).fill(`pv_tenant_${concurrent}`),
      'concurrent calls for a new tenant all succeed',
    );
  });
});
