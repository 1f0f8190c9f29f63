/**
 * bench/e2e: a generated archive (≥ 1,000 files, ≥ 10 M points) backfilled
 * into the local InfluxDB of ops/services.sh by `powerview ingest`, and in the
 * same run the ceiling: the same line protocol posted by a minimal client with
 * ideal batches (same batch size, concurrency and gzip setting).
 *
 *   npm run bench:e2e                       # services up, 2 rounds
 *   node dist/bench/e2e.js --rounds 3 --gzip --workers 1
 *
 * Data: $POWERVIEW_BENCH_DIR (default <tmpdir>/powerview-bench)/e2e; the
 * archive is copied afresh for every round (ingesting moves files to parsed/).
 * Results: stdout (markdown) and <dir>/e2e.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Pool } from 'undici';
import { servicesUp } from '../test/support/services.js';
import { influxPid } from './harness.js';
import { generateArchive } from '../fixtures/generate.js';

const projectRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    files: { type: 'string', default: '1000' },
    rows: { type: 'string', default: '420' },
    gzip: { type: 'boolean', default: false },
    workers: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'batch-lines': { type: 'string', default: '5000' },
    'no-postgres': { type: 'boolean', default: false },
  },
});
const withPg = !values['no-postgres'];
const dir = join(process.env.POWERVIEW_BENCH_DIR ?? join(tmpdir(), 'powerview-bench'), 'e2e');
const files = Number(values.files);
const rows = Number(values.rows);
const channels = 24;
const concurrency = Number(values.concurrency);
const batchLines = Number(values['batch-lines']);
const gzip = values.gzip;

// the services, held like a test file holds them: a test that stops a store meanwhile would spoil the figures
const env = await servicesUp();
if (withPg)
  execFileSync(process.execPath, [join(projectRoot, 'bin', 'powerview.js'), 'migrate'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
const pgPool = withPg ? new (await import('pg')).default.Pool({ connectionString: env.DATABASE_URL, max: 1 }) : null;

/** PostgreSQL state of the product's tenant, wiped between rounds (the ledger would make a second round a no-op). */
async function wipePg(tenant: string): Promise<void> {
  if (!pgPool) return;
  await pgPool.query('DELETE FROM core.files WHERE tenant = $1', [tenant]);
  await pgPool.query('DELETE FROM core.hourly WHERE tenant = $1', [tenant]);
  await pgPool.query('DELETE FROM core.channels WHERE tenant = $1', [tenant]);
  await pgPool.query('DELETE FROM core.devices WHERE tenant = $1', [tenant]);
  await pgPool.query('VACUUM ANALYZE core.hourly');
}
const auth = `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`;

