/**
 * A read-only token per tenant where the InfluxDB version has them, on the
 * versions that do not run here (1.x is tested against the real InfluxDB in
 * test/grafana/queries.test.ts):
 *  - InfluxDB 2.x: a v1-compatible authorization named after the tenant's
 *    login, `read` on the tenant's bucket only, its password the derived one
 *    `powerview grafana env` prints, and a DBRP mapping so InfluxQL reaches
 *    the bucket;
 *  - InfluxDB 3 Enterprise: a resource token `db:<tenant>:read`, kept sealed
 *    in PostgreSQL for `grafana env`; 3 Core has none.
 * Against the in-process stand-in (test/support/influx-mock.ts: [v2-legacy], [v2-dbrp],
 * [v3-tokens]) and, for the CLI paths, with the real PostgreSQL.
 */
import t, { type Test } from 'tap';
import { resolveInfluxConfig, type InfluxConfig } from '../../src/influx/config.js';
import { InfluxHttp } from '../../src/influx/http-api.js';
import { ensureInfluxDatabase, ensureInfluxReader } from '../../src/provision/influx-reader.js';
import {
  openToken,
  PgTokenVault,
  sealToken,
  type TokenSlot,
  type TokenVault,
} from '../../src/provision/token-vault.js';
import { provisionTenant } from '../../src/provision/tenant.js';
import { tenantPassword } from '../../src/provision/secrets.js';
import { passwordEnvVar, tenantLogin, tenantRole } from '../../src/grafana/names.js';
import { StoreError, ErrorCodes } from '../../src/errors.js';
import { migrate } from '../../src/postgres/migrate.js';
import { startInfluxMock, type InfluxMock, type InfluxMockOptions } from '../support/influx-mock.js';
import { runCli, servicesSkip } from '../support/services.js';
import { testDatabase, type TestDatabase } from '../support/postgres-db.js';

/** A fresh, migrated database; the roles provisioning creates for `tenant` are dropped with it. */
async function tenantDatabase(t: Test, label: string, tenant: string): Promise<TestDatabase> {
  const db = await testDatabase(t, label);
  await migrate(db.pool);
  db.dropRoleLater(tenantLogin(tenant));
  db.dropRoleLater(tenantRole(tenant));
  return db;
}

const TOKEN = 'operator-token-of-the-test';
const SECRET = 'v2-provisioning-secret-0123456789';

function v2Config(mock: InfluxMock): InfluxConfig {
  return resolveInfluxConfig({ influxUrl: mock.url, influxApi: 'v2' }, { INFLUX_TOKEN: TOKEN, INFLUX_ORG: mock.org });
}

async function provisionWith(config: InfluxConfig, tenant: string, password: string, vault?: TokenVault) {
  const http = new InfluxHttp(config, 2);
  try {
    await ensureInfluxDatabase(http, tenant);
    return await ensureInfluxReader(http, tenant, tenantLogin(tenant), password, vault);
  } finally {
    await http.close();
  }
}

const provision = (mock: InfluxMock, tenant: string, password = tenantPassword(SECRET, tenant, 'influx')) =>
  provisionWith(v2Config(mock), tenant, password);

/** An InfluxQL count as Grafana's InfluxQL datasource sends it: POST /query, Basic user:password, db in the URL. */
async function queryAs(
  mock: InfluxMock,
  user: string,
  password: string,
  db: string,
): Promise<{ status: number; count: number | null; body: string }> {
  const res = await fetch(`${mock.url}/query?${new URLSearchParams({ db, epoch: 's' })}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ q: `SELECT count(*) FROM "electrical" WHERE time >= 0s` }).toString(),
  });
  const body = await res.text();
  let count: number | null = null;
  if (res.status === 200) {
    const series = (JSON.parse(body) as { results: Array<{ series?: Array<{ values: number[][] }> }> }).results[0]
      .series;
    count = series ? Number(series[0].values[0][1]) : 0;
  }
  return { status: res.status, count, body };
}

/** Points written with the operator token: v2 into a bucket, v3 into a database. */
async function seed(mock: InfluxMock, db: string, points: number, api: 'v2' | 'v3' = 'v2'): Promise<void> {
  const lines = Array.from(
    { length: points },
    (_, i) => `electrical,device=d1,channel=U1 value=${i} ${1_700_000_000 + i * 600}`,
  ).join('\n');
  const url =
    api === 'v2'
      ? `${mock.url}/api/v2/write?${new URLSearchParams({ org: mock.org, bucket: db, precision: 's' })}`
      : `${mock.url}/api/v3/write_lp?${new URLSearchParams({ db, precision: 'second' })}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `${api === 'v2' ? 'Token' : 'Bearer'} ${TOKEN}` },
    body: lines,
  });
  if (res.status !== 204) throw new Error(`seed ${db}: ${res.status} ${await res.text()}`);
}

