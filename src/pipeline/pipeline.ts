import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { FileFormatError, ErrorCodes, errorMessage, PowerViewError } from '../errors.js';
import { parseBlock } from '../tsv/block-parser.js';
import type { Block } from '../tsv/scanner.js';
import { FileScanner } from '../tsv/scanner.js';
import { buildSeriesTable, type FileIdentity } from '../tsv/series.js';
import { DEFAULT_V002_TIME_ZONE, TimeZoneRules } from '../tsv/timezone.js';
import { exportTimeOf } from './export-order.js';
import type { SeriesTable } from '../tsv/block-parser.js';
import type { FileHeader } from '../tsv/header.js';
import { applyHeader, applyStats, emptyFileReport, type FileReport } from './report.js';
import type { LpSink } from './sink.js';
import { FileStats } from './stats.js';
import { HandOff, Slots } from '../util/flow.js';
import type { BlockTask, BlockTaskResult } from './worker.js';
import { FileCoverage, type HeldPoints, type Run } from './coverage.js';
import type { BlockPlan } from '../tsv/block-parser.js';
import { mergeHourly } from '../tsv/hourly.js';
import type { ScanResult } from '../tsv/scanner.js';
import { takeFile, type Taken } from './lifecycle.js';

/** How a file is to be written, decided after pass 1 (exactly-once, docs/architecture.md#postgresql-output-and-exactly-once). */
export interface FilePlan {
  /** the same bytes were ingested before: nothing is parsed or written; the reason */
  noop?: string;
  /** points an earlier file already brought: skipped in both stores */
  held: HeldPoints | null;
  /** per channel: 1 for power (W) channels */
  power: Uint8Array;
  /** the file's sampling period, seconds (energy) */
  stepSeconds: number;
  /** for the file's report */
  warnings?: string[];
}

/** What a planned file wrote: hourly partials per channel and its coverage. */
export interface FileAggregates {
  sha256: string;
  header: FileHeader;
  /** HOURLY_FIELDS numbers per (channel, hour) */
  hourly: Map<number, Float64Array>;
  /** runs of timestamps written, per channel (index as in header.channels) */
  coverage: Run[][];
  skippedPoints: number;
  noop: string | null;
}

export interface PipelineOptions {
  /** parser threads; 0 parses on the main thread. Default: the machine's cores. */
  workers?: number;
  /** bytes of TSV per block sent to a worker (whole lines). Default 256 KiB. */
  blockBytes?: number;
  /** blocks parsed or waiting to be consumed at once. Default: workers + 2. */
  maxBlocksInFlight?: number;
  /** files up to this many bytes are read once and kept for pass 2; larger ones are read again block by block. Default 8 MiB. */
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
  /** run() is giving up (the sink failed): whatever the producer may be waiting for must let go */
  onAbort?: () => void;
  /** a file was consumed (all its blocks parsed), whatever its outcome */
  onConsumed?: (task: FileTask, aggregates: FileAggregates | null) => void;
  /** keep every file's report and return them from run(); default true. A long backfill passes false and takes them through onFile. */
  collectReports?: boolean;
  onProgress?: (progress: { bytes: number; points: number; files: number }) => void;
  /** pin each file when it is opened (lifecycle.ts takeFile): the file read is the file moved, whatever replaces the path */
  takeFiles?: boolean;
}

export interface FileTask {
  path: string;
  identity: FileIdentity;
  /** bytes, when known up front (progress) */
  size?: number;
  /** the data root the file was found under, when known */
  root?: string;
  /** when the upload was known complete (ms since the epoch; serve): the file's end-to-end latency starts here */
  receivedAt?: number;
  /** set when the file is opened with `takeFiles`: the pinned file that is read (lifecycle.ts) */
  taken?: Taken;
}

interface FileState {
  task: FileTask;
  report: FileReport;
  header: FileHeader | null;
  stats: FileStats | null;
  started: number;
  failure: PowerViewError | Error | null;
  plan: FilePlan | null;
  agg: { hourly: Map<number, Float64Array>; coverage: FileCoverage; skippedPoints: number; sha256: string } | null;
}

