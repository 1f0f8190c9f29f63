import { move, transferableSymbol, valueSymbol } from 'piscina';
import { parseBlock, type BlockResult } from '../tsv/block-parser.js';

export interface BlockTask {
  buf: Uint8Array;
  epochs: Uint32Array;
  firstLine: number;
  prefixes: Uint8Array;
  offsets: Int32Array;
}

/** Piscina worker: one block of whole lines in, line protocol out as transferred memory. */
export default function parseBlockTask(task: BlockTask): unknown {
  const result: BlockResult = parseBlock(task.buf, task.epochs, task.firstLine, {
    prefixes: task.prefixes,
    offsets: task.offsets,
  });
  return move({
    get [transferableSymbol]() {
      return [result.lp.buffer];
    },
    get [valueSymbol]() {
      return result;
    },
  } as never);
}
