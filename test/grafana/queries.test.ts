/**
 * Every generated Grafana query against the real services: two tenants provisioned (provisionTenant,
 * as serve does on mkdir) and ingested from fixtures/demo, the tree built by
 * the CLI (twice: byte-identical), then every query of every generated panel
 * and variable run with its variables substituted against InfluxDB and
 * PostgreSQL as the credentials its datasource carries — all return data —
 * and tenant A's credentials refused tenant B's data.
 */
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import { resolveInfluxConfig } from '../../src/influx/config.js';
import { migrate } from '../../src/postgres/migrate.js';
import { provisionTenant } from '../../src/provision/tenant.js';
import { tenantPassword } from '../../src/provision/secrets.js';
import { tenantLogin, tenantRole, uids } from '../../src/grafana/names.js';
import { influxQuery, runCli, servicesSkip } from '../support/services.js';
import { testDatabase, sqlStateOf } from '../support/postgres-db.js';
import {
  influxRunner,
  pgRunner,
  runDashboard,
  type DashboardJson,
  type RunReport,
  type Runner,
} from '../support/grafana-run.js';
import { projectRoot } from '../support/helpers.js';

t.setTimeout(600_000);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
}

const SECRET = 'grafana-test-secret-0123456789';
const RANGE = { from: new Date('2025-10-20T00:00:00Z'), to: new Date('2026-01-31T00:00:00Z') };

