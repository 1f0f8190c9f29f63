/**
 * bench/latency: `powerview serve` fed like SFTPGo feeds it — daily logger
 * files uploaded at a sustained rate (default 50 files/s), each written under
 * SFTPGo's temporary name, renamed into its device folder, then announced by
 * an upload hook — and for every file the time from "upload complete" (just
 * before the hook call) to "committed in both stores" (the file appears in
 * parsed/, which happens only after InfluxDB acknowledged its lines and
 * PostgreSQL committed its aggregates, coverage and ledger row).
 *
 *   npm run bench:latency                      # 50 files/s for 20 s
 *   node dist/bench/latency.js --rate 50 --seconds 60 --devices 50
 *
 * Results: stdout (markdown) and <dir>/latency.json; checks at the end that
 * every file is in the ledger once and InfluxDB holds every point.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { servicesUp, type InfluxQLResult } from '../test/support/services.js';
import { exportFileName, generateFile, type FileSpec } from '../fixtures/generate.js';

const projectRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    devices: { type: 'string', default: '50' },
    workers: { type: 'string' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const devices = Number(values.devices);
const total = Math.round(rate * seconds);
const dir = join(process.env.POWERVIEW_BENCH_DIR ?? join(tmpdir(), 'powerview-bench'), 'latency');
const root = join(dir, 'data');
const company = 'bench_latency';
const campaign = 'live';
const secret = 'bench-latency-secret-0123456789';

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// the services, held like a test file holds them: a test that stops a store meanwhile would spoil the figures
const env = await servicesUp();
const cli = join(projectRoot, 'bin', 'powerview.js');
execFileSync(process.execPath, [cli, 'migrate'], {
  env: { ...process.env, ...env },
  stdio: ['ignore', 'ignore', 'inherit'],
});

// a clean tenant: no ledger, coverage or points from an earlier run
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
await pool.query('DELETE FROM core.files WHERE tenant = $1', [company]);
await pool.query('DELETE FROM core.hourly WHERE tenant = $1', [company]);
const influxAuth = `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`;
async function influxql(q: string, db = ''): Promise<InfluxQLReply> {
  const r = await fetch(`${env.INFLUX_URL}/query?${new URLSearchParams({ q, db })}`, {
    method: 'POST',
    headers: { authorization: influxAuth },
  });
  return (await r.json()) as InfluxQLReply;
}
interface InfluxQLReply {
  results?: InfluxQLResult[];
}
await influxql(`DROP DATABASE "${company}"`);

// the files: one per device and day (10-minute steps, a tri master with one slave: 13 channels, 144 rows)
rmSync(dir, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
const start0 = Date.UTC(2025, 0, 1) / 1000;
const uploads: Array<{ device: string; name: string; text: string; points: number }> = [];
for (let i = 0; i < total; i++) {
  const d = i % devices;
  const day = Math.floor(i / devices);
  const masterSn = String(2100000 + d).padStart(8, '0');
  const spec: FileSpec = {
    format: 'v003',
    masterSn,
    channels: 7,
    slaves: 1,
    slaveChannels: 6,
    rows: 144,
    start: start0 + day * 86400,
    step: 600,
    defects: [],
    seed: i + 1,
  };
  const text = [...generateFile(spec)].join('');
  uploads.push({
    device: masterSn,
    name: exportFileName(start0 + (day + 1) * 86400 + 300, 'v003'),
    text,
    points: 144 * 13,
  });
}

const port = await freePort();
const logFile = join(dir, 'serve.log');
const serve = spawn(
  process.execPath,
  [
    cli,
    'serve',
    '--root',
    root,
    '--http-addr',
    `127.0.0.1:${port}`,
    '--settle',
    '3600',
    '--rescan',
    '3600',
    '--state-dir',
    join(dir, 'state'),
    '--log-file',
    logFile,
    '--log-level',
    process.env.BENCH_LOG_LEVEL ?? 'warn',
    '--grafana-dir',
    '',
    ...(values.workers ? ['--workers', values.workers] : []),
  ],
  { env: { ...process.env, ...env, POWERVIEW_HOOK_SECRET: secret }, stdio: ['ignore', 'inherit', 'inherit'] },
);
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  const ok = await fetch(`${base}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  if (i > 600) throw new Error('serve did not become ready');
  await sleep(100);
}
const hook = (body: object) =>
  fetch(`${base}/hooks/sftpgo`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
// the campaign folder, as SFTPGo announces it: the tenant is provisioned before the first upload
mkdirSync(join(root, company, campaign), { recursive: true });
await hook({
  action: 'mkdir',
  username: company,
  path: join(root, company, campaign),
  virtual_path: `/${campaign}`,
  status: 1,
});

const completeAt = new Array<number>(total).fill(0);
const committedAt = new Array<number>(total).fill(0);
const hookMs: number[] = [];
let committed = 0;
const parsedPath = (i: number) => join(root, company, campaign, uploads[i].device, 'parsed', uploads[i].name);
const poller = setInterval(() => {
  const now = performance.now();
  for (let i = 0; i < total; i++) {
    if (completeAt[i] && !committedAt[i] && existsSync(parsedPath(i))) {
      committedAt[i] = now;
      committed++;
    }
  }
}, 5);

const t0 = performance.now();
const hooks: Promise<void>[] = [];
for (let i = 0; i < total; i++) {
  const due = t0 + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  const u = uploads[i];
  const devDir = join(root, company, campaign, u.device);
  mkdirSync(devDir, { recursive: true });
  // SFTPGo's atomic upload: a temporary name, then a rename to the final one
  const tmp = join(devDir, `.sftpgo-upload.${i}.${u.name}`);
  writeFileSync(tmp, u.text);
  renameSync(tmp, join(devDir, u.name));
  completeAt[i] = performance.now();
  const h0 = performance.now();
  hooks.push(
    hook({
      action: 'upload',
      username: company,
      path: join(devDir, u.name),
      virtual_path: `/${campaign}/${u.device}/${u.name}`,
      file_size: u.text.length,
      status: 1,
      timestamp: Date.now() * 1e6,
    }).then(async (r) => {
      hookMs.push(performance.now() - h0);
      if (!r.ok) throw new Error(`hook ${r.status}: ${await r.text()}`);
    }),
  );
}
const sent = performance.now();
await Promise.all(hooks);
while (committed < total && performance.now() - sent < 120_000) await sleep(20);
clearInterval(poller);
const wall = (performance.now() - t0) / 1000;

const lat = completeAt
  .map((c, i) => committedAt[i] - c)
  .filter((_, i) => committedAt[i] > 0)
  .sort((a, b) => a - b);
const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
hookMs.sort((a, b) => a - b);
const ledger = await pool.query<{ n: number; files: number }>(
  "SELECT count(*)::int AS n, count(DISTINCT sha256)::int AS files FROM core.files WHERE tenant = $1 AND status = 'ok'",
  [company],
);
const hourly = await pool.query<{ s: string }>(
  'SELECT coalesce(sum(samples), 0)::text AS s FROM core.hourly WHERE tenant = $1',
  [company],
);
const counted = await influxql('SELECT count(*) FROM electrical', company);
const influxPoints = Object.entries(counted.results?.[0]?.series?.[0]?.values?.[0] ?? [])
  .slice(1)
  .reduce((s, [, v]) => s + Number(v), 0);
const expectedPoints = uploads.reduce((s, u) => s + u.points, 0);
const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
serve.kill('SIGTERM');
await new Promise((r) => serve.once('exit', r));
await pool.end();

const result = {
  date: new Date().toISOString(),
  rate,
  seconds,
  devices,
  files: total,
  committed,
  wall_seconds: Math.round(wall * 10) / 10,
  latency_ms: {
    p50: Math.round(q(50)),
    p90: Math.round(q(90)),
    p99: Math.round(q(99)),
    max: Math.round(lat[lat.length - 1]),
  },
  hook_ms: {
    p50: Math.round(hookMs[Math.floor(hookMs.length / 2)]),
    p99: Math.round(hookMs[Math.floor(hookMs.length * 0.99)]),
  },
  ledger_rows: ledger.rows[0].n,
  hourly_samples: Number(hourly.rows[0].s),
  influx_points: influxPoints,
  expected_points: expectedPoints,
  service_histogram_count: Number(/^powerview_file_latency_seconds_count (\d+)/m.exec(metrics)?.[1] ?? NaN),
};
writeFileSync(join(dir, 'latency.json'), JSON.stringify(result, null, 2));
console.log(
  `| rate | files | committed | p50 | p90 | p99 | max | hook p50/p99 | ledger rows | InfluxDB points / expected | hourly samples |`,
);
console.log(`|---|---|---|---|---|---|---|---|---|---|---|`);
console.log(
  `| ${rate}/s × ${seconds} s | ${total} | ${committed} | ${result.latency_ms.p50} ms | ${result.latency_ms.p90} ms | ${result.latency_ms.p99} ms | ${result.latency_ms.max} ms | ${result.hook_ms.p50}/${result.hook_ms.p99} ms | ${result.ledger_rows} | ${influxPoints} / ${expectedPoints} | ${result.hourly_samples} |`,
);
const ok =
  committed === total &&
  result.ledger_rows === total &&
  influxPoints === expectedPoints &&
  result.hourly_samples === expectedPoints;
if (!ok) {
  console.error('bench/latency: files lost or doubled (see the table)');
  process.exitCode = 1;
}
