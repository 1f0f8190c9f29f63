import { EPOCH_MIN_VALID } from '../tsv/timestamp.js';

/** Hourly partials are keyed hour × HOURLY_KEY + channel (channels < 1024). */
export const HOURLY_KEY = 1024;

/** A run of regular timestamps: start, start + step, …, n of them (epoch seconds). */
export interface Run {
  start: number;
  step: number;
  n: number;
}

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

/**
 * The points one device already holds, per channel, over a time window:
 * channels with the same runs share one set, so a lookup costs one probe
 * per group of channels, not one per cell.
 */
export class HeldPoints {
  private readonly groups: Array<{ channels: number[]; held: Set<number> }> = [];

  /** `runs[c]`: every run known for channel c (may overlap); only [from, to] is expanded. */
  constructor(runs: Run[][], from: number, to: number) {
    const bySignature = new Map<string, { channels: number[]; runs: Run[] }>();
    runs.forEach((list, c) => {
      const inWindow = list.filter((r) => runEnd(r) >= from && r.start <= to);
      if (inWindow.length === 0) return;
      inWindow.sort((a, b) => a.start - b.start || a.step - b.step || a.n - b.n);
      const sig = inWindow.map((r) => `${r.start}/${r.step}/${r.n}`).join(',');
      const g = bySignature.get(sig);
      if (g) g.channels.push(c);
      else bySignature.set(sig, { channels: [c], runs: inWindow });
    });
    for (const { channels, runs: list } of bySignature.values()) {
      const held = new Set<number>();
      for (const r of list) {
        const first = r.start >= from ? 0 : Math.ceil((from - r.start) / r.step);
        for (let k = first; k < r.n; k++) {
          const t = r.start + k * r.step;
          if (t > to) break;
          held.add(t);
        }
      }
      this.groups.push({ channels, held });
    }
  }

  get empty(): boolean {
    return this.groups.length === 0;
  }

  /** Row-major rows × channels mask of the cells already held, or null when none is. */
  skipMask(epochs: Uint32Array, channels: number): Uint8Array | null {
    if (this.groups.length === 0) return null;
    let mask: Uint8Array | null = null;
    for (let r = 0; r < epochs.length; r++) {
      const t = epochs[r];
      if (t < EPOCH_MIN_VALID) continue;
      for (const g of this.groups) {
        if (!g.held.has(t)) continue;
        mask ??= new Uint8Array(epochs.length * channels);
        for (const c of g.channels) mask[r * channels + c] = 1;
      }
    }
    return mask;
  }
}

/**
 * What one file wrote, cell by cell, gathered block by block: rows where
 * every channel wrote (the usual case) once, the exceptions per channel.
 */
export class FileCoverage {
  private readonly full: number[] = [];
  private readonly partial: number[][];

  constructor(private readonly channels: number) {
    this.partial = Array.from({ length: channels }, () => []);
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
    const sortNum = (a: number, b: number) => a - b;
    const full = [...new Set(this.full)].sort(sortNum);
    const shared = runsOf(full);
    return this.partial.map((extra) => {
      if (extra.length === 0) return shared;
      return runsOf([...new Set([...full, ...extra])].sort(sortNum));
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