async function bucketId(mock: InfluxMock, name: string): Promise<string> {
  const res = await fetch(`${mock.url}/api/v2/buckets?${new URLSearchParams({ orgID: mock.orgId, name })}`, {
    headers: { authorization: `Token ${TOKEN}` },
  });
  return ((await res.json()) as { buckets: Array<{ id: string }> }).buckets[0].id;
}

const authsNamed = (mock: InfluxMock, token: string) => [...mock.legacyAuths.values()].filter((a) => a.token === token);

async function v2Mock(t: Test, options: InfluxMockOptions = {}): Promise<InfluxMock> {
  return startInfluxMock(t, { token: TOKEN, ...options });
}

t.test(
  'v2: a read-only v1-compatible authorization with the derived password, usable as Grafana uses it',
  async (t) => {
    const mock = await v2Mock(t);
    const result = await provision(mock, 'acme');
    t.same(result, { user: tenantLogin('acme'), status: 'set' });
    await provision(mock, 'globex');
    await seed(mock, 'acme', 12);
    await seed(mock, 'globex', 5);

    const [auth] = authsNamed(mock, tenantLogin('acme'));
    t.ok(auth, 'an authorization named after the login');
    t.equal(auth.status, 'active');
    t.same(
      auth.permissions,
      [{ action: 'read', resource: { type: 'buckets', id: await bucketId(mock, 'acme'), orgID: mock.orgId } }],
      "exactly one permission: read on the tenant's bucket",
    );
    t.equal(mock.bucketOfDatabase('acme'), 'acme', 'InfluxQL database "acme" reaches the bucket acme (DBRP)');

    const password = tenantPassword(SECRET, 'acme', 'influx');
    const own = await queryAs(mock, tenantLogin('acme'), password, 'acme');
    t.equal(own.status, 200, own.body);
    t.equal(own.count, 12, "the tenant's own points, through the 1.x query API");

    const other = await queryAs(mock, tenantLogin('acme'), password, 'globex');
    t.equal(other.status, 403, "another tenant's bucket: refused");
    t.equal(other.count, null, 'and no data');

    t.equal(
      (await queryAs(mock, tenantLogin('acme'), 'not-the-password', 'acme')).status,
      401,
      'a wrong password: 401',
    );
    t.equal(
      (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'globex', 'influx'), 'acme')).status,
      401,
      "globex's password on acme's login: 401",
    );

    const write = await fetch(`${mock.url}/write?${new URLSearchParams({ db: 'acme', precision: 's' })}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${tenantLogin('acme')}:${password}`).toString('base64')}` },
      body: 'electrical,device=d1,channel=U1 value=1 1700000000',
    });
    t.equal(write.status, 403, 'read-only: a write is refused');
    t.equal((await queryAs(mock, tenantLogin('acme'), password, 'acme')).count, 12, 'nothing written');

    for (const r of mock.requests) {
      t.notOk(
        r.url.includes(password) || r.url.includes(encodeURIComponent(password)),
        `the password is never in a URL (${r.method} ${r.path})`,
      );
    }
    const firstLook = mock.requests.find((r) => r.method === 'GET' && r.path === '/private/legacy/authorizations');
    t.equal(
      firstLook?.status,
      404,
      'the first look finds nothing: 404, as InfluxDB answers a token filter that matches nothing',
    );
    const passwordSets = mock.requests.filter((r) => r.path.endsWith('/password'));
    t.equal(passwordSets.length, 2, 'one password set per tenant');
    t.ok(
      passwordSets.every((r) => r.headers.authorization === `Token ${TOKEN}`),
      'with the operator token',
    );
  },
);

t.test('v2: provisioning again ends in the same state without creating anything', async (t) => {
  const mock = await v2Mock(t);
  await provision(mock, 'acme');
  const [first] = authsNamed(mock, tenantLogin('acme'));
  const before = mock.requests.length;
  t.same(await provision(mock, 'acme'), { user: tenantLogin('acme'), status: 'set' });
  const second = mock.requests.slice(before);
  t.equal(
    second.filter((r) => r.method === 'POST' && r.path === '/private/legacy/authorizations').length,
    0,
    'no authorization created',
  );
  t.equal(second.filter((r) => r.method === 'DELETE').length, 0, 'none deleted');
  t.equal(second.filter((r) => r.method === 'POST' && r.path === '/api/v2/buckets').length, 0, 'no bucket created');
  t.equal(
    second.filter((r) => r.method === 'POST' && r.path === '/api/v2/dbrps').length,
    0,
    'virtual DBRP (2.2+): no mapping created',
  );
  t.same(
    authsNamed(mock, tenantLogin('acme')).map((a) => a.id),
    [first.id],
    'the same single authorization',
  );

  // a new POWERVIEW_TENANT_SECRET: the password follows it
  await provision(mock, 'acme', tenantPassword('a-rotated-secret-0123456789', 'acme', 'influx'));
  await seed(mock, 'acme', 3);
  t.equal(
    (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'acme', 'influx'), 'acme')).status,
    401,
    'the old password no longer works',
  );
  t.equal(
    (await queryAs(mock, tenantLogin('acme'), tenantPassword('a-rotated-secret-0123456789', 'acme', 'influx'), 'acme'))
      .count,
    3,
    'the new one does',
  );
});

t.test(
  'v2: an authorization that grants more than read on the bucket is replaced; an inactive one stays inactive',
  async (t) => {
    const mock = await v2Mock(t);
    await provision(mock, 'acme');
    await provision(mock, 'globex');
    const [auth] = authsNamed(mock, tenantLogin('acme'));
    const globexBucket = await bucketId(mock, 'globex');
    // someone widened it by hand: write on acme and read on globex
    auth.permissions.push({
      action: 'write',
      resource: { type: 'buckets', id: auth.permissions[0].resource.id, orgID: mock.orgId },
    });
    auth.permissions.push({ action: 'read', resource: { type: 'buckets', id: globexBucket, orgID: mock.orgId } });
    await seed(mock, 'globex', 4);
    t.equal(
      (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'acme', 'influx'), 'globex')).status,
      200,
      'widened: it read globex',
    );

    t.same(await provision(mock, 'acme'), { user: tenantLogin('acme'), status: 'set' });
    const now = authsNamed(mock, tenantLogin('acme'));
    t.equal(now.length, 1, 'one authorization of that name');
    t.not(now[0].id, auth.id, 'a new one replaced it');
    t.same(
      now[0].permissions.map((p) => p.action),
      ['read'],
      'read only again',
    );
    t.equal(
      (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'acme', 'influx'), 'globex')).status,
      403,
      'globex refused again',
    );

    // an operator deactivated it: provisioning (serve does it on every mkdir) must not turn it back on
    now[0].status = 'inactive';
    t.same(await provision(mock, 'acme'), { user: tenantLogin('acme'), status: 'inactive' });
    t.equal(authsNamed(mock, tenantLogin('acme'))[0].status, 'inactive', 'left inactive');
    t.equal(
      (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'acme', 'influx'), 'acme')).status,
      401,
      'and refused',
    );

    // widened *and* inactive: replaced by a read-only one that is still inactive
    const inactive = authsNamed(mock, tenantLogin('acme'))[0];
    inactive.permissions.push({ action: 'write', resource: { type: 'buckets', orgID: mock.orgId } });
    t.same(await provision(mock, 'acme'), { user: tenantLogin('acme'), status: 'inactive' });
    const replaced = authsNamed(mock, tenantLogin('acme'));
    t.equal(replaced.length, 1);
    t.same(
      [replaced[0].status, replaced[0].permissions.length],
      ['inactive', 1],
      'replaced, read only, still inactive',
    );
  },
);

t.test('v2: a bucket dropped and recreated (new ID) gets its authorization re-pointed', async (t) => {
  const mock = await v2Mock(t);
  await provision(mock, 'acme');
  const oldBucket = authsNamed(mock, tenantLogin('acme'))[0].permissions[0].resource.id;
  mock.dropDatabase('acme');
  await provision(mock, 'acme');
  const [auth] = authsNamed(mock, tenantLogin('acme'));
  t.not(auth.permissions[0].resource.id, oldBucket, 'not the old bucket');
  t.equal(auth.permissions[0].resource.id, await bucketId(mock, 'acme'), 'the new one');
  await seed(mock, 'acme', 7);
  t.equal(
    (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'acme', 'influx'), 'acme')).count,
    7,
    'and reads it',
  );
});

t.test('v2.0/2.1 (no virtual DBRP mappings): the mapping is created once', async (t) => {
  const mock = await v2Mock(t, { virtualDbrps: false });
  await provision(mock, 'acme');
  t.same(
    mock.dbrps.map((m) => [m.database, m.retention_policy, m.default]),
    [['acme', 'autogen', true]],
    'database acme, retention policy autogen, default',
  );
  await seed(mock, 'acme', 2);
  t.equal(
    (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'acme', 'influx'), 'acme')).count,
    2,
    'InfluxQL reaches the bucket',
  );
  await provision(mock, 'acme');
  t.equal(mock.dbrps.length, 1, 'not created twice');
  t.equal(mock.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/dbrps').length, 1);
});

t.test(
  "v2.0/2.1: provisioners racing to create the DBRP mapping all succeed (the loser's 422 conflict is checked)",
  async (t) => {
    const mock = await v2Mock(t, { virtualDbrps: false, databases: ['acme'] });
    const results = await Promise.all(Array.from({ length: 4 }, () => provision(mock, 'acme')));
    t.ok(
      results.every((r) => r.status === 'set'),
      'every one succeeded',
    );
    t.equal(mock.dbrps.length, 1, 'one mapping');
    // 2.x answers every conflict 422 {"code":"conflict"} (kit/transport/http/error_handler.go), never 409
    t.ok(
      mock.requests.some((r) => r.path === '/api/v2/dbrps' && r.method === 'POST' && r.status === 422),
      'a loser saw 422 conflict and accepted the mapping',
    );
  },
);

t.test(
  'v2: a bucket lookup answering 404 (as 2.0–2.7 do for a missing name) means absent: the bucket is created',
  async (t) => {
    const mock = await v2Mock(t);
    const http = new InfluxHttp(v2Config(mock), 2);
    t.teardown(() => http.close());
    await ensureInfluxDatabase(http, 'bravo');
    t.same(
      mock.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      ['GET /api/v2/orgs 200', 'GET /api/v2/buckets 404', 'POST /api/v2/buckets 201'],
    );
    t.ok(mock.hasDatabase('bravo'));
    // a 404 that is not 2.x's "not found" (no such route: INFLUX_URL points at something else) is not "absent"
    const other = await v2Mock(t);
    other.failNext(1, { status: 404, body: '404 page not found\n', match: (r) => r.path === '/api/v2/buckets' });
    const http2 = new InfluxHttp(v2Config(other), 2);
    t.teardown(() => http2.close());
    await t.rejects(ensureInfluxDatabase(http2, 'bravo'), /HTTP 404 404 page not found/);
    t.notOk(
      other.requests.some((r) => r.method === 'POST'),
      'nothing created',
    );
  },
);

t.test('v2: a bucket created meanwhile by another provisioner (422 conflict) counts as created', async (t) => {
  const mock = await v2Mock(t);
  mock.beforeNext(
    (r) => r.method === 'POST' && r.path === '/api/v2/buckets',
    () => mock.createDatabase('bravo'),
  );
  t.same(await provision(mock, 'bravo'), { user: tenantLogin('bravo'), status: 'set' });
  t.ok(
    mock.requests.some((r) => r.method === 'POST' && r.path === '/api/v2/buckets' && r.status === 422),
    'the create answered 422 conflict',
  );
});

t.test('v2: an authorization created meanwhile (422 conflict, not 409) is looked up again and used', async (t) => {
  const mock = await v2Mock(t);
  const posts = (m: InfluxMock) =>
    m.requests.filter((r) => r.method === 'POST' && r.path === '/private/legacy/authorizations');
  // between our lookup (404) and our create, another provisioner creates the same authorization
  mock.beforeNext(
    (r) => r.method === 'POST' && r.path === '/private/legacy/authorizations',
    async () => {
      await provision(mock, 'acme');
    },
  );
  t.same(await provision(mock, 'acme'), { user: tenantLogin('acme'), status: 'set' });
  // in the order they were answered: ours arrived first, but the other's was answered before it
  const answered = (rs: Array<{ status?: number; answeredAt?: number }>) =>
    [...rs].sort((a, b) => a.answeredAt! - b.answeredAt!).map((r) => r.status);
  t.same(answered(posts(mock)), [201, 422], "the other's create won, ours answered 422 conflict");
  t.equal(authsNamed(mock, tenantLogin('acme')).length, 1, 'one authorization');
  await seed(mock, 'acme', 2);
  t.equal(
    (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'acme', 'influx'), 'acme')).count,
    2,
    'and it reads the bucket',
  );
});

t.test('v2.0/2.1: a DBRP mapping created meanwhile (422 conflict) is checked and accepted', async (t) => {
  const mock = await v2Mock(t, { virtualDbrps: false });
  mock.beforeNext(
    (r) => r.method === 'POST' && r.path === '/api/v2/dbrps',
    async () => {
      await provision(mock, 'acme');
    },
  );
  t.same(await provision(mock, 'acme'), { user: tenantLogin('acme'), status: 'set' });
  const posts = mock.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/dbrps');
  t.same(
    posts.sort((a, b) => a.answeredAt! - b.answeredAt!).map((r) => r.status),
    [201, 422],
    "the other's create won, ours answered 422 conflict",
  );
  t.equal(mock.dbrps.length, 1, 'one mapping');
});

t.test(
  'v2: an authorization of that name in another organisation is not ours: a clear error, left alone',
  async (t) => {
    const mock = await v2Mock(t);
    await provision(mock, 'acme');
    const [auth] = authsNamed(mock, tenantLogin('acme'));
    auth.orgID = 'ffffffffffffffff';
    await t.rejects(provision(mock, 'acme'), /belongs to another organisation \(ffffffffffffffff\)/);
    t.same(
      authsNamed(mock, tenantLogin('acme')).map((a) => a.id),
      [auth.id],
      'not deleted',
    );
  },
);

t.test('v2: database name mapped to another bucket → a clear error, nothing created', async (t) => {
  const mock = await v2Mock(t, { virtualDbrps: false, databases: ['elsewhere'] });
  const http = new InfluxHttp(v2Config(mock), 2);
  t.teardown(() => http.close());
  await ensureInfluxDatabase(http, 'acme');
  const elsewhere = (await http.v2FindBucket('elsewhere')) as { id: string };
  mock.dbrps.push({
    id: 'ffff000000000001',
    orgID: mock.orgId,
    bucketID: elsewhere.id,
    database: 'acme',
    retention_policy: 'autogen',
    default: true,
  });
  await t.rejects(
    ensureInfluxReader(http, 'acme', tenantLogin('acme'), 'x'.repeat(43)),
    /mapped \(DBRP\) to another bucket/,
  );
  t.equal(mock.legacyAuths.size, 0, 'no authorization created');
});

t.test('v2: two provisioners racing on one tenant end with one authorization', async (t) => {
  const mock = await v2Mock(t);
  const results = await Promise.all(Array.from({ length: 6 }, () => provision(mock, 'acme')));
  t.ok(
    results.every((r) => r.status === 'set'),
    'every one succeeded',
  );
  t.equal(authsNamed(mock, tenantLogin('acme')).length, 1, 'one authorization');
  await seed(mock, 'acme', 1);
  t.equal(
    (await queryAs(mock, tenantLogin('acme'), tenantPassword(SECRET, 'acme', 'influx'), 'acme')).count,
    1,
    'and it works',
  );
  t.ok(
    mock.requests.some((r) => r.path === '/private/legacy/authorizations' && r.method === 'POST' && r.status === 422) ||
      mock.requests.filter((r) => r.path === '/private/legacy/authorizations' && r.method === 'POST').length === 1,
    'the losers of the race saw 422 conflict "token already exists" (or never tried)',
  );
});

t.test('v2: an operator token without rights on authorizations → STORE_AUTH, with the reply', async (t) => {
  const mock = await v2Mock(t);
  mock.failNext(10, {
    status: 403,
    body: JSON.stringify({ code: 'forbidden', message: 'write:authorizations is unauthorized' }),
    match: /^\/private\/legacy\/authorizations$/,
  });
  const err = await provision(mock, 'acme').then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof StoreError, 'a StoreError');
  t.equal((err as StoreError).code, ErrorCodes.STORE_AUTH);
  t.match((err as StoreError).message, /authorization pv_login_acme.*403.*write:authorizations is unauthorized/);
});

t.test(
  'provisionTenant: InfluxDB refusing the read credentials is a warning, the rest is provisioned; InfluxDB down is thrown (serve retries)',
  { skip: servicesSkip },
  async (t) => {
    const tenant = `v2f${process.pid}`;
    const db = await tenantDatabase(t, 'provfail', tenant);
    const mock = await v2Mock(t);
    const influx = v2Config(mock);
    // one refusal: the first request to the authorizations API (the look-up) is answered 403
    mock.failNext(1, {
      status: 403,
      body: JSON.stringify({ code: 'forbidden', message: 'write:authorizations is unauthorized' }),
      match: /^\/private\/legacy\/authorizations/,
    });
    const r = await provisionTenant({ pool: db.pool, influx, tenant, campaign: 'site-1', secret: SECRET });
    t.same(r.influx.reader, { user: null, status: 'failed' });
    t.match(
      r.warnings.join('\n'),
      /InfluxDB read credentials of v2f\d+ not provisioned: .*403.*write:authorizations is unauthorized/,
    );
    t.equal(r.postgres.login, tenantLogin(tenant), 'the PostgreSQL side is provisioned');
    t.equal(
      (await db.pool.query('SELECT 1 FROM core.campaigns WHERE tenant = $1 AND campaign = $2', [tenant, 'site-1']))
        .rowCount,
      1,
      'and the campaign',
    );

    mock.failNext(20, { status: 503, body: 'unavailable', match: /^\/private\/legacy\/authorizations/ });
    const down = await provisionTenant({ pool: db.pool, influx, tenant, secret: SECRET }).then(
      () => null,
      (e: unknown) => e,
    );
    t.equal(
      (down as StoreError | null)?.code,
      ErrorCodes.STORE_UNAVAILABLE,
      'a 503 is thrown as STORE_UNAVAILABLE: serve waits and retries',
    );
  },
);

t.test(
  'PgTokenVault: the tenant lock serializes provisioners, a failure keeps nothing',
  { skip: servicesSkip },
  async (t) => {
    const db = await testDatabase(t, 'vault');
    await migrate(db.pool);
    await db.pool.query('SELECT core.ensure_tenant($1)', ['vaulted']);
    db.dropRoleLater('pv_tenant_vaulted');
    const vault = new PgTokenVault(db.pool, SECRET);
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = vault.withTenant('vaulted', async (slot) => {
      order.push('first in');
      await held;
      await slot.put('pv_login_vaulted', 'token-one');
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 100));
    const second = vault.withTenant('vaulted', async (slot) => {
      order.push(`second sees ${await slot.get()}`);
    });
    await new Promise((r) => setTimeout(r, 200));
    t.same(order, ['first in'], 'the second waits for the first');
    release();
    await Promise.all([first, second]);
    t.same(order, ['first in', 'first out', 'second sees token-one'], 'and sees what the first kept');

    await t.rejects(
      vault.withTenant('vaulted', async (slot) => {
        await slot.put('pv_login_vaulted', 'token-two');
        throw new Error('InfluxDB went away');
      }),
      /InfluxDB went away/,
    );
    t.equal(
      await vault.withTenant('vaulted', (slot) => slot.get()),
      'token-one',
      'rolled back: the kept token is unchanged',
    );
    t.equal(
      await new PgTokenVault(db.pool, 'another-secret-0123456789').withTenant('vaulted', (slot) => slot.get()),
      null,
      'another secret opens nothing',
    );
    t.equal(db.pool.totalCount - db.pool.idleCount, 0, 'no client left checked out');
  },
);

t.test(
  'CLI: powerview provision on InfluxDB 2, then the password grafana env prints opens the bucket',
  { skip: servicesSkip },
  async (t) => {
    const tenant = `v2t${process.pid}`;
    const db = await tenantDatabase(t, 'provv2', tenant);
    const mock = await v2Mock(t);
    const env = {
      ...db.env,
      DATABASE_URL: db.url,
      INFLUX_URL: mock.url,
      INFLUX_API: 'v2',
      INFLUX_TOKEN: TOKEN,
      INFLUX_ORG: mock.org,
      POWERVIEW_TENANT_SECRET: SECRET,
    };
    const prov = await runCli(['provision', tenant, 'site-1', '--json'], env);
    t.equal(prov.code, 0, prov.stderr);
    const result = JSON.parse(prov.stdout) as { influx: { reader: { status: string } }; warnings: string[] };
    t.same(result.influx.reader, { user: tenantLogin(tenant), status: 'set' });
    t.same(result.warnings, [], 'no manual step left');

    const printed = await runCli(['grafana', 'env', '--tenant', tenant], env);
    t.equal(printed.code, 0, printed.stderr);
    const line = printed.stdout.split('\n').find((l) => l.startsWith(`${passwordEnvVar(tenant, 'influx')}=`));
    t.ok(line, 'grafana env prints the InfluxDB password variable');
    const password = line!.slice(line!.indexOf('=') + 1);
    await seed(mock, tenant, 9);
    const q = await queryAs(mock, tenantLogin(tenant), password, tenant);
    t.equal(q.count, 9, 'the datasource credentials read the tenant bucket');
  },
);

// ---- InfluxDB 3 ------------------------------------------------------------

/** The vault's contract in memory: one slot per tenant, a lock per tenant. */
class MemoryVault implements TokenVault {
  readonly tokens = new Map<string, string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  async withTenant<T>(tenant: string, fn: (slot: TokenSlot) => Promise<T>): Promise<T> {
    const prior = this.locks.get(tenant) ?? Promise.resolve();
    const run = prior
      .catch(() => {})
      .then(() =>
        fn({
          get: async () => this.tokens.get(tenant) ?? null,
          put: async (_name, token) => void this.tokens.set(tenant, token),
        }),
      );
    this.locks.set(tenant, run);
    return run;
  }
}

function v3Config(mock: InfluxMock): InfluxConfig {
  return resolveInfluxConfig({ influxUrl: mock.url, influxApi: 'v3' }, { INFLUX_TOKEN: TOKEN });
}

const provision3 = (mock: InfluxMock, tenant: string, vault: TokenVault) =>
  provisionWith(v3Config(mock), tenant, 'unused-on-v3', vault);

const seed3 = (mock: InfluxMock, db: string, points: number) => seed(mock, db, points, 'v3');

t.test('v3 Enterprise: a read-only resource token, kept in the vault, usable as Grafana uses it', async (t) => {
  const mock = await v2Mock(t, { v3Enterprise: true });
  const vault = new MemoryVault();
  t.same(await provision3(mock, 'acme', vault), { user: tenantLogin('acme'), status: 'set' });
  await provision3(mock, 'globex', vault);
  await seed3(mock, 'acme', 6);
  await seed3(mock, 'globex', 2);
  const rt = mock.resourceTokens.get(tenantLogin('acme'))!;
  t.ok(rt, 'a resource token named after the login');
  t.same([rt.databases, rt.actions], [['acme'], ['read']], 'db:acme:read only');
  const token = vault.tokens.get('acme')!;
  t.equal(token, rt.token, 'the vault keeps the token the server generated');

  const own = await queryAs(mock, tenantLogin('acme'), token, 'acme');
  t.equal(own.count, 6, 'the 1.x query API with the token as password reads the tenant');
  t.equal((await queryAs(mock, tenantLogin('acme'), token, 'globex')).status, 403, 'not another tenant');
  const write = await fetch(`${mock.url}/api/v3/write_lp?${new URLSearchParams({ db: 'acme', precision: 'second' })}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: 'electrical,device=d1,channel=U1 value=1 1700000000',
  });
  t.equal(write.status, 403, 'read-only: a write is refused');
  const admin = await fetch(`${mock.url}/api/v3/configure/database`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: '{"db":"x"}',
  });
  t.equal(admin.status, 403, 'no administration');

  const before = mock.requests.length;
  t.same(await provision3(mock, 'acme', vault), { user: tenantLogin('acme'), status: 'set' }, 'again: set');
  const again = mock.requests.slice(before);
  t.equal(
    again.filter((r) => r.path === '/api/v3/enterprise/configure/token').length,
    0,
    'a token that still reads is kept: none created',
  );
  t.equal(again.filter((r) => r.method === 'DELETE').length, 0, 'none deleted');
  t.equal(vault.tokens.get('acme'), token, 'the same token');
  t.ok(
    again.some(
      (r) => r.path === '/api/v3/query_sql' && r.headers.authorization === `Bearer ${token}` && r.status === 200,
    ),
    'checked with the kept token itself',
  );
});

