/**
 * InfluxHttp / InfluxWriter / LpBatcher against the in-process InfluxDB mock
 * (test/support/influx-mock.ts): request shapes of the v1/v2/v3 APIs, database
 * creation, retries (Retry-After, backoff, refused connections, store wait),
 * 413 splitting, 4xx rejections landing on the right file, 401, batching
 * bounds, request concurrency, outcome timing and the --verify counts.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, StoreError } from '../../src/errors.js';
import { resolveInfluxConfig, type InfluxApi, type InfluxConfig, type InfluxFlags } from '../../src/influx/config.js';
import { InfluxHttp } from '../../src/influx/http-api.js';
import { InfluxWriter, type RetryCause, type RetryPolicy, type Segment } from '../../src/influx/writer.js';
import { LpBatcher, type FileWriteOutcome } from '../../src/influx/batcher.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';
import {
  startInfluxMock,
  parseLine,
  type InfluxMock,
  type InfluxMockOptions,
  type RecordedRequest,
} from '../support/influx-mock.js';
import { rng } from '../../fixtures/generate.js';

const TOKEN = 'test-token-123';
const ORG = 'acme';
const T0 = 1_700_000_000; // epoch seconds

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Rig {
  mock: InfluxMock;
  config: Readonly<InfluxConfig>;
  http: InfluxHttp;
  writer: InfluxWriter;
  retries: Array<{ cause: RetryCause; db: string; delayMs: number; detail: string }>;
}

function configFor(
  mock: InfluxMock,
  api: InfluxApi,
  flags: InfluxFlags = {},
  env: NodeJS.ProcessEnv = {},
): Readonly<InfluxConfig> {
  const base: NodeJS.ProcessEnv =
    api === 'v1' ? { INFLUX_USERNAME: 'writer', INFLUX_PASSWORD: 'pa:ss' } : { INFLUX_TOKEN: TOKEN, INFLUX_ORG: ORG };
  return resolveInfluxConfig({ influxUrl: mock.url, influxApi: api, ...flags }, { ...base, ...env });
}

async function rig(
  t: Teardown,
  api: InfluxApi,
  opts: { mock?: InfluxMockOptions; flags?: InfluxFlags; env?: NodeJS.ProcessEnv; policy?: Partial<RetryPolicy> } = {},
): Promise<Rig> {
  const mock = await startInfluxMock(t, {
    token: TOKEN,
    org: ORG,
    username: 'writer',
    password: 'pa:ss',
    ...opts.mock,
  });
  const config = configFor(mock, api, opts.flags, opts.env);
  const http = new InfluxHttp(config);
  t.teardown(() => http.close());
  const retries: Rig['retries'] = [];
  const writer = new InfluxWriter(
    http,
    { storeWaitMs: 10_000, baseDelayMs: 20, maxDelayMs: 200, ...opts.policy },
    { onRetry: (cause, db, delayMs, detail) => retries.push({ cause, db, delayMs, detail }) },
  );
  return { mock, config, http, writer, retries };
}

/** `n` distinct, valid line protocol lines (one point each), newline-terminated. */
function lpLines(
  n: number,
  opts: { sn?: string; from?: number; tag?: string; pad?: number; measurement?: string } = {},
): string[] {
  const sn = opts.sn ?? 'SN1';
  const from = opts.from ?? T0;
  const pad = opts.pad ?? 0;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const extra = pad > 0 ? `,note="${'x'.repeat((i * 7) % (pad + 1))}"` : '';
    out.push(
      `${opts.measurement ?? 'pv'},campaign=C1,channel_id=ch${i % 5},device_master_sn=${sn}${opts.tag ? `,file=${opts.tag}` : ''} value=${i}.25${extra} ${from + i}\n`,
    );
  }
  return out;
}

const joined = (lines: string[]) => Buffer.from(lines.join(''));
const bare = (lines: string[]) => lines.map((l) => l.replace(/\n$/, ''));

function oneSegment<F>(file: F, body: Buffer): Segment<F>[] {
  return [{ file, start: 0, end: body.length, lines: body.toString().split('\n').filter(Boolean).length }];
}

/** Segments for consecutive parts of one body, one per file. */
function segmentsOf<F>(parts: Array<[F, string[]]>): { body: Buffer; segments: Segment<F>[] } {
  const segments: Segment<F>[] = [];
  let at = 0;
  for (const [file, lines] of parts) {
    const len = Buffer.byteLength(lines.join(''));
    segments.push({ file, start: at, end: at + len, lines: lines.length });
    at += len;
  }
  return { body: Buffer.from(parts.map(([, l]) => l.join('')).join('')), segments };
}

function task(name: string, company = 'acme-co'): FileTask {
  return { path: `/data/${company}/camp/${name}.tsv`, identity: { tenant: company, campaign: 'camp' } };
}

/** Lines the mock stored through accepted writes, as a sorted multiset. */
function acceptedSorted(mock: InfluxMock, db?: string): string[] {
  return mock.acceptedLines
    .filter((a) => db === undefined || a.db === db)
    .map((a) => a.line)
    .sort();
}

function linesOf(req: RecordedRequest): string[] {
  return req.text.split('\n').filter((l) => l !== '');
}

const elapsedSince = (t0: number) => performance.now() - t0;

/** A line without a field set: every InfluxDB refuses it. */
const BAD = 'pv,campaign=C1,device_master_sn=SN2,channel_id=ch9';

// ---------------------------------------------------------------------------
// request shapes
// ---------------------------------------------------------------------------

t.test('v3: write_lp request shape, database creation, 409 = exists', async (t) => {
  for (const gzip of [false, true]) {
    await t.test(`gzip ${gzip ? 'on' : 'off'}`, async (t) => {
      const { mock, writer } = await rig(t, 'v3', { flags: { gzip } });
      const lines = lpLines(40);
      const body = joined(lines);
      const out = await writer.send('plant_a', body, oneSegment('f', body));
      t.same(
        out.map((o) => o.rejection),
        [null],
      );

      const [create, write, ...rest] = mock.requests;
      t.equal(rest.length, 0, 'one database creation, one write');
      t.equal(create.method, 'POST');
      t.equal(create.path, '/api/v3/configure/database');
      t.same(JSON.parse(create.text), { db: 'plant_a' });
      t.match(String(create.headers['content-type']), /^application\/json/);
      t.equal(create.headers.authorization, `Bearer ${TOKEN}`);

      t.equal(write.method, 'POST');
      t.equal(write.path, '/api/v3/write_lp');
      t.same(write.query, { db: 'plant_a', precision: 'second' }, 'exactly db and precision=second');
      t.equal(write.headers.authorization, `Bearer ${TOKEN}`);
      t.equal(write.headers['content-type'], 'text/plain; charset=utf-8');
      if (gzip) {
        t.equal(write.headers['content-encoding'], 'gzip');
        t.ok(write.rawLength < body.length, `compressed on the wire (${write.rawLength} < ${body.length})`);
      } else {
        t.equal(write.headers['content-encoding'], undefined, 'no Content-Encoding without --gzip');
        t.equal(write.rawLength, body.length);
      }
      t.ok(write.body.equals(body), 'the (decoded) body is the batch, byte for byte');
      t.equal(write.status, 204);
      t.equal(mock.points('plant_a').length, 40);

      // the database is known now: the next batch goes straight to write_lp
      const more = joined(lpLines(3, { from: T0 + 1000 }));
      await writer.send('plant_a', more, oneSegment('f', more));
      t.same(
        mock.requests.slice(2).map((r) => r.path),
        ['/api/v3/write_lp'],
      );
    });
  }

  await t.test('an existing database answers 409 and counts as created', async (t) => {
    const { mock, writer } = await rig(t, 'v3', { mock: { databases: ['plant_b'] } });
    const body = joined(lpLines(5));
    const out = await writer.send('plant_b', body, oneSegment('f', body));
    t.same(
      out.map((o) => o.rejection),
      [null],
    );
    t.same(
      mock.requests.map((r) => [r.path, r.status]),
      [
        ['/api/v3/configure/database', 409],
        ['/api/v3/write_lp', 204],
      ],
    );
    t.equal(mock.points('plant_b').length, 5);
  });
});

