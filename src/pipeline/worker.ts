import { move, transferableSymbol, valueSymbol } from 'piscina';
import { parseBlock, type BlockPlan, type BlockResult } from '../tsv/block-parser.js';
import type { RunRules } from '../tsv/value-runs.js';

export interface BlockTask {
  buf: Uint8Array;
  epochs: Uint32Array;
  firstLine: number;
  prefixes: Uint8Array;
  offsets: Int32Array;
  /** an output buffer handed back for reuse (memory stays flat) */
  out?: ArrayBuffer;
  /** exactly-once and aggregation inputs, when PostgreSQL is on */
  plan?: BlockPlan;
  /** the quality rules' value runs (docs/reports.md#quality-rules) */
  rules?: RunRules;
}

export interface BlockTaskResult extends BlockResult {
  /** the input buffer, handed back for reuse */
  input: Uint8Array;
  /** the row epochs, handed back (coverage needs them) */
  epochs: Uint32Array;
}

/** Piscina worker: one block of whole lines in, line protocol out as transferred memory. */
export default function parseBlockTask(task: BlockTask): unknown {
  const parsed = parseBlock(
    task.buf,
    task.epochs,
    task.firstLine,
    { prefixes: task.prefixes, offsets: task.offsets },
    task.out,
    task.plan,
    task.rules,
  );
  const result: BlockTaskResult = { ...parsed, input: task.buf, epochs: task.epochs };
  return move({
    get [transferableSymbol]() {
      const list: ArrayBufferLike[] = [result.lp.buffer, task.buf.buffer, task.epochs.buffer];
      if (result.agg) {
        const a = result.agg;
        list.push(a.hourly.buffer, a.brought.buffer, a.heldCells.buffer, a.heldValues.buffer);
      }
      if (result.runs) list.push(result.runs.runs.buffer, result.runs.firstTime.buffer);
      return list;
    },
    get [valueSymbol]() {
      return result;
    },
  });
}
