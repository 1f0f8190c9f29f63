/**
 * A store that refuses serve's credentials (a rotated password) is a state to
 * wait out: every file stays in place, /readyz answers 503 with the cause, the
 * powerview_store_refused gauge and an error log line say so, and ingestion
 * resumes by itself once the password works again — InfluxDB 1.x (SET
 * PASSWORD) and PostgreSQL (ALTER ROLE … PASSWORD), each on a user of its own.
 */
import t, { type Test } from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { influxQuery, servicesSkip, servicesUp } from '../support/services.js';
import { promValue, serial, startServeCase, waitUntil, type ServeProc } from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

async function ready(serve: ServeProc): Promise<{ status: number; body: Record<string, string> }> {
  const r = await serve.get('/readyz');
  return { status: r.status, body: JSON.parse(r.text) as Record<string, string> };
}

async function rotation(t: Test, store: 'influxdb' | 'postgres'): Promise<void> {
  const admin = await servicesUp();
  const user = `pvcred_${store === 'influxdb' ? 'i' : 'p'}_${process.pid}`;
  const good = `good-${Math.random().toString(36).slice(2, 10)}`;
  const adminPg = async (q: string) => {
    const c = new pg.Client({ connectionString: admin.DATABASE_URL });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  // registered first, run last: after serve is gone and the database dropped
  if (store === 'influxdb') {
    await influxQuery(admin, '', `DROP USER "${user}"`).catch(() => {});
    await influxQuery(admin, '', `CREATE USER "${user}" WITH PASSWORD '${good}' WITH ALL PRIVILEGES`);
    t.teardown(() =>
      influxQuery(admin, '', `DROP USER "${user}"`).then(
        () => {},
        () => {},
      ),
    );
  } else {
    await adminPg(`DROP ROLE IF EXISTS ${user}`);
    await adminPg(`CREATE ROLE ${user} LOGIN SUPERUSER PASSWORD '${good}'`);
    t.teardown(() => adminPg(`DROP ROLE IF EXISTS ${user}`).catch(() => {}));
  }
  const setPassword = (password: string) =>
    store === 'influxdb'
      ? influxQuery(admin, '', `SET PASSWORD FOR "${user}" = '${password}'`).then(() => {})
      : adminPg(`ALTER ROLE ${user} PASSWORD '${password}'`);

  const c = await startServeCase(t, {
    db: `cred_${store}`,
    label: store === 'influxdb' ? 'credi' : 'credp',
    devices: [{ masterSn: serial(1), files: 6, rows: 100, overlap: 20, seed: 41 }],
    staged: true,
    env: (db) => {
      const env = { ...db.env };
      if (store === 'influxdb') {
        env.INFLUX_USERNAME = user;
        env.INFLUX_PASSWORD = good;
      } else {
        const u = new URL(db.url);
        u.username = user;
        u.password = good;
        env.DATABASE_URL = u.toString();
      }
      return env;
    },
  });
  const { db, files, serve } = c;

  const before = await c.send(files.slice(0, 2));
  await c.ingested(before, 30_000, 'with the right password: ingested');
  t.equal((await ready(serve)).status, 200, '/readyz 200');

  await setPassword(`rotated-${Math.random().toString(36).slice(2, 10)}`);
  if (store === 'postgres') {
    // sessions already open keep working: the rotation bites on the next login
    await db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND application_name LIKE 'powerview serve%'`,
      [user],
    );
  }
  const during = await c.send(files.slice(2));
  const refused = await waitUntil(
    async () => {
      const r = await ready(serve);
      return r.status === 503 && r.body[store] === 'credentials refused' ? r : null;
    },
    30_000,
    250,
  );
  t.ok(refused, `/readyz 503 with ${store}: credentials refused`);
  if (refused) t.equal(refused.body[store === 'influxdb' ? 'postgres' : 'influxdb'], 'ok', 'the other store is fine');
  const m = await serve.metrics();
  t.equal(promValue(m, 'powerview_store_refused', { store }), 1, `powerview_store_refused{store="${store}"} 1`);
  const line = serve.logs().find((l) => l.event === 'store_refused' && l.store === store);
  t.equal(line?.level, 50, 'an error log line says so');
  await sleep(3000);
  t.same(
    during.filter((p) => !existsSync(p)),
    [],
    'meanwhile every new file stays in place',
  );
  t.same(
    during.flatMap((p) => (existsSync(join(dirname(p), 'error')) ? readdirSync(join(dirname(p), 'error')) : [])),
    [],
    'none in error/',
  );
  t.equal((await serve.get('/healthz')).status, 200, '/healthz 200: the process is fine');

  await setPassword(good);
  await c.ingested(during, 60_000, 'the password works again: ingestion resumed by itself');
  t.ok(await waitUntil(async () => (await ready(serve)).status === 200, 15_000, 250), '/readyz 200 again');
  t.equal(promValue(await serve.metrics(), 'powerview_store_refused', { store }), 0, 'the gauge is back to 0');
  t.ok(
    serve.logs().some((l) => l.event === 'store_resumed' && l.store === store),
    'a log line says ingestion resumed',
  );
  await c.check([...before, ...during]);
  await c.stop();
}

t.test('InfluxDB refuses the password, then accepts it again', { skip: servicesSkip }, (t) => rotation(t, 'influxdb'));
t.test('PostgreSQL refuses the password, then accepts it again', { skip: servicesSkip }, (t) =>
  rotation(t, 'postgres'),
);
