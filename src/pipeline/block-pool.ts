import { Piscina } from 'piscina';
import { parseBlock, type BlockPlan, type SeriesTable } from '../tsv/block-parser.js';
import type { Block } from '../tsv/scanner.js';
import type { RunRules } from '../tsv/value-runs.js';
import type { BlockTask, BlockTaskResult } from './worker.js';

/**
 * Pass 2's blocks on the Piscina pool (worker.ts), or on this thread with 0 workers. The input and output buffers
 * travel by transfer and come back with each result: recycle() keeps up to `maxInFlight` of each, so the steady
 * state allocates nothing.
 */
export class BlockPool {
  private readonly pool: Piscina | null;
  private readonly freeOut: ArrayBuffer[] = [];
  private readonly freeIn: ArrayBuffer[] = [];

  constructor(
    workers: number,
    private readonly blockBytes: number,
    private readonly maxInFlight: number,
    youngGenerationMb = 6,
  ) {
    this.pool =
      workers > 0
        ? new Piscina({
            filename: new URL('./worker.js', import.meta.url).href,
            minThreads: workers,
            maxThreads: workers,
            idleTimeout: 60_000,
            // V8 grows a busy isolate's young generation up to 48 MiB; the parser keeps
            // almost nothing alive, so a small one costs no speed and ~50 MB of RSS less
            resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb },
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

  /** A buffer for a block's bytes: a recycled one when one is large enough. */
  inputBuffer(length: number): Uint8Array {
    const i = this.freeIn.findIndex((b) => b.byteLength >= length);
    if (i >= 0) return new Uint8Array(this.freeIn.splice(i, 1)[0], 0, length);
    return new Uint8Array(new ArrayBuffer(Math.max(length, this.blockBytes + 4096)), 0, length);
  }

  recycle(result: BlockTaskResult): void {
    if (this.freeOut.length < this.maxInFlight) this.freeOut.push(result.lp.buffer as ArrayBuffer);
    if (this.freeIn.length < this.maxInFlight) this.freeIn.push(result.input.buffer as ArrayBuffer);
  }

  /** Both paths hand back the input buffer (recycled) and the row epochs (coverage). */
  parse(
    buf: Uint8Array,
    block: Block,
    table: SeriesTable,
    plan: BlockPlan | undefined,
    rules: RunRules,
  ): Promise<BlockTaskResult> {
    const out = this.freeOut.pop();
    if (!this.pool) {
      try {
        return Promise.resolve({
          ...parseBlock(buf, block.epochs, block.firstLine, table, out, plan, rules),
          input: buf,
          epochs: block.epochs,
        });
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
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
      rules,
    };
    const transfer: ArrayBuffer[] = [buf.buffer as ArrayBuffer, block.epochs.buffer as ArrayBuffer];
    if (out) transfer.push(out);
    if (plan?.skip) transfer.push(plan.skip.buffer as ArrayBuffer);
    return this.pool.run(task, { transferList: transfer as never });
  }
}
