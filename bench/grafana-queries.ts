/**
 * The campaign dashboard's queries at scale (docs/benchmarks.md#campaign-dashboard-at-200-devices):
 * a bench tenant with N six-channel devices (3 voltages, 3 powers) and a few days of points in the
 * local InfluxDB, the same campaign's hourly aggregates and a few findings in a PostgreSQL database of
 * its own, then every query of the generated campaign dashboard run as Grafana would (variables first,
 * "All" = every option, then each panel), each timed, with InfluxDB's resident memory sampled from
 * /proc/<influxd>/status while it runs.
 *
 *   node dist/bench/grafana-queries.js [--devices 200] [--days 3] [--step 300] [--reuse]
 *
 * --reuse keeps the data of an earlier run with the same shape. Holds the services lock like a test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { campaignDashboard } from '../src/grafana/dashboards/campaign.js';
import { uids } from '../src/grafana/names.js';
import { migrate } from '../src/postgres/migrate.js';
import { createDatabase, databaseUrl, servicesUp } from '../test/support/services.js';
import {
  influxRunner,
  pgRunner,
  queryPanels,
  resolveVariables,
  targetQuery,
  type DashboardJson,
  type QueryOutcome,
  type Runner,
} from '../test/support/grafana-run.js';
import { projectRoot } from './harness.js';
import { fillInflux, fillPostgres, type Shape } from './grafana-data.js';

const TENANT = 'benchgf';
const CAMPAIGN = 'bench';
const PG_DB = 'pv_bench_grafana';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** influxd's pid (ops/services.sh writes it; tests may restart it, so read it each time). */
function influxPid(): number {
  return Number(readFileSync(join(projectRoot, '.powerview', 'services', 'influxdb', 'influxd.pid'), 'utf8'));
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

interface Measured {
  panel: string;
  store: string;
  ms: number;
  rows: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  error?: string;
}

/** Runs `q`, sampling influxd's VmRSS every 10 ms meanwhile. */
async function measure(
  runner: Runner,
  q: string,
): Promise<{ outcome: QueryOutcome; ms: number; before: number; peak: number }> {
  const pid = influxPid();
  const before = rssKiB(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid));
  }, 10);
  const t0 = performance.now();
  try {
    const outcome = await runner(q);
    return { outcome, ms: performance.now() - t0, before, peak: Math.max(peak, rssKiB(pid)) };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const shape: Shape = { devices: arg('devices', 200), days: arg('days', 3), step: arg('step', 300) };
  const reuse = process.argv.includes('--reuse');
  const env = await servicesUp();
  const t0 = Date.now();
  const url = reuse ? databaseUrl(env, PG_DB) : await createDatabase(env, PG_DB);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  if (!reuse) {
    await migrate(pool);
    await fillPostgres(pool, TENANT, CAMPAIGN, shape);
    await fillInflux(env, TENANT, CAMPAIGN, shape);
  }
  console.log(
    `data: ${shape.devices} devices × 6 channels, ${shape.days} days at ${shape.step} s ` +
      `(${shape.devices * 6 * ((shape.days * 86400) / shape.step)} points) ${reuse ? 'reused' : 'written'} ` +
      `in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );

  const d = JSON.parse(JSON.stringify(campaignDashboard(TENANT, CAMPAIGN))) as DashboardJson;
  const influx = influxRunner(env.INFLUX_URL, TENANT, env.INFLUX_USERNAME, env.INFLUX_PASSWORD);
  const runners = new Map<string, Runner>([
    [uids.influxDatasource(TENANT), influx],
    [uids.pgDatasource(TENANT), pgRunner(pool)],
  ]);
  const range = { from: new Date(Date.UTC(2025, 0, 6)), to: new Date(Date.UTC(2025, 0, 6 + shape.days)) };
  // Grafana's $__interval for a few days on a full-width panel: the step of the data
  const interval = shape.step;
  const results: Measured[] = [];
  const record = (panel: string, store: string, m: Awaited<ReturnType<typeof measure>>) =>
    results.push({
      panel,
      store,
      ms: m.ms,
      rows: m.outcome.rows,
      rssBeforeMiB: m.before / 1024,
      rssPeakMiB: m.peak / 1024,
      error: m.outcome.error,
    });
  const { vars } = await resolveVariables(d, runners, range, interval, async (runner, q) => {
    const m = await measure(runner, q);
    record(`variable ${q.slice(0, 60)}`, runner === influx ? 'influxdb' : 'postgres', m);
    return m.outcome;
  });
  for (const p of queryPanels(d))
    for (const target of p.targets ?? []) {
      const runner = runners.get(target.datasource.uid)!;
      record(p.title, target.datasource.type, await measure(runner, targetQuery(target, vars, range, interval)));
    }

  console.log('| panel | store | time (s) | rows | influxd RSS before → peak (MiB) |');
  console.log('|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.panel} | ${r.store} | ${(r.ms / 1000).toFixed(2)} | ${r.rows}${r.error ? ` ${r.error.slice(0, 80)}` : ''} | ` +
        `${r.rssBeforeMiB.toFixed(0)} → ${r.rssPeakMiB.toFixed(0)} (+${(r.rssPeakMiB - r.rssBeforeMiB).toFixed(0)}) |`,
    );
  const worst = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  const grow = Math.max(...results.map((r) => r.rssPeakMiB - r.rssBeforeMiB));
  console.log(
    `slowest: ${worst.panel} ${(worst.ms / 1000).toFixed(2)} s; largest influxd RSS growth ${grow.toFixed(0)} MiB; ` +
      `peak ${Math.max(...results.map((r) => r.rssPeakMiB)).toFixed(0)} MiB`,
  );
  await pool.end();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
