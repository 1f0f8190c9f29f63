import { EPOCH_CLOCK_RESET, EPOCH_CUT_REPEAT, EPOCH_DUPLICATE, EPOCH_MIN_VALID } from './timestamp.js';
import { addPartial, hourlyKey } from './hourly.js';
import { RunTracker, type BlockRuns, type RunRules } from './value-runs.js';

/** What a parser worker needs to know of a file, built once per file. */
export interface SeriesTable {
  /** concatenated `measurement,tags field=` prefixes, one per channel */
  prefixes: Uint8Array;
  /** channel c's prefix is prefixes[offsets[c], offsets[c + 1]) */
  offsets: Int32Array;
}

export interface LineSample {
  count: number;
  /** the first few 1-based line numbers */
  lines: number[];
}

export interface ChannelStats {
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

export interface BlockStats {
  rows: number;
  points: number;
  invalidTimestamps: LineSample;
  invalidValues: LineSample;
  truncatedRows: LineSample;
  duplicateRows: number;
  /** rows dated far from the file's other rows: written to neither store (src/quality/clock-reset.ts) */
  clockResetRows: number;
  zeroRows: number;
  overlongRows: LineSample;
  /** first and last UTC epoch of rows that produced points (0 when none) */
  minTime: number;
  maxTime: number;
  channels: ChannelStats;
}

export interface BlockResult {
  /** line protocol; only the first `lpLength` bytes are meaningful */
  lp: Uint8Array;
  lpLength: number;
  stats: BlockStats;
  /** with an aggregation plan: hourly partials and the cells this block brought */
  agg?: BlockAggregates;
  /** with run rules: the block's runs of implausible values (value-runs.ts) */
  runs?: BlockRuns;
}

/**
 * Exactly-once and aggregation inputs of a block (docs/architecture.md#postgresql-output-and-exactly-once): which cells
 * an
 * earlier file already brought (skipped in both stores), which channels are
 * power (`W`: energy), and the file's sampling period.
 */
export interface BlockPlan {
  /** row-major rows × channels; 1 = the point is already held (an earlier file brought it) */
  skip: Uint8Array | null;
  /** per channel: 1 when its unit is W */
  power: Uint8Array;
  /** seconds each sample stands for (energy = value × step / 3600) */
  stepSeconds: number;
}

export { H, HOURLY_FIELDS } from './hourly.js';

export interface BlockAggregates {
  /** HOURLY_FIELDS numbers per (channel, hour) touched by the block */
  hourly: Float64Array;
  /** row-major rows × channels: 1 = this file wrote the point (valid and not already held): its coverage */
  brought: Uint8Array;
  /** cells skipped because an earlier file brought them */
  skippedPoints: number;
  /** rows whose every valid value was already held */
  skippedRows: number;
  /** the held cells (row-major rows × channels index) and the values the file brings for them (re-export conflicts) */
  heldCells: Uint32Array;
  heldValues: Float64Array;
}

export const MAX_SAMPLE_LINES = 10;

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

function sample(): LineSample {
  return { count: 0, lines: [] };
}

function note(s: LineSample, line: number): void {
  s.count++;
  if (s.lines.length < MAX_SAMPLE_LINES && s.lines[s.lines.length - 1] !== line) s.lines.push(line);
}

export function emptyChannelStats(n: number): ChannelStats {
  const min = new Float64Array(n).fill(Infinity);
  const max = new Float64Array(n).fill(-Infinity);
  return { count: new Float64Array(n), sum: new Float64Array(n), min, max };
}

export function emptyStats(n: number): BlockStats {
  return {
    rows: 0,
    points: 0,
    invalidTimestamps: sample(),
    invalidValues: sample(),
    truncatedRows: sample(),
    duplicateRows: 0,
    clockResetRows: 0,
    zeroRows: 0,
    overlongRows: sample(),
    minTime: 0,
    maxTime: 0,
    channels: emptyChannelStats(n),
  };
}

const enc = new TextEncoder();

/**
 * A cell that is not a plain `-?digits[.digits]`: spaces around it, a leading
 * `+`, `.5` or `5.`. Returns the canonical text InfluxDB accepts, or null when
 * the cell is not a finite decimal (empty, NaN, inf, a comma, garbage).
 */
export function canonicalDecimal(text: string): string | null {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(text);
  if (!m) return null;
  const [, sign, int, frac = ''] = m;
  if (int === '' && frac === '') return null;
  return `${sign === '-' ? '-' : ''}${int === '' ? '0' : int}${frac === '' ? '' : `.${frac}`}`;
}

/**
 * Pass 2 over one block of whole data lines: validates every cell and writes
 * the line protocol of every valid value, copying the value's bytes as
 * written (no float round-trip). Row epochs come from pass 1.
 */
export function parseBlock(
  buf: Uint8Array,
  epochs: Uint32Array,
  firstLine: number,
  table: SeriesTable,
  /** a recycled output buffer, used when large enough */
  reuse?: ArrayBuffer,
  plan?: BlockPlan,
  /** the quality rules' value runs to track (docs/reports.md#quality-rules) */
  rules?: RunRules,
): BlockResult {
  const n = table.offsets.length - 1;
  const prefixViews: Uint8Array[] = [];
  let perRow = 0;
  // a private copy: TypedArray#set from shared memory misses V8's memmove fast path
  const prefixes = table.prefixes.buffer instanceof SharedArrayBuffer ? table.prefixes.slice() : table.prefixes;
  for (let c = 0; c < n; c++) {
    prefixViews.push(prefixes.subarray(table.offsets[c], table.offsets[c + 1]));
    perRow += table.offsets[c + 1] - table.offsets[c] + 13;
  }
  // bound: every byte of the block copied, plus per row every prefix, a separator, a timestamp and a newline
  const bound = buf.length + epochs.length * perRow;
  const out = reuse && reuse.byteLength >= bound ? new Uint8Array(reuse) : new Uint8Array(Math.ceil(bound * 1.25));
  const stats = emptyStats(n);
  const { count, sum, min, max } = stats.channels;
  const cellStart = new Int32Array(n);
  const cellEnd = new Int32Array(n);
  const values = new Float64Array(n);
  const slow = new Array<Uint8Array | null>(n).fill(null);
  const ts = new Uint8Array(12);
  const len = buf.length;
  let o = 0;
  let pos = 0;
  let line = firstLine - 1;
  let row = 0;
  let minTime = Infinity;
  let maxTime = 0;
  const skip = plan?.skip ?? null;
  const brought = plan ? new Uint8Array(epochs.length * n) : null;
  const hourIndex = new Map<number, number>();
  const hourly: number[] = [];
  // energy accumulates in W·s (exact for integral steps); Wh = W·s / 3600 when stored
  const energyPerUnit = plan ? plan.stepSeconds : 0;
  let skippedPoints = 0;
  let skippedRows = 0;
  const heldCells: number[] = [];
  const heldValues: number[] = [];
  // rows come mostly in time order: each channel's partial of the current hour is remembered
  const slot = new Int32Array(n).fill(-1);
  let slotHour = -1;
  const tracker = rules ? new RunTracker(rules, n) : null;

  while (pos < len) {
    line++;
    const first = buf[pos];
    if (first === 10 || first === 13 || first === 32 || first === 9) {
      // blank lines (only spaces, tabs, CR) are not rows, exactly as in pass 1
      let p = pos;
      while (p < len && (buf[p] === 32 || buf[p] === 9 || buf[p] === 13)) p++;
      if (p >= len || buf[p] === 10) {
        pos = p + 1;
        continue;
      }
    }
    const epoch = epochs[row++];
    if (epoch < EPOCH_MIN_VALID) {
      if (epoch === EPOCH_DUPLICATE) stats.duplicateRows++;
      else if (epoch === EPOCH_CLOCK_RESET) stats.clockResetRows++;
      else if (epoch === EPOCH_CUT_REPEAT) note(stats.truncatedRows, line);
      else note(stats.invalidTimestamps, line);
      const nl = buf.indexOf(10, pos);
      pos = nl < 0 ? len : nl + 1;
      continue;
    }
    // skip the timestamp cell
    let p = pos;
    while (p < len && buf[p] !== 9 && buf[p] !== 10) p++;
    let cells = 0;
    let truncated = false;
    while (cells < n) {
      if (p >= len || buf[p] !== 9) {
        truncated = true;
        break;
      }
      p++;
      const cs = p;
      let b = buf[p];
      let neg = false;
      if (b === 45) {
        neg = true;
        b = buf[++p];
      }
      let mant = 0;
      let digits = 0;
      let frac = -1;
      for (;;) {
        if (b >= 48 && b <= 57) {
          mant = mant * 10 + (b - 48);
          digits++;
          if (frac >= 0) frac++;
        } else if (b === 46 && frac < 0) frac = 0;
        else break;
        b = buf[++p];
      }
      let ce = p;
      let ok =
        digits > 0 &&
        frac !== 0 &&
        digits > frac &&
        (b === 9 || b === 10 || p >= len || (b === 13 && (p + 1 >= len || buf[p + 1] === 10)));
      slow[cells] = null;
      if (!ok) {
        while (p < len && buf[p] !== 9 && buf[p] !== 10) p++;
        ce = p > cs && buf[p - 1] === 13 && (p >= len || buf[p] === 10) ? p - 1 : p;
        const canon = canonicalDecimal(Buffer.from(buf.buffer, buf.byteOffset + cs, ce - cs).toString('latin1'));
        if (canon !== null) {
          ok = true;
          const bytes = enc.encode(canon);
          slow[cells] = bytes;
          values[cells] = Number(canon);
          // out of float64 range: InfluxDB would refuse it
          if (!Number.isFinite(values[cells])) {
            values[cells] = NaN;
            slow[cells] = null;
          }
        } else values[cells] = NaN;
      } else if (digits > 15 || frac > 22) {
        const v = Number(Buffer.from(buf.buffer, buf.byteOffset + cs, ce - cs).toString('latin1'));
        values[cells] = Number.isFinite(v) ? v : NaN;
      } else {
        const v = frac > 0 ? mant / POW10[frac] : mant;
        values[cells] = neg ? -v : v;
      }
      cellStart[cells] = cs;
      cellEnd[cells] = ce;
      cells++;
    }
    // the rest of the line: CR, trailing tabs/spaces, or extra cells
    let overlong = false;
    while (p < len && buf[p] !== 10) {
      const b = buf[p];
      if (b !== 9 && b !== 32 && b !== 13) overlong = true;
      p++;
    }
    pos = p + 1;
    if (truncated) {
      note(stats.truncatedRows, line);
      continue;
    }
    if (overlong) note(stats.overlongRows, line);
    stats.rows++;
    // " <epoch>\n", built once per row
    let tsStart = 11;
    ts[11] = 10;
    for (let t = epoch; t > 0; t = Math.floor(t / 10)) ts[--tsStart] = 48 + (t % 10);
    ts[--tsStart] = 32;
    let emitted = 0;
    let zeros = 0;
    let held = 0;
    const cell0 = (row - 1) * n;
    const hour = epoch - (epoch % 3600);
    if (brought && hour !== slotHour) {
      slot.fill(-1);
      slotHour = hour;
    }
    for (let c = 0; c < n; c++) {
      const v = values[c];
      if (v !== v) {
        note(stats.invalidValues, line);
        continue;
      }
      if (brought) {
        if (skip !== null && skip[cell0 + c] === 1) {
          held++;
          heldCells.push(cell0 + c);
          heldValues.push(v);
          continue;
        }
        brought[cell0 + c] = 1;
        let at = slot[c];
        if (at < 0) {
          const key = hourlyKey(hour, c);
          const found = hourIndex.get(key);
          if (found === undefined) {
            at = hourly.length;
            hourIndex.set(key, at);
            hourly.push(c, hour, 0, 0, Infinity, -Infinity, epoch, v, epoch, v, 0);
          } else at = found;
          slot[c] = at;
        }
        // one sample is a partial of one: the same merge rule as the file's and PostgreSQL's (hourly.ts)
        addPartial(hourly, at, 1, v, v, v, epoch, v, epoch, v, plan!.power[c] === 1 ? v * energyPerUnit : 0);
      }
      const pv = prefixViews[c];
      out.set(pv, o);
      o += pv.length;
      const sb = slow[c];
      if (sb === null) {
        for (let i = cellStart[c], e = cellEnd[c]; i < e; i++) out[o++] = buf[i];
      } else {
        out.set(sb, o);
        o += sb.length;
      }
      for (let i = tsStart; i < 12; i++) out[o++] = ts[i];
      count[c]++;
      sum[c] += v;
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
      if (v === 0) zeros++;
      if (tracker !== null) tracker.sample(c, epoch, v);
      emitted++;
    }
    if (held > 0) {
      skippedPoints += held;
      if (emitted === 0) skippedRows++;
    }
    if (emitted > 0) {
      stats.points += emitted;
      if (zeros === n) stats.zeroRows++;
      if (epoch < minTime) minTime = epoch;
      if (epoch > maxTime) maxTime = epoch;
    }
  }
  if (row !== epochs.length) throw new Error(`internal: block rows ${row} != pass-1 rows ${epochs.length}`);
  stats.minTime = minTime === Infinity ? 0 : minTime;
  stats.maxTime = maxTime;
  const runs = tracker?.finish();
  if (!brought) return { lp: out, lpLength: o, stats, ...(runs ? { runs } : {}) };
  // a cross-file duplicate row is a duplicate row (docs/architecture.md#postgresql-output-and-exactly-once: counted as
  // duplicate_rows)
  stats.duplicateRows += skippedRows;
  return {
    lp: out,
    lpLength: o,
    stats,
    agg: {
      hourly: Float64Array.from(hourly),
      brought,
      skippedPoints,
      skippedRows,
      heldCells: Uint32Array.from(heldCells),
      heldValues: Float64Array.from(heldValues),
    },
    ...(runs ? { runs } : {}),
  };
}
