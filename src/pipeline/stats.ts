import { MAX_SAMPLE_LINES, emptyStats, type BlockStats, type LineSample } from '../tsv/block-parser.js';

function mergeSample(into: LineSample, from: LineSample): void {
  into.count += from.count;
  for (const l of from.lines) {
    if (into.lines.length < MAX_SAMPLE_LINES && into.lines[into.lines.length - 1] !== l) into.lines.push(l);
  }
}

/** Per-file totals, merged block by block in file order. */
export class FileStats {
  readonly stats: BlockStats;
  constructor(channels: number) {
    this.stats = emptyStats(channels);
  }

  add(b: BlockStats): void {
    const s = this.stats;
    s.rows += b.rows;
    s.points += b.points;
    mergeSample(s.invalidTimestamps, b.invalidTimestamps);
    mergeSample(s.invalidValues, b.invalidValues);
    mergeSample(s.truncatedRows, b.truncatedRows);
    mergeSample(s.overlongRows, b.overlongRows);
    s.duplicateRows += b.duplicateRows;
    s.clockResetRows += b.clockResetRows;
    s.zeroRows += b.zeroRows;
    if (b.points > 0) {
      if (s.minTime === 0 || b.minTime < s.minTime) s.minTime = b.minTime;
      if (b.maxTime > s.maxTime) s.maxTime = b.maxTime;
    }
    const a = s.channels;
    const c = b.channels;
    for (let i = 0; i < a.count.length; i++) {
      a.count[i] += c.count[i];
      a.sum[i] += c.sum[i];
      if (c.min[i] < a.min[i]) a.min[i] = c.min[i];
      if (c.max[i] > a.max[i]) a.max[i] = c.max[i];
    }
  }
}