t.test('v3 Enterprise: a revoked token, or one whose string was lost, is replaced', async (t) => {
  const mock = await v2Mock(t, { v3Enterprise: true });
  const vault = new MemoryVault();
  await provision3(mock, 'acme', vault);
  await seed3(mock, 'acme', 3);
  const first = vault.tokens.get('acme')!;

  mock.resourceTokens.delete(tenantLogin('acme')); // revoked by an operator
  t.equal((await queryAs(mock, 'x', first, 'acme')).status, 401, 'revoked: refused');
  await provision3(mock, 'acme', vault);
  const second = vault.tokens.get('acme')!;
  t.not(second, first, 'a new token');
  t.equal((await queryAs(mock, 'x', second, 'acme')).count, 3, 'which reads');

  vault.tokens.delete('acme'); // e.g. POWERVIEW_TENANT_SECRET changed: the sealed token no longer opens
  await provision3(mock, 'acme', vault);
  const third = vault.tokens.get('acme')!;
  t.not(third, second);
  t.equal(
    (await queryAs(mock, 'x', second, 'acme')).status,
    401,
    'the token of that name whose string was lost is revoked',
  );
  t.equal((await queryAs(mock, 'x', third, 'acme')).count, 3, 'the new one reads');
  t.equal(mock.resourceTokens.size, 1, 'one token in InfluxDB');
});