type Entry =
  | { kind: 'block'; file: FileState; result: Promise<BlockTaskResult>; bytes: number }
  | { kind: 'end'; file: FileState };

const READ_CHUNK = 1 << 20;
/** files up to this size are read once and kept for pass 2; larger ones are read again by block */
const KEEP_WHOLE = 8 << 20;

/**
 * TSV files → line protocol + statistics. Pass 1 (this thread) reads each
 * file's timestamps; pass 2 parses blocks of whole lines on the Piscina pool.
 * Results are consumed in file order; the number of blocks in flight is
 * bounded, so memory does not depend on the input size.
 */
export class Pipeline {
  private readonly pool: Piscina | null;
  readonly workers: number;
  private readonly blockBytes: number;
  private readonly maxInFlight: number;
  private readonly v002TimeZone: string;
  private readonly options: PipelineOptions;
  /** output and input buffers handed back by consumed blocks: steady state allocates nothing */
  private readonly freeOut: ArrayBuffer[] = [];
  private readonly freeIn: ArrayBuffer[] = [];

  constructor(options: PipelineOptions = {}) {
    this.options = options;
    this.workers = options.workers ?? availableParallelism();
    if (!Number.isInteger(this.workers) || this.workers < 0)
      throw new TypeError('options.workers must be a non-negative integer');
    this.blockBytes = options.blockBytes ?? 256 * 1024;
    if (!Number.isInteger(this.blockBytes) || this.blockBytes < 1)
      throw new TypeError('options.blockBytes must be a positive integer');
    this.maxInFlight = options.maxBlocksInFlight ?? this.workers + 2;
    this.v002TimeZone = options.v002TimeZone ?? DEFAULT_V002_TIME_ZONE;
    TimeZoneRules.get(this.v002TimeZone);
    this.pool =
      this.workers > 0
        ? new Piscina({
            filename: new URL('./worker.js', import.meta.url).href,
            minThreads: this.workers,
            maxThreads: this.workers,
            idleTimeout: 60_000,
            // V8 grows a busy isolate's young generation up to 48 MiB; the parser keeps
            // almost nothing alive, so a small one costs no speed and ~50 MB of RSS less
            resourceLimits: { maxYoungGenerationSizeMb: options.workerYoungGenerationMb ?? 6 },
          })
        : null;
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }

  /** Share of time the parser threads were busy (0..1); null on the main thread. */
  get utilization(): number | null {
    return this.pool ? this.pool.utilization : null;
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
          await this.produceFile(
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

  /** Takes blocks in file order: statistics, the sink (with its backpressure), buffer recycling. */
  private async consume(queue: HandOff<Entry>, slots: Slots): Promise<FileReport[]> {
    const reports: FileReport[] = [];
    const collect = this.options.collectReports ?? true;
    let files = 0;
    const sink = this.options.sink;
    let bytesDone = 0;
    let fileBytes = 0;
    let points = 0;
    for (let entry = await queue.next(); entry; entry = await queue.next()) {
      if (entry.kind === 'end') {
        let aggregates: FileAggregates | null = null;
        try {
          aggregates = this.aggregatesOf(entry.file);
        } catch (err) {
          // one file's bug or limit fails that file alone, never the run
          entry.file.failure ??= err instanceof Error ? err : new Error(String(err));
        }
        const report = this.finishFile(entry.file);
        this.options.onConsumed?.(entry.file.task, aggregates);
        sink?.endFile?.(entry.file.task);
        if (collect) reports.push(report);
        files++;
        bytesDone += report.bytes;
        fileBytes = 0;
        this.options.onFile?.(report, entry.file.task, aggregates);
        this.options.onProgress?.({ bytes: bytesDone, points, files });
        continue;
      }
      let result: BlockTaskResult;
      try {
        result = await entry.result;
      } catch (err) {
        this.blocksInFlight--;
        entry.file.failure ??= err instanceof Error ? err : new Error(String(err));
        slots.release();
        continue;
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
        } catch (err) {
          // one file's bug or limit (a RangeError, say) fails that file alone, with its cause: never the run
          entry.file.failure = err instanceof Error ? err : new Error(String(err));
        }
      }
      if (!entry.file.failure) {
        points += result.stats.points;
        if (sink && result.lpLength > 0) await sink.write(result.lp.subarray(0, result.lpLength), entry.file.task);
      }
      this.recycle(result);
      this.blocksInFlight--;
      slots.release();
      fileBytes += entry.bytes;
      this.options.onProgress?.({ bytes: bytesDone + fileBytes, points, files });
    }
    return reports;
  }

  private async produceFile(
    task: FileTask,
    push: (e: Entry) => void,
    acquire: () => Promise<void>,
    release: () => void,
  ): Promise<void> {
    const state: FileState = {
      task,
      report: emptyFileReport(task.path, task.identity),
      header: null,
      stats: null,
      started: performance.now(),
      failure: null,
      plan: null,
      agg: null,
    };
    state.report.export_time = exportTimeOf(task.path, this.v002TimeZone);
    let handle: FileHandle | null = null;
    try {
      // a file planned again (the coverage fence) is read again from the bytes it was taken with
      if (this.options.takeFiles && !task.taken) task.taken = (await takeFile(task.path)) ?? undefined;
      handle = await open(task.taken?.pin ?? task.path, 'r');
      const scanner = new FileScanner({
        blockBytes: this.blockBytes,
        v002TimeZone: this.v002TimeZone,
        isValidZone: TimeZoneRules.isValid,
      });
      // a logger file usually fits in one read: keep it for pass 2 instead of reading it again
      const whole =
        (await handle.stat()).size <= (this.options.keepWholeBytes ?? KEEP_WHOLE) ? await handle.readFile() : null;
      const hash = this.options.planFile ? createHash('sha256') : null;
      if (whole) {
        scanner.push(whole);
        hash?.update(whole);
      } else {
        const chunk = Buffer.allocUnsafe(READ_CHUNK);
        for (;;) {
          const { bytesRead } = await handle.read(chunk, 0, READ_CHUNK, null);
          if (bytesRead === 0) break;
          scanner.push(chunk.subarray(0, bytesRead));
          hash?.update(chunk.subarray(0, bytesRead));
        }
      }
      // the file's identity in the ledger, known even when the file turns out unreadable
      const sha256 = hash ? hash.digest('hex') : null;
      if (sha256) state.report.sha256 = sha256;
      const scan = scanner.end();
      state.report.bytes = scan.bytes;
      state.header = scan.header;
      state.report.warnings.push(...scan.warnings);
      const device = task.identity.device;
      if (device && device !== scan.header.masterSn) {
        state.report.warnings.push(
          `folder ${device} but the header's master is ${scan.header.masterSn}: the header wins`,
        );
      }
      applyHeader(state.report, scan.header, scan.basis);
      state.report.export_time = exportTimeOf(
        task.path,
        this.v002TimeZone,
        scan.basis.kind === 'utc' && scan.basis.source === 'header',
      );
      state.stats = new FileStats(scan.header.channels.length);
      if (scan.rows === 0) throw new FileFormatError(ErrorCodes.NO_VALID_ROW, 'no data rows (header only)');
      if (this.options.planFile && sha256) {
        state.plan = await this.options.planFile(task, scan, sha256);
        if (state.plan.warnings) state.report.warnings.push(...state.plan.warnings);
        state.agg = {
          hourly: new Map(),
          coverage: new FileCoverage(scan.header.channels.length),
          skippedPoints: 0,
          sha256,
        };
        if (state.plan.noop) return;
      }
      const table = buildSeriesTable(scan.header, task.identity);
      const n = scan.header.channels.length;
      for (const block of scan.blocks) {
        await acquire();
        const buf = this.inputBuffer(block.length);
        try {
          if (whole) buf.set(whole.subarray(block.offset, block.offset + block.length));
          else await readFully(handle, buf, block.offset);
        } catch (err) {
          // no block entry will give this slot back
          release();
          throw err;
        }
        let plan: BlockPlan | undefined;
        if (state.plan) {
          plan = {
            skip: state.plan.held?.skipMask(block.epochs, n) ?? null,
            power: state.plan.power,
            stepSeconds: state.plan.stepSeconds,
          };
        }
        push({ kind: 'block', file: state, result: this.parse(buf, block, table, plan), bytes: block.length });
      }
    } catch (err) {
      state.failure = err instanceof Error ? err : new Error(String(err));
      if (!state.report.bytes) state.report.bytes = task.size ?? 0;
    } finally {
      await handle?.close().catch(() => {});
      push({ kind: 'end', file: state });
    }
  }

  private inputBuffer(length: number): Uint8Array {
    const i = this.freeIn.findIndex((b) => b.byteLength >= length);
    if (i >= 0) return new Uint8Array(this.freeIn.splice(i, 1)[0], 0, length);
    return new Uint8Array(new ArrayBuffer(Math.max(length, this.blockBytes + 4096)), 0, length);
  }

  private recycle(result: BlockTaskResult): void {
    if (this.freeOut.length < this.maxInFlight) this.freeOut.push(result.lp.buffer as ArrayBuffer);
    if (this.freeIn.length < this.maxInFlight) this.freeIn.push(result.input.buffer as ArrayBuffer);
  }

  /** Both paths hand back the input buffer (recycled) and the row epochs (coverage). */
  private parse(buf: Uint8Array, block: Block, table: SeriesTable, plan?: BlockPlan): Promise<BlockTaskResult> {
    const out = this.freeOut.pop();
    if (!this.pool) {
      try {
        return Promise.resolve({
          ...parseBlock(buf, block.epochs, block.firstLine, table, out, plan),
          input: buf,
          epochs: block.epochs,
        });
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const task: BlockTask = {
      buf,
      epochs: block.epochs,
      firstLine: block.firstLine,
      prefixes: table.prefixes,
      offsets: table.offsets,
      ...(out ? { out } : {}),
      ...(plan ? { plan } : {}),
    };
    const transfer: ArrayBuffer[] = [buf.buffer as ArrayBuffer, block.epochs.buffer as ArrayBuffer];
    if (out) transfer.push(out);
    if (plan?.skip) transfer.push(plan.skip.buffer as ArrayBuffer);
    return this.pool.run(task, { transferList: transfer as never });
  }

  private aggregatesOf(state: FileState): FileAggregates | null {
    if (!state.agg || !state.header) return null;
    return {
      sha256: state.agg.sha256,
      header: state.header,
      hourly: state.agg.hourly,
      coverage: state.failure ? state.header.channels.map(() => []) : state.agg.coverage.runs(),
      skippedPoints: state.agg.skippedPoints,
      noop: state.plan?.noop ?? null,
    };
  }

  private finishFile(state: FileState): FileReport {
    const report = state.report;
    if (state.header && state.stats) applyStats(report, state.header, state.stats);
    let failure = state.failure;
    if (!failure && report.points === 0 && !state.plan?.noop && !(state.agg && state.agg.skippedPoints > 0)) {
      const reasons = [
        report.invalid_timestamps.count && `${report.invalid_timestamps.count} invalid timestamps`,
        report.invalid_values.count && `${report.invalid_values.count} invalid values`,
        report.truncated_rows.count && `${report.truncated_rows.count} truncated rows`,
      ].filter(Boolean);
      failure = new FileFormatError(
        ErrorCodes.NO_VALID_ROW,
        `no valid row${reasons.length ? ` (${reasons.join(', ')})` : ''}`,
      );
    }
    if (failure) {
      report.status = 'error';
      report.error = {
        code: failure instanceof PowerViewError ? failure.code : ErrorCodes.READ,
        message: errorMessage(failure).split('\n')[0],
        ...(failure instanceof FileFormatError && failure.line !== undefined ? { line: failure.line } : {}),
      };
    }
    report.duration_ms = Math.round(performance.now() - state.started);
    return report;
  }
}

async function readFully(handle: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new FileFormatError(ErrorCodes.READ, 'file shrank while being read');
    done += bytesRead;
  }
}