t.test('v2: /api/v2/write request shape, org lookup, bucket GET then POST', async (t) => {
  for (const gzip of [false, true]) {
    await t.test(`gzip ${gzip ? 'on' : 'off'}`, async (t) => {
      const { mock, writer } = await rig(t, 'v2', { flags: { gzip } });
      const body = joined(lpLines(30));
      const out = await writer.send('plant_a', body, oneSegment('f', body));
      t.same(
        out.map((o) => o.rejection),
        [null],
      );

      t.same(
        mock.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
        ['GET /api/v2/orgs 200', 'GET /api/v2/buckets 404', 'POST /api/v2/buckets 201', 'POST /api/v2/write 204'],
        'the lookup of a missing bucket is a 404 (as 2.0–2.7 answer it): absent, so it is created',
      );
      const [orgs, find, make, write] = mock.requests;
      t.equal(find.status, 404);
      for (const r of mock.requests)
        t.equal(r.headers.authorization, `Token ${TOKEN}`, `${r.method} ${r.path}: Token auth`);
      t.same(orgs.query, { org: ORG });
      t.same(find.query, { orgID: mock.orgId, name: 'plant_a' });
      t.match(String(make.headers['content-type']), /^application\/json/);
      t.same(JSON.parse(make.text), { orgID: mock.orgId, name: 'plant_a', retentionRules: [] });
      t.ok(mock.hasDatabase('plant_a'), 'the bucket exists now');

      t.same(write.query, { org: ORG, bucket: 'plant_a', precision: 's' }, 'exactly org, bucket and precision=s');
      t.equal(write.headers['content-type'], 'text/plain; charset=utf-8');
      t.equal(write.headers['content-encoding'], gzip ? 'gzip' : undefined);
      if (gzip) t.ok(write.rawLength < body.length, `compressed on the wire (${write.rawLength} < ${body.length})`);
      else t.equal(write.rawLength, body.length);
      t.ok(write.body.equals(body), 'decoded body equals the batch');
      t.equal(mock.points('plant_a').length, 30);
    });
  }

  await t.test('an existing bucket is found by GET and not created again', async (t) => {
    const { mock, writer } = await rig(t, 'v2', { mock: { databases: ['plant_c'] } });
    const body = joined(lpLines(2));
    await writer.send('plant_c', body, oneSegment('f', body));
    t.same(
      mock.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /api/v2/orgs', 'GET /api/v2/buckets', 'POST /api/v2/write'],
    );
  });

  await t.test('a bucket created by someone else meanwhile (422 conflict) counts as created', async (t) => {
    const { mock, writer } = await rig(t, 'v2', { mock: { databases: ['plant_d'] } });
    // the lookup does not see it yet (404, as 2.x answers a missing name); the POST then answers 422 "already exists"
    mock.failNext(1, {
      status: 404,
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-platform-error-code': 'not found' },
      body: '{"code":"not found","message":"bucket \\"plant_d\\" not found"}',
      match: (r) => r.method === 'GET' && r.path === '/api/v2/buckets',
    });
    const body = joined(lpLines(2));
    const out = await writer.send('plant_d', body, oneSegment('f', body));
    t.same(
      out.map((o) => o.rejection),
      [null],
    );
    t.same(
      mock.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      ['GET /api/v2/orgs 200', 'GET /api/v2/buckets 404', 'POST /api/v2/buckets 422', 'POST /api/v2/write 204'],
    );
    t.match(mock.requests[2].text, /plant_d/);
  });

  await t.test('an unknown organisation is a rejection naming INFLUX_ORG', async (t) => {
    const { mock, writer } = await rig(t, 'v2', { env: { INFLUX_ORG: 'nope' } });
    const body = joined(lpLines(1));
    const err = await writer.send('plant', body, oneSegment('f', body)).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof StoreError);
    t.equal((err as StoreError).code, ErrorCodes.STORE_REJECTED);
    t.equal((err as StoreError).status, 404);
    t.equal(mock.writes().length, 0, 'nothing was written');
  });
});

t.test('v1: /write request shape, Basic auth, CREATE DATABASE', async (t) => {
  const { mock, writer } = await rig(t, 'v1');
  const body = joined(lpLines(12));
  const out = await writer.send('plant_a', body, oneSegment('f', body));
  t.same(
    out.map((o) => o.rejection),
    [null],
  );
  const [create, write] = mock.requests;
  const basic = `Basic ${Buffer.from('writer:pa:ss').toString('base64')}`;
  t.equal(create.path, '/query');
  t.equal(create.headers['content-type'], 'application/x-www-form-urlencoded');
  t.equal(new URLSearchParams(create.text).get('q'), 'CREATE DATABASE "plant_a"');
  t.equal(create.headers.authorization, basic);
  t.equal(write.path, '/write');
  t.same(write.query, { db: 'plant_a', precision: 's' });
  t.equal(write.headers.authorization, basic);
  t.equal(write.status, 204);
  t.equal(mock.points('plant_a').length, 12);
});

t.test(
  "v3 stand-in: a '.' in a database name, as each release answers it (why the client checks the name itself)",
  async (t) => {
    for (const [v3Version, expected] of [
      ['3.0', ['/api/v3/configure/database 200', '/api/v3/write_lp 400']],
      ['3.8', ['/api/v3/configure/database 400']],
    ] as const) {
      await t.test(v3Version, async (t) => {
        const { mock, writer } = await rig(t, 'v3', { mock: { v3Version } });
        const body = joined(lpLines(2));
        const [o] = await writer.send('acme.fr', body, oneSegment('f', body));
        t.same(
          mock.requests.map((r) => `${r.path} ${r.status}`),
          expected,
          v3Version === '3.0' ? '3.0–3.1 create it, then refuse every write' : '3.2+ refuse to create it',
        );
        t.equal(o.rejection?.code, ErrorCodes.STORE_REJECTED, 'a rejection of that database, not of the run');
        t.match(
          o.rejection?.message,
          v3Version === '3.0'
            ? /invalid character in database name/
            : /refused to create database "acme.fr" \(HTTP 400\): invalid character in database or rp name/,
        );
        t.equal(mock.points('acme.fr').length, 0);
      });
    }
  },
);