t.test('v3 Core: no resource tokens — nothing created, nothing deleted, nothing kept', async (t) => {
  const mock = await v2Mock(t);
  const vault = new MemoryVault();
  t.same(await provision3(mock, 'acme', vault), { user: null, status: 'none' });
  t.equal(vault.tokens.size, 0);
  t.equal(mock.requests.filter((r) => r.method === 'DELETE').length, 0, 'no token deleted on Core');
});

t.test(
  "provisionTenant on InfluxDB 3: a company name with a '.' is refused before anything is created, saying why",
  async (t) => {
    const mock = await v2Mock(t);
    const pool = {
      query: () => Promise.reject(new Error('PostgreSQL must not be reached')),
    } as unknown as import('pg').Pool;
    const err = await provisionTenant({ pool, influx: v3Config(mock), tenant: 'acme.fr', secret: SECRET }).then(
      () => null,
      (e: unknown) => e,
    );
    t.equal((err as StoreError | null)?.code, ErrorCodes.TENANT_NAME, 'a name error: serve does not retry it');
    t.match((err as Error).message, /company name "acme\.fr" cannot be an InfluxDB 3 database name: .*no '\.'/);
    t.equal(mock.requests.length, 0, 'InfluxDB was not asked');
    // on 2.x the same name is a valid bucket: the check is per store
    await t.resolves(provision(mock, 'acme.fr'));
  },
);

