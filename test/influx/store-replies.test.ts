/**
 * How a run treats InfluxDB's replies: a run-stopping refusal stops the
 * other retrying batches at once, Retry-After: 0 still backs off, a redirect
 * stops the run without sending files to error/, a database the store
 * refuses to create fails only its tenant's files, a user without CREATE
 * DATABASE still ingests; credentials in INFLUX_URL never reach a message.
 * Each failed before its fix.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runIngestJob } from '../../src/pipeline/ingest-job.js';
import { resolveInfluxConfig } from '../../src/influx/config.js';
import { InfluxHttp } from '../../src/influx/http-api.js';
import { InfluxWriter } from '../../src/influx/writer.js';
import { server, small } from '../support/stub-runs.js';

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
      report.files.find((f) => f.tenant === 'acme')!,
      report.files.find((f) => f.tenant === 'other')!,
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
