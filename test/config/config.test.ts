/** The configuration module: flags, then environment, then defaults; validated once, frozen. */
import t from 'tap';
import { environment, loadDotEnv, reportDirOf, resolveIngestConfig } from '../../src/config/config.js';
import { parseAddr, resolveServeConfig } from '../../src/config/serve.js';

t.test('ingest: defaults, environment, flags win', async (t) => {
  const d = resolveIngestConfig({}, {});
  t.equal(d.v002TimeZone, 'Europe/Paris');
  t.equal(d.logLevel, 'info');
  t.equal(d.metaDb, 'powerview_meta');
  t.equal(d.postgresConfigured, false);
  t.equal(d.postgresWaitMs, null, 'PostgreSQL waits as long as InfluxDB by default');
  t.ok(Object.isFrozen(d), 'frozen');
  const env = {
    POWERVIEW_V002_TIMEZONE: 'UTC',
    POWERVIEW_LOG_LEVEL: 'debug',
    POWERVIEW_META_DB: 'meta2',
    POWERVIEW_PG_WAIT_SECONDS: '30',
    POWERVIEW_REPORT_DIR: '/tmp/r',
    PGHOST: 'db',
  };
  const e = resolveIngestConfig({}, env);
  t.same(
    [e.v002TimeZone, e.logLevel, e.metaDb, e.postgresWaitMs, e.reportDir],
    ['UTC', 'debug', 'meta2', 30_000, '/tmp/r'],
  );
  t.equal(e.postgresConfigured, true, 'PGHOST configures PostgreSQL');
  const f = resolveIngestConfig({ logLevel: 'warn', pgWait: '5', metaDb: 'm' }, env);
  t.same([f.logLevel, f.postgresWaitMs, f.metaDb], ['warn', 5000, 'm']);
});

t.test('ingest: bad values name the flag and the variable', async (t) => {
  t.throws(() => resolveIngestConfig({ logLevel: 'loud' }, {}), /--log-level \/ POWERVIEW_LOG_LEVEL.*"loud"/);
  t.throws(() => resolveIngestConfig({}, { POWERVIEW_PG_WAIT_SECONDS: '0' }), /--pg-wait \/ POWERVIEW_PG_WAIT_SECONDS/);
  t.throws(() => resolveIngestConfig({ workers: '-1' }, {}), /--workers \/ POWERVIEW_WORKERS.*integer/);
  t.throws(() => resolveIngestConfig({ v002Timezone: 'Mars/Olympus' }, {}), /time zone "Mars\/Olympus"/);
});

t.test('report folder: configured, else <root>/../logs/reports', async (t) => {
  t.equal(reportDirOf(resolveIngestConfig({}, {}), '/srv/data'), '/srv/logs/reports');
  t.equal(reportDirOf(resolveIngestConfig({ reportDir: '/x' }, {}), '/srv/data'), '/x');
});

t.test('serve: required settings, bounds, defaults', async (t) => {
  const secret = 'a-secret-of-16-chars';
  t.throws(() => resolveServeConfig({}, {}), /--root \/ POWERVIEW_DATA_ROOT is required/);
  t.throws(() => resolveServeConfig({ root: '/d' }, {}), /--hook-secret/);
  const s = resolveServeConfig({ root: '/srv/data' }, { POWERVIEW_HOOK_SECRET: secret });
  t.same(
    [s.host, s.port, s.settleMs, s.stallMs, s.rescanMs, s.drainMs],
    ['127.0.0.1', 9464, 5000, 600_000, 60_000, 30_000],
  );
  t.equal(s.stateDir, '/srv/state');
  t.ok(Object.isFrozen(s));
  t.throws(
    () => resolveServeConfig({ root: '/d', settle: '10', stall: '5' }, { POWERVIEW_HOOK_SECRET: secret }),
    /--stall .* at least --settle/,
  );
  t.equal(resolveServeConfig({ root: '/d', settle: '900' }, { POWERVIEW_HOOK_SECRET: secret }).stallMs, 900_000);
  t.same(parseAddr('[::1]:9464'), { host: '::1', port: 9464 });
  t.same(parseAddr(':80'), { host: '0.0.0.0', port: 80 });
  t.throws(() => parseAddr('nope'), /host:port/);
});

t.test('environment(): one frozen snapshot, taken again after .env is loaded', async (t) => {
  const a = environment();
  t.ok(Object.isFrozen(a));
  t.equal(environment(), a, 'the same snapshot');
  loadDotEnv('/nonexistent/.env');
  t.not(environment(), a, 'a new snapshot after loading .env');
});
