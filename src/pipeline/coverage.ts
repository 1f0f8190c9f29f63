import { GrowableU32 } from '../tsv/row-times.js';
import { EPOCH_MIN_VALID } from '../tsv/timestamp.js';

/** A run of regular timestamps: start, start + step, …, n of them (epoch seconds). */
import type { Run } from '../model/values.js';
export type { Run } from '../model/values.js';

export const runEnd = (r: Run): number => r.start + r.step * (r.n - 1);

/** Sorted distinct epochs → the fewest greedy runs of constant step. */
export function runsOf(sorted: ArrayLike<number>): Run[] {
  const out: Run[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i];
    if (i + 1 >= sorted.length) {
      out.push({ start, step: 1, n: 1 });
      break;
    }
    const step = sorted[i + 1] - start;
    let n = 2;
    while (i + n < sorted.length && sorted[i + n] - sorted[i + n - 1] === step) n++;
    out.push({ start, step, n });
    i += n;
  }
  return out;
}

/** One group's runs, clipped to the window, sorted by start, with the running maximum of their ends. */
interface RunIndex {
  starts: Float64Array;
  steps: Float64Array;
  ends: Float64Array;
  /** maxEnd[i] = max(ends[0..i]) */
  maxEnd: Float64Array;
}

function indexRuns(list: Run[], from: number, to: number): RunIndex {
  const clipped: Array<[number, number, number]> = [];
  for (const r of list) {
    const first = r.start >= from ? 0 : Math.ceil((from - r.start) / r.step);
    const start = r.start + first * r.step;
    if (first >= r.n || start > to) continue;
    const last = Math.min(r.n - 1, r.start <= to ? Math.floor((to - r.start) / r.step) : -1);
    if (last < first) continue;
    // a single point may be stored with step 0
    clipped.push([start, r.step > 0 ? r.step : 1, r.start + last * r.step]);
  }
  clipped.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const n = clipped.length;
  const idx: RunIndex = {
    starts: new Float64Array(n),
    steps: new Float64Array(n),
    ends: new Float64Array(n),
    maxEnd: new Float64Array(n),
  };
  let max = -Infinity;
  clipped.forEach(([start, step, end], i) => {
    idx.starts[i] = start;
    idx.steps[i] = step;
    idx.ends[i] = end;
    max = Math.max(max, end);
    idx.maxEnd[i] = max;
  });
  return idx;
}

/** Whether t is one of the runs' timestamps: binary search, then back over the runs that still reach t. */
function heldIn(idx: RunIndex, t: number): boolean {
  let lo = 0;
  let hi = idx.starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (idx.starts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo - 1; i >= 0 && idx.maxEnd[i] >= t; i--) {
    if (t <= idx.ends[i] && (t - idx.starts[i]) % idx.steps[i] === 0) return true;
  }
  return false;
}

/**
 * The points one device already holds, per channel, over a time window:
 * channels with the same runs share one index, so a lookup costs one probe
 * per group of channels, not one per cell. Held points stay runs (start,
 * step, count): memory and building cost O(runs in the window), a lookup a
 * binary search, whatever the window's length or the number of timestamps
 * (a clock-reset row years back makes the window years long).
 */
export class HeldPoints {
  private readonly groups: Array<{ channels: number[]; runs: RunIndex }> = [];

  /** `runs[c]`: every run known for channel c (may overlap); only [from, to] counts. */
  constructor(runs: Run[][], from: number, to: number) {
    const bySignature = new Map<string, { channels: number[]; runs: Run[] }>();
    runs.forEach((list, c) => {
      const inWindow = list.filter((r) => r.n > 0 && runEnd(r) >= from && r.start <= to);
      if (inWindow.length === 0) return;
      inWindow.sort((a, b) => a.start - b.start || a.step - b.step || a.n - b.n);
      const sig = inWindow.map((r) => `${r.start}/${r.step}/${r.n}`).join(',');
      const g = bySignature.get(sig);
      if (g) g.channels.push(c);
      else bySignature.set(sig, { channels: [c], runs: inWindow });
    });
    for (const { channels, runs: list } of bySignature.values()) {
      const idx = indexRuns(list, from, to);
      if (idx.starts.length) this.groups.push({ channels, runs: idx });
    }
  }

