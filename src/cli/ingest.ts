import { randomUUID } from 'node:crypto';
import { SingleBar, Presets } from 'cli-progress';
import { UsageError } from '../errors.js';
import { resolveIngestConfig } from '../config/config.js';
import { discover } from '../pipeline/discover.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { totalsOf, type RunReport } from '../pipeline/report.js';
import { CountingSink, StreamSink, type LpSink } from '../pipeline/sink.js';
import { summaryTable } from './summary.js';

export interface IngestFlags {
  dryRun?: boolean;
  json?: boolean;
  lpOut?: string;
  root?: string;
  v002Timezone?: string;
  workers?: string;
  blockSize?: string;
  includeProcessed?: boolean;
  company?: string;
  campaign?: string;
  progress?: boolean;
}

/** `powerview ingest`: returns the exit code (0 all good, 1 some file failed). */
export async function runIngest(paths: string[], flags: IngestFlags): Promise<number> {
  if (!flags.dryRun) {
    throw new UsageError('writing to InfluxDB is not available in this version yet: run with --dry-run');
  }
  if ((flags.company === undefined) !== (flags.campaign === undefined)) {
    throw new UsageError('--company and --campaign go together');
  }
  const config = resolveIngestConfig(flags);
  const tasks = await discover(paths, {
    root: config.dataRoot,
    includeProcessed: flags.includeProcessed,
    company: flags.company,
    campaign: flags.campaign,
  });
  const reportOut = flags.lpOut === '-' ? process.stderr : process.stdout;
  const human = !flags.json && reportOut.isTTY === true;
  const sink: LpSink = flags.lpOut ? new StreamSink(flags.lpOut) : new CountingSink();
  const totalBytes = tasks.reduce((s, t) => s + (t.size ?? 0), 0);
  const started = new Date();
  const t0 = performance.now();
  let bar: SingleBar | null = null;
  if (human && flags.progress !== false && process.stderr.isTTY) {
    bar = new SingleBar(
      { format: ' {bar} {percentage}% | {files}/{totalFiles} files | {mpts} Mpoints/s | ETA {eta_formatted}', hideCursor: true },
      Presets.shades_classic,
    );
    bar.start(Math.max(totalBytes, 1), 0, { files: 0, totalFiles: tasks.length, mpts: '0.0' });
  }
  const pipeline = new Pipeline({
    workers: config.workers,
    blockBytes: config.blockBytes,
    v002TimeZone: config.v002TimeZone,
    sink,
    onProgress: bar
      ? (p) => {
          const secs = (performance.now() - t0) / 1000;
          bar!.update(p.bytes, { files: p.files, mpts: (p.points / secs / 1e6).toFixed(1) });
        }
      : undefined,
  });
  let files;
  try {
    files = await pipeline.run(tasks);
    await sink.close();
  } finally {
    bar?.stop();
    await pipeline.close();
  }
  const durationMs = performance.now() - t0;
  const totals = totalsOf(files);
  const report: RunReport = {
    run_id: randomUUID(),
    dry_run: true,
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: Math.round(durationMs),
    points_per_second: durationMs > 0 ? Math.round(totals.points / (durationMs / 1000)) : 0,
    workers: pipeline.workers,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    v002_timezone: config.v002TimeZone,
    totals,
    files,
  };
  reportOut.write(human ? `${summaryTable(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  return totals.files_failed > 0 ? 1 : 0;
}
