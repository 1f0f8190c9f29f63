import { randomUUID } from 'node:crypto';
import { ErrorCodes, UsageError } from '../errors.js';
import { environment, resolveIngestConfig } from '../config/config.js';
import { resolveInfluxApi, resolveInfluxConfig, tenantNameProblem } from '../influx/config.js';
import { statSync } from 'node:fs';
import { discover } from '../pipeline/discover.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { runHead, totalsOf, type RunReport } from '../pipeline/report.js';
import { CountingSink, StreamSink, type LpSink } from '../pipeline/sink.js';
import { Progress } from './progress.js';
import { summaryTable, terminalColumns } from './summary.js';
import { runWrite } from './ingest-write.js';
import type { IngestFlags } from './ingest-flags.js';
export type { IngestFlags } from './ingest-flags.js';

/** `powerview ingest`: returns the exit code (0 all good, 1 some file failed, 2 usage, 3 a store unavailable). */
export async function runIngest(paths: string[], flags: IngestFlags): Promise<number> {
  if ((flags.company === undefined) !== (flags.campaign === undefined)) {
    throw new UsageError('--company and --campaign go together');
  }
  for (const [kind, name] of [
    ['company', flags.company],
    ['campaign', flags.campaign],
  ] as const) {
    const problem = name === undefined ? null : tenantNameProblem(kind, name);
    if (problem) throw new UsageError(`--${kind}: ${problem}`, ErrorCodes.TENANT_NAME);
  }
  if (flags.dryRun && flags.verify)
    throw new UsageError('--verify reads back what was written: it does not go with --dry-run');
  if (!flags.dryRun && flags.lpOut)
    throw new UsageError('--lp-out goes with --dry-run (it shows the line protocol that would be sent)');
  const env = environment();
  const config = resolveIngestConfig(flags, env);
  // a dry run sends nothing, but a wrong --influx-api is still a mistake worth saying before the real run
  if (flags.dryRun) resolveInfluxApi(flags.influxApi, env);
  const influx = flags.dryRun ? null : resolveInfluxConfig(flags, env);
  const tasks = await discover(paths, {
    root: config.dataRoot,
    includeProcessed: flags.includeProcessed,
    company: flags.company,
    campaign: flags.campaign,
    timeZone: config.v002TimeZone,
  });
  // nothing to ingest (every file processed already): the folder given is the root the reports go beside
  const given =
    paths.length === 1 && statSync(paths[0], { throwIfNoEntry: false })?.isDirectory() ? paths[0] : undefined;
  if (influx) return runWrite(tasks, flags, config, influx, given);
  const reportOut = flags.lpOut === '-' ? process.stderr : process.stdout;
  const human = !flags.json && reportOut.isTTY;
  const sink: LpSink = flags.lpOut ? new StreamSink(flags.lpOut) : new CountingSink();
  const totalBytes = tasks.reduce((s, t) => s + (t.size ?? 0), 0);
  const started = new Date();
  const t0 = performance.now();
  const progress =
    human && flags.progress !== false && process.stderr.isTTY ? new Progress(totalBytes, tasks.length) : null;
  const pipeline = new Pipeline({
    workers: config.workers,
    blockBytes: config.blockBytes,
    v002TimeZone: config.v002TimeZone,
    sink,
    onProgress: progress?.update,
    ...(progress ? { onFile: progress.fileDone } : {}),
  });
  let files;
  try {
    files = await pipeline.run(tasks);
    await sink.close();
  } finally {
    progress?.stop();
    await pipeline.close();
  }
  const totals = totalsOf(files);
  const report: RunReport = {
    ...runHead({
      runId: randomUUID(),
      dryRun: true,
      started,
      t0,
      points: totals.points,
      workers: pipeline.workers,
      v002TimeZone: config.v002TimeZone,
    }),
    totals,
    files,
  };
  const columns = terminalColumns(reportOut, env);
  reportOut.write(
    human ? `${summaryTable(report, { root: tasks[0]?.root, columns })}\n` : `${JSON.stringify(report, null, 2)}\n`,
  );
  return totals.files_failed > 0 ? 1 : 0;
}
