import { EPOCH_CUT_REPEAT, EPOCH_DUPLICATE } from './timestamp.js';

/** A growable Uint32Array: 4 bytes a row and no per-element limit (a JS array or Set stops at 2^24). */
export class GrowableU32 {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

function lowerBound(arr: Uint32Array, n: number, v: number): number {
  let lo = 0,
    hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The times of a file's data rows in row order, for pass 1 (src/tsv/scanner.ts), and the within-file repeat rule:
 * one row per time stands, the last complete occurrence, else the first; the others become EPOCH_DUPLICATE, or
 * EPOCH_CUT_REPEAT for a row cut short (reported as truncated). Rows in increasing order cost 8 bytes each; only the
 * rows out of order are kept in sets.
 */
export class RowTimes {
  /** one entry per row: UTC epoch seconds, or an EPOCH_* marker */
  readonly epochs = new GrowableU32();
  /** epochs of rows that arrived in increasing order: sorted */
  private readonly increasing = new GrowableU32();
  private maxEpoch = 0;
  /** complete rows' times first seen out of order */
  private readonly outOfOrder = new Set<number>();
  /** times held by more than one row */
  private readonly repeated = new Set<number>();
  /** rows that cannot win a repeat (cut short) */
  private readonly cutRows = new Set<number>();
  /** times first seen out of order in a row cut short */
  private readonly cutTimes = new Set<number>();
  /** rows more than a day earlier than the latest row before them */
  backwardJumps = 0;

  get length(): number {
    return this.epochs.length;
  }

  /** A row without a time of its own (an EPOCH_* marker). */
  marker(m: number): void {
    this.epochs.push(m);
  }

  /** A row's time; true when it is out of order: the caller then says whether the row is cut short (outOfOrder). */
  time(utc: number): boolean {
    this.epochs.push(utc);
    if (utc > this.maxEpoch) {
      this.maxEpoch = utc;
      this.increasing.push(utc);
      return false;
    }
    if (this.maxEpoch - utc > 86400) this.backwardJumps++;
    return true;
  }

  /** The row just added by time() was out of order; `cut`: it has fewer cells than the header. */
  outOfOrderRow(utc: number, cut: boolean): void {
    if (cut) this.cutRows.add(this.epochs.length - 1);
    const at = lowerBound(this.increasing.data, this.increasing.length, utc);
    const seen =
      (at < this.increasing.length && this.increasing.data[at] === utc) ||
      this.outOfOrder.has(utc) ||
      this.cutTimes.has(utc);
    if (seen) this.repeated.add(utc);
    else if (cut) this.cutTimes.add(utc);
    else this.outOfOrder.add(utc);
  }

  /** Does any time that came out of order (complete rows) or repeats satisfy `test`? */
  someOutOfOrder(test: (utc: number) => boolean): boolean {
    for (const v of this.outOfOrder) if (test(v)) return true;
    for (const v of this.repeated) if (test(v)) return true;
    return false;
  }

  /** Applies the repeat rule; the rows' epochs (the backing array: rows [0, length)). */
  settle(): Uint32Array {
    const epochs = this.epochs.data;
    if (this.repeated.size === 0) return epochs;
    const won = new Set<number>();
    const first = new Map<number, number>();
    for (let r = this.epochs.length - 1; r >= 0; r--) {
      const t = epochs[r];
      if (!this.repeated.has(t)) continue;
      first.set(t, r);
      if (this.cutRows.has(r)) epochs[r] = EPOCH_CUT_REPEAT;
      else if (won.has(t)) epochs[r] = EPOCH_DUPLICATE;
      else won.add(t);
    }
    for (const [t, r] of first) if (!won.has(t)) epochs[r] = t;
    return epochs;
  }
}
