/**
 * SIGTERM stops intake (hooks get 503 while draining),
 * in-flight files finish, the process exits within the drain bound with
 * code 0; files not started stay where they are, in the journal, and a
 * restart ingests them from the journal without waiting to settle (its
 * settle is an hour). When a file in flight cannot finish within the drain
 * bound (its InfluxDB answers 503), the process still exits within the
 * bound (code 1), and the file is taken up again after a restart.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesSkip } from '../support/services.js';
import {
  notParsed,
  promValue,
  serveFixtures,
  startServe,
  stopServe,
  uploadEvent,
  waitParsed,
  waitUntil,
  type ServeProc,
} from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

function journalPaths(stateDir: string): string[] {
  const file = join(stateDir, 'events.jsonl');
  if (!existsSync(file)) return [];
  const out = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { kind: string; path: string };
    if (e.kind === 'upload') out.add(e.path);
  }
  return [...out].sort();
}

async function inFlight(serve: ServeProc): Promise<number> {
  try {
    return promValue(await serve.metrics(), 'powerview_queue_depth', { queue: 'files_in_flight' });
  } catch {
    return -1;
  }
}

t.test(
  'SIGTERM drains: 503 to hooks, in-flight files finish, exit 0 in time; the rest comes back from the journal',
  { skip: servicesSkip },
  async (t) => {
    // one device with larger files (taken first: its hooks go first), four with small ones
    const small = (d: number) => ({ files: 3, rows: 150, overlap: 30, seed: 10 + d });
    const fx = await serveFixtures(t, {
      db: 'sigterm',
      label: 'term',
      devices: [{ files: 3, rows: 6000, overlap: 500, channels: 12, seed: 1 }, ...[1, 2, 3, 4].map(small)],
    });
    const { db, tenant, root, stateDir, files } = fx;
    const drain = 20;
    const serve = await startServe(t, db.env, { root, stateDir, settle: 3600, rescan: 3600, drain, workers: 1 });
    for (const f of files) t.equal((await serve.hook(uploadEvent(root, f))).status, 200, 'queued');
    t.ok(await waitUntil(async () => (await inFlight(serve)) > 0, 20_000, 50), 'a file is in flight');
    await sleep(200);
    const parsedAtTerm = files.length - notParsed(files).length;
    const termAt = Date.now();
    serve.child.kill('SIGTERM');
    // intake closes as soon as the signal is handled (a call racing the signal may still be queued: 200);
    // the server still answers while in-flight files finish
    const late = join(dirname(fx.perDevice[1][0]), 'MV2_late_20991231_000000.tsv'); // never written: a call that wins the race is harmless
    let last: Awaited<ReturnType<ServeProc['hook']>> | null = null;
    const during =
      (await waitUntil(
        async () => {
          try {
            last = await serve.hook(uploadEvent(root, late));
            return last.status === 200 ? null : last;
          } catch {
            return null;
          }
        },
        2000,
        20,
      )) ?? last;
    t.equal(during?.status, 503, 'a hook while draining: 503');
    t.match(during?.body.error, /stopping/, 'with the reason');
    const health = await serve.get('/healthz').catch(() => null);
    if (health) t.equal(health.status, 503, '/healthz 503 while stopping');
    const exit = await serve.exited;
    const took = (Date.now() - termAt) / 1000;
    t.equal(exit.code, 0, 'exit code 0: drained');
    t.ok(took < drain, `exited ${took.toFixed(1)} s after SIGTERM, within the ${drain} s bound`);
    const finishedAfterTerm = serve.logs().filter((l) => l.event === 'file' && Date.parse(String(l.time)) >= termAt);
    t.ok(finishedAfterTerm.length >= 1, `${finishedAfterTerm.length} in-flight file(s) finished after SIGTERM`);
    t.same(
      [
        ...new Set(
          serve
            .logs()
            .filter((l) => l.event === 'file')
            .map((l) => l.status),
        ),
      ],
      ['ok'],
      'every file that ended, ended ok',
    );
    const left = notParsed(files);
    t.ok(left.length > 0, `${left.length} files not started at SIGTERM`);
    t.ok(files.length - left.length > parsedAtTerm, 'more files done at exit than at SIGTERM');
    t.same(
      left.filter((f) => !existsSync(f)),
      [],
      'the files not started are still in place',
    );
    t.notOk(
      files.some((f) => existsSync(join(dirname(f), 'error'))),
      'nothing in error/',
    );
    t.same(
      journalPaths(stateDir).filter((p) => p !== late),
      [...left].sort(),
      'the journal holds exactly the files not done',
    );

    // restarted with a settle of an hour: only the journal can bring them back
    const t1 = Date.now();
    const again = await startServe(t, db.env, { root, stateDir, settle: 3600, rescan: 3600, drain, workers: 1 });
    t.ok(
      await waitParsed(files, 60_000),
      `the rest ingested after the restart (${((Date.now() - t1) / 1000).toFixed(1)} s)`,
    );
    await fx.check(files);
    t.equal(
      promValue(await again.metrics(), 'powerview_files_total', { tenant, outcome: 'ok' }),
      left.length,
      'the restart ingested exactly those',
    );
    await stopServe(t, again);
    t.same(journalPaths(stateDir), [], 'nothing left in the journal');
  },
);

t.test(
  'SIGTERM while a file waits for InfluxDB: exit within the drain bound (code 1), the file taken up after a restart',
  { skip: servicesSkip },
  async (t) => {
    const fx = await serveFixtures(t, {
      db: 'sigterm2',
      label: 'term2',
      devices: [
        { files: 1, rows: 300, overlap: 0, seed: 2 },
        { files: 2, rows: 100, overlap: 0, seed: 3 },
      ],
    });
    const { db, root, stateDir, files } = fx;
    // an InfluxDB that answers pings and queries but is overloaded for writes (503): a file in flight waits for it,
    // as long as it takes, so the drain bound is what ends the wait
    let writes = 0;
    const influx = createServer((req, res) => {
      req.resume();
      if (req.url?.startsWith('/ping')) return void res.writeHead(204).end();
      if (req.url?.startsWith('/query'))
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
      writes++;
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":"overloaded"}');
    });
    await new Promise<void>((r) => influx.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => influx.close(() => r())));
    const influxUrl = `http://127.0.0.1:${(influx.address() as AddressInfo).port}`;
    const serve = await startServe(
      t,
      { ...db.env, INFLUX_URL: influxUrl },
      { root, stateDir, settle: 3600, rescan: 3600, drain: 1, workers: 1 },
    );
    for (const f of files) t.equal((await serve.hook(uploadEvent(root, f))).status, 200, 'queued');
    t.ok(await waitUntil(() => writes >= 2, 20_000, 50), 'a file in flight, its writes retried');
    const termAt = Date.now();
    serve.child.kill('SIGTERM');
    const exit = await Promise.race([serve.exited, sleep(10_000).then(() => null)]);
    const took = (Date.now() - termAt) / 1000;
    const stopLog = serve.logs().find((l) => l.event === 'serve_stop');
    if (stopLog)
      t.comment(
        `serve_stop logged ${((Date.parse(String(stopLog.time)) - termAt) / 1000).toFixed(1)} s after SIGTERM (drained: ${String(stopLog.drained)})`,
      );
    // the bound, plus a little for closing the journal, the server and the connections
    t.ok(
      exit !== null,
      `exited within 10 s of SIGTERM with a drain bound of 1 s (${exit === null ? 'still running' : `${took.toFixed(1)} s`})`,
    );
    if (exit !== null) t.ok(took < 1 + 1.5, `exited ${took.toFixed(1)} s after SIGTERM: within the bound`);
    if (exit === null) await serve.kill();
    else t.equal(exit.code, 1, 'exit code 1: in-flight files did not finish');
    t.same(
      files.filter((f) => !existsSync(f)),
      [],
      'every file left in place (none could be written)',
    );
    t.notOk(
      files.some((f) => existsSync(join(dirname(f), 'error'))),
      'nothing in error/',
    );
    t.same(journalPaths(stateDir), [...files].sort(), 'all of them in the journal');
    // the real InfluxDB: everything comes back from the journal
    const again = await startServe(t, db.env, { root, stateDir, settle: 3600, rescan: 3600, workers: 1 });
    t.ok(await waitParsed(files, 60_000), 'everything ingested after the restart');
    await fx.check(files);
    await stopServe(t, again);
  },
);
