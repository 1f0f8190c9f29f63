/**
 * A store down for POWERVIEW_TEST_OUTAGE_SECONDS (default 60) under a stream
 * of uploads to serve, for test/service/outage-*.test.ts: hooks are still
 * answered (the journal is local), /readyz says which store is missing, no
 * file moves before its store is back, the backlog drains after recovery,
 * nothing goes to error/, nothing is lost or doubled.
 */
import type { Test } from 'tap';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { serviceCtl, servicesScript } from './services.js';
import {
  deliver,
  notParsed,
  promValue,
  roundRobin,
  startServeCase,
  uploadEvent,
  waitUntil,
  type HookReply,
} from './serve-harness.js';

export const OUTAGE_S = Number(process.env.POWERVIEW_TEST_OUTAGE_SECONDS || 60);
/** the file's time limit: the outage, the drain, and the wait for a free set of services */
export const OUTAGE_TIMEOUT_MS = (OUTAGE_S + 120 + 600) * 1000;

/** ops/services.sh start|stop NAME without blocking the event loop (the upload stream goes on meanwhile). */
async function ctl(command: 'start' | 'stop', name: 'influxdb' | 'postgres'): Promise<void> {
  await promisify(execFile)(servicesScript, [command, name], { timeout: 120_000 });
}

/** Does the store answer right now? */
async function storeAnswers(env: Record<string, string>, store: 'influxdb' | 'postgres'): Promise<boolean> {
  if (store === 'influxdb') {
    try {
      await fetch(new URL('/ping', env.INFLUX_URL), { signal: AbortSignal.timeout(1500) });
      return true;
    } catch {
      return false;
    }
  }
  const c = new pg.Client({ connectionString: env.DATABASE_URL, connectionTimeoutMillis: 1500 });
  c.on('error', () => {});
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function outage(t: Test, store: 'influxdb' | 'postgres'): Promise<void> {
  // 4 devices × 40 files, overlapping re-exports; delivered in export order, round-robin over the devices
  const device = (d: number) => ({ files: 40, rows: 100, overlap: 30, seed: 200 + d });
  const c = await startServeCase(t, {
    db: `outage_${store}`,
    label: store === 'influxdb' ? 'oinflux' : 'opg',
    devices: [0, 1, 2, 3].map(device),
    staged: true,
  });
  const { db, tenant, root, stage, serve } = c;
  const queue = roundRobin(c.perDevice);
  // whatever happens, the store runs again at the end (before the database is dropped: teardowns run last-first)
  t.teardown(async () => {
    try {
      serviceCtl('start', store);
    } catch {
      // reported by the next test that needs it
    }
  });

  // the stream: a file and its hook every 600 ms
  const delivered: Array<{ path: string; at: number }> = [];
  const replies: HookReply[] = [];
  let streaming = true;
  const stream = (async () => {
    while (streaming && queue.length > 0) {
      const [path] = deliver(stage, root, [queue.shift()!]);
      delivered.push({ path, at: Date.now() });
      replies.push(
        await serve.hook(uploadEvent(root, path)).catch((err: Error) => ({ status: 0, body: { error: err.message } })),
      );
      await sleep(600);
    }
  })();

  await sleep(3000);
  await ctl('stop', store);
  const stoppedAt = Date.now();
  t.comment(`${store} stopped`);
  await sleep(Math.min(5000, OUTAGE_S * 500));
  t.equal((await serve.get('/healthz')).status, 200, 'during the outage: /healthz 200 (the process is fine)');
  const ready = await waitUntil(async () => {
    const r = await serve.get('/readyz');
    return r.status === 503 ? r : null;
  }, 5000);
  t.ok(ready, 'during the outage: /readyz 503');
  if (ready)
    t.match(
      JSON.parse(ready.text),
      store === 'influxdb' ? { influxdb: 'unreachable', postgres: 'ok' } : { influxdb: 'ok', postgres: /./ },
      `naming ${store}`,
    );
  if (ready && store === 'postgres') t.not(JSON.parse(ready.text).postgres, 'ok');
  // the rest of the outage, checking that the store stays down (a process outside the services lock running
  // `ops/services.sh up` would start it again behind the test's back)
  let answered = 0;
  while (Date.now() < stoppedAt + OUTAGE_S * 1000) {
    if (await storeAnswers(db.env, store)) answered++;
    await sleep(Math.min(2000, Math.max(0, stoppedAt + OUTAGE_S * 1000 - Date.now())));
  }
  t.equal(answered, 0, `${store} stayed down for the whole outage (nothing else started it again)`);
  // a file needs both stores before it moves: none delivered during the outage can be in parsed/ yet
  const duringOutage = delivered.filter((d) => d.at > stoppedAt + 500).map((d) => d.path);
  t.ok(duringOutage.length >= OUTAGE_S, `${duringOutage.length} files delivered during the outage`);
  t.same(
    duringOutage.filter((p) => !notParsed([p]).length),
    [],
    'none of them ingested while the store was down',
  );
  await ctl('start', store);
  const startedAt = Date.now();
  t.comment(`${store} back after ${((startedAt - stoppedAt) / 1000).toFixed(1)} s`);
  await sleep(5000);
  streaming = false;
  await stream;
  const files = delivered.map((d) => d.path);
  t.same(
    [...new Set(replies.map((r) => r.status))],
    [200],
    `all ${replies.length} hook calls answered 200, during the outage too`,
  );

  await c.ingested(files, 150_000, `the backlog drained after ${store} came back`);
  t.comment(`drained ${((Date.now() - startedAt) / 1000).toFixed(1)} s after ${store} came back`);
  await c.check(files);
  const m = await serve.metrics();
  // InfluxDB: every file taken during the outage retries its writes. PostgreSQL: a device cannot even be claimed
  // while it is down, so commit retries happen only for a file caught mid-way by the stop
  if (store === 'influxdb')
    t.ok(promValue(m, 'powerview_retries_total', { store }) > 0, 'the outage was met: InfluxDB retries counted');
  else t.comment(`PostgreSQL commit retries: ${promValue(m, 'powerview_retries_total', { store })}`);
  t.equal(promValue(m, 'powerview_files_total', { tenant, outcome: 'error' }), 0, 'no file failed');
  t.equal(
    promValue(m, 'powerview_files_total', { tenant, outcome: 'ok' }) +
      promValue(m, 'powerview_files_total', { tenant, outcome: 'noop' }),
    files.length,
    'each file done once (ok, or noop when a commit went through unseen)',
  );
  await c.stop();
}