t.test("provisioning on InfluxDB 3 Core past its database limit: the server's message and a hint", async (t) => {
  const mock = await v2Mock(t, { databases: ['powerview_meta', 'a', 'b', 'c', 'd'] });
  const http = new InfluxHttp(v3Config(mock), 2);
  t.teardown(() => http.close());
  const err = await ensureInfluxDatabase(http, 'e').then(
    () => null,
    (e: unknown) => e as StoreError,
  );
  t.equal(err?.code, ErrorCodes.STORE_REJECTED);
  t.equal(err?.status, 422);
  t.match(
    err?.message,
    /HTTP 422 \{"error":"Adding a new database would exceed limit of 5 databases","data":null\} — hint: this InfluxDB 3 holds at most 5 databases/,
  );
});

t.test('v3 Enterprise: six provisioners racing end with one token, and the vault holds it', async (t) => {
  const mock = await v2Mock(t, { v3Enterprise: true });
  const vault = new MemoryVault();
  const results = await Promise.all(Array.from({ length: 6 }, () => provision3(mock, 'acme', vault)));
  t.ok(results.every((r) => r.status === 'set'));
  t.equal(mock.resourceTokens.size, 1);
  t.equal(
    vault.tokens.get('acme'),
    mock.resourceTokens.get(tenantLogin('acme'))!.token,
    'the kept token is the live one',
  );
});

