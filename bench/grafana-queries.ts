/**
 * The campaign dashboard's queries at scale (docs/benchmarks.md#campaign-dashboard-at-200-devices):
 * a bench tenant with N six-channel devices (3 voltages, 3 powers) and a few days of points in the
 * local InfluxDB, the same campaign's hourly aggregates and a few findings in a PostgreSQL database of
 * its own, then every query of the generated campaign dashboard run as Grafana would (variables first,
 * "All" = every option, then each panel), each timed, with InfluxDB's resident memory sampled from
 * /proc/<influxd>/status while it runs.
 *
 *   node dist/bench/grafana-queries.js [--devices 200] [--days 3] [--step 300] [--reuse] [--also FILE]
 *
 * --reuse keeps the data of an earlier run with the same shape; --also measures the campaignDashboard of
 * another build's campaign.js after this one's (before/after in one run). Memory: influxd's VmRSS, and its
 * Go heap in use and bytes allocated from /debug/vars. Holds the services lock like a test.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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
  type Runner,
} from '../test/support/grafana-run.js';
import { influxPid } from './harness.js';
import { START, fillInflux, fillPostgres, type Shape } from './grafana-data.js';

const TENANT = 'benchgf';
const CAMPAIGN = 'bench';
const PG_DB = 'pv_bench_grafana';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
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
  heapPeakMiB: number;
  allocMiB: number;
  error?: string;
}

/** influxd's Go heap in use and bytes allocated so far (/debug/vars memstats), in MiB. */
async function goMemory(env: Record<string, string>): Promise<{ heap: number; alloc: number }> {
  const auth = `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`;
  const r = await fetch(`${env.INFLUX_URL}/debug/vars`, { headers: { authorization: auth } }).catch(() => null);
  const m = r?.ok ? ((await r.json()) as { memstats?: { HeapInuse: number; TotalAlloc: number } }).memstats : undefined;
  return { heap: (m?.HeapInuse ?? 0) / 2 ** 20, alloc: (m?.TotalAlloc ?? 0) / 2 ** 20 };
}

/** Runs `q`, sampling influxd's VmRSS every 10 ms and its Go heap every 50 ms meanwhile. */
async function measure(env: Record<string, string>, runner: Runner, q: string) {
  const pid = influxPid();
  const before = rssKiB(pid) / 1024;
  const start = await goMemory(env);
  let peak = before;
  let heap = start.heap;
  const rss = setInterval(() => (peak = Math.max(peak, rssKiB(pid) / 1024)), 10);
  const go = setInterval(() => void goMemory(env).then((m) => (heap = Math.max(heap, m.heap))), 50);
  const t0 = performance.now();
  try {
    const outcome = await runner(q);
    const ms = performance.now() - t0;
    const end = await goMemory(env);
    return { outcome, ms, before, peak: Math.max(peak, rssKiB(pid) / 1024), heap, alloc: end.alloc - start.alloc };
  } finally {
    clearInterval(rss);
    clearInterval(go);
  }
}

/** Every variable and panel query of `d`, measured one after the other. */
async function runAll(env: Record<string, string>, d: DashboardJson, pool: pg.Pool, shape: Shape) {
  const influx = influxRunner(env.INFLUX_URL, TENANT, env.INFLUX_USERNAME, env.INFLUX_PASSWORD);
  const runners = new Map<string, Runner>([
    [uids.influxDatasource(TENANT), influx],
    [uids.pgDatasource(TENANT), pgRunner(pool)],
  ]);
  const range = { from: new Date(START * 1000), to: new Date((START + shape.days * 86400) * 1000) };
  // Grafana's $__interval for a few days on a full-width panel: about the step of the data
  const interval = shape.step;
  const results: Measured[] = [];
  const record = (panel: string, store: string, m: Awaited<ReturnType<typeof measure>>) =>
    results.push({
      panel,
      store: store === 'influxdb' ? 'InfluxDB' : 'PostgreSQL',
      ms: m.ms,
      rows: m.outcome.rows,
      rssBeforeMiB: m.before,
      rssPeakMiB: m.peak,
      heapPeakMiB: m.heap,
      allocMiB: m.alloc,
      error: m.outcome.error,
    });
  const { vars } = await resolveVariables(d, runners, range, interval, async (runner, q) => {
    const m = await measure(env, runner, q);
    record(`variable: ${q.slice(0, 50)}…`, runner === influx ? 'influxdb' : 'postgres', m);
    return m.outcome;
  });
  for (const p of queryPanels(d))
    for (const target of p.targets ?? []) {
      const q = targetQuery(target, vars, range, interval);
      record(p.title, target.datasource.type, await measure(env, runners.get(target.datasource.uid)!, q));
    }
  return results;
}

function print(label: string, results: Measured[]): void {
  console.log(`\n${label}\n`);
  console.log(
    '| panel | store | time (s) | rows | influxd RSS before → peak (MiB) | Go heap peak (MiB) | allocated (MiB) |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of results)
    console.log(
      `| ${r.panel} | ${r.store} | ${(r.ms / 1000).toFixed(2)} | ${r.rows}${r.error ? ` ${r.error.slice(0, 80)}` : ''} | ` +
        `${r.rssBeforeMiB.toFixed(0)} → ${r.rssPeakMiB.toFixed(0)} | ${r.heapPeakMiB.toFixed(0)} | ${r.allocMiB.toFixed(0)} |`,
    );
  const worst = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(
    `\nslowest: ${worst.panel} ${(worst.ms / 1000).toFixed(2)} s; influxd RSS peak ` +
      `${Math.max(...results.map((r) => r.rssPeakMiB)).toFixed(0)} MiB, Go heap peak ` +
      `${Math.max(...results.map((r) => r.heapPeakMiB)).toFixed(0)} MiB, most allocated by one query ` +
      `${Math.max(...results.map((r) => r.allocMiB)).toFixed(0)} MiB`,
  );
}

async function main(): Promise<void> {
  const shape: Shape = { devices: arg('devices', 200), days: arg('days', 3), step: arg('step', 300) };
  const reuse = process.argv.includes('--reuse');
  // --also <campaign.js of another build>: its dashboard measured too, after this one (before/after in one run)
  const also = process.argv.indexOf('--also') > 0 ? process.argv[process.argv.indexOf('--also') + 1] : undefined;
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
  const json = (x: unknown) => JSON.parse(JSON.stringify(x)) as DashboardJson;
  print('this build', await runAll(env, json(campaignDashboard(TENANT, CAMPAIGN)), pool, shape));
  if (also) {
    const other = (await import(resolve(also))) as { campaignDashboard: typeof campaignDashboard };
    print(also, await runAll(env, json(other.campaignDashboard(TENANT, CAMPAIGN)), pool, shape));
  }
  await pool.end();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
