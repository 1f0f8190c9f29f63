/**
 * One serve run of bench/latency: a wiped tenant, a fresh serve, the files
 * renamed into their device folders at a steady rate and announced by upload
 * hooks; per file the time from upload complete to its arrival in parsed/
 * (seen through inotify on each parsed/ folder, not by polling: the bench must
 * not take the CPU serve needs).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { exportFileName, generateFile, type FileSpec } from '../fixtures/generate.js';
import { sleep, startServe, tenantTotals, type BenchServices, type ServeChild } from './harness.js';

export interface Upload {
  device: string;
  name: string;
  text: string;
  points: number;
}

/**
 * daily: one file per device and day (V003, 10-minute steps, a tri master with
 * one slave: 13 channels × 144 rows = 1,872 points); small: 12 hourly rows of
 * 6 channels (72 points).
 */
export function fileSet(kind: 'daily' | 'small', total: number, devices: number, firstSerial?: number): Upload[] {
  const start0 = Date.UTC(2025, 0, 1) / 1000;
  const daily = kind === 'daily';
  const span = daily ? 86400 : 12 * 3600;
  const out: Upload[] = [];
  for (let i = 0; i < total; i++) {
    const d = i % devices;
    const k = Math.floor(i / devices);
    const masterSn = String((firstSerial ?? (daily ? 2100000 : 2200000)) + d).padStart(8, '0');
    const spec: FileSpec = {
      format: 'v003',
      masterSn,
      channels: daily ? 7 : 6,
      slaves: daily ? 1 : 0,
      slaveChannels: daily ? 6 : 0,
      rows: daily ? 144 : 12,
      start: start0 + k * span,
      step: daily ? 600 : 3600,
      defects: [],
      seed: i + 1,
    };
    out.push({
      device: masterSn,
      name: exportFileName(start0 + (k + 1) * span + 300, 'v003'),
      text: [...generateFile(spec)].join(''),
      points: daily ? 144 * 13 : 12 * 6,
    });
  }
  return out;
}

export interface ServeRun {
  rate: number;
  files: number;
  committed: number;
  wallSeconds: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  hookMs: { p50: number; p99: number };
  totals: { ledgerRows: number; hourlySamples: number; influxPoints: number };
  expectedPoints: number;
  /** every file committed once, every point in both stores */
  complete: boolean;
  /** CPU serve spent from the first upload to the last commit */
  cpuSeconds?: number;
}

export const CAMPAIGN = 'live';
const SECRET = 'bench-latency-secret-0123456789';

export async function serveRun(
  services: BenchServices,
  uploads: Upload[],
  opts: {
    dir: string;
    tenant: string;
    kind: 'daily' | 'small';
    rate: number;
    extraArgs?: string[];
    nodeArgs?: string[];
  },
): Promise<ServeRun> {
  const { dir, tenant, rate } = opts;
  await services.wipeTenant(tenant);
  rmSync(dir, { recursive: true, force: true });
  const root = join(dir, 'data');
  const staging = join(dir, 'staging');
  // one file of a device of its own first, waited for and not counted: the first file pays serve's warm-up
  // (worker threads, connections, the tenant's provisioning), which is no measure of a sustained rate
  const warmup = fileSet(opts.kind, 1, 1, 29_000_000)[0];
  const devices = [...new Set([...uploads, warmup].map((u) => u.device))];
  for (const d of devices) {
    mkdirSync(join(staging, d), { recursive: true });
    mkdirSync(join(root, tenant, CAMPAIGN, d, 'parsed'), { recursive: true });
  }
  uploads.forEach((u, i) => writeFileSync(join(staging, u.device, `${i}.${u.name}`), u.text));
  writeFileSync(join(staging, warmup.device, `w.${warmup.name}`), warmup.text);
  const serve = await startServe({
    env: services.env,
    root,
    stateDir: join(dir, 'state'),
    logFile: join(dir, 'serve.log'),
    secret: SECRET,
    nodeArgs: opts.nodeArgs,
    extraArgs: ['--settle', '3600', '--rescan', '3600', ...(opts.extraArgs ?? [])],
  });
  try {
    // the campaign folder, as SFTPGo announces it: the tenant is provisioned before the first upload
    await serve.hook({
      action: 'mkdir',
      username: tenant,
      path: join(root, tenant, CAMPAIGN),
      virtual_path: `/${CAMPAIGN}`,
      status: 1,
    });
    await warm(serve, warmup, { root, staging, tenant });
    const cpu0 = cpuSeconds(serve.child.pid);
    const run = await feed(services, serve, uploads, { root, staging, tenant, rate, devices, warmup });
    return { ...run, cpuSeconds: Math.round((cpuSeconds(serve.child.pid) - cpu0) * 100) / 100 };
  } finally {
    await serve.stop();
  }
}