t.test('sealed tokens open only with the same secret and tenant, and unaltered', async (t) => {
  const sealed = sealToken(SECRET, 'acme', 'apiv3_secret-token');
  t.notOk(sealed.includes('apiv3_secret-token'), 'not in clear');
  t.equal(openToken(SECRET, 'acme', sealed), 'apiv3_secret-token');
  t.equal(openToken('another-secret-0123456789', 'acme', sealed), null, 'another secret');
  t.equal(openToken(SECRET, 'globex', sealed), null, "copied to another tenant's row");
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  raw[raw.length - 1] ^= 1;
  t.equal(openToken(SECRET, 'acme', `v1.${raw.toString('base64url')}`), null, 'altered');
  t.not(sealToken(SECRET, 'acme', 'apiv3_secret-token'), sealed, 'a fresh IV each time');
});

t.test(
  'CLI: powerview provision on InfluxDB 3 Enterprise keeps the token sealed in PostgreSQL; grafana env prints it',
  { skip: servicesSkip },
  async (t) => {
    const tenant = `v3t${process.pid}`;
    const db = await tenantDatabase(t, 'provv3', tenant);
    const mock = await v2Mock(t, { v3Enterprise: true });
    const env = {
      ...db.env,
      DATABASE_URL: db.url,
      INFLUX_URL: mock.url,
      INFLUX_API: 'v3',
      INFLUX_TOKEN: TOKEN,
      POWERVIEW_TENANT_SECRET: SECRET,
    };
    const prov = await runCli(['provision', tenant, 'site-1', '--json'], env);
    t.equal(prov.code, 0, prov.stderr);
    t.same((JSON.parse(prov.stdout) as { influx: { reader: unknown } }).influx.reader, {
      user: tenantLogin(tenant),
      status: 'set',
    });
    const live = mock.resourceTokens.get(tenantLogin(tenant))!.token;
    const row = (
      await db.pool.query<{ token_name: string; sealed: string }>(
        'SELECT token_name, sealed FROM core.influx_read_tokens WHERE tenant = $1',
        [tenant],
      )
    ).rows[0];
    t.equal(row.token_name, tenantLogin(tenant));
    t.notOk(row.sealed.includes(live), 'sealed, not in clear');

    const again = await runCli(['provision', tenant, '--json'], env);
    t.equal(again.code, 0, again.stderr);
    t.equal(mock.resourceTokens.get(tenantLogin(tenant))!.token, live, 'provisioning again keeps the token');

    const printed = await runCli(['grafana', 'env', '--tenant', tenant], env);
    t.equal(printed.code, 0, printed.stderr);
    const line = printed.stdout.split('\n').find((l) => l.startsWith(`${passwordEnvVar(tenant, 'influx')}=`));
    t.equal(
      line,
      `${passwordEnvVar(tenant, 'influx')}=${live}`,
      'grafana env prints the live token as the InfluxDB password',
    );
    await seed3(mock, tenant, 4);
    t.equal((await queryAs(mock, tenantLogin(tenant), live, tenant)).count, 4, 'and it reads the tenant database');
  },
);