t.test('a URL with a path prefix: every request goes below it', async (t) => {
  const mock = await startInfluxMock(t, { token: TOKEN, basePath: '/influx' });
  const config = resolveInfluxConfig({ influxUrl: `${mock.url}/`, influxApi: 'v3' }, { INFLUX_TOKEN: TOKEN });
  t.equal(config.url, mock.url, 'trailing slash dropped');
  const http = new InfluxHttp(config);
  t.teardown(() => http.close());
  const writer = new InfluxWriter(http, { storeWaitMs: 2000 });
  const body = joined(lpLines(3));
  await writer.send('db', body, oneSegment('f', body));
  t.same(
    mock.requests.map((r) => r.url.split('?')[0]),
    ['/influx/api/v3/configure/database', '/influx/api/v3/write_lp'],
  );
  t.equal(mock.points('db').length, 3);
});

t.test('a database dropped behind the writer is created again, once', async (t) => {
  await t.test('v3: 404 database not found', async (t) => {
    const { mock, writer, retries } = await rig(t, 'v3', { mock: { v3CreateOnWrite: false } });
    const first = joined(lpLines(4));
    await writer.send('plant', first, oneSegment('f', first));
    mock.dropDatabase('plant');
    const second = joined(lpLines(6, { from: T0 + 100 }));
    const out = await writer.send('plant', second, oneSegment('f', second));
    t.same(
      out.map((o) => o.rejection),
      [null],
    );
    t.same(
      mock.requests.slice(2).map((r) => `${r.path} ${r.status}`),
      ['/api/v3/write_lp 404', '/api/v3/configure/database 200', '/api/v3/write_lp 204'],
    );
    t.same(
      retries.map((r) => r.cause),
      ['database_missing'],
    );
    t.equal(mock.points('plant').length, 6, 'the second batch arrived (the first was dropped with its database)');
  });

  await t.test('v2: 404 bucket not found', async (t) => {
    const { mock, writer } = await rig(t, 'v2');
    const first = joined(lpLines(4));
    await writer.send('plant', first, oneSegment('f', first));
    mock.dropDatabase('plant');
    const second = joined(lpLines(6, { from: T0 + 100 }));
    const out = await writer.send('plant', second, oneSegment('f', second));
    t.same(
      out.map((o) => o.rejection),
      [null],
    );
    t.same(
      mock.requests.slice(4).map((r) => `${r.method} ${r.path} ${r.status}`),
      ['POST /api/v2/write 404', 'GET /api/v2/buckets 404', 'POST /api/v2/buckets 201', 'POST /api/v2/write 204'],
    );
    t.equal(mock.points('plant').length, 6);
  });
});

// ---------------------------------------------------------------------------
// retries
// ---------------------------------------------------------------------------

t.test('429 and 503 with Retry-After: 1 wait about a second, the data arrives once', async (t) => {
  for (const status of [429, 503]) {
    await t.test(`HTTP ${status}`, async (t) => {
      const { mock, writer, retries } = await rig(t, 'v3', { mock: { databases: ['db'] } });
      mock.failNext(1, {
        status,
        headers: { 'retry-after': '1', 'content-type': 'application/json' },
        body: JSON.stringify({ error: status === 429 ? 'too many requests' : 'service unavailable' }),
        match: /write_lp/,
      });
      const lines = lpLines(20);
      const body = joined(lines);
      const t0 = performance.now();
      const out = await writer.send('db', body, oneSegment('f', body));
      const ms = elapsedSince(t0);
      t.same(
        out.map((o) => o.rejection),
        [null],
      );
      t.ok(ms >= 950, `waited for Retry-After (${Math.round(ms)} ms ≥ 950)`);
      t.ok(ms < 5000, `but not much longer (${Math.round(ms)} ms)`);
      t.same(
        mock.writes().map((r) => r.status),
        [status, 204],
      );
      t.same(
        retries.map((r) => [r.cause, r.delayMs]),
        [['throttled', 1000]],
      );
      t.same(acceptedSorted(mock), bare(lines).sort(), 'every line stored exactly once');
    });
  }

  await t.test('Retry-After as an HTTP date', async (t) => {
    const { mock, writer, retries } = await rig(t, 'v2', { mock: { databases: ['db'] } });
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000); // a whole second, 2-3 s ahead
    mock.failNext(1, { status: 503, headers: { 'retry-after': at.toUTCString() }, match: /\/api\/v2\/write$/ });
    const body = joined(lpLines(4));
    const t0 = Date.now();
    await writer.send('db', body, oneSegment('f', body));
    t.ok(Date.now() >= at.getTime() - 50, `waited until the date (${Date.now() - t0} ms)`);
    t.ok(Date.now() - t0 < 5000);
    t.equal(retries[0]?.cause, 'throttled');
    t.same(
      mock.writes().map((w) => w.status),
      [503, 204],
    );
  });
});

t.test('500 and 502 are retried with growing backoff, the data arrives once', async (t) => {
  const { mock, writer, retries } = await rig(t, 'v2', { mock: { databases: ['db'] }, policy: { baseDelayMs: 40 } });
  mock.failNext(1, { status: 500, body: '{"code":"internal error","message":"boom"}', match: /\/api\/v2\/write$/ });
  mock.failNext(1, { status: 502, body: '<html>Bad Gateway</html>', match: /\/api\/v2\/write$/ });
  const lines = lpLines(10);
  const body = joined(lines);
  const out = await writer.send('db', body, oneSegment('f', body));
  t.same(
    out.map((o) => o.rejection),
    [null],
  );
  t.same(
    mock.writes().map((r) => r.status),
    [500, 502, 204],
  );
  t.same(
    retries.map((r) => r.cause),
    ['server_error', 'server_error'],
  );
  t.match(retries[0].detail, /HTTP 500: boom/);
  t.ok(
    retries[0].delayMs >= 20 && retries[0].delayMs <= 40,
    `first backoff within [base/2, base] (${retries[0].delayMs})`,
  );
  t.ok(retries[1].delayMs >= 40 && retries[1].delayMs <= 80, `second backoff doubled (${retries[1].delayMs})`);
  t.same(acceptedSorted(mock), bare(lines).sort());
});