/** user + system CPU seconds of a live process (all its threads) */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function warm(serve: ServeChild, u: Upload, o: { root: string; staging: string; tenant: string }): Promise<void> {
  const path = join(o.root, o.tenant, CAMPAIGN, u.device, u.name);
  renameSync(join(o.staging, u.device, `w.${u.name}`), path);
  await serve.hook(uploadEvent(o.tenant, path, u));
  const parsed = join(o.root, o.tenant, CAMPAIGN, u.device, 'parsed', u.name);
  for (let i = 0; !existsSync(parsed); i++) {
    if (i > 1200) throw new Error('the warm-up file was not committed within 60 s');
    await sleep(50);
  }
}

function uploadEvent(tenant: string, path: string, u: Upload): object {
  return {
    action: 'upload',
    username: tenant,
    path,
    virtual_path: `/${CAMPAIGN}/${u.device}/${u.name}`,
    file_size: u.text.length,
    status: 1,
    timestamp: Date.now() * 1e6,
  };
}

async function feed(
  services: BenchServices,
  serve: ServeChild,
  uploads: Upload[],
  o: { root: string; staging: string; tenant: string; rate: number; devices: string[]; warmup: Upload },
): Promise<ServeRun> {
  const total = uploads.length;
  const completeAt = new Array<number>(total).fill(0);
  const committedAt = new Array<number>(total).fill(0);
  const index = new Map<string, number>();
  uploads.forEach((u, i) => index.set(`${u.device}/${u.name}`, i));
  let committed = 0;
  const seen = (i: number | undefined, at: number) => {
    if (i === undefined || !completeAt[i] || committedAt[i]) return;
    committedAt[i] = at;
    committed++;
  };
  const parsed = (u: Upload) => join(o.root, o.tenant, CAMPAIGN, u.device, 'parsed', u.name);
  const watchers: FSWatcher[] = o.devices.map((d) =>
    watch(join(o.root, o.tenant, CAMPAIGN, d, 'parsed'), (_e, name) => {
      const i = index.get(`${d}/${name}`);
      if (i !== undefined && existsSync(parsed(uploads[i]))) seen(i, performance.now());
    }),
  );
  // inotify may coalesce: a slow poll of what is left catches any event missed
  const poller = setInterval(() => {
    const now = performance.now();
    for (let i = 0; i < total; i++)
      if (completeAt[i] && !committedAt[i] && existsSync(parsed(uploads[i]))) seen(i, now);
  }, 500);
  const hookMs: number[] = [];
  const t0 = performance.now();
  const hooks: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / o.rate - performance.now();
    if (wait > 0) await sleep(wait);
    const u = uploads[i];
    const path = join(o.root, o.tenant, CAMPAIGN, u.device, u.name);
    // SFTPGo's atomic upload: written under a temporary name (beforehand, here), then renamed to the final one
    renameSync(join(o.staging, u.device, `${i}.${u.name}`), path);
    const h0 = performance.now();
    completeAt[i] = h0;
    hooks.push(
      serve.hook(uploadEvent(o.tenant, path, u)).then(async (r) => {
        hookMs.push(performance.now() - h0);
        if (!r.ok) throw new Error(`hook ${r.status}: ${await r.text()}`);
      }),
    );
  }
  const sent = performance.now();
  await Promise.all(hooks);
  while (committed < total && performance.now() - sent < 120_000) await sleep(20);
  clearInterval(poller);
  for (const w of watchers) w.close();
  const wall = (performance.now() - t0) / 1000;
  const lat = completeAt
    .map((c, i) => committedAt[i] - c)
    .filter((_, i) => committedAt[i] > 0)
    .sort((a, b) => a - b);
  const q = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN);
  hookMs.sort((a, b) => a - b);
  const totals = await tenantTotals(services, o.tenant);
  const expectedPoints = uploads.reduce((s, u) => s + u.points, 0) + o.warmup.points;
  return {
    rate: o.rate,
    files: total,
    committed,
    wallSeconds: Math.round(wall * 10) / 10,
    latencyMs: { p50: q(50), p90: q(90), p99: q(99), max: Math.round(lat[lat.length - 1] ?? NaN) },
    hookMs: {
      p50: Math.round(hookMs[Math.floor(hookMs.length / 2)]),
      p99: Math.round(hookMs[Math.floor(hookMs.length * 0.99)]),
    },
    totals,
    expectedPoints,
    complete:
      committed === total &&
      totals.ledgerRows === total + 1 &&
      totals.influxPoints === expectedPoints &&
      totals.hourlySamples === expectedPoints,
  };
}
