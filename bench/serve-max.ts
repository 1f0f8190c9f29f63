/**
 * bench/latency --max: the same file set through a backfill (`powerview
 * ingest`, timed from spawn to exit) and through serve at rates bisected
 * around the backfill's, each serve run on a wiped tenant: the highest rate
 * whose p99 stays within the bound, as a share of the backfill's files/s.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tenantTotals, type BenchServices } from './harness.js';
import { CAMPAIGN, serveRun, type ServeRun, type Upload } from './serve-run.js';

export interface Backfill {
  seconds: number;
  filesPerSecond: number;
  ok: boolean;
}

/** `powerview ingest <root>/<tenant>` of every file, on a wiped tenant: wall time from spawn to exit. */
export async function backfill(
  services: BenchServices,
  uploads: Upload[],
  o: { dir: string; tenant: string; extraArgs?: string[]; nodeArgs?: string[] },
): Promise<Backfill> {
  await services.wipeTenant(o.tenant);
  rmSync(o.dir, { recursive: true, force: true });
  const root = join(o.dir, 'data');
  for (const u of uploads) {
    const device = join(root, o.tenant, CAMPAIGN, u.device);
    mkdirSync(device, { recursive: true });
    writeFileSync(join(device, u.name), u.text);
  }
  const args = [
    ...(o.nodeArgs ?? []),
    cli,
    'ingest',
    join(root, o.tenant),
    '--root',
    root,
    '--json',
    '--no-progress',
    '--report-dir',
    join(o.dir, 'reports'),
    '--log-file',
    join(o.dir, 'ingest.log'),
    '--log-level',
    process.env.BENCH_LOG_LEVEL ?? 'warn',
    ...(o.extraArgs ?? []),
  ];
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...services.env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (c) => resolve(c));
  });
  const seconds = (performance.now() - t0) / 1000;
  const totals = await tenantTotals(services, o.tenant);
  const expected = uploads.reduce((s, u) => s + u.points, 0);
  const ok =
    code === 0 &&
    totals.ledgerRows === uploads.length &&
    totals.influxPoints === expected &&
    totals.hourlySamples === expected;
  return { seconds, filesPerSecond: uploads.length / seconds, ok };
}

export interface MaxRate {
  files: number;
  backfill: Backfill;
  trials: ServeRun[];
  /** the highest rate tried that kept p99 within the bound with nothing lost (0: none did) */
  serveFilesPerSecond: number;
  ratio: number;
}

/**
 * The rate bisected between a pass and a fail, starting at 80 % of the
 * backfill's rate; a run feeds `seconds` worth of files (at most the set).
 */
export async function maxRate(
  services: BenchServices,
  uploads: Upload[],
  o: {
    dir: string;
    tenant: string;
    kind: 'daily' | 'small';
    seconds: number;
    trials: number;
    p99Ms: number;
    extraArgs?: string[];
    nodeArgs?: string[];
  },
): Promise<MaxRate> {
  const b = await backfill(services, uploads, { dir: join(o.dir, 'backfill'), tenant: o.tenant });
  console.error(`backfill: ${uploads.length} files in ${b.seconds.toFixed(2)} s (${b.filesPerSecond.toFixed(1)}/s)`);
  let pass = 0;
  let fail = Infinity;
  let rate = 0.8 * b.filesPerSecond;
  const trials: ServeRun[] = [];
  for (let k = 0; k < o.trials; k++) {
    const n = Math.min(uploads.length, Math.max(20, Math.round(rate * o.seconds)));
    const t = await serveRun(services, uploads.slice(0, n), {
      dir: join(o.dir, 'serve'),
      tenant: o.tenant,
      kind: o.kind,
      rate,
      extraArgs: o.extraArgs,
      nodeArgs: o.nodeArgs,
    });
    trials.push(t);
    const ok = t.complete && t.latencyMs.p99 <= o.p99Ms;
    console.error(
      `serve at ${rate.toFixed(1)} files/s (${n} files): p50 ${t.latencyMs.p50} ms, p99 ${t.latencyMs.p99} ms` +
        `${t.complete ? '' : ', NOT COMPLETE'}: ${ok ? 'keeps up' : 'falls behind'}`,
    );
    if (ok) pass = Math.max(pass, rate);
    else fail = Math.min(fail, rate);
    rate = fail === Infinity ? pass * 1.5 : (pass + fail) / 2;
  }
  return {
    files: uploads.length,
    backfill: b,
    trials,
    serveFilesPerSecond: pass,
    ratio: pass / b.filesPerSecond,
  };
}