t.test('refused connections are retried until the store is back', async (t) => {
  for (const how of ['reset', 'close'] as const) {
    await t.test(how === 'reset' ? 'sockets destroyed on connect' : 'listener closed (ECONNREFUSED)', async (t) => {
      const { mock, writer, retries } = await rig(t, 'v3');
      // a first write opens a kept-alive connection, which the outage then kills too
      const warm = joined(lpLines(2, { from: T0 - 100 }));
      await writer.send('db', warm, oneSegment('f', warm));
      const outage = mock.refuseFor(400, how);
      const lines = lpLines(15);
      const body = joined(lines);
      const t0 = performance.now();
      const out = await writer.send('db', body, oneSegment('f', body));
      await outage;
      t.same(
        out.map((o) => o.rejection),
        [null],
      );
      t.ok(elapsedSince(t0) >= 300, 'the send waited for the outage');
      t.ok(
        retries.length >= 1 && retries.every((r) => r.cause === 'network'),
        `retried as network errors (${retries.length}×)`,
      );
      t.same(
        acceptedSorted(mock, 'db').filter((l) => lines.includes(`${l}\n`)),
        bare(lines).sort(),
        'every line stored exactly once',
      );
    });
  }
});

t.test('when the store wait runs out, the send fails with STORE_UNAVAILABLE', async (t) => {
  await t.test('network errors', async (t) => {
    const { mock, writer } = await rig(t, 'v3', { policy: { storeWaitMs: 400 } });
    const outage = mock.refuseFor(1500, 'reset');
    let outageOver = false;
    void outage.then(() => (outageOver = true));
    const body = joined(lpLines(3));
    const t0 = performance.now();
    const err = await writer.send('db', body, oneSegment('f', body)).then(
      () => null,
      (e: unknown) => e,
    );
    const ms = elapsedSince(t0);
    const overAtFailure = outageOver;
    t.ok(err instanceof StoreError, 'a StoreError');
    t.equal((err as StoreError).code, ErrorCodes.STORE_UNAVAILABLE);
    t.match((err as StoreError).message, /unavailable/);
    t.ok(ms >= 350, `waited for the store wait first (${Math.round(ms)} ms)`);
    t.notOk(overAtFailure, 'gave up while the 1.5 s outage still ran: the 400 ms store wait, not the outage, ended it');
    await outage;
    t.equal(mock.points('db').length, 0);
  });

  await t.test('a store answering 503 without Retry-After', async (t) => {
    const { mock, writer } = await rig(t, 'v2', { mock: { databases: ['db'] }, policy: { storeWaitMs: 400 } });
    mock.failNext(10_000, {
      status: 503,
      body: '{"code":"unavailable","message":"overloaded"}',
      match: /\/api\/v2\/write$/,
    });
    const body = joined(lpLines(3));
    const err = await writer.send('db', body, oneSegment('f', body)).then(
      () => null,
      (e: unknown) => e,
    );
    t.equal((err as StoreError).code, ErrorCodes.STORE_UNAVAILABLE);
    t.match((err as StoreError).message, /HTTP 503: overloaded/);
    t.ok(mock.writes().length >= 2, `retried meanwhile (${mock.writes().length} attempts)`);
  });
});

// ---------------------------------------------------------------------------
// 413
// ---------------------------------------------------------------------------

t.test('413: the batch is split until every part fits, every line arrives once', async (t) => {
  const cases: Array<{ api: InfluxApi; gzip: boolean }> = [
    { api: 'v2', gzip: false },
    { api: 'v2', gzip: true },
    { api: 'v1', gzip: false },
  ];
  for (const { api, gzip } of cases) {
    await t.test(`${api}, gzip ${gzip ? 'on' : 'off'}`, async (t) => {
      const max = 1000;
      const { mock, writer } = await rig(t, api, { mock: { databases: ['db'], maxBodyBytes: max }, flags: { gzip } });
      const a = lpLines(37, { tag: 'A', pad: 30 });
      const b = lpLines(23, { tag: 'B', pad: 30, from: T0 + 500 });
      const { body, segments } = segmentsOf([
        ['A', a],
        ['B', b],
      ]);
      t.ok(body.length > 4 * max, `the batch (${body.length} B) is well above the limit`);
      const out = await writer.send('db', body, segments);
      t.same(
        out.map((o) => [o.segment.file, o.rejection]),
        [
          ['A', null],
          ['B', null],
        ],
      );
      const writes = mock.writes();
      for (const w of writes) {
        if (w.body.length > max) t.equal(w.status, 413, `a ${w.body.length} B request was refused`);
        else t.equal(w.status, 204, `a ${w.body.length} B request was stored`);
        t.ok(
          w.text.endsWith('\n') && linesOf(w).every((l) => !('error' in parseLine(l))),
          'each part holds whole lines',
        );
      }
      t.ok(writes.filter((w) => w.status === 204).length >= 5, 'split into several parts');
      t.same(acceptedSorted(mock), bare([...a, ...b]).sort(), 'every line stored exactly once');
    });
  }

  await t.test('a bad line inside a split batch is blamed on its own file only', async (t) => {
    const max = 1000;
    const { mock, writer } = await rig(t, 'v2', { mock: { databases: ['db'], maxBodyBytes: max } });
    const a = lpLines(30, { tag: 'A', pad: 30 });
    const b = lpLines(20, { tag: 'B', pad: 30, from: T0 + 500 });
    const bWithBad = [...b.slice(0, 12), `${BAD}\n`, ...b.slice(12)];
    const { body, segments } = segmentsOf([
      ['A', a],
      ['B', bWithBad],
    ]);
    const out = await writer.send('db', body, segments);
    t.equal(out.length, 2, 'one outcome per file');
    t.equal(out[0].segment.file, 'A');
    t.equal(out[0].rejection, null, 'A acknowledged');
    t.equal(out[1].segment.file, 'B');
    t.equal(out[1].rejection?.status, 400, 'B rejected');
    t.same(out[1].rejection?.lines, [BAD]);
    for (const w of mock.writes()) if (w.status === 204) t.ok(w.body.length <= max);
    const stored = acceptedSorted(mock);
    t.same(
      stored.filter((l) => l.includes('file=A')),
      bare(a).sort(),
      'every line of A stored exactly once',
    );
  });

  await t.test('one line above the limit is a rejection, not an endless split', async (t) => {
    const { mock, writer } = await rig(t, 'v2', { mock: { databases: ['db'], maxBodyBytes: 50 } });
    const body = joined(lpLines(1, { pad: 0 }));
    t.ok(body.length > 50);
    const [o] = await writer.send('db', body, oneSegment('f', body));
    t.ok(o.rejection instanceof StoreError);
    t.equal(o.rejection?.status, 413);
    t.match(o.rejection?.message, /points batch is too large/);
    t.equal(mock.writes().length, 1);
  });

  await t.test(
    'v3: an oversized body (InfluxDB 3 answers 500 "max request size … exceeded") is split, not retried until the store wait ends',
    async (t) => {
      const { mock, writer } = await rig(t, 'v3', {
        mock: { databases: ['db'], maxBodyBytes: 1000 },
        policy: { storeWaitMs: 1500 },
      });
      const lines = lpLines(40, { pad: 20 });
      const body = joined(lines);
      const out = await writer.send('db', body, oneSegment('f', body)).catch((e: unknown) => e);
      t.ok(
        Array.isArray(out),
        `send resolved (got ${out instanceof Error ? `${(out as StoreError).code}: ${out.message}` : 'outcomes'})`,
      );
      t.same(acceptedSorted(mock), bare(lines).sort(), 'every line stored once');
    },
  );
});