t.test('Grafana tree against the real databases', { skip: servicesSkip }, async (t) => {
  const db = await testDatabase(t, 'grafana');
  const env = db.env;
  await migrate(db.pool);
  const A = `gfa${process.pid}`;
  const B = `gfb${process.pid}.x`; // a '.' in the name: role pv_tenant_gfb<pid>_x
  const influx = resolveInfluxConfig({}, env);
  t.teardown(async () => {
    for (const name of [A, B]) {
      await influxQuery(env, '_internal', `DROP DATABASE "${name}"`).catch(() => {});
      await influxQuery(env, '_internal', `DROP USER "${tenantLogin(name)}"`).catch(() => {});
    }
  });
  for (const name of [A, B]) {
    db.dropRoleLater(tenantLogin(name));
    db.dropRoleLater(tenantRole(name));
  }

  // the archive: A has two campaigns (one device in the second), B all of the demo in one
  const root = mkdtempSync(join(tmpdir(), 'pv-grafana-data-'));
  const demo = join(projectRoot, 'fixtures', 'demo', 'acme', 'campaign-2025');
  cpSync(join(demo, '02001171'), join(root, A, 'campaign-2025', '02001171'), { recursive: true });
  cpSync(join(demo, '02001084'), join(root, A, 'campaign-2025', '02001084'), { recursive: true });
  cpSync(join(demo, '02001311'), join(root, A, 'annex', '02001311'), { recursive: true });
  cpSync(demo, join(root, B, 'camp-b'), { recursive: true });
  const provTree = mkdtempSync(join(tmpdir(), 'pv-grafana-prov-'));

  // provisioning first, as serve does on SFTPGo's mkdir <company>/<campaign>
  const provision = async (tenant: string, campaign: string) =>
    provisionTenant({ pool: db.pool, influx, tenant, campaign, grafanaDir: provTree, secret: SECRET });
  const pa = await provision(A, 'campaign-2025');
  t.same(pa.influx.reader, { user: tenantLogin(A), status: 'set' });
  t.equal(pa.postgres.role, tenantRole(A));
  t.equal(pa.postgres.login, tenantLogin(A));
  t.same(pa.warnings, []);
  t.ok(pa.grafana!.written.includes(`dashboards/tenants/${A}/campaign-campaign-2025.json`));
  await provision(A, 'annex');
  await provision(B, 'camp-b');
  const again = await provision(A, 'annex');
  t.same(again.grafana!.written, [], 'provisioning again: idempotent, no file rewritten');
  t.same(
    (await db.pool.query('SELECT core.tenant_role($1) AS r, core.tenant_login($1) AS l', [B])).rows[0],
    { r: tenantRole(B), l: tenantLogin(B) },
    'role and login names: JS and SQL agree',
  );

  const ingest = await runCli(
    [
      'ingest',
      '--json',
      '--meta-db',
      '',
      '--no-progress',
      '--root',
      root,
      '--report-dir',
      join(root, '..', `r-${process.pid}`),
      root,
    ],
    env,
    { DATABASE_URL: db.url },
  );
  const report = JSON.parse(ingest.stdout) as { files: Array<{ status: string }> };
  t.ok(ingest.code === 0 || ingest.code === 1, `ingest ran (exit ${ingest.code}) ${ingest.stderr.slice(-300)}`);
  t.comment(
    `ingest: exit ${ingest.code}, ${report.files.filter((f) => f.status === 'ok').length}/${report.files.length} files ok`,
  );
  t.ok(report.files.filter((f) => f.status === 'ok').length >= 8, 'the good files of both tenants ingested');

  // the quality panels need a finding in each campaign and a known sampling step (10 min in the demo):
  // given here where the ingest did not record them
  await db.pool.query('UPDATE core.devices SET step_s = 600 WHERE step_s IS NULL AND tenant = ANY($1)', [[A, B]]);
  await db.pool.query(
    `INSERT INTO core.quality_events (tenant, campaign, device_master_sn, kind, t_start, t_end, measure, file_id)
     SELECT DISTINCT ON (f.tenant, f.campaign) f.tenant, f.campaign, f.device_master_sn, 'gap',
            f.first_time + interval '1 hour', f.first_time + interval '2 hours', 6, f.file_id
       FROM core.files f
      WHERE f.status = 'ok' AND f.tenant = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM core.quality_events q WHERE q.tenant = f.tenant AND q.campaign = f.campaign)
      ORDER BY f.tenant, f.campaign, f.file_id`,
    [[A, B]],
  );

  // the CLI build, twice: byte-identical
  const outs = [mkdtempSync(join(tmpdir(), 'pv-grafana-a-')), mkdtempSync(join(tmpdir(), 'pv-grafana-b-'))];
  for (const out of outs) {
    const r = await runCli(['grafana', 'build', '--out', out, '--json'], env, { DATABASE_URL: db.url });
    t.equal(r.code, 0, r.stderr);
  }
  const files = (out: string) =>
    walk(out)
      .map((f) => relative(out, f))
      .sort();
  t.same(files(outs[0]), files(outs[1]));
  let bytes = 0;
  for (const f of files(outs[0])) {
    const a = readFileSync(join(outs[0], f));
    bytes += a.length;
    t.ok(a.equals(readFileSync(join(outs[1], f))), `${f}: byte-identical across two builds`);
  }
  t.comment(`build: ${files(outs[0]).length} files, ${bytes} bytes, identical across two runs`);
  for (const f of files(provTree))
    t.equal(
      readFileSync(join(provTree, f), 'utf8'),
      readFileSync(join(outs[0], f), 'utf8'),
      `${f}: provisionTenant writes what build writes`,
    );

  // every datasource of the tree, with the credentials Grafana would expand into it
  const expand = (v: string, tenant: string): string =>
    v.replace(/^\$(\w+)$/, (_m, name: string) =>
      name.endsWith('_INFLUX_PASSWORD')
        ? tenantPassword(SECRET, tenant, 'influx')
        : tenantPassword(SECRET, tenant, 'pg'),
    );
  const runners = new Map<string, Runner>();
  const pools: pg.Pool[] = [];
  t.teardown(async () => {
    for (const p of pools) await p.end().catch(() => {});
  });
  for (const tenant of [A, B]) {
    const doc = parse(readFileSync(join(outs[0], `provisioning/datasources/tenant-${tenant}.yaml`), 'utf8')) as {
      datasources: Array<{
        uid: string;
        type: string;
        user: string;
        jsonData: { dbName?: string };
        secureJsonData: { password: string };
      }>;
    };
    for (const ds of doc.datasources) {
      const password = expand(ds.secureJsonData.password, tenant);
      if (ds.type === 'influxdb')
        runners.set(ds.uid, influxRunner(env.INFLUX_URL, ds.jsonData.dbName!, ds.user, password));
      else {
        const pool = new pg.Pool({ connectionString: db.urlAs(ds.user, password), max: 2 });
        pools.push(pool);
        runners.set(ds.uid, pgRunner(pool));
      }
    }
  }

  const reports: RunReport[] = [];
  for (const f of files(outs[0]).filter((x) => x.startsWith('dashboards/tenants/'))) {
    const d = JSON.parse(readFileSync(join(outs[0], f), 'utf8')) as DashboardJson;
    const r = await runDashboard(d, runners, RANGE);
    reports.push(...r.variables, ...r.panels);
  }
  const failed = reports.filter((r) => r.outcome.error || r.outcome.rows === 0);
  for (const r of reports)
    t.ok(
      !r.outcome.error && r.outcome.rows > 0,
      `${r.dashboard} / ${r.panel} ${r.refId}: ${r.outcome.rows} rows${r.outcome.error ? ` — ${r.outcome.error}` : ''}`,
    );
  t.same(
    failed.map((r) => `${r.dashboard} / ${r.panel}: ${r.query}`),
    [],
    'every generated query returns data',
  );
  const panelQueries = reports.filter((r) => r.refId !== '-').length;
  t.comment(
    `tenant dashboards: ${panelQueries} panel queries and ${reports.length - panelQueries} variable queries run, ${reports.length - failed.length}/${reports.length} returned data`,
  );
  t.equal(new Set(reports.map((r) => r.dashboard)).size, 5, '2 overviews + 3 campaign dashboards');

  // completeness is a percentage; energy is positive on this data
  const completeness = reports.filter((r) => r.panel.startsWith('Data completeness'));
  t.ok(completeness.length === 3);

  t.test("tenant A's datasources cannot read tenant B's data", async (t) => {
    const aInflux = tenantPassword(SECRET, A, 'influx');
    const crossInflux = await influxRunner(
      env.INFLUX_URL,
      B,
      tenantLogin(A),
      aInflux,
    )('SELECT count(*) FROM "electrical"');
    t.match(crossInflux.error, /not authorized|403/, "A's InfluxDB user is refused B's database");
    const wrong = await influxRunner(
      env.INFLUX_URL,
      A,
      tenantLogin(A),
      tenantPassword(SECRET, B, 'influx'),
    )('SHOW MEASUREMENTS');
    t.match(wrong.error, /401|authorization failed/, "B's password does not open A's user");
    const writes = await influxRunner(env.INFLUX_URL, A, tenantLogin(A), aInflux)('DROP MEASUREMENT "electrical"');
    t.match(writes.error, /not authorized|403/, 'read-only: no DROP');

    const aPool = new pg.Pool({ connectionString: db.urlAs(tenantLogin(A), tenantPassword(SECRET, A, 'pg')), max: 1 });
    pools.push(aPool);
    const seen = await aPool.query(
      `SELECT DISTINCT tenant FROM bi.vw_metabase_channel_hourly UNION SELECT DISTINCT tenant FROM bi.vw_powerbi_energy_daily
       UNION SELECT DISTINCT tenant FROM bi.vw_metabase_quality UNION SELECT DISTINCT tenant FROM bi.vw_metabase_completeness`,
    );
    t.same(
      seen.rows.map((r) => r.tenant),
      [A],
      "A's PostgreSQL login sees A's rows only",
    );
    const bRows = await aPool.query('SELECT count(*)::int AS n FROM bi.vw_metabase_channel_hourly WHERE tenant = $1', [
      B,
    ]);
    t.equal(bRows.rows[0].n, 0);
    t.equal(await sqlStateOf(aPool.query('SELECT * FROM core.hourly LIMIT 1')), '42501', 'nothing in core');
    t.equal(await sqlStateOf(aPool.query('CREATE TABLE bi.grafana_was_here (a int)')), '42501', 'no DDL');
    t.equal(await sqlStateOf(aPool.query("SELECT core.ensure_tenant('intruder')")), '42501', 'no tenant functions');
    const cross = new pg.Client({ connectionString: db.urlAs(tenantLogin(A), tenantPassword(SECRET, B, 'pg')) });
    t.equal(await sqlStateOf(cross.connect()), '28P01', "B's password does not open A's login");
    await cross.end().catch(() => {});
    const bPanels = reports.filter((r) => r.dashboard.startsWith(`${B} /`) && r.refId !== '-');
    t.ok(
      bPanels.length > 0 && bPanels.every((r) => r.outcome.rows > 0),
      "B's dashboards see B's data through B's datasources",
    );
  });

  t.test('grafana env hands Grafana what the datasources read', async (t) => {
    const r = await runCli(['grafana', 'env'], env, { DATABASE_URL: db.url, POWERVIEW_TENANT_SECRET: SECRET });
    t.equal(r.code, 0, r.stderr);
    const vars = new Map(
      r.stdout
        .split('\n')
        .filter((l) => /^\w+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const referenced = new Set<string>();
    for (const f of files(outs[0]).filter((x) => x.endsWith('.yaml')))
      for (const m of readFileSync(join(outs[0], f), 'utf8').matchAll(/\$([A-Z][A-Z0-9_]*)/g)) referenced.add(m[1]);
    t.same(
      [...referenced].filter((v) => !vars.has(v)),
      [],
      'every variable the tree references is printed',
    );
    t.equal(vars.get(`${tenantLogin(A).toUpperCase()}_PG_PASSWORD`), tenantPassword(SECRET, A, 'pg'));
    t.equal(vars.get('POWERVIEW_GRAFANA_PG_DATABASE'), db.name);
    const none = await runCli(['grafana', 'env'], env, { DATABASE_URL: db.url, POWERVIEW_TENANT_SECRET: '' });
    t.equal(none.code, 2, 'no secret: usage error');
    t.match(none.stderr, /POWERVIEW_TENANT_SECRET/);
  });

  t.test('the campaign folder uid is the one apply permissions', async (t) => {
    const provider = parse(readFileSync(join(outs[0], `provisioning/dashboards/tenant-${A}.yaml`), 'utf8')) as {
      providers: Array<{ folderUid: string }>;
    };
    t.equal(provider.providers[0].folderUid, uids.tenantFolder(A));
  });
});