  get empty(): boolean {
    return this.groups.length === 0;
  }

  /** Whether channel c already holds time t. */
  has(c: number, t: number): boolean {
    return this.groups.some((g) => g.channels.includes(c) && heldIn(g.runs, t));
  }

  /** Row-major rows × channels mask of the cells already held, or null when none is. */
  skipMask(epochs: Uint32Array, channels: number): Uint8Array | null {
    if (this.groups.length === 0) return null;
    let mask: Uint8Array | null = null;
    for (let r = 0; r < epochs.length; r++) {
      const t = epochs[r];
      if (t < EPOCH_MIN_VALID) continue;
      for (const g of this.groups) {
        if (!heldIn(g.runs, t)) continue;
        mask ??= new Uint8Array(epochs.length * channels);
        for (const c of g.channels) mask[r * channels + c] = 1;
      }
    }
    return mask;
  }
}

/** Sorts a typed array in place and drops repeats; returns the distinct prefix. */
function sortedDistinct(a: Uint32Array): Uint32Array {
  a.sort();
  let k = 0;
  for (let i = 0; i < a.length; i++) if (k === 0 || a[i] !== a[k - 1]) a[k++] = a[i];
  return a.subarray(0, k);
}

/** Merges two sorted distinct arrays into one sorted distinct array. */
function mergeDistinct(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0,
    j = 0,
    k = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (k === 0 || out[k - 1] !== v) out[k++] = v;
  }
  return out.subarray(0, k);
}

/**
 * What one file wrote, cell by cell, gathered block by block: rows where
 * every channel wrote (the usual case) once, the exceptions per channel.
 * Epochs are kept in typed arrays and sorted numerically in place, so a file
 * of any row count (20 M rows and more) gives its runs.
 */
export class FileCoverage {
  private readonly full = new GrowableU32();
  private readonly partial: GrowableU32[];

  constructor(private readonly channels: number) {
    this.partial = Array.from({ length: channels }, () => new GrowableU32());
  }

  addBlock(epochs: Uint32Array, wrote: Uint8Array): void {
    const n = this.channels;
    for (let r = 0; r < epochs.length; r++) {
      let count = 0;
      for (let c = 0; c < n; c++) count += wrote[r * n + c];
      if (count === 0) continue;
      if (count === n) this.full.push(epochs[r]);
      else for (let c = 0; c < n; c++) if (wrote[r * n + c] === 1) this.partial[c].push(epochs[r]);
    }
  }

  /** Runs per channel (channels that wrote nothing: empty). */
  runs(): Run[][] {
    const full = sortedDistinct(this.full.view());
    const shared = runsOf(full);
    return this.partial.map((extra) => {
      if (extra.length === 0) return shared;
      return runsOf(mergeDistinct(full, sortedDistinct(extra.view())));
    });
  }
}

/**
 * One pass over a file's row epochs: the first and last valid time, and the
 * sampling period, the most frequent positive interval between consecutive
 * valid rows (60 s when unknown). from > to when no row is valid.
 */
export function timeProfile(epochLists: Iterable<Uint32Array>): { from: number; to: number; step: number } {
  const counts = new Map<number, number>();
  let from = Infinity;
  let to = -Infinity;
  let prev = -1;
  for (const epochs of epochLists) {
    for (let i = 0; i < epochs.length; i++) {
      const t = epochs[i];
      if (t < EPOCH_MIN_VALID) continue;
      if (t < from) from = t;
      if (t > to) to = t;
      if (prev >= 0 && t > prev && t - prev <= 86_400) counts.set(t - prev, (counts.get(t - prev) ?? 0) + 1);
      prev = t;
    }
  }
  let step = 60;
  let bestCount = 0;
  for (const [delta, n] of counts) {
    if (n > bestCount || (n === bestCount && delta < step)) {
      step = delta;
      bestCount = n;
    }
  }
  return { from, to, step };
}

/** The file's sampling period (see timeProfile). */
export function samplingStep(epochLists: Iterable<Uint32Array>): number {
  return timeProfile(epochLists).step;
}