// ---------------------------------------------------------------------------
// 4xx rejections
// ---------------------------------------------------------------------------

t.test('4xx: the rejection carries status, server message and the refused lines', async (t) => {
  for (const v3Version of ['3.5', '3.10']) {
    await t.test(
      `v3 ${v3Version} partial write: the refused line by its number, whole from our batch; the rest stored`,
      async (t) => {
        const { mock, writer } = await rig(t, 'v3', { mock: { databases: ['db'], v3Version } });
        const good = lpLines(4, { sn: 'SN2' });
        const body = Buffer.from(good[0] + good[1] + `${BAD}\n` + good[2] + good[3]);
        const [o] = await writer.send('db', body, [
          { file: 'f', start: 0, end: body.length, lines: 5, firstLine: 101 },
        ]);
        t.ok(o.rejection instanceof StoreError);
        t.equal(
          o.rejection?.code,
          ErrorCodes.STORE_PARTIAL,
          'four of five lines were stored: a partial write, not a rejection of the whole',
        );
        t.equal(o.rejection?.status, 400);
        t.equal(
          o.rejection?.message,
          'InfluxDB stored 4 of 5 lines and refused 1 (HTTP 400): line 103: No fields were provided',
        );
        t.equal(o.stored, 4);
        t.same(
          o.refused,
          [{ line: 103, error: 'No fields were provided', text: BAD }],
          "numbered as the file numbers it (its part began at the file's line 101)",
        );
        t.same(o.rejection?.lines, [BAD], 'the whole line, from our batch');
        const sent = (
          JSON.parse(o.rejection?.body ?? '{}') as { data: Array<{ original_line: string; line_number: number }> }
        ).data[0];
        t.equal(sent.line_number, 3);
        t.equal(
          sent.original_line,
          v3Version === '3.5' ? BAD : BAD.slice(0, 20),
          v3Version === '3.5' ? 'before 3.6 the server echoes the whole line' : 'from 3.6 only its first 20 bytes',
        );
        t.equal(mock.points('db').length, 4, 'InfluxDB 3 kept the valid lines');
        t.equal(mock.writes().length, 1, 'nothing sent again');
      },
    );
  }

  await t.test(
    'v3: a partial write whose numbers do not match the batch is taken as a refusal of the whole',
    async (t) => {
      const { mock, writer } = await rig(t, 'v3', { mock: { databases: ['db'] } });
      mock.failNext(1, {
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          error: 'partial write of line protocol occurred',
          data: [{ error_message: 'x', line_number: 9, original_line: 'nope' }],
        }),
        match: /write_lp/,
      });
      const body = joined(lpLines(3));
      const [o] = await writer.send('db', body, oneSegment('f', body));
      t.equal(o.rejection?.code, ErrorCodes.STORE_REJECTED);
      t.equal(o.stored, 0, 'nothing counted as stored that the reply does not vouch for');
      t.same(o.refused, []);
    },
  );

  await t.test("v2: unable to parse '…'", async (t) => {
    const { mock, writer } = await rig(t, 'v2', { mock: { databases: ['db'] } });
    const good = lpLines(3, { sn: 'SN2' });
    const body = Buffer.from(good.join('') + `${BAD}\n` + `bad line\n`);
    const [o] = await writer.send('db', body, oneSegment('f', body));
    t.equal(o.rejection?.status, 400);
    t.match(o.rejection?.message, `unable to parse '${BAD}': missing fields`);
    t.same(o.rejection?.lines, [BAD, 'bad line']);
    t.equal(mock.points('db').length, 0, 'OSS 2.x refuses the whole request');
  });

  await t.test('v2 422: points beyond the retention policy', async (t) => {
    const { mock, writer } = await rig(t, 'v2', { mock: { databases: ['db'], retentionCutoffS: T0 + 2 } });
    const body = joined(lpLines(5));
    const [o] = await writer.send('db', body, oneSegment('f', body));
    t.equal(o.rejection?.status, 422);
    t.match(o.rejection?.message, /points beyond retention policy dropped=2/);
    t.same(o.rejection?.lines, []);
    t.equal(mock.points('db').length, 3);
    t.equal(mock.writes().length, 1, 'a rejection is not retried');
  });
});

t.test(
  'v3 partial writes over several batches and a split: each refused line keeps its number in its file, nothing is sent again',
  async (t) => {
    await t.test('a file over three batches', async (t) => {
      const { mock, writer } = await rig(t, 'v3', { mock: { databases: ['acme-co'] } });
      const batcher = new LpBatcher(writer, { batchLines: 4, batchBytes: 1 << 20, concurrency: 1, lingerMs: 60_000 });
      const A = task('a');
      const lines = lpLines(10, { sn: 'SNA' });
      lines.splice(5, 0, `${BAD}\n`); // the file's line 6
      lines.splice(10, 0, `${BAD},x=1\n`); // the file's line 11
      const outA = batcher.outcome(A);
      await batcher.write(joined(lines), A);
      batcher.endFile(A);
      await batcher.close();
      const a = (await outA) as Extract<FileWriteOutcome, { status: 'rejected' }>;
      t.equal(a.status, 'rejected');
      t.same([a.lines, a.batches, a.stored, a.refused], [12, 3, 10, 2]);
      t.same(
        a.refusedLines.map((r) => [r.line, r.text]),
        [
          [6, BAD],
          [11, `${BAD},x=1`],
        ],
        "the file's lines 6 and 11 (lines 2 and 3 of their batches)",
      );
      t.equal(a.error.code, ErrorCodes.STORE_PARTIAL);
      t.match(
        a.error.message,
        /^InfluxDB stored 10 of 12 lines and refused 2 \(HTTP 400\): line 6: No fields were provided; line 11: /,
      );
      t.equal(mock.writes().length, 3, 'three batches, none sent again');
      t.equal(mock.points('acme-co').length, 10);
    });

    await t.test('a batch split by the request-size limit (3.9: 500)', async (t) => {
      const { mock, writer } = await rig(t, 'v3', {
        mock: { databases: ['db'], maxBodyBytes: 1200, v3Version: '3.9' },
      });
      const a = lpLines(10, { tag: 'A', pad: 30 });
      const b = lpLines(10, { tag: 'B', pad: 30, from: T0 + 500 });
      b.splice(7, 1, `${BAD}\n`);
      const { body, segments } = segmentsOf([
        ['A', a],
        ['B', b],
      ]);
      segments[1].firstLine = 41; // B's part began at its line 41
      const out = await writer.send('db', body, segments);
      t.same(
        out.map((o) => [o.segment.file, o.stored, o.refused.map((r) => r.line), o.rejection?.code ?? null]),
        [
          ['A', 10, [], null],
          ['B', 9, [48], ErrorCodes.STORE_PARTIAL],
        ],
      );
      t.ok(
        mock.writes().some((w) => w.status === 500),
        'the 500 "max request size" was seen',
      );
      t.equal(new Set(mock.acceptedLines.map((l) => l.line)).size, mock.acceptedLines.length, 'no line stored twice');
      t.equal(mock.acceptedLines.length, 19);
    });
  },
);

