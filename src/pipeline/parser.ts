import type { BlockPlan } from '../tsv/block-parser.js';
import type { ScanResult } from '../tsv/scanner.js';
import { buildSeriesTable } from '../influx/series.js';
import type { BlockTaskResult } from './worker.js';
import { BlockPool } from './block-pool.js';
import type { FilePlan, FileState, FileTask } from './file-state.js';
import { firstPass, readFully } from './first-pass.js';
import { applyScan, fileQuality, newFileState } from './file-start.js';
import { FileCoverage } from './coverage.js';
import { takeFile } from './taken.js';
import { InputFile } from '../util/input-file.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../quality/thresholds.js';

export type { FileAggregates, FilePlan, FileState, FileTask } from './file-state.js';

export type Entry =
  | { kind: 'block'; file: FileState; result: Promise<BlockTaskResult>; bytes: number }
  | { kind: 'end'; file: FileState };

/** files up to this size are read once and kept for pass 2; larger ones are read again by block */
const KEEP_WHOLE = 8 << 20;

export interface ParserOptions {
  workers: number;
  blockBytes: number;
  maxInFlight: number;
  v002TimeZone: string;
  keepWholeBytes?: number;
  workerYoungGenerationMb?: number;
  takeFiles?: boolean;
  /** the Planner's PlanGate.planFile (planner.ts): after pass 1, what the file writes */
  planFile?: (task: FileTask, scan: ScanResult, sha256: string) => Promise<FilePlan>;
  /** the quality thresholds of a tenant (core.quality_thresholds, cached); absent: the defaults */
  thresholds?: (tenant: string) => Promise<Thresholds>;
}

/**
 * The Parser: a file's bytes → blocks of whole lines parsed on the Piscina
 * pool (block-pool.ts). Pass 1 (first-pass.ts) reads the timestamps and
 * hashes the file, the quality rules start and the plan is asked for, then
 * each block is read (or cut from the file kept whole) once a block slot is
 * free and handed to the pool.
 */
export class Parser {
  private readonly blocks: BlockPool;
  private readonly blockBytes: number;
  private readonly v002TimeZone: string;

  constructor(private readonly options: ParserOptions) {
    this.blockBytes = options.blockBytes;
    this.v002TimeZone = options.v002TimeZone;
    this.blocks = new BlockPool(
      options.workers,
      options.blockBytes,
      options.maxInFlight,
      options.workerYoungGenerationMb,
    );
  }

  close(): Promise<void> {
    return this.blocks.close();
  }

  /** Share of time the parser threads were busy (0..1); null on the main thread. */
  get utilization(): number | null {
    return this.blocks.utilization;
  }

  recycle(result: BlockTaskResult): void {
    this.blocks.recycle(result);
  }

  async readFile(
    task: FileTask,
    push: (e: Entry) => void,
    acquire: () => Promise<void>,
    release: () => void,
  ): Promise<void> {
    const state = newFileState(task, this.v002TimeZone);
    let handle: InputFile | null = null;
    try {
      // a file planned again (the coverage fence) is read again from the bytes it was taken with
      if (this.options.takeFiles && !task.taken) task.taken = (await takeFile(task.path)) ?? undefined;
      handle = InputFile.open(task.taken?.pin ?? task.path);
      const { whole, scan, sha256 } = await firstPass(handle, {
        blockBytes: this.blockBytes,
        v002TimeZone: this.v002TimeZone,
        keepWholeBytes: this.options.keepWholeBytes ?? KEEP_WHOLE,
        hash: !!this.options.planFile,
      });
      applyScan(state, scan, sha256, this.v002TimeZone);
      const thresholds = (await this.options.thresholds?.(task.identity.tenant)) ?? DEFAULT_THRESHOLDS;
      state.quality = fileQuality(scan, thresholds, !!this.options.planFile);
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
        const buf = this.blocks.inputBuffer(block.length);
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
        const rules = state.quality.rules;
        push({
          kind: 'block',
          file: state,
          result: this.blocks.parse(buf, block, table, plan, rules),
          bytes: block.length,
        });
      }
    } catch (err) {
      state.failure = err instanceof Error ? err : new Error(String(err));
      if (!state.report.bytes) state.report.bytes = task.size ?? 0;
    } finally {
      try {
        handle?.close();
      } catch {
        // a read-only descriptor: nothing was written that a failed close could lose
      }
      push({ kind: 'end', file: state });
    }
  }
}