async function influxql(q: string, db = ''): Promise<unknown> {
  const res = await fetch(`${env.INFLUX_URL}/query?db=${db}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ q }).toString(),
  });
  if (!res.ok) throw new Error(`${q}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

async function countPoints(db: string): Promise<number> {
  const r = (await influxql('SELECT count(*) FROM electrical', db)) as {
    results: Array<{ series?: Array<{ columns: string[]; values: number[][] }> }>;
  };
  const s = r.results[0].series?.[0];
  if (!s) return 0;
  return s.columns.reduce((sum, c, i) => (c === 'time' ? sum : sum + Number(s.values[0][i])), 0);
}

// 1. the archive, generated once: 50 devices (tri master + 2 slaves = 24 channels), 1-minute rows
const source = join(dir, 'archive');
const company = 'benche2e';
if (!existsSync(join(source, '.complete'))) {
  rmSync(source, { recursive: true, force: true });
  console.error(`generating ${files} files × ${rows} rows × ${channels} channels in ${source} …`);
  await generateArchive({
    out: source,
    company,
    campaign: 'bench',
    devices: 50,
    files,
    rows,
    channels,
    slaves: 2,
    format: 'v003',
    step: 60,
    start: Date.UTC(2024, 0, 1) / 1000,
    defects: [],
    seed: 11,
  });
  writeFileSync(join(source, '.complete'), '');
}
const archiveBytes = Number(execFileSync('du', ['-sb', source], { encoding: 'utf8' }).split('\t')[0]);

// 2. the line protocol the product sends, built once by its dry run (the ceiling client's input)
const lpFile = join(dir, 'archive.lp');
if (!existsSync(lpFile) || statSync(lpFile).mtimeMs < statSync(join(source, '.complete')).mtimeMs) {
  console.error('building the line protocol once (dry run) …');
  execFileSync(
    process.execPath,
    [
      join(projectRoot, 'bin', 'powerview.js'),
      'ingest',
      '--dry-run',
      '--json',
      '--lp-out',
      lpFile,
      '--root',
      source,
      source,
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** The ceiling: batches of exactly `batchLines` lines read from the file, `concurrency` requests in flight. */
async function ceiling(db: string): Promise<{ points: number; seconds: number }> {
  await influxql(`CREATE DATABASE "${db}"`);
  const pool = new Pool(env.INFLUX_URL, { connections: concurrency, pipelining: 1 });
  const inflight = new Set<Promise<void>>();
  let points = 0;
  const post = async (body: Buffer) => {
    const payload = gzip ? gzipSync(body, { level: 1 }) : body;
    const res = await pool.request({
      method: 'POST',
      path: `/write?db=${db}&precision=s`,
      headers: { authorization: auth, ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
      body: payload,
    });
    const text = await res.body.text();
    if (res.statusCode !== 204) throw new Error(`ceiling write: HTTP ${res.statusCode} ${text}`);
  };
  const send = async (body: Buffer) => {
    while (inflight.size >= concurrency) await Promise.race(inflight);
    const p = post(body).finally(() => inflight.delete(p));
    inflight.add(p);
  };
  const t0 = performance.now();
  let pending: Buffer[] = [];
  let pendingLines = 0;
  let rest = Buffer.alloc(0);
  for await (const chunk of createReadStream(lpFile, { highWaterMark: 4 << 20 }) as AsyncIterable<Buffer>) {
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, nl + 1)) {
      pendingLines++;
      if (pendingLines === batchLines) {
        pending.push(buf.subarray(start, nl + 1));
        await send(Buffer.concat(pending));
        points += pendingLines;
        pending = [];
        pendingLines = 0;
        start = nl + 1;
      }
    }
    if (start < buf.length) pending.push(Buffer.from(buf.subarray(start)));
    rest = Buffer.alloc(0);
  }
  if (pendingLines > 0) {
    await send(Buffer.concat(pending));
    points += pendingLines;
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return { points, seconds };
}

/** The product: `powerview ingest` over a fresh copy of the archive, as an operator runs it. */
async function product(db: string): Promise<{
  points: number;
  seconds: number;
  peakRss: number;
  report: { postgres?: { hourly_rows: number; commit_seconds: number; hourly_rows_per_second: number } };
}> {
  const root = join(dir, 'run');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(source, company), join(root, db), { recursive: true });
  const args = [
    join(projectRoot, 'bin', 'powerview.js'),
    'ingest',
    '--json',
    '--concurrency',
    String(concurrency),
    '--batch-lines',
    String(batchLines),
    '--meta-db',
    '',
    '--root',
    root,
    '--report-dir',
    join(dir, 'reports'),
    '--log-level',
    'warn',
    ...(gzip ? ['--gzip'] : []),
    ...(withPg ? [] : ['--no-postgres']),
    ...(values.workers ? ['--workers', values.workers] : []),
    root,
  ];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`powerview ingest exited ${code}`);
  const report = JSON.parse(out) as {
    totals: { points: number };
    peak_rss_bytes: number;
    postgres?: { hourly_rows: number; commit_seconds: number; hourly_rows_per_second: number };
  };
  return { points: report.totals.points, seconds, peakRss: report.peak_rss_bytes, report };
}

/** CPU seconds influxd used so far (utime + stime from /proc). */
function influxdCpu(): number {
  const pid = influxPid();
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Waits until InfluxDB is done compacting what the previous phase wrote: each phase starts on an idle server. */
async function quiesce(): Promise<void> {
  const until = Date.now() + 120_000;
  for (;;) {
    const a = influxdCpu();
    await new Promise((r) => setTimeout(r, 1000));
    if (influxdCpu() - a < 0.05 || Date.now() > until) return;
  }
}

const rounds: Array<Record<string, number>> = [];
for (let r = 0; r < Number(values.rounds); r++) {
  for (const db of ['bench_ceiling', company]) await influxql(`DROP DATABASE "${db}"`);
  await wipePg(company);
  // alternate which goes first: neither profits from the other's leftovers
  let c = { points: 0, seconds: 1 };
  let p: Awaited<ReturnType<typeof product>> = { points: 0, seconds: 1, peakRss: 0, report: {} };
  for (const phase of r % 2 === 0 ? ['ceiling', 'product'] : ['product', 'ceiling']) {
    await quiesce();
    if (phase === 'ceiling') c = await ceiling('bench_ceiling');
    else p = await product(company);
  }
  const cFound = await countPoints('bench_ceiling');
  const pFound = await countPoints(company);
  const row = {
    round: r + 1,
    ceiling_points: c.points,
    ceiling_found: cFound,
    ceiling_pps: Math.round(c.points / c.seconds),
    product_points: p.points,
    product_found: pFound,
    product_pps: Math.round(p.points / p.seconds),
    ratio: p.points / p.seconds / (c.points / c.seconds),
    product_peak_rss_mb: Math.round(p.peakRss / 1e6),
    pg_hourly_rows: p.report.postgres?.hourly_rows ?? 0,
    pg_rows_per_second: p.report.postgres?.hourly_rows_per_second ?? 0,
    pg_share: p.report.postgres ? p.report.postgres.commit_seconds / p.seconds : 0,
  };
  rounds.push(row);
  console.error(JSON.stringify(row));
}

const summary = {
  date: new Date().toISOString(),
  archive: { files, rows, channels, bytes: archiveBytes, points: files * rows * channels },
  settings: { gzip, concurrency, batchLines, workers: values.workers ?? 'default (cores)', postgres: withPg },
  rounds,
};
writeFileSync(join(dir, '..', 'e2e.json'), JSON.stringify(summary, null, 2));
console.log(
  `| round | ceiling points/s | powerview points/s | ratio | powerview peak RSS | points in InfluxDB (ceiling / powerview) | PostgreSQL hourly rows, COPY+merge rows/s, share of wall time |`,
);
console.log(`|---|---|---|---|---|---|---|`);
for (const r of rounds) {
  console.log(
    `| ${r.round} | ${r.ceiling_pps.toLocaleString('en-US')} | ${r.product_pps.toLocaleString('en-US')} | ${(r.ratio * 100).toFixed(1)} % | ${r.product_peak_rss_mb} MB | ${r.ceiling_found.toLocaleString('en-US')} / ${r.product_found.toLocaleString('en-US')} | ${withPg ? `${r.pg_hourly_rows.toLocaleString('en-US')}, ${r.pg_rows_per_second.toLocaleString('en-US')}/s, ${(r.pg_share * 100).toFixed(1)} %` : 'off'} |`,
  );
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `| **median** | ${med(rounds.map((r) => r.ceiling_pps)).toLocaleString('en-US')} | ${med(rounds.map((r) => r.product_pps)).toLocaleString('en-US')} | **${(med(rounds.map((r) => r.ratio)) * 100).toFixed(1)} %** | max ${Math.max(...rounds.map((r) => r.product_peak_rss_mb))} MB | |`,
);
await pgPool?.end();
console.log(
  `\nPostgreSQL ${withPg ? 'on' : 'off'}; archive: ${files} files, ${(files * rows * channels).toLocaleString('en-US')} points, ${(archiveBytes / 1e6).toFixed(0)} MB; gzip ${gzip ? 'on' : 'off'}, ${concurrency} requests in flight, ${batchLines} lines per batch`,
);