t.test('LpBatcher: a bad line in file B rejects B only; A is acknowledged', async (t) => {
  const cases: Array<{ api: InfluxApi; partial?: boolean; name: string }> = [
    { api: 'v3', name: 'v3 (partial write)' },
    { api: 'v2', name: 'v2 (OSS 2.x: whole request refused)' },
    { api: 'v2', partial: true, name: 'v2 (partial-write server)' },
  ];
  for (const { api, partial, name } of cases) {
    await t.test(name, async (t) => {
      const { mock, writer } = await rig(t, api, { mock: { v2PartialWrites: partial } });
      const batcher = new LpBatcher(writer, {
        batchLines: 1000,
        batchBytes: 1 << 20,
        concurrency: 2,
        lingerMs: 60_000,
      });
      const A = task('a');
      const B = task('b');
      const aLines = lpLines(8, { sn: 'SNA' });
      const bLines = lpLines(6, { sn: 'SNB' });
      const bBody = bLines.slice(0, 3).join('') + `${BAD}\n` + bLines.slice(3).join('');
      const outA = batcher.outcome(A);
      const outB = batcher.outcome(B);
      await batcher.write(joined(aLines), A);
      batcher.endFile(A);
      await batcher.write(Buffer.from(bBody), B);
      batcher.endFile(B);
      await batcher.close();
      const [a, b] = await Promise.all([outA, outB]);
      t.same(a, { status: 'ok', lines: 8, batches: 1 });
      t.equal(b.status, 'rejected');
      t.equal(b.lines, 7);
      const rejected = b as Extract<FileWriteOutcome, { status: 'rejected' }>;
      const err = rejected.error;
      t.ok(err instanceof StoreError);
      t.equal(err.status, 400);
      t.same(err.lines, [BAD]);
      const writes = mock.writes();
      t.same(linesOf(writes[0]).length, 15, 'A and B travelled in one batch');
      if (api === 'v3') {
        // the line numbers say which file: nothing is sent again, B's other lines stay stored
        t.equal(err.code, ErrorCodes.STORE_PARTIAL);
        t.equal(err.message, 'InfluxDB stored 6 of 7 lines and refused 1 (HTTP 400): line 4: No fields were provided');
        t.same([rejected.stored, rejected.refused], [6, 1]);
        t.same(
          rejected.refusedLines,
          [{ line: 4, error: 'No fields were provided', text: BAD }],
          "B's own line 4 (the batch's line 12)",
        );
        t.equal(writes.length, 1, 'one request: nothing sent again');
        t.equal(batcher.acknowledgedLines, 14, 'acknowledged: what was stored');
      } else {
        t.equal(err.code, ErrorCodes.STORE_REJECTED);
        t.match(err.message, /unable to parse '.*': missing fields/);
        t.equal(rejected.stored, 0);
        t.equal(writes.length, 3, 'the shared batch, then each file alone');
        const alone = writes
          .slice(1)
          .map((w) => [linesOf(w).length, w.status])
          .sort();
        t.same(alone, [
          [7, 400],
          [8, 204],
        ]);
      }
      const storedA = mock.points('acme-co').filter((p) => p.tags.device_master_sn === 'SNA');
      t.equal(storedA.length, 8, "all of A's points are stored");
      t.equal(batcher.fatal, null, 'a rejection does not stop the run');
    });
  }
});

t.test('401 is STORE_AUTH at once (no retry loop)', async (t) => {
  await t.test('v3 with a wrong token', async (t) => {
    const { mock, writer } = await rig(t, 'v3', { env: { INFLUX_TOKEN: 'wrong' } });
    const body = joined(lpLines(2));
    const t0 = performance.now();
    const err = await writer.send('db', body, oneSegment('f', body)).then(
      () => null,
      (e: unknown) => e,
    );
    t.equal((err as StoreError).code, ErrorCodes.STORE_AUTH);
    t.equal((err as StoreError).status, 401);
    t.equal(mock.requests.length, 1, 'asked once');
    t.ok(elapsedSince(t0) < 1000);
  });

  await t.test('v2 with a wrong token', async (t) => {
    const { mock, writer } = await rig(t, 'v2', { env: { INFLUX_TOKEN: 'wrong' } });
    const body = joined(lpLines(2));
    const err = await writer.send('db', body, oneSegment('f', body)).then(
      () => null,
      (e: unknown) => e,
    );
    t.equal((err as StoreError).code, ErrorCodes.STORE_AUTH);
    t.match((err as StoreError).message, /unauthorized access/);
    t.equal(mock.requests.length, 1);
  });

  await t.test('401 on a write through LpBatcher stops the run; files are not blamed', async (t) => {
    const { mock, writer } = await rig(t, 'v3', { mock: { databases: ['acme-co'] } });
    mock.failNext(1, { status: 401, match: /write_lp/ });
    const batcher = new LpBatcher(writer, { batchLines: 100, batchBytes: 1 << 16, concurrency: 2, lingerMs: 60_000 });
    const A = task('a');
    const out = batcher.outcome(A);
    await batcher.write(joined(lpLines(5)), A);
    batcher.endFile(A);
    const err = await batcher.close().then(
      () => null,
      (e: unknown) => e,
    );
    t.equal((err as StoreError).code, ErrorCodes.STORE_AUTH);
    t.equal(batcher.fatal?.code, ErrorCodes.STORE_AUTH);
    const o = await out;
    t.equal(o.status, 'unavailable');
    t.equal((o as Extract<FileWriteOutcome, { status: 'unavailable' }>).error.code, ErrorCodes.STORE_AUTH);
    t.equal(mock.writes().length, 1, 'not retried');
    await t.rejects(
      batcher.write(joined(lpLines(1)), task('later')),
      { code: ErrorCodes.STORE_AUTH },
      'later writes fail fast',
    );
  });
});

// ---------------------------------------------------------------------------
// LpBatcher: bounds, concurrency, outcome timing
// ---------------------------------------------------------------------------

