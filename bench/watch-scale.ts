/**
 * bench/watch-scale: `powerview serve` started, without hooks, on a data root
 * whose device folders already hold a large archive in `parsed/` (default
 * 200,000 files: 10 companies × 4 campaigns × 50 devices × 100 files), and on
 * the same folders with an empty archive, for comparison. For each: the time
 * from spawn to /readyz 200, the time until the watch is armed on every
 * folder (the inotify watches of the process, read from /proc, reach one per
 * root, company, campaign and device folder), serve's CPU time and RSS then,
 * and the latency of files found by the watch alone: each written under
 * SFTPGo's temporary name and renamed into a device folder of the archive (no
 * hook, periodic rescan off), from the rename to the file in parsed/ (which
 * happens only after InfluxDB acknowledged its lines and PostgreSQL committed
 * its ledger row). The latency includes --settle (1 s by default).
 *
 *   npm run bench:watch
 *   node dist/bench/watch-scale.js --archive 200000 --files 50 --settle 1
 *
 * Results: stdout (markdown) and <dir>/watch-scale.json; checks at the end that
 * every file is in the ledger once and that nothing in parsed/ was taken.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { servicesUp } from '../test/support/services.js';
import { exportFileName, generateFile, type FileSpec } from '../fixtures/generate.js';

const projectRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const { values } = parseArgs({
  options: {
    archive: { type: 'string', default: '200000' },
    companies: { type: 'string', default: '10' },
    campaigns: { type: 'string', default: '4' },
    devices: { type: 'string', default: '50' },
    files: { type: 'string', default: '50' },
    rate: { type: 'string', default: '5' },
    settle: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
});
const archive = Number(values.archive);
const companies = Number(values.companies);
const campaigns = Number(values.campaigns);
const devicesPer = Number(values.devices);
const liveFiles = Number(values.files);
const rate = Number(values.rate);
const settle = Number(values.settle);
const deviceCount = companies * campaigns * devicesPer;
const perDevice = Math.ceil(archive / deviceCount);
const dir = join(process.env.POWERVIEW_BENCH_DIR ?? join(tmpdir(), 'powerview-bench'), 'watch-scale');
const prefix = 'bench_ws';
const secret = 'bench-watch-scale-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** inotify watches the process holds (every `fs.watch` of a folder is one), from /proc/<pid>/fdinfo */
function inotifyWatches(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:inotify') continue;
    try {
      n += readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

function rssBytes(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}

/** user + system CPU seconds of the process (all its threads) */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const env = await servicesUp();
const cli = join(projectRoot, 'bin', 'powerview.js');
execFileSync(process.execPath, [cli, 'migrate'], {
  env: { ...process.env, ...env },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
const influxAuth = `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`;
const influxql = (q: string, db = '') =>
  fetch(`${env.INFLUX_URL}/query?${new URLSearchParams({ q, db })}`, {
    method: 'POST',
    headers: { authorization: influxAuth },
  });

const companyName = (c: number) => `${prefix}${c}`;
const campaignName = (k: number) => `camp${k}`;
const serialOf = (i: number) => String(21_000_000 + i);
const day0 = Date.UTC(2024, 0, 1) / 1000;

/** The data root: every device folder, and `perDevice` archived files in each parsed/ (hard links to a few real files). */
function buildRoot(root: string, withArchive: boolean): { folders: number; archived: number; seconds: number } {
  const t0 = performance.now();
  rmSync(root, { recursive: true, force: true });
  const sources = join(root, '..', 'sources');
  rmSync(sources, { recursive: true, force: true });
  mkdirSync(sources, { recursive: true });
  let archived = 0;
  let folders = 1;
  let source = '';
  for (let c = 0; c < companies; c++) {
    folders++;
    for (let k = 0; k < campaigns; k++) {
      folders++;
      for (let d = 0; d < devicesPer; d++) {
        folders++;
        const i = (c * campaigns + k) * devicesPer + d;
        const device = join(root, companyName(c), campaignName(k), serialOf(i));
        mkdirSync(join(device, 'parsed'), { recursive: true });
        if (!withArchive) continue;
        // one real file per 200 devices (hard-link limits), linked under every archived name
        if (i % 200 === 0) {
          source = join(sources, `s${i}.tsv`);
          const spec = {
            format: 'v003',
            masterSn: serialOf(i),
            channels: 4,
            slaves: 0,
            slaveChannels: 0,
            rows: 24,
            start: day0,
            step: 3600,
            defects: [],
            seed: i + 1,
          } as FileSpec;
          writeFileSync(source, [...generateFile(spec)].join(''));
        }
        for (let f = 0; f < perDevice && archived < archive; f++, archived++) {
          linkSync(source, join(device, 'parsed', exportFileName(day0 + (f + 1) * 86400 + 300, 'v003')));
        }
      }
    }
  }
  return { folders, archived, seconds: (performance.now() - t0) / 1000 };
}

interface Result {
  archive: string;
  archived_files: number;
  folders: number;
  build_seconds: number;
  ready_ms: number;
  armed_ms: number;
  inotify_watches: number;
  cpu_seconds_at_armed: number;
  rss_mb_after_ready: number;
  rss_mb_after_files: number;
  inotify_watches_after_files: number;
  files: number;
  committed: number;
  found_by_watch: number;
  latency_ms: { p50: number; p95: number; max: number };
  ledger_rows: number;
  taken_from_parsed: number;
}

async function scenario(label: 'empty' | 'full'): Promise<Result> {
  const base = join(dir, label);
  const root = join(base, 'data');
  const built = buildRoot(root, label === 'full');
  // a clean tenant: no ledger rows or points from an earlier run
  await pool.query('DELETE FROM core.files WHERE tenant = $1', [companyName(0)]);
  await pool.query('DELETE FROM core.hourly WHERE tenant = $1', [companyName(0)]);
  await influxql(`DROP DATABASE "${companyName(0)}"`);
  rmSync(join(base, 'state'), { recursive: true, force: true });
  const port = await freePort();
  const logFile = join(base, 'serve.log');
  rmSync(logFile, { force: true });
  const t0 = performance.now();
  const serve: ChildProcess = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--root',
      root,
      '--http-addr',
      `127.0.0.1:${port}`,
      '--settle',
      String(settle),
      '--rescan',
      '86400',
      '--state-dir',
      join(base, 'state'),
      '--log-file',
      logFile,
      '--log-level',
      'info',
      '--grafana-dir',
      '',
    ],
    { env: { ...process.env, ...env, POWERVIEW_HOOK_SECRET: secret }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise((r) => serve.once('exit', r));
  const pid = serve.pid!;
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 6000) throw new Error('serve did not become ready');
    await sleep(10);
  }
  const readyMs = performance.now() - t0;
  const rssReady = rssBytes(pid);
  // armed: one watch per folder (the start-up walk adds them)
  let watches = 0;
  for (let i = 0; (watches = inotifyWatches(pid)) < built.folders; i++) {
    if (i > 12000) throw new Error(`the watch was not armed: ${watches} of ${built.folders} folders`);
    await sleep(10);
  }
  const armedMs = performance.now() - t0;
  const cpuArmed = cpuSeconds(pid);

  // files found by the watch alone: a rename into device folders of the archive, no hook, no rescan
  const live: Array<{ path: string; parsed: string; completeAt: number; committedAt: number }> = [];
  for (let i = 0; i < liveFiles; i++) {
    const d = i % (campaigns * devicesPer);
    const k = Math.floor(d / devicesPer);
    const device = join(root, companyName(0), campaignName(k), serialOf(d));
    const day = 2000 + Math.floor(i / (campaigns * devicesPer));
    const spec = {
      format: 'v003',
      masterSn: serialOf(d),
      channels: 7,
      slaves: 1,
      slaveChannels: 6,
      rows: 144,
      start: day0 + day * 86400,
      step: 600,
      defects: [],
      seed: 1000 + i,
    } as FileSpec;
    const name = exportFileName(day0 + (day + 1) * 86400 + 300, 'v003');
    live.push({ path: join(device, name), parsed: join(device, 'parsed', name), completeAt: 0, committedAt: 0 });
    writeFileSync(join(device, `.sftpgo-upload.${i}.${name}`), [...generateFile(spec)].join(''));
  }
  let committed = 0;
  const poller = setInterval(() => {
    const now = performance.now();
    for (const f of live) {
      if (f.completeAt && !f.committedAt && existsSync(f.parsed)) {
        f.committedAt = now;
        committed++;
      }
    }
  }, 5);
  const s0 = performance.now();
  for (const [i, f] of live.entries()) {
    const wait = s0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    renameSync(join(f.path, '..', `.sftpgo-upload.${i}.${f.path.split('/').pop()}`), f.path);
    f.completeAt = performance.now();
  }
  const sent = performance.now();
  while (committed < liveFiles && performance.now() - sent < 180_000) await sleep(20);
  clearInterval(poller);
  await sleep(500);
  const rssFiles = rssBytes(pid);
  const watchesAfter = inotifyWatches(pid);
  serve.kill('SIGTERM');
  await exited;

  const lat = live
    .filter((f) => f.committedAt)
    .map((f) => f.committedAt - f.completeAt)
    .sort((a, b) => a - b);
  const q = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN);
  const ledger = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM core.files WHERE tenant = $1 AND status = 'ok'",
    [companyName(0)],
  );
  const logs = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; path?: string });
  const taken = logs.filter((l) => l.event === 'file' && /\/(parsed|error)\//.test(l.path ?? '')).length;
  const result: Result = {
    archive: label,
    archived_files: built.archived,
    folders: built.folders,
    build_seconds: Math.round(built.seconds * 10) / 10,
    ready_ms: Math.round(readyMs),
    armed_ms: Math.round(armedMs),
    inotify_watches: watches,
    cpu_seconds_at_armed: Math.round(cpuArmed * 100) / 100,
    rss_mb_after_ready: Math.round(rssReady / 1e5) / 10,
    rss_mb_after_files: Math.round(rssFiles / 1e5) / 10,
    inotify_watches_after_files: watchesAfter,
    files: liveFiles,
    committed,
    found_by_watch: logs.filter((l) => l.event === 'settled').length,
    latency_ms: { p50: q(50), p95: q(95), max: q(100) },
    ledger_rows: ledger.rows[0].n,
    taken_from_parsed: taken,
  };
  console.error(`bench/watch-scale: ${label}: ${JSON.stringify(result)}`);
  return result;
}

