import { move, transferableSymbol, valueSymbol } from 'piscina';
import { parseBlock, type BlockResult } from '../tsv/block-parser.js';

export interface BlockTask {
  buf: Uint8Array;
  epochs: Uint32Array;
  firstLine: number;
  prefixes: Uint8Array;
  offsets: Int32Array;
  /** an output buffer handed back for reuse (memory stays flat) */
  out?: ArrayBuffer;
}

export interface BlockTaskResult extends BlockResult {
  /** the input buffer, handed back for reuse */
  input: Uint8Array;
}

/** Piscina worker: one block of whole lines in, line protocol out as transferred memory. */
export default function parseBlockTask(task: BlockTask): unknown {
  const parsed = parseBlock(task.buf, task.epochs, task.firstLine, { prefixes: task.prefixes, offsets: task.offsets }, task.out);
  const result: BlockTaskResult = { ...parsed, input: task.buf };
  return move({
    get [transferableSymbol]() {
      return [result.lp.buffer, task.buf.buffer];
    },
    get [valueSymbol]() {
      return result;
    },
  } as never);
}