/** Writes each file's lines in chunks of 1..maxChunk whole lines; returns the outcomes. */
async function feed(
  batcher: LpBatcher,
  files: Array<[FileTask, string[]]>,
  maxChunk: number,
  seed = 7,
  settledAt?: Map<FileTask, number>,
): Promise<Map<FileTask, Promise<FileWriteOutcome>>> {
  const rnd = rng(seed);
  const outcomes = new Map<FileTask, Promise<FileWriteOutcome>>();
  for (const [file, lines] of files) {
    const outcome = batcher.outcome(file);
    void outcome.then(() => settledAt?.set(file, performance.now()));
    outcomes.set(file, outcome);
    let i = 0;
    while (i < lines.length) {
      const n = 1 + Math.floor(rnd() * maxChunk);
      // a fresh buffer per chunk, overwritten after write() resolves (the pipeline reuses its memory)
      const chunk = Buffer.from(lines.slice(i, i + n).join(''));
      await batcher.write(chunk, file);
      chunk.fill(0x23);
      i += n;
    }
    batcher.endFile(file);
  }
  return outcomes;
}

t.test('LpBatcher: batches respect batchLines and batchBytes, lines are never cut', async (t) => {
  for (const gzip of [false, true]) {
    await t.test(`gzip ${gzip ? 'on' : 'off'}`, async (t) => {
      const batchLines = 25;
      const batchBytes = 2500;
      const { mock, writer } = await rig(t, 'v3', { flags: { gzip } });
      const batcher = new LpBatcher(writer, { batchLines, batchBytes, concurrency: 3, lingerMs: 30 });
      const files: Array<[FileTask, string[]]> = [
        [task('a'), lpLines(137, { sn: 'SNA', pad: 40 })],
        [task('b'), lpLines(90, { sn: 'SNB' })],
        [task('c'), lpLines(211, { sn: 'SNC', pad: 60 })],
      ];
      const outcomes = await feed(batcher, files, 40);
      await batcher.close();
      for (const [file, lines] of files) {
        const o = await outcomes.get(file)!;
        t.equal(o.status, 'ok', `${file.path} acknowledged`);
        t.equal(o.lines, lines.length, `${file.path}: line count`);
      }
      const writes = mock.writes();
      for (const w of writes) {
        const n = linesOf(w).length;
        if (n > batchLines || w.body.length > batchBytes)
          t.fail(`request #${w.seq}: ${n} lines, ${w.body.length} bytes`);
        t.ok(w.text.endsWith('\n'), `request #${w.seq} ends on a line boundary`);
      }
      t.ok(
        writes.every((w) => linesOf(w).length <= batchLines && w.body.length <= batchBytes),
        `all ${writes.length} requests within ${batchLines} lines and ${batchBytes} bytes`,
      );
      t.ok(
        writes.some((w) => linesOf(w).length === batchLines),
        'some batches are full by lines',
      );
      t.ok(
        writes.some((w) => linesOf(w).length < batchLines && w.body.length > batchBytes - 160),
        'some batches are full by bytes',
      );
      t.same(
        writes.map((w) => w.status).filter((s) => s !== 204),
        [],
        'every request was accepted (no cut line)',
      );
      const all = files.flatMap(([, lines]) => bare(lines));
      t.same(acceptedSorted(mock), [...all].sort(), 'every input line stored exactly once, intact');
      t.equal(mock.points('acme-co').length, all.length);
      t.equal(batcher.acknowledgedLines, all.length);
    });
  }
});

t.test('LpBatcher: the byte limit at its exact boundary', async (t) => {
  const lines = Array.from(
    { length: 12 },
    (_, i) => `pv,campaign=C1,channel_id=ch${i % 5},device_master_sn=SNX value=${i % 10}.5 ${T0 + i}\n`,
  );
  const L = Buffer.byteLength(lines[0]);
  t.ok(
    lines.every((l) => Buffer.byteLength(l) === L),
    `equal lines of ${L} bytes`,
  );
  for (const [batchBytes, perBatch] of [
    [3 * L, 3],
    [3 * L - 1, 2],
    [3 * L + 1, 3],
  ] as const) {
    await t.test(`batchBytes ${batchBytes}: ${perBatch} lines per request`, async (t) => {
      const { mock, writer } = await rig(t, 'v3', { mock: { databases: ['acme-co'] } });
      const batcher = new LpBatcher(writer, { batchLines: 1000, batchBytes, concurrency: 2, lingerMs: 60_000 });
      const A = task('a');
      const out = batcher.outcome(A);
      for (const l of lines) await batcher.write(Buffer.from(l), A);
      batcher.endFile(A);
      await batcher.close();
      t.equal((await out).status, 'ok');
      t.same(
        mock.writes().map((w) => [linesOf(w).length, w.body.length <= batchBytes]),
        Array.from({ length: 12 / perBatch }, () => [perBatch, true]),
      );
      t.same(acceptedSorted(mock), bare(lines).sort());
    });
  }
});

t.test('LpBatcher: at most `concurrency` requests in flight; outcomes settle after the answers', async (t) => {
  for (const concurrency of [1, 3]) {
    await t.test(`concurrency ${concurrency}`, async (t) => {
      const { mock, writer } = await rig(t, 'v2', { mock: { replyDelayMs: 60, databases: ['acme-co'] } });
      const batcher = new LpBatcher(writer, { batchLines: 10, batchBytes: 1 << 16, concurrency, lingerMs: 20 });
      const files: Array<[FileTask, string[]]> = [
        [task('a'), lpLines(64, { sn: 'SNA' })],
        [task('b'), lpLines(35, { sn: 'SNB' })],
        [task('c'), lpLines(47, { sn: 'SNC' })],
      ];
      const settledAt = new Map<FileTask, number>();
      const outcomes = await feed(batcher, files, 15, 3, settledAt);
      await batcher.close();
      await Promise.all(outcomes.values());
      t.equal(mock.maxWritesInFlight, concurrency, `write requests in flight peaked at ${mock.maxWritesInFlight}`);
      t.ok(mock.maxInFlight <= concurrency, `all requests in flight ≤ ${concurrency} (peak ${mock.maxInFlight})`);
      t.equal(mock.writes().length, 15, '146 lines in batches of at most 10 lines, per file order');
      for (const [file, lines] of files) {
        const mine = new Set(bare(lines));
        const carrying = mock.writes().filter((w) => linesOf(w).some((l) => mine.has(l)));
        const lastAnswer = Math.max(...carrying.map((w) => w.answeredAt ?? Infinity));
        t.ok(settledAt.get(file)! >= lastAnswer, `${file.path} settled after its last request was answered`);
      }
      t.same(acceptedSorted(mock), files.flatMap(([, l]) => bare(l)).sort());
    });
  }

  await t.test('an outcome waits for a held reply', async (t) => {
    const { mock, writer } = await rig(t, 'v3', { mock: { databases: ['acme-co'] } });
    const batcher = new LpBatcher(writer, { batchLines: 100, batchBytes: 1 << 16, concurrency: 2, lingerMs: 20 });
    const release = mock.hold();
    const A = task('a');
    let settled: FileWriteOutcome | null = null;
    const out = batcher.outcome(A).then((o) => (settled = o));
    await batcher.write(joined(lpLines(5)), A);
    batcher.endFile(A);
    await sleep(250); // the linger timer sent the batch; the mock holds the reply
    t.equal(mock.writes().length, 1, 'the batch was sent');
    t.equal(mock.writes()[0].status, undefined, 'and is not answered yet');
    t.equal(settled, null, 'so the outcome is still pending');
    release();
    await out;
    t.same(settled, { status: 'ok', lines: 5, batches: 1 });
    await batcher.close();
  });
});

