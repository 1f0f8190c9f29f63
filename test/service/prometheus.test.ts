/**
 * The local Prometheus (ops/services.sh: it scrapes
 * 127.0.0.1:9464 every 5 s) scrapes the service's /metrics, and its HTTP API
 * returns the service's series with the values the work implies: files by
 * outcome, rows, points written (the distinct points), duplicate rows (what
 * the overlapping re-exports imply), hook events, file latency.
 * The service runs on 127.0.0.1:9464, under the port lock other test files
 * (Grafana) share: `.powerview/port-9464.lock`.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { lockPort, servicesSkip, servicesUp } from '../support/services.js';
import { promValue, startServeCase, waitUntil } from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

const PORT = 9464;

async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** An instant query: the value of each returned series, by its label set. */
async function promQuery(
  promUrl: string,
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const url = new URL('/api/v1/query', promUrl);
  url.searchParams.set('query', query);
  const res = await fetch(url);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success') throw new Error(`Prometheus ${query}: ${body.error}`);
  return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

const one = async (promUrl: string, query: string): Promise<number | null> => {
  const r = await promQuery(promUrl, query);
  return r.length === 1 ? r[0].value : r.length === 0 ? null : NaN;
};

t.test('Prometheus scrapes the service: its series hold what the work implies', { skip: servicesSkip }, async (t) => {
  const env = await servicesUp();
  const promUrl = env.PROMETHEUS_URL || 'http://127.0.0.1:19090';
  try {
    // ops/services.sh counts Prometheus ready only once service discovery has listed its targets
    const targets = (await (await fetch(new URL('/api/v1/targets', promUrl))).json()) as {
      data: { activeTargets: Array<{ scrapeUrl: string }> };
    };
    if (!targets.data.activeTargets.some((x) => x.scrapeUrl.includes(`127.0.0.1:${PORT}`))) {
      t.plan(0, `the local Prometheus does not scrape 127.0.0.1:${PORT} (POWERVIEW_SCRAPE_TARGET?)`);
      return;
    }
  } catch (err) {
    t.plan(0, `the local Prometheus is not reachable at ${promUrl}: ${(err as Error).message}`);
    return;
  }
  const release = await lockPort(PORT);
  t.teardown(release);
  if (!(await portFree(PORT))) {
    t.plan(0, `127.0.0.1:${PORT} is taken by a process outside the port lock`);
    return;
  }
  // 3 devices × 4 re-exports overlapping by 50 rows: duplicate rows to count
  const device = (d: number) => ({ files: 4, rows: 150, overlap: 50, seed: 60 + d });
  const c = await startServeCase(t, {
    db: 'prom',
    label: 'prom',
    devices: [0, 1, 2].map(device),
    serve: { port: PORT, settle: 3600, rescan: 3600 },
  });
  const { tenant, files, serve } = c;
  const expected = await c.expected();
  t.equal(expected.duplicateRows, 3 * 3 * 50, 'the fixture: 50 rows brought again by each later file');
  const t0 = Date.now() / 1000;
  await c.send(files, 'queued');
  await c.ingested(files, 60_000, 'every file ingested');
  await c.check(files, expected);

  // Prometheus scrapes every 5 s: the series show the whole work after a scrape or two
  const sel = `{job="powerview",instance="127.0.0.1:${PORT}",tenant="${tenant}"}`;
  const scraped = await waitUntil(
    async () => (await one(promUrl, `powerview_files_total${sel.replace('}', ',outcome="ok"}')}`)) === files.length,
    30_000,
    500,
  );
  t.ok(scraped, `Prometheus: powerview_files_total{outcome="ok"} = ${files.length}`);
  t.equal(await one(promUrl, `up{job="powerview",instance="127.0.0.1:${PORT}"}`), 1, 'up = 1');
  t.equal(
    await one(promUrl, `powerview_points_written_total${sel}`),
    expected.points.size,
    'powerview_points_written_total = the distinct points',
  );
  t.equal(
    await one(promUrl, `powerview_duplicate_rows_total${sel}`),
    expected.duplicateRows,
    'powerview_duplicate_rows_total = the overlapping rows',
  );
  t.equal(await one(promUrl, `powerview_rows_total${sel}`), expected.rows, 'powerview_rows_total = every row read');
  t.equal(
    await one(promUrl, `sum(powerview_files_total${sel.replace('}', ',outcome!="ok"}')})`),
    null,
    'no other outcome (noop, error, unavailable)',
  );
  const last = await one(promUrl, `powerview_last_success_timestamp_seconds${sel}`);
  t.ok(
    last !== null && last >= t0 && last <= Date.now() / 1000,
    'powerview_last_success_timestamp_seconds: during this test',
  );
  const inst = `{job="powerview",instance="127.0.0.1:${PORT}"}`;
  t.equal(
    await one(promUrl, `powerview_hook_events_total${inst.replace('}', ',action="upload",result="queued"}')}`),
    files.length,
    'hook events: one upload queued per file',
  );
  t.equal(
    await one(promUrl, `powerview_file_latency_seconds_count${inst}`),
    files.length,
    'file latency observed once per file',
  );
  // the depth gauge is sampled at each scrape: a scrape may fall between a file's move to parsed/ and its
  // leaving the scheduler, so the empty queues show in the first scrape after that (within a scrape interval or two)
  const depthQuery = `sum(powerview_queue_depth${inst.replace('}', ',queue=~"files_.*"}')})`;
  const emptied = await waitUntil(async () => (await one(promUrl, depthQuery)) === 0, 30_000, 500);
  t.ok(emptied, `queues empty (Prometheus: ${await one(promUrl, depthQuery)})`);
  t.ok(
    ((await one(promUrl, `sum(powerview_influx_request_duration_seconds_count${inst})`)) ?? 0) > 0,
    'InfluxDB requests timed',
  );
  t.ok(
    ((await one(promUrl, `powerview_process_resident_memory_bytes${inst}`)) ?? 0) > 0,
    "Node's default metrics, prefixed",
  );
  // and the same as the service's own /metrics says
  const m = await serve.metrics();
  t.equal(promValue(m, 'powerview_points_written_total', { tenant }), expected.points.size, '/metrics agrees');
  for (const queue of ['files_pending', 'files_in_flight', 'files_settling']) {
    t.equal(promValue(m, 'powerview_queue_depth', { queue }), 0, `/metrics: queue ${queue} empty`);
  }
  await c.stop();
});
