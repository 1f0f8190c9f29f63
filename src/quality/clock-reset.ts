import type { Finding } from '../model/quality.js';
import { EPOCH_CLOCK_RESET, EPOCH_MIN_VALID } from '../tsv/timestamp.js';
import type { Thresholds } from './thresholds.js';

const DAY = 86400;
const MAX_LINES = 10;

/** The blocks of pass 1 as this rule reads them: one epoch per data line. */
export interface EpochBlock {
  firstLine: number;
  epochs: Uint32Array;
}

/**
 * Clock resets (docs/reports.md#quality-rules): the file's valid rows,
 * grouped by UTC day, split into clusters wherever two consecutive days
 * with rows are more than `clock_reset_days` apart. The cluster holding the
 * most rows is the file's time; the rows of every other cluster (a
 * `01/01/20` row in a 2025 file) are clock resets: marked EPOCH_CLOCK_RESET
 * in the blocks, so neither store, the plan nor the coverage sees them, and
 * counted. Returns the finding, or null when the file has one cluster.
 * O(rows) time, O(days) memory.
 */
export function markClockResets(blocks: readonly EpochBlock[], t: Thresholds): Finding | null {
  const days = new Map<number, number>();
  for (const b of blocks) {
    for (const e of b.epochs) {
      if (e < EPOCH_MIN_VALID) continue;
      const d = Math.floor(e / DAY);
      days.set(d, (days.get(d) ?? 0) + 1);
    }
  }
  if (days.size < 2) return null;
  const main = mainCluster(days, t.clock_reset_days);
  if (!main) return null;
  const lo = main.first * DAY;
  const hi = (main.last + 1) * DAY;
  main.min = Infinity;
  main.max = -Infinity;
  for (const b of blocks) {
    for (const e of b.epochs) {
      if (e < lo || e >= hi) continue;
      if (e < main.min) main.min = e;
      if (e > main.max) main.max = e;
    }
  }
  let rows = 0;
  let off = 0;
  let dated: number | null = null;
  const lines: number[] = [];
  // the file's own times around the reset rows: the main-cluster row before the first, after the last
  let before: number | null = null;
  let after: number | null = null;
  let lastMain: number | null = null;
  for (const b of blocks) {
    for (let i = 0; i < b.epochs.length; i++) {
      const e = b.epochs[i];
      if (e < EPOCH_MIN_VALID) continue;
      if (e >= lo && e < hi) {
        if (rows > 0 && after === null) after = e;
        lastMain = e;
        continue;
      }
      if (rows === 0) before = lastMain;
      after = null;
      rows++;
      dated ??= e;
      off = Math.max(off, e < lo ? main.min - e : e - main.max);
      if (lines.length < MAX_LINES) lines.push(b.firstLine + i);
      b.epochs[i] = EPOCH_CLOCK_RESET;
    }
  }
  const tStart = before ?? after ?? main.min;
  const tEnd = after ?? before ?? main.max;
  return {
    kind: 'clock_reset',
    severity: 'warning',
    channelId: null,
    tStart: Math.min(tStart, tEnd),
    tEnd: Math.max(tStart, tEnd),
    measure: off,
    detail: {
      rows,
      first_lines: lines,
      first_dated: new Date(dated! * 1000).toISOString().replace('.000Z', 'Z'),
      threshold_days: t.clock_reset_days,
      kept: false,
    },
  };
}

interface Cluster {
  first: number;
  last: number;
  rows: number;
  min: number;
  max: number;
}

/** The cluster of days with the most rows (the later on a tie), when there is more than one. */
function mainCluster(days: Map<number, number>, maxApartDays: number): Cluster | null {
  const sorted = [...days.keys()].sort((a, b) => a - b);
  const clusters: Cluster[] = [];
  for (const d of sorted) {
    const cur = clusters.at(-1);
    if (cur && d - cur.last <= maxApartDays) {
      cur.last = d;
      cur.rows += days.get(d)!;
    } else clusters.push({ first: d, last: d, rows: days.get(d)!, min: 0, max: 0 });
  }
  if (clusters.length < 2) return null;
  let best = clusters[0];
  for (const c of clusters) if (c.rows >= best.rows) best = c;
  return best;
}
