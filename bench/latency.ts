/**
 * bench/latency: `powerview serve` fed like SFTPGo feeds it — logger files
 * uploaded at a sustained rate, each written under a temporary name, renamed
 * into its device folder, then announced by an upload hook — and for every
 * file the time from "upload complete" (just before the hook call) to
 * "committed in both stores" (the file appears in parsed/, which happens only
 * after InfluxDB acknowledged its lines and PostgreSQL committed its
 * aggregates, coverage and ledger row).
 *
 *   npm run bench:latency                      # daily files, 50 files/s for 20 s
 *   node dist/bench/latency.js --rate 50 --seconds 60 --devices 50
 *   node dist/bench/latency.js --max --kind small   # serve's highest rate with p99 ≤ 1 s against a backfill
 *   node dist/bench/latency.js --max --kind daily --files 1000
 *
 * --max: one file set; a backfill of it (`powerview ingest`, process start
 * included, a wiped tenant); then short serve runs on a wiped tenant each, the
 * rate bisected, to find the highest rate whose p99 stays within --p99 ms
 * (bench/serve-max.ts). Both in files/s, and their ratio.
 *
 * Results: stdout (markdown) and <dir>/latency.json; every run checks that
 * every file is in the ledger once and both stores hold every point.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchServices } from './harness.js';
import { fileSet, serveRun, type ServeRun } from './serve-run.js';
import { maxRate } from './serve-max.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string' },
    devices: { type: 'string', default: '50' },
    workers: { type: 'string' },
    max: { type: 'boolean', default: false },
    kind: { type: 'string', default: 'daily' },
    files: { type: 'string' },
    trials: { type: 'string', default: '5' },
    p99: { type: 'string', default: '1000' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const kind = values.kind === 'small' ? 'small' : 'daily';
if (values.kind !== kind) throw new Error(`--kind ${values.kind}: small or daily`);
const devices = Number(values.devices);
const dir = join(process.env.POWERVIEW_BENCH_DIR ?? join(tmpdir(), 'powerview-bench'), 'latency');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const services = await benchServices();
const extraArgs = values.workers ? ['--workers', values.workers] : [];
// a CPU profile of serve (one .cpuprofile per run, in <dir>/profiles)
const nodeArgs = [
  ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', join(dir, '..', 'latency-profiles')] : []),
  // more node flags for serve (an --import of a counting hook, say)
  ...(process.env.BENCH_SERVE_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
];

try {
  if (values.max) {
    const files = fileSet(kind, Number(values.files ?? (kind === 'small' ? 2000 : 1000)), devices);
    const r = await maxRate(services, files, {
      dir,
      tenant: `bench_max_${kind}`,
      kind,
      seconds: Number(values.seconds ?? 10),
      trials: Number(values.trials),
      p99Ms: Number(values.p99),
      extraArgs,
      nodeArgs,
    });
    writeFileSync(join(dir, 'latency.json'), JSON.stringify({ date: new Date().toISOString(), kind, ...r }, null, 2));
    console.log(`| rate | files | committed | p50 | p99 | max | hook p99 | ok |`);
    console.log(`|---|---|---|---|---|---|---|---|`);
    for (const t of r.trials) console.log(row(t));
    console.log('');
    console.log(
      `${kind} files (${files.length}, ${devices} devices): backfill ${r.backfill.filesPerSecond.toFixed(1)} files/s ` +
        `(${r.backfill.seconds.toFixed(2)} s, process start included); serve sustains ${r.serveFilesPerSecond.toFixed(1)} files/s ` +
        `with p99 ≤ ${values.p99} ms: ${(r.ratio * 100).toFixed(0)} % of backfill`,
    );
    if (!r.backfill.ok) {
      console.error('bench/latency: the backfill lost or doubled files');
      process.exitCode = 1;
    }
  } else {
    const rate = Number(values.rate);
    const seconds = Number(values.seconds ?? 20);
    const files = fileSet(kind, Math.round(rate * seconds), devices);
    const t = await serveRun(services, files, { dir, tenant: 'bench_latency', kind, rate, extraArgs, nodeArgs });
    writeFileSync(join(dir, 'latency.json'), JSON.stringify({ date: new Date().toISOString(), kind, ...t }, null, 2));
    console.log(
      `| rate | files | committed | p50 | p90 | p99 | max | hook p50/p99 | ledger rows | points / expected |`,
    );
    console.log(`|---|---|---|---|---|---|---|---|---|---|`);
    console.log(
      `| ${rate}/s × ${seconds} s | ${t.files} | ${t.committed} | ${t.latencyMs.p50} ms | ${t.latencyMs.p90} ms | ` +
        `${t.latencyMs.p99} ms | ${t.latencyMs.max} ms | ${t.hookMs.p50}/${t.hookMs.p99} ms | ${t.totals.ledgerRows} | ` +
        `${t.totals.influxPoints} / ${t.expectedPoints} (hourly ${t.totals.hourlySamples}) |`,
    );
    console.log(`\nserve CPU: ${t.cpuSeconds} s for ${t.files} files`);
    if (!t.complete) {
      console.error('bench/latency: files lost or doubled (see the table)');
      process.exitCode = 1;
    }
  }
} finally {
  await services.close();
}

function row(t: ServeRun): string {
  return (
    `| ${t.rate.toFixed(1)}/s | ${t.files} | ${t.committed} | ${t.latencyMs.p50} ms | ${t.latencyMs.p99} ms | ` +
    `${t.latencyMs.max} ms | ${t.hookMs.p99} ms | ${t.complete ? 'yes' : 'LOST'} |`
  );
}
