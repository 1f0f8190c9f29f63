/**
 * bench/soak: is `powerview serve`'s memory flat? 20,000 small logger files
 * uploaded like SFTPGo uploads them (temporary name, rename, upload hook), and
 * the main thread's heap (after a forced full GC, through the inspector
 * protocol: serve runs with --inspect on 127.0.0.1) and the process's RSS
 * measured twice, with serve idle: after the first 4,000 files are committed
 * and after all 20,000 are. Pass: both figures at the end within 15 % of
 * those after 4,000 (and every file committed once, every point in both stores).
 *
 *   node dist/bench/soak.js                           # 20,000 files, measured at 4,000 and 20,000
 *   node dist/bench/soak.js --files 20000 --checkpoint 4000 --rate 100 --devices 100
 *
 * Results: stdout (markdown) and <dir>/soak.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'undici';
import { benchServices, cli, freePort } from './harness.js';
import { generateFile, type FileSpec } from '../fixtures/generate.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    checkpoint: { type: 'string', default: '4000' },
    rate: { type: 'string', default: '100' },
    devices: { type: 'string', default: '100' },
    workers: { type: 'string' },
  },
});
const total = Number(values.files);
const checkpoint = Number(values.checkpoint);
const rate = Number(values.rate);
const devices = Number(values.devices);
const TOLERANCE = 0.15;
const dir = join(process.env.POWERVIEW_BENCH_DIR ?? join(tmpdir(), 'powerview-bench'), 'soak');
const root = join(dir, 'data');
const company = 'bench_soak';
const campaign = 'live';
const secret = 'bench-soak-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const services = await benchServices();
const { env, pool, influxql } = services;
await services.wipeTenant(company);
rmSync(dir, { recursive: true, force: true });
mkdirSync(root, { recursive: true });

// small files: one per device and day, 24 hourly rows of 4 channels (96 points)
const ROWS = 24;
const CHANNELS = 4;
const start0 = Date.UTC(2024, 0, 1) / 1000;
function upload(i: number): { device: string; name: string; text: string } {
  const d = i % devices;
  const day = Math.floor(i / devices);
  const masterSn = String(3100000 + d).padStart(8, '0');
  const spec: FileSpec = {
    format: 'v003',
    masterSn,
    channels: CHANNELS,
    slaves: 0,
    slaveChannels: 0,
    rows: ROWS,
    start: start0 + day * 86400,
    step: 3600,
    defects: [],
    seed: i + 1,
  };
  const stamp = new Date((start0 + (day + 1) * 86400 + 300) * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace('T', '_')
    .slice(0, 15);
  return { device: masterSn, name: `MV2_${masterSn}_${stamp}.tsv`, text: [...generateFile(spec)].join('') };
}

const port = await freePort();
const logFile = join(dir, 'serve.log');
const serve = spawn(
  process.execPath,
  [
    '--inspect=127.0.0.1:0',
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
  { env: { ...process.env, ...env, POWERVIEW_HOOK_SECRET: secret }, stdio: ['ignore', 'inherit', 'pipe'] },
);
let inspectorUrl: string | null = null;
serve.stderr.on('data', (chunk: Buffer) => {
  const text = chunk.toString();
  inspectorUrl ??= /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(text)?.[0] ?? null;
  if (!/Debugger (listening|attached)|For help, see: https:\/\/nodejs.org\/en\/docs\/inspector/.test(text))
    process.stderr.write(chunk);
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (
    await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  if (i > 600) throw new Error('serve did not become ready');
  await sleep(100);
}
if (!inspectorUrl) throw new Error('serve did not print its inspector address');

/** The main thread of serve, through the inspector: a full GC, then the heap's used size. */
const ws = new WebSocket(inspectorUrl);
await new Promise<void>((res, rej) => {
  ws.onopen = () => res();
  ws.onerror = () => rej(new Error('inspector connection failed'));
});
let seq = 0;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspector (CDP) replies are untyped JSON
const waiting = new Map<number, (r: any) => void>();
ws.onmessage = (ev) => {
  const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
  if (m.id !== undefined) waiting.get(m.id)?.(m.result);
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspector (CDP) replies are untyped JSON
const inspector = (method: string): Promise<any> =>
  new Promise((res) => {
    const id = ++seq;
    waiting.set(id, res);
    ws.send(JSON.stringify({ id, method }));
  });

async function measure(
  files: number,
): Promise<{ files: number; heap_used_bytes: number; rss_bytes: number; metrics_heap_used_bytes: number }> {
  // idle first: timers of the last files (linger, journal compaction) are done
  await sleep(3000);
  for (let k = 0; k < 3; k++) await inspector('HeapProfiler.collectGarbage');
  const usage = (await inspector('Runtime.getHeapUsage')) as { usedSize: number };
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${serve.pid}/status`, 'utf8'))?.[1]);
  const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
  return {
    files,
    heap_used_bytes: usage.usedSize,
    rss_bytes: rssKb * 1024,
    metrics_heap_used_bytes: Number(/^powerview_nodejs_heap_size_used_bytes (\d+)/m.exec(metrics)?.[1] ?? NaN),
  };
}

const hook = (body: object) =>
  fetch(`${base}/hooks/sftpgo`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
mkdirSync(join(root, company, campaign), { recursive: true });
await hook({
  action: 'mkdir',
  username: company,
  path: join(root, company, campaign),
  virtual_path: `/${campaign}`,
  status: 1,
});

const parsed: string[] = [];
const uncommitted = new Set<number>();
async function waitCommitted(upTo: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    for (const i of uncommitted) if (i < upTo && existsSync(parsed[i])) uncommitted.delete(i);
    if (![...uncommitted].some((i) => i < upTo)) return;
    if (Date.now() > deadline)
      throw new Error(`files not committed: ${[...uncommitted].filter((i) => i < upTo).length}`);
    await sleep(250);
  }
}

const samples: Array<Awaited<ReturnType<typeof measure>>> = [];
const t0 = performance.now();
let sentAt = performance.now();
let inPhase = 0;
const hooks: Promise<void>[] = [];
for (let i = 0; i < total; i++) {
  const due = sentAt + (inPhase * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  inPhase++;
  const u = upload(i);
  const devDir = join(root, company, campaign, u.device);
  mkdirSync(devDir, { recursive: true });
  const tmp = join(devDir, `.sftpgo-upload.${i}.${u.name}`);
  writeFileSync(tmp, u.text);
  renameSync(tmp, join(devDir, u.name));
  parsed[i] = join(devDir, 'parsed', u.name);
  uncommitted.add(i);
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
      if (!r.ok) throw new Error(`hook ${r.status}: ${await r.text()}`);
    }),
  );
  if (i + 1 === checkpoint || i + 1 === total) {
    await Promise.all(hooks.splice(0));
    await waitCommitted(i + 1);
    samples.push(await measure(i + 1));
    console.error(
      `bench/soak: ${i + 1} files: heap ${(samples.at(-1)!.heap_used_bytes / 1e6).toFixed(1)} MB, RSS ${(samples.at(-1)!.rss_bytes / 1e6).toFixed(1)} MB`,
    );
    sentAt = performance.now();
    inPhase = 0;
  }
}
const wall = (performance.now() - t0) / 1000;

const ledger = await pool.query<{ n: number }>(
  "SELECT count(*)::int AS n FROM core.files WHERE tenant = $1 AND status = 'ok'",
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
const expectedPoints = total * ROWS * CHANNELS;
ws.close();
serve.kill('SIGTERM');
await new Promise((r) => serve.once('exit', r));
await pool.end();

const [a, b] = samples;
const growth = (x: number, y: number) => (y - x) / x;
const heapGrowth = growth(a.heap_used_bytes, b.heap_used_bytes);
const rssGrowth = growth(a.rss_bytes, b.rss_bytes);
const result = {
  date: new Date().toISOString(),
  files: total,
  checkpoint,
  rate,
  devices,
  wall_seconds: Math.round(wall),
  samples,
  heap_growth: Math.round(heapGrowth * 1000) / 1000,
  rss_growth: Math.round(rssGrowth * 1000) / 1000,
  ledger_rows: ledger.rows[0].n,
  hourly_samples: Number(hourly.rows[0].s),
  influx_points: influxPoints,
  expected_points: expectedPoints,
};
writeFileSync(join(dir, 'soak.json'), JSON.stringify(result, null, 2));
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const pct = (g: number) => `${g >= 0 ? '+' : ''}${(g * 100).toFixed(1)} %`;
console.log(`| files | heap (after GC) | RSS | heap in /metrics (no GC) |`);
console.log(`|---|---|---|---|`);
for (const s of samples)
  console.log(`| ${s.files} | ${mb(s.heap_used_bytes)} | ${mb(s.rss_bytes)} | ${mb(s.metrics_heap_used_bytes)} |`);
console.log(`| growth ${checkpoint} → ${total} | ${pct(heapGrowth)} | ${pct(rssGrowth)} | |`);
console.log(
  `\nwall ${result.wall_seconds} s; ledger rows ${result.ledger_rows} / ${total}; InfluxDB points ${influxPoints} / ${expectedPoints}; hourly samples ${result.hourly_samples}`,
);
const complete =
  result.ledger_rows === total && influxPoints === expectedPoints && result.hourly_samples === expectedPoints;
const flat = Math.abs(heapGrowth) <= TOLERANCE && Math.abs(rssGrowth) <= TOLERANCE;
if (!complete) console.error('bench/soak: files lost or doubled (see above)');
if (!flat)
  console.error(
    `bench/soak: memory not flat: heap ${pct(heapGrowth)}, RSS ${pct(rssGrowth)} (bound ±${TOLERANCE * 100} %)`,
  );
console.log(complete && flat ? 'PASS' : 'FAIL');
if (!complete || !flat) process.exitCode = 1;
