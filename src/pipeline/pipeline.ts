import { availableParallelism } from 'node:os';
import { DEFAULT_V002_TIME_ZONE, TimeZoneRules } from '../tsv/timezone.js';
import { mergeHourly } from '../tsv/hourly.js';
import type { ScanResult } from '../tsv/scanner.js';
import type { FileReport } from './report.js';
import { endFile } from './file-end.js';
import type { LpSink } from './sink.js';
import { HandOff, Slots } from '../util/flow.js';
import type { BlockTaskResult } from './worker.js';
import { Parser, type Entry, type FileAggregates, type FilePlan, type FileState, type FileTask } from './parser.js';
import type { Thresholds } from '../quality/thresholds.js';
import type { ConflictSource } from './conflicts.js';
import { ConflictChecks } from './conflict-checks.js';
import type { ConflictSummary } from '../model/conflicts.js';

export type { FileAggregates, FilePlan, FileTask } from './parser.js';

/** files whose re-export comparison runs beside the parser at once (each bounded: conflicts.ts) */
export const MAX_COMPARING_FILES = 4;

export interface PipelineOptions {
  /** parser threads; 0 parses on the main thread. Default: the machine's cores. */
  workers?: number;
  /** bytes of TSV per block sent to a worker (whole lines). Default 256 KiB. */
  blockBytes?: number;
  /** blocks parsed or waiting to be consumed at once. Default: workers + 2. */
  maxBlocksInFlight?: number;
  /** files up to this many bytes are read once and kept for pass 2; larger ones are read again. Default 8 MiB. */
  keepWholeBytes?: number;
  /** V8 young generation of each worker, MiB. Default 6 (V8's own default grows to 48). */
  workerYoungGenerationMb?: number;
  /** zone of V002 local times. Default Europe/Paris. */
  v002TimeZone?: string;
  /** receives the line protocol in file order; none: built and dropped */
  sink?: LpSink;
  onFile?: (report: FileReport, task: FileTask, aggregates: FileAggregates | null) => void;
  /** after pass 1 of each file: decides what it writes (held points, energy); absent: everything, no aggregates */
  planFile?: (task: FileTask, scan: ScanResult, sha256: string) => Promise<FilePlan>;
  /** the quality thresholds of a tenant (cached per run); absent: the defaults (docs/reports.md#quality-rules) */
  thresholds?: (tenant: string) => Promise<Thresholds>;
  /** run() is giving up (the sink failed): whatever the producer may be waiting for must let go */
  onAbort?: () => void;
  /** a file was consumed (all its blocks parsed), whatever its outcome */
  onConsumed?: (task: FileTask, aggregates: FileAggregates | null) => void;
  /**
   * keep every file's report and return them from run(); default true.
   * A long backfill passes false and takes them through onFile.
   */
  collectReports?: boolean;
  onProgress?: (progress: { bytes: number; points: number; files: number }) => void;
  /** pin each file when opened (lifecycle.ts takeFile): the file read is the file moved, whatever replaces the path */
  takeFiles?: boolean;
  /** held points are compared with the stored values (re-export conflicts, conflicts.ts) */
  conflicts?: ConflictSource;
}

/**
 * TSV files → line protocol + statistics. Pass 1 (this thread) reads each
 * file's timestamps; pass 2 parses blocks of whole lines on the Piscina pool.
 * Results are consumed in file order; the number of blocks in flight is
 * bounded, so memory does not depend on the input size.
 */
export class Pipeline {
  private readonly parser: Parser;
  readonly workers: number;
  private readonly maxInFlight: number;
  private readonly options: PipelineOptions;
  /** held points compared with the stored values, file by file */
  private readonly conflicts: ConflictChecks;

  constructor(options: PipelineOptions = {}) {
    this.options = options;
    this.conflicts = new ConflictChecks(options.conflicts);
    this.workers = options.workers ?? availableParallelism();
    if (!Number.isInteger(this.workers) || this.workers < 0)
      throw new TypeError('options.workers must be a non-negative integer');
    const blockBytes = options.blockBytes ?? 256 * 1024;
    if (!Number.isInteger(blockBytes) || blockBytes < 1)
      throw new TypeError('options.blockBytes must be a positive integer');
    this.maxInFlight = options.maxBlocksInFlight ?? this.workers + 2;
    const v002TimeZone = options.v002TimeZone ?? DEFAULT_V002_TIME_ZONE;
    TimeZoneRules.get(v002TimeZone);
    this.parser = new Parser({
      workers: this.workers,
      blockBytes,
      maxInFlight: this.maxInFlight,
      v002TimeZone,
      keepWholeBytes: options.keepWholeBytes,
      workerYoungGenerationMb: options.workerYoungGenerationMb,
      takeFiles: options.takeFiles,
      planFile: options.planFile,
      thresholds: options.thresholds,
    });
  }

  async close(): Promise<void> {
    await this.parser.close();
  }

  /** Share of time the parser threads were busy (0..1); null on the main thread. */
  get utilization(): number | null {
    return this.parser.utilization;
  }

  /** Blocks read and not yet consumed (parsing or waiting for the sink). */
  blocksInFlight = 0;

