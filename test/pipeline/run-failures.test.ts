/**
 * Regression tests named after the bugs a review of the writer and the
 * ingest job found (each failed before its fix).
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { generateArchive } from '../../fixtures/generate.js';
import { discover } from '../../src/pipeline/discover.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { runIngestJob } from '../../src/pipeline/ingest-job.js';
import { resolveInfluxConfig } from '../../src/influx/config.js';
import { InfluxHttp } from '../../src/influx/http-api.js';
import { InfluxWriter } from '../../src/influx/writer.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';

async function small(files: number, company = 'acme'): Promise<{ root: string; tasks: FileTask[] }> {
  const root = mkdtempSync(join(tmpdir(), 'pv-reg-'));
  await generateArchive({
    out: root,
    company,
    campaign: 'c',
    devices: 1,
    files,
    rows: 300,
    channels: 6,
    slaves: 0,
    format: 'v003',
    step: 60,
    start: Date.UTC(2025, 0, 1) / 1000,
    defects: [],
    seed: 2,
  });
  return { root, tasks: await discover([root], { root }) };
}

async function server(
  t: Test,
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<string> {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

t.test('a file that shrinks during pass 2 gives back its slot: the next file still runs', async (t) => {
  const { tasks } = await small(2);
  let truncated = false;
  const sink = {
    async write(_chunk: Uint8Array, task?: FileTask) {
      if (!truncated && task === tasks[0]) {
        truncated = true;
        truncateSync(tasks[0].path, 3000);
      }
    },
    async close() {},
  };
  const p = new Pipeline({ workers: 0, blockBytes: 4096, maxBlocksInFlight: 1, keepWholeBytes: 0, sink });
  t.teardown(() => p.close());
  const reports = await Promise.race([
    p.run(tasks),
    new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref()),
  ]);
  t.not(reports, 'hung', 'the run ends');
  if (reports === 'hung') return;
  t.same(
    reports.map((r) => r.status),
    ['error', 'ok'],
  );
  t.match(reports[0].error?.message, /shrank/);
});

t.test('a run-stopping failure stops the other retrying batches at once (no wait for their Retry-After)', async (t) => {
  const a = await small(1, 'one');
  const b = await small(1, 'two');
  const tasks = [...a.tasks, ...b.tasks];
  const url = await server(t, (req, body, res) => {
    if (req.url!.startsWith('/query')) return res.writeHead(200).end('{"results":[{}]}');
    if (req.url!.includes('db=one'))
      return setTimeout(() => res.writeHead(401).end('{"error":"authorization failed"}'), 200);
    res.writeHead(503, { 'retry-after': '30' }).end('{"error":"overloaded"}');
  });
  const t0 = Date.now();
  const { exitCode, report } = await runIngestJob(tasks, {
    pipeline: { workers: 0 },
    influx: resolveInfluxConfig({ influxUrl: url, concurrency: '2' }, {}),
    metaDb: '',
    moveFiles: false,
  });
  t.ok(Date.now() - t0 < 10_000, `returned after ${Date.now() - t0} ms, not after the 30 s Retry-After`);
  t.equal(exitCode, 2, 'credentials refused: exit 2');
  t.equal(report.store_failure?.code, 'PV_ERR_STORE_AUTH');
});

t.test('Retry-After: 0 still backs off (no request storm)', async (t) => {
  let n = 0;
  const url = await server(t, (req, _body, res) => {
    if (req.url!.startsWith('/query')) return res.writeHead(200).end('{}');
    n++;
    res.writeHead(429, { 'retry-after': '0' }).end('{"error":"slow down"}');
  });
  const http = new InfluxHttp(resolveInfluxConfig({ influxUrl: url }, {}));
  t.teardown(() => http.close());
  const w = new InfluxWriter(http, { storeWaitMs: 1000 });
  await t.rejects(w.send('db', Buffer.from('m f=1 1\n'), [{ file: 1, start: 0, end: 8, lines: 1 }]), {
    code: 'PV_ERR_STORE_UNAVAILABLE',
  });
  t.ok(n <= 6, `${n} requests in 1 s`);
});

t.test('a redirect is not a rejection of the lines: the run stops, files stay out of error/', async (t) => {
  const { tasks } = await small(2);
  const url = await server(t, (req, _body, res) => {
    if (req.url!.startsWith('/query')) return res.writeHead(200).end('{"results":[{}]}');
    res.writeHead(308, { location: 'https://elsewhere/' }).end('Permanent Redirect');
  });
  const { exitCode, report } = await runIngestJob(tasks, {
    pipeline: { workers: 0 },
    influx: resolveInfluxConfig({ influxUrl: url }, {}),
    metaDb: '',
  });
  t.equal(exitCode, 2);
  t.match(report.store_failure?.message, /redirect/);
  for (const task of tasks) t.ok(existsSync(task.path), 'still in place');
  t.notOk(existsSync(join(dirname(tasks[0].path), 'error')));
});

t.test(
  'a database the store refuses to create fails its own files with the message, never the run, never exit 3',
  async (t) => {
    // a refusal of one database (400/422: its name, a limit) concerns that tenant, not the others
    const { tasks } = await small(1);
    const other = await small(1, 'other');
    let written = 0;
    const url = await server(t, (req, body, res) => {
      if (req.url!.startsWith('/query')) {
        const refused = new URLSearchParams(body).get('q')?.includes('"acme"');
        return refused
          ? res.writeHead(400).end('{"error":"max-databases limit reached"}')
          : res.writeHead(200).end('{"results":[{"statement_id":0}]}');
      }
      written += body.split('\n').filter(Boolean).length;
      res.writeHead(204).end();
    });
    const { exitCode, report } = await runIngestJob([...tasks, ...other.tasks], {
      pipeline: { workers: 0 },
      influx: resolveInfluxConfig({ influxUrl: url }, {}),
      metaDb: '',
      moveFiles: false,
    });
    t.equal(exitCode, 1, 'a file failed: 1 (2 would mean the whole run was refused, 3 "run again later")');
    t.equal(report.store_failure ?? null, null, 'the run was not stopped');
    const [acme, rest] = [
      report.files.find((f) => f.company === 'acme')!,
      report.files.find((f) => f.company === 'other')!,
    ];
    t.equal(acme.error?.code, 'PV_ERR_STORE_REJECTED');
    t.match(acme.error?.message, /refused to create database "acme" \(HTTP 400\): max-databases limit reached/);
    t.equal(rest.status, 'ok', 'the other tenant landed');
    t.equal(written, rest.points);
  },
);

t.test('a user who may write but not create databases (403 on CREATE DATABASE) still ingests', async (t) => {
  const { tasks, root } = await small(1);
  let written = 0;
  const url = await server(t, (req, body, res) => {
    if (req.url!.startsWith('/query'))
      return res
        .writeHead(403)
        .end(
          '{"error":"error authorizing query: u not authorized to execute statement CREATE DATABASE, requires admin privilege"}',
        );
    written += body.split('\n').filter(Boolean).length;
    res.writeHead(204).end();
  });
  const { exitCode, report } = await runIngestJob(tasks, {
    pipeline: { workers: 0 },
    influx: resolveInfluxConfig({ influxUrl: url }, {}),
    metaDb: '',
  });
  t.equal(exitCode, 0);
  t.equal(written, report.totals.points);
  t.equal(readdirSync(join(root, 'acme', 'c', readdirSync(join(root, 'acme', 'c'))[0], 'parsed')).length, 1);
});

t.test('an unwritable report folder is a warning, not a crash: the data still lands', async (t) => {
  const { tasks } = await small(1);
  const url = await server(t, (req, _body, res) => {
    if (req.url!.startsWith('/query')) return res.writeHead(200).end('{"results":[{}]}');
    res.writeHead(204).end();
  });
  const { exitCode, report } = await runIngestJob(tasks, {
    pipeline: { workers: 0 },
    influx: resolveInfluxConfig({ influxUrl: url }, {}),
    metaDb: '',
    reportDir: join(tasks[0].path, 'not-a-dir'), // below a file: ENOTDIR
  });
  t.equal(exitCode, 0);
  t.equal(report.report_path, null);
  t.equal(report.files.length, 1);
});

t.test('credentials in INFLUX_URL never reach an error message', async (t) => {
  for (const url of [
    'influxdb://admin:s3cret@db:8086',
    'http://admin:s3cret@db:80 86',
    'http://admin:s3cret@db:8086',
  ]) {
    let message = '';
    try {
      resolveInfluxConfig({}, { INFLUX_URL: url });
    } catch (err) {
      message = (err as Error).message;
    }
    t.ok(message.length > 0, `${url.replace('s3cret', '…')} refused`);
    t.notMatch(message, /s3cret/, 'without the password');
  }
});

t.test('a store failure while a file waits for an overlapping earlier file ends the run (no hang)', async (t) => {
  // two overlapping files of one device: the second waits for the first to be parsed
  const root = mkdtempSync(join(tmpdir(), 'pv-reg-'));
  const { writeFile: writeTsv } = await import('../../fixtures/generate.js');
  const dir = join(root, 'acme', 'c', '02001171');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const base = {
    format: 'v003' as const,
    masterSn: '02001171',
    channels: 6,
    slaves: 0,
    slaveChannels: 0,
    rows: 4000,
    step: 60,
    defects: [],
    seed: 1,
  };
  await writeTsv(join(dir, 'T302_250101_000000.tsv'), { ...base, start: Date.UTC(2025, 0, 1) / 1000 });
  await writeTsv(join(dir, 'T302_250102_000000.tsv'), { ...base, start: Date.UTC(2025, 0, 1) / 1000 + 3000 * 60 });
  const tasks = await discover([root], { root });
  // PostgreSQL as ExactlyOnce sees it: nothing known, nothing held
  const store = {
    ensureTenant: async () => {},
    knownFile: async () => null,
    deviceLayout: async () => null,
    coverage: async () => new Map(),
    coverageVersioned: async () => ({ runs: new Map(), version: 0 }),
    coverageVersion: async () => 0,
  };
  const { ExactlyOnce } = await import('../../src/pipeline/exactly-once.js');
  const once = new ExactlyOnce(store as never);
  let writes = 0;
  const sink = {
    async write() {
      // the first write of file 1 fails while the reader, done with file 1, waits in file 2's plan
      if (++writes === 1) {
        await new Promise((r) => setTimeout(r, 200));
        throw new Error('store gone');
      }
    },
    async close() {},
  };
  const p = new Pipeline({
    workers: 0,
    blockBytes: 1 << 20,
    maxBlocksInFlight: 4,
    sink,
    planFile: once.planFile,
    onConsumed: once.onConsumed,
    onAbort: once.abort,
  });
  t.teardown(() => p.close());
  const outcome = await Promise.race([
    p.run(tasks).then(
      () => 'finished',
      (e: Error) => e.message,
    ),
    new Promise<string>((r) => setTimeout(() => r('hung'), 10_000).unref()),
  ]);
  t.equal(outcome, 'store gone', 'the run ends with the sink failure');
});
