/**
 * Whole runs (runIngestJob: discover → parse → batch → write →
 * move) against stand-ins that answer as InfluxDB 2.x and 3.x answer in
 * their source (test/support/influx-mock/: every route cites the file it follows).
 * The request-level details are in test/influx/writer.test.ts and
 * test/provision/influx-readers.test.ts; here, what a user sees: exit codes,
 * file outcomes, where the files went, what the report says.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateArchive } from '../../fixtures/generate.js';
import { discover } from '../../src/pipeline/discover.js';
import { runIngestJob } from '../../src/pipeline/ingest-job.js';
import { resolveInfluxConfig, type InfluxApi } from '../../src/influx/config.js';
import { parse as parseYaml } from 'yaml';
import { tenantDatasources } from '../../src/grafana/datasources.js';
import { tenantTree } from '../../src/grafana/tree.js';
import { passwordEnvVar } from '../../src/grafana/names.js';
import { startInfluxMock, type InfluxMock, type InfluxMockOptions } from '../support/influx-mock.js';

const TOKEN = 'operator-token-of-the-test';

interface Archive {
  root: string;
  files: string[];
}

async function archive(
  companies: string[],
  opts: { files?: number; rows?: number; channels?: number; devices?: number } = {},
): Promise<Archive> {
  const root = mkdtempSync(join(tmpdir(), 'pv-ver-'));
  const files: string[] = [];
  for (const [i, company] of companies.entries()) {
    const made = await generateArchive({
      out: root,
      company,
      campaign: 'c1',
      devices: opts.devices ?? 1,
      files: opts.files ?? 2,
      rows: opts.rows ?? 120,
      channels: opts.channels ?? 6,
      slaves: 0,
      format: 'v003',
      step: 60,
      start: Date.UTC(2025, 0, 1) / 1000,
      defects: [],
      seed: 11 + i,
    });
    files.push(...made.files);
  }
  return { root, files };
}

async function run(
  mock: InfluxMock,
  api: InfluxApi,
  a: Archive,
  env: NodeJS.ProcessEnv = {},
  metaDb = 'powerview_meta',
) {
  const tasks = await discover([a.root], { root: a.root });
  return runIngestJob(tasks, {
    pipeline: { workers: 0 },
    influx: resolveInfluxConfig(
      { influxUrl: mock.url, influxApi: api, storeWait: '5' },
      { INFLUX_TOKEN: TOKEN, INFLUX_ORG: mock.org, ...env },
    ),
    metaDb,
    moveFiles: true,
  });
}

const mockOf = (t: Test, options: InfluxMockOptions = {}) => startInfluxMock(t, { token: TOKEN, ...options });

t.test(
  'InfluxDB 2.x: a backfill of one tenant creates its bucket (lookup 404 → create) and lands every point',
  async (t) => {
    const mock = await mockOf(t);
    const a = await archive(['bravo']);
    const { exitCode, report } = await run(mock, 'v2', a);
    t.equal(
      exitCode,
      0,
      `exit 0 (was 2: cannot create database "bravo" (HTTP 404): bucket "bravo" not found) ${report.store_failure?.message ?? ''}`,
    );
    t.equal(report.totals.files_ok, a.files.length);
    t.ok(
      mock.hasDatabase('bravo') && mock.hasDatabase('powerview_meta'),
      'the tenant bucket and the meta bucket were created',
    );
    t.equal(mock.points('bravo').length, report.totals.points, 'every point is in the bucket');
    const lookups = mock.requests.filter((r) => r.method === 'GET' && r.path === '/api/v2/buckets');
    t.ok(lookups.length >= 2 && lookups.every((r) => r.status === 404), 'each lookup of a missing bucket answered 404');
    for (const f of report.files) t.match(f.moved_to, /\/parsed\//, `${f.path} moved to parsed/`);
  },
);

t.test(
  'InfluxDB 3 partial writes: a file mostly stored is reported as such, by its own line numbers, and not sent again',
  async (t) => {
    // 20 columns per table: 10 tags + time + 9 fields. Device 1's 6 channels fit; device 2's first 3 do, its last 3 do not
    const mock = await mockOf(t, { v3Limits: { columnsPerTable: 20 }, databases: ['powerview_meta'] });
    const a = await archive(['acme'], { devices: 2, files: 2, rows: 50, channels: 6 });
    const { exitCode, report } = await run(mock, 'v3', a);
    t.equal(exitCode, 1, 'exit 1: a file failed, the run went on');
    t.equal(report.store_failure ?? null, null, 'nothing stopped the run');
    const [ok, partial] = [...report.files].sort((x, y) => (x.master_sn! < y.master_sn! ? -1 : 1));
    t.equal(ok.status, 'ok');
    t.match(ok.moved_to, /\/parsed\//);
    t.equal(partial.status, 'error');
    t.equal(partial.error?.code, 'PV_ERR_STORE_PARTIAL', 'not "rejected" as a whole');
    t.same(partial.written, { lines: 150, batches: 1, refused: 150 }, 'stored and refused lines counted apart');
    t.match(
      partial.error?.message,
      /^InfluxDB stored 150 of 300 lines and refused 150 \(HTTP 422\): line 4: Update to schema would exceed number of columns per table limit of 20 columns; line 5: /,
    );
    t.match(partial.error?.message, /hint: a table of InfluxDB 3 holds at most 20 columns/);
    t.equal(partial.error?.http_status, 422, '422: a line hit a limit');
    const refused = partial.error?.refused_lines ?? [];
    t.equal(refused.length, 20, 'the first 20 refused lines');
    t.same(
      refused.slice(0, 4).map((r) => r.line),
      [4, 5, 6, 10],
      "the file's own line numbers: channels 4–6 of each row",
    );
    t.ok(
      refused.every((r) => r.text.startsWith('electrical,') && r.text.length > 20),
      'each line whole, not the 20 bytes the server echoes',
    );
    t.match(partial.moved_to, /\/error\//);
    const stored = mock.points('acme').filter((p) => p.tags.device_master_sn === partial.master_sn).length;
    t.equal(stored, 150, 'what was stored stays stored');
    t.equal(
      mock.writes().filter((w) => w.query.db === 'acme').length,
      1,
      'one write for the tenant: nothing sent again',
    );
  },
);

t.test(
  "InfluxDB 3 Core database limit: the fifth database fails that tenant's files, with the server's message and a hint; the others land",
  async (t) => {
    // Core holds 5 databases (`_internal` not counted): the meta database and four tenants, all there already;
    // a fifth tenant comes first in the run, the four after it must still land
    const mock = await mockOf(t, { databases: ['powerview_meta', 't2', 't3', 't4', 't5', '_internal'] });
    const a = await archive(['t1', 't2', 't3', 't4', 't5'], { files: 1, rows: 20 });
    const { exitCode, report } = await run(mock, 'v3', a);
    t.equal(exitCode, 1, 'exit 1 (some file failed), not 2 or 3: the run was not stopped');
    t.equal(report.store_failure ?? null, null);
    t.equal(report.files[0].tenant, 't1', 'the refused tenant went first');
    const by = new Map(report.files.map((f) => [f.tenant, f]));
    for (const ok of ['t2', 't3', 't4', 't5']) t.equal(by.get(ok)?.status, 'ok', `${ok} landed after it`);
    const refused = by.get('t1')!;
    t.equal(refused.error?.code, 'PV_ERR_STORE_REJECTED');
    t.equal(refused.error?.http_status, 422);
    t.match(
      refused.error?.message,
      /^InfluxDB refused to create database "t1" \(HTTP 422\): Adding a new database would exceed limit of 5 databases — hint: this InfluxDB 3 holds at most 5 databases/,
    );
    t.match(refused.moved_to, /\/error\//);
    t.same(refused.written, { lines: 0, batches: 1, refused: 120 });
    t.notOk(mock.hasDatabase('t1'));
    t.equal(mock.writes().filter((w) => w.query.db === 't1').length, 0, 'no write was tried for t1');
  },
);

t.test(
  'InfluxDB 3: the request-size limit answers 500 up to 3.9 and 413 from 3.10; both split the batch',
  async (t) => {
    for (const v3Version of ['3.9', '3.10']) {
      await t.test(v3Version, async (t) => {
        const mock = await mockOf(t, { v3Version, maxBodyBytes: 8 * 1024, databases: ['powerview_meta'] });
        const a = await archive(['acme'], { files: 1, rows: 200 });
        const { exitCode, report } = await run(mock, 'v3', a, { INFLUX_BATCH_BYTES: String(64 * 1024) });
        t.equal(exitCode, 0, report.files[0]?.error?.message ?? '');
        const refused = mock.writes().filter((w) => w.query.db === 'acme' && w.status !== 204);
        t.ok(
          refused.length > 0 && refused.every((w) => w.status === (v3Version === '3.9' ? 500 : 413)),
          `too large: ${v3Version === '3.9' ? 500 : 413}`,
        );
        t.equal(mock.points('acme').length, report.totals.points, 'every point landed once split');
        t.equal(report.influx?.retries.server_error ?? 0, 0, 'the 500 was not retried as a server error');
      });
    }
  },
);

t.test(
  "InfluxDB 3 database names: a '.' that 1.x and 2.x accept is refused up front, saying which store and why",
  async (t) => {
    const mock = await mockOf(t, { databases: ['powerview_meta'] });
    const a = await archive(['acme.fr', 'acme-de'], { files: 1, rows: 10 });
    const { exitCode, report } = await run(mock, 'v3', a);
    t.equal(exitCode, 1);
    const dotted = report.files.find((f) => f.tenant === 'acme.fr')!;
    t.equal(dotted.error?.code, 'PV_ERR_TENANT_NAME');
    t.equal(
      dotted.error?.message,
      "company name \"acme.fr\" cannot be an InfluxDB 3 database name: InfluxDB 3 takes ASCII letters, digits, '_' and '-' only (no '.'), " +
        'starting with a letter or digit (InfluxDB 1.x and 2.x accept it). Rename the company folder (e.g. "acme-fr") before its files are ingested',
    );
    t.equal(dotted.moved_to, null, 'left in place, to be renamed');
    t.ok(existsSync(dotted.path));
    t.notOk(
      mock.requests.some(
        (r) => r.query.db === 'acme.fr' || (r.path === '/api/v3/configure/database' && r.text.includes('acme.fr')),
      ),
      'InfluxDB was not asked to create or write "acme.fr"',
    );
    t.equal(report.files.find((f) => f.tenant === 'acme-de')?.status, 'ok', 'the other company landed');

    // the same archive on 2.x: the name is fine there
    const v2 = await mockOf(t);
    const b = await archive(['acme.fr'], { files: 1, rows: 10 });
    t.equal((await run(v2, 'v2', b)).exitCode, 0, 'InfluxDB 2.x takes "acme.fr" as a bucket name');
  },
);

/** A request as Grafana's InfluxQL datasource sends it: POST /query?db=&epoch=ms, q in the form body, its auth ($VARs expanded). */
async function asGrafana(mock: InfluxMock, ds: Record<string, unknown>, env: Record<string, string>): Promise<number> {
  const expand = (v: string) => v.replace(/\$([A-Z_][A-Z0-9_]*)/g, (_, k: string) => env[k] ?? '');
  const json = ds.jsonData as Record<string, string>;
  const secure = ds.secureJsonData as Record<string, string>;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  // Grafana: user + password → HTTP Basic (pkg/services/datasources httpClientOptions); httpHeaderNameN/ValueN → that header
  if (typeof ds.user === 'string')
    headers.authorization = `Basic ${Buffer.from(`${ds.user}:${expand(secure.password)}`).toString('base64')}`;
  for (const [k, name] of Object.entries(json)) {
    const n = /^httpHeaderName(\d+)$/.exec(k)?.[1];
    if (n) headers[name.toLowerCase()] = expand(secure[`httpHeaderValue${n}`]);
  }
  const res = await fetch(`${mock.url}/query?${new URLSearchParams({ db: json.dbName, epoch: 'ms' })}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ q: 'SELECT count(*) FROM "electrical" WHERE time >= 0s' }).toString(),
  });
  await res.text();
  return res.status;
}

t.test(
  'InfluxDB 3 /query: the Grafana datasource sends the token as `Authorization: Token`, which 3.0 and 3.10 both accept; --verify uses Bearer on query_sql',
  async (t) => {
    const entry = { tenant: 'acme', timeZone: 'Europe/Paris', campaigns: ['c1'] };
    const [v3ds] = tenantDatasources(entry, 'v3').datasources;
    const [v1ds] = tenantDatasources(entry, 'v1').datasources;
    t.notOk('user' in v3ds, 'no user/password on 3.x: Grafana would send them as Basic');
    t.same(v3ds.jsonData, { version: 'InfluxQL', dbName: 'acme', httpMode: 'POST', httpHeaderName1: 'Authorization' });
    t.same(
      v3ds.secureJsonData,
      { httpHeaderValue1: `Token $${passwordEnvVar('acme', 'influx')}` },
      'the token from the environment, never in the file',
    );
    // the provisioning tree (powerview grafana build --influx-api v3, or INFLUX_API=v3; provisionTenant on 3.x) carries that form
    const files = tenantTree(entry, { influxApi: 'v3' });
    const dsFile = [...files].find(([path]) => path.includes('datasources'))![1];
    t.same((parseYaml(dsFile) as { datasources: unknown[] }).datasources[0], v3ds);
    const env = { [passwordEnvVar('acme', 'influx')]: TOKEN };
    for (const [v3Version, basic] of [
      ['3.0', 400],
      ['3.1', 200],
      ['3.10', 200],
    ] as const) {
      await t.test(v3Version, async (t) => {
        const mock = await mockOf(t, { product: 'v3', v3Version, databases: ['acme'] });
        t.equal(await asGrafana(mock, v3ds, env), 200, 'Token header: accepted');
        t.equal(
          await asGrafana(mock, v1ds, env),
          basic,
          `the 1.x form (Basic, the token as password): ${basic === 400 ? 'refused as malformed on 3.0' : 'accepted from 3.1'}`,
        );
        t.equal(
          await asGrafana(mock, v3ds, { [passwordEnvVar('acme', 'influx')]: 'wrong' }),
          401,
          'a wrong token: 401',
        );
      });
    }

    await t.test('--verify on 3.0', async (t) => {
      const mock = await mockOf(t, { product: 'v3', v3Version: '3.0', databases: ['powerview_meta'] });
      const a = await archive(['acme'], { files: 1, rows: 30 });
      const tasks = await discover([a.root], { root: a.root });
      const { exitCode, report } = await runIngestJob(tasks, {
        pipeline: { workers: 0 },
        influx: resolveInfluxConfig({ influxUrl: mock.url, influxApi: 'v3' }, { INFLUX_TOKEN: TOKEN }),
        metaDb: 'powerview_meta',
        moveFiles: false,
        verify: true,
      });
      t.equal(exitCode, 0, report.files[0].error?.message ?? '');
      t.same(report.files[0].verify, { expected: report.files[0].points, found: report.files[0].points });
      const counts = mock.requests.filter((r) => r.path === '/api/v3/query_sql');
      t.ok(
        counts.length > 0 && counts.every((r) => r.headers.authorization === `Bearer ${TOKEN}` && r.status === 200),
        'Bearer on /api/v3/query_sql: every 3.x release',
      );
    });
  },
);