  /** Parses the files in order; `tasks` may be a stream (continuous service): run() ends when it does. */
  async run(tasks: Iterable<FileTask> | AsyncIterable<FileTask>): Promise<FileReport[]> {
    const slots = new Slots(this.maxInFlight);
    const queue = new HandOff<Entry>();
    const push = (e: Entry) => {
      // observed now, awaited in order later: a failure is never unhandled
      if (e.kind === 'block') {
        e.result.catch(() => {});
        this.blocksInFlight++;
      }
      queue.push(e);
    };
    const producer = (async () => {
      try {
        for await (const task of tasks) {
          if (slots.isAborted) break;
          await this.parser.readFile(
            task,
            push,
            () => slots.acquire(),
            () => slots.release(),
          );
        }
      } finally {
        queue.close();
      }
    })();
    try {
      const reports = await this.consume(queue, slots);
      await producer;
      return reports;
    } catch (err) {
      // the sink failed: stop reading, let the producer unwind, report the cause
      slots.abort();
      // a producer waiting for a file that will never be consumed (exactly-once) must not wait forever
      this.options.onAbort?.();
      await producer.catch(() => {});
      throw err;
    }
  }

  /** Takes entries in file order; a file still comparing ends beside the loop (at most MAX_COMPARING_FILES). */
  private async consume(queue: HandOff<Entry>, slots: Slots): Promise<FileReport[]> {
    const reports: FileReport[] = [];
    const collect = this.options.collectReports ?? true;
    const tally = { files: 0, bytesDone: 0, points: 0 };
    let fileBytes = 0;
    /** files ending once their comparison is done; the first error of one (a callback's) is thrown here */
    const ending = new Set<Promise<void>>();
    let endError = null as { error: unknown } | null;
    const end = (file: FileState, conflicts: ConflictSummary | null, slot: number) => {
      const { report, aggregates } = endFile(file, conflicts, this.options);
      if (collect) reports[slot] = report;
      tally.files++;
      this.options.onFile?.(report, file.task, aggregates);
      this.options.onProgress?.({ bytes: tally.bytesDone, points: tally.points, files: tally.files });
    };
    try {
      for (let entry = await queue.next(); entry; entry = await queue.next()) {
        if (endError) throw endError.error;
        if (entry.kind === 'end') {
          const file = entry.file;
          const slot = collect ? reports.push(undefined as unknown as FileReport) - 1 : -1;
          tally.bytesDone += file.report.bytes;
          fileBytes = 0;
          const comparing = this.conflicts.finish(file);
          if (!comparing) {
            end(file, null, slot);
            continue;
          }
          const done: Promise<void> = comparing
            .then((conflicts) => end(file, conflicts, slot))
            .catch((error: unknown) => void (endError ??= { error }))
            .finally(() => ending.delete(done));
          ending.add(done);
          while (ending.size >= MAX_COMPARING_FILES) await Promise.race(ending);
          continue;
        }
        if (!(await this.takeBlock(entry, slots, tally))) continue;
        fileBytes += entry.bytes;
        this.options.onProgress?.({ bytes: tally.bytesDone + fileBytes, points: tally.points, files: tally.files });
      }
      while (ending.size > 0) await Promise.race(ending);
      if (endError) throw endError.error;
    } finally {
      // the run stops: the files still comparing end first (their reports are not lost)
      while (ending.size > 0) await Promise.race(ending);
    }
    return reports;
  }

  /** A block: statistics, aggregates, the comparison's copy, the sink (backpressure); false: it failed to parse. */
  private async takeBlock(
    entry: Extract<Entry, { kind: 'block' }>,
    slots: Slots,
    tally: { points: number },
  ): Promise<boolean> {
    const sink = this.options.sink;
    let result: BlockTaskResult;
    try {
      result = await entry.result;
    } catch (err) {
      this.blocksInFlight--;
      entry.file.failure ??= err instanceof Error ? err : new Error(String(err));
      slots.release();
      return false;
    }
    if (!entry.file.failure) {
      try {
        entry.file.stats!.add(result.stats);
        const agg = entry.file.agg;
        if (agg && result.agg) {
          mergeHourly(agg.hourly, result.agg.hourly);
          agg.coverage.addBlock(result.epochs, result.agg.brought);
          agg.skippedPoints += result.agg.skippedPoints;
        }
        if (result.runs) entry.file.quality?.values.addBlock(result.runs, result.stats.channels.count);
      } catch (err) {
        // one file's bug or limit (a RangeError, say) fails that file alone, with its cause: never the run
        entry.file.failure = err instanceof Error ? err : new Error(String(err));
      }
    }
    const held = result.agg?.heldCells;
    if (!entry.file.failure && held && held.length > 0) {
      // copied for the comparison; waits only when this file's comparison is too far behind
      const behind = this.conflicts.add(entry.file, result.epochs, held, result.agg!.heldValues);
      if (behind) await behind;
    }
    if (!entry.file.failure) {
      tally.points += result.stats.points;
      if (sink && result.lpLength > 0) await sink.write(result.lp.subarray(0, result.lpLength), entry.file.task);
    }
    this.parser.recycle(result);
    this.blocksInFlight--;
    slots.release();
    return true;
  }
}
