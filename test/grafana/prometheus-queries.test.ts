/**
 * Every query of the ingester's monitoring dashboard (the committed
 * grafana/dashboards/ingester/powerview-ingester.json) returns data from the
 * real Prometheus of ops/services.sh, which scrapes 127.0.0.1:9464 every 5 s
 * (job "powerview"): this test serves a Metrics registry there, reports
 * files, retries and latencies into it while Prometheus scrapes, then runs
 * the panels' PromQL with the variables substituted.
 */
import t from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metrics } from '../../src/metrics/metrics.js';
import type { FileReport } from '../../src/pipeline/report.js';
import { uids } from '../../src/grafana/names.js';
import { lockPort, servicesSkip, servicesUp } from '../support/services.js';
import { prometheusRunner, runDashboard, type DashboardJson, type RunReport } from '../support/grafana-run.js';
import { projectRoot } from '../support/helpers.js';

t.setTimeout(300_000);

const none = { count: 0, lines: [] };
function report(tenant: string, status: 'ok' | 'error', extra: Partial<FileReport> = {}): FileReport {
  return {
    company: tenant,
    status,
    error: status === 'error' ? { code: 'PV_ERR_NO_VALID_ROW', message: 'no valid row' } : null,
    bytes: 4096,
    rows: 144,
    points: status === 'ok' ? 1296 : 0,
    invalid_timestamps: none,
    invalid_values: { count: 2, lines: [7, 9] },
    truncated_rows: none,
    duplicate_rows: 12,
    layout_drift: false,
    ledger: null,
    ...extra,
  } as unknown as FileReport;
}

t.test('monitoring dashboard queries against the real Prometheus', { skip: servicesSkip }, async (t) => {
  const env = await servicesUp();
  const release = await lockPort(9464);
  t.teardown(release);
  // only what Prometheus scraped from this test counts: the range starts now
  const started = new Date();
  const metrics = new Metrics();
  const serveMetrics = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(await metrics.registry.metrics());
  };
  const server = createServer((req, res) => void serveMetrics(req, res));
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(9464, '127.0.0.1', () => resolve(true));
  });
  if (!listening) {
    t.comment('127.0.0.1:9464 is taken by a process outside the test lock: skipped');
    return;
  }
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));

  // activity while Prometheus scrapes: two tenants, an error, retries, backlog, latencies
  let running = true;
  const activity = (async () => {
    for (let i = 0; running; i++) {
      metrics.fileDone(report('gfp-acme', 'ok'), 0.4 + (i % 5) * 0.3);
      metrics.fileDone(report('gfp-beta', 'ok'), 1.5);
      if (i % 3 === 0) metrics.fileDone(report('gfp-beta', 'error'));
      metrics.retries.inc({ store: 'influxdb', cause: '503' });
      metrics.retries.inc({ store: 'postgres', cause: 'unavailable' });
      metrics.queueDepth.set({ queue: 'files' }, 10 - (i % 10));
      metrics.queueDepth.set({ queue: 'blocks' }, i % 4);
      metrics.bytesInFlight.set(65536 * (i % 3));
      await sleep(1000);
    }
  })();

  const prometheus = env.PROMETHEUS_URL ?? 'http://127.0.0.1:19090';
  const dashboard = JSON.parse(
    readFileSync(join(projectRoot, 'grafana/dashboards/ingester/powerview-ingester.json'), 'utf8'),
  ) as DashboardJson;
  t.equal(dashboard.uid, uids.monitoringDashboard);
  let reports: RunReport[] = [];
  const deadline = Date.now() + 120_000;
  // rates need two scrapes of a changing counter: retry until every panel has data (or time runs out)
  for (;;) {
    await sleep(5000);
    const now = new Date();
    const range = { from: started, to: now };
    const r = await runDashboard(
      dashboard,
      new Map([[uids.prometheusDatasource, prometheusRunner(prometheus, range)]]),
      range,
      15,
    );
    reports = [...r.variables, ...r.panels];
    if (reports.every((x) => !x.outcome.error && x.outcome.rows > 0) || Date.now() > deadline) break;
  }
  running = false;
  await activity;
  for (const r of reports)
    t.ok(
      !r.outcome.error && r.outcome.rows > 0,
      `${r.panel} ${r.refId}: ${r.outcome.rows} samples${r.outcome.error ? ` — ${r.outcome.error}` : ''} (${r.query})`,
    );
  const ok = reports.filter((r) => !r.outcome.error && r.outcome.rows > 0).length;
  t.comment(
    `monitoring dashboard: ${reports.filter((r) => r.refId !== '-').length} panel queries and ${reports.filter((r) => r.refId === '-').length} variable query run, ${ok}/${reports.length} returned data`,
  );
  const metricNames = new Set(
    Object.values(metrics)
      .filter((m) => m && typeof m === 'object' && 'name' in m)
      .map((m) => (m as { name: string }).name),
  );
  for (const r of reports) {
    for (const name of r.query.match(/powerview_[a-z_]+/g) ?? []) {
      t.ok(metricNames.has(name.replace(/_bucket$/, '')), `${name}: a metric of src/metrics/metrics.ts`);
    }
  }
});