const results: Result[] = [];
for (const label of ['empty', 'full'] as const)
  if (!values.only || values.only === label) results.push(await scenario(label));
await pool.end();
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, 'watch-scale.json'),
  JSON.stringify({ date: new Date().toISOString(), settle_seconds: settle, rate, results }, null, 2),
);

console.log(
  '| archive in parsed/ | folders watched (inotify) | spawn → /readyz 200 | spawn → watch armed | CPU to armed | RSS ready / after files | files found by the watch | latency p50 | p95 | max | ledger rows | taken from parsed/ |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.archived_files.toLocaleString('en')} | ${r.inotify_watches} → ${r.inotify_watches_after_files} | ${r.ready_ms} ms | ${r.armed_ms} ms | ${r.cpu_seconds_at_armed} s | ${r.rss_mb_after_ready} / ${r.rss_mb_after_files} MB | ${r.found_by_watch} of ${r.files} (${r.committed} committed) | ${r.latency_ms.p50} ms | ${r.latency_ms.p95} ms | ${r.latency_ms.max} ms | ${r.ledger_rows} | ${r.taken_from_parsed} |`,
  );
}
const ok = results.every(
  (r) =>
    r.committed === r.files && r.ledger_rows === r.files && r.found_by_watch === r.files && r.taken_from_parsed === 0,
);
if (!ok) {
  console.error(
    'bench/watch-scale: a file was lost, doubled, not found by the watch, or taken from parsed/ (see the table)',
  );
  process.exitCode = 1;
}