t.test('LpBatcher: a file re-sent alone after a 4xx still respects `concurrency`', async (t) => {
  // 2.x refuses the whole request and names lines by text only: each file's part is sent alone (3.x numbers them: no resend)
  const { mock, writer } = await rig(t, 'v2', { mock: { databases: ['acme-co'], replyDelayMs: 50 } });
  const batcher = new LpBatcher(writer, { batchLines: 1000, batchBytes: 1 << 20, concurrency: 1, lingerMs: 60_000 });
  const files = ['a', 'b', 'c', 'd'].map((n) => task(n));
  for (const [i, f] of files.entries()) {
    await batcher.write(Buffer.from(lpLines(3, { sn: `S${i}` }).join('') + (i === 3 ? `${BAD}\n` : '')), f);
    batcher.endFile(f);
  }
  await batcher.close();
  t.equal(mock.writes().length, 5);
  t.ok(mock.maxWritesInFlight <= 1, `write requests in flight ≤ 1 (peak ${mock.maxWritesInFlight})`);
});

t.test('LpBatcher: a linger-timer batch waiting for a slot does not strand a write() waiting too', async (t) => {
  const { mock, writer } = await rig(t, 'v3', { mock: { replyDelayMs: 300 } });
  const batcher = new LpBatcher(writer, {
    batchLines: 5,
    batchBytes: 1 << 16,
    concurrency: 1,
    lingerMs: 80,
    databaseOf: (f) => f.identity.tenant,
  });
  const other = task('other', 'beta'); // its partial batch is sent by the linger timer
  const main = task('main', 'alpha');
  const run = (async () => {
    await batcher.write(joined(lpLines(2, { sn: 'B' })), other);
    batcher.endFile(other);
    await batcher.write(joined(lpLines(12, { sn: 'A' })), main); // 3 batches: the 2nd waits for the slot
    batcher.endFile(main);
    await batcher.close();
    return 'done';
  })();
  const result = await Promise.race([run, sleep(4000).then(() => 'stuck')]);
  t.equal(result, 'done', 'write() and close() completed');
  t.equal(mock.points('alpha').length + mock.points('beta').length, 14);
});

t.test(
  'LpBatcher: a chunk that does not end on a line boundary is refused (the LpSink contract: whole lines)',
  async (t) => {
    const { writer } = await rig(t, 'v3', { mock: { databases: ['acme-co'] } });
    const batcher = new LpBatcher(writer, { batchLines: 100, batchBytes: 1 << 16, concurrency: 2, lingerMs: 60_000 });
    const A = task('a');
    const text = lpLines(3).join('');
    const cut = text.indexOf('\n') + 20; // inside the second line
    await t.rejects(batcher.write(Buffer.from(text.slice(0, cut)), A), { name: 'TypeError', message: /whole lines/ });
  },
);

// ---------------------------------------------------------------------------
// --verify counts
// ---------------------------------------------------------------------------

t.test('countPoints returns what the store holds for the series and time range', async (t) => {
  for (const api of ['v3', 'v2', 'v1'] as const) {
    await t.test(api, async (t) => {
      const { mock, http, writer } = await rig(t, api);
      const body = joined([
        ...lpLines(20, { sn: 'SN1', from: T0 }),
        ...lpLines(10, { sn: 'SN2', from: T0 }),
        ...lpLines(5, { sn: 'SN1', from: T0, measurement: 'other' }),
      ]);
      await writer.send('plant', body, oneSegment('f', body));
      const tags = { campaign: 'C1', device_master_sn: 'SN1' };
      t.equal(await http.countPoints('plant', 'pv', tags, T0, T0 + 19), 20, 'whole range');
      t.equal(await http.countPoints('plant', 'pv', tags, T0 + 5, T0 + 14), 10, 'both ends inclusive');
      t.equal(await http.countPoints('plant', 'pv', tags, T0 + 19, T0 + 19), 1, 'a one-second range');
      t.equal(await http.countPoints('plant', 'pv', { campaign: 'C1', device_master_sn: 'SN2' }, T0, T0 + 100), 10);
      t.equal(
        await http.countPoints('plant', 'pv', { campaign: 'C1', device_master_sn: 'SN3' }, T0, T0 + 100),
        0,
        'no such series',
      );
      t.equal(await http.countPoints('plant', 'other', tags, T0, T0 + 100), 5, 'another measurement');
      t.equal(
        await http.countPoints('plant', 'pv', tags, T0 + 5, T0 + 14),
        mock.count('plant', 'pv', tags, BigInt(T0 + 5) * 1_000_000_000n, BigInt(T0 + 14) * 1_000_000_000n),
      );
      const queries = mock.requests.filter((r) => /query/.test(r.path));
      for (const q of queries) {
        t.equal(q.method, 'POST');
        t.equal(q.status, 200);
      }
      if (api === 'v2') {
        t.same(queries[0].query, { org: ORG });
        t.match(JSON.parse(queries[0].text), { type: 'flux', dialect: { header: true, annotations: [] } });
      }
      if (api === 'v3') t.match(JSON.parse(queries[0].text), { db: 'plant', format: 'json' });
    });
  }
});

t.test('resolveInfluxConfig: what each API requires', async (t) => {
  t.throws(
    () => resolveInfluxConfig({ influxApi: 'v2' }, { INFLUX_TOKEN: 'x' }),
    { code: ErrorCodes.CONFIG },
    'v2 needs INFLUX_ORG',
  );
  t.throws(() => resolveInfluxConfig({ influxApi: 'v3' }, {}), { code: ErrorCodes.CONFIG }, 'v3 needs INFLUX_TOKEN');
  t.throws(
    () => resolveInfluxConfig({ influxUrl: 'http://u:p@h:8086' }, {}),
    { code: ErrorCodes.CONFIG },
    'no credentials in the URL',
  );
  t.throws(
    () => resolveInfluxConfig({}, { INFLUX_USERNAME: 'only' }),
    { code: ErrorCodes.CONFIG },
    'username without password',
  );
  const c = resolveInfluxConfig(
    { influxApi: 'v3', gzip: true, concurrency: '7' },
    { INFLUX_TOKEN: 'x', INFLUX_BATCH_LINES: '123' },
  );
  t.match(c, { api: 'v3', gzip: true, concurrency: 7, batchLines: 123, url: 'http://127.0.0.1:8086' });
});
