/**
 * Runs of implausible values, tracked by the block parser as it reads each
 * value (docs/reports.md#quality-rules): the rules themselves, their
 * thresholds and the merge of blocks into findings live in src/quality/;
 * here only the per-block state machine the hot loop feeds, O(channels)
 * typed arrays, nothing allocated per value.
 *
 * Per channel and rule, a run is a maximal sequence of the channel's
 * consecutive written values that satisfy the rule (stuck: the same non-zero
 * value). A block reports every run that touches its first or last sample of
 * the channel (it may continue in the neighbouring block) and the internal
 * runs long enough to matter; the negative-power rule reports only the
 * block's first run of negative values (after it, the channel is one that
 * goes negative).
 */

/** What the block parser checks, per file (built by src/quality/value-rules.ts). */
export interface RunRules {
  /** per channel: VOLTAGE (band check), POWER (negative check); stuck and zero runs apply to every channel */
  flags: Uint8Array;
  /** per channel: the voltage band [lo, hi] (unused for other channels) */
  lo: Float64Array;
  hi: Float64Array;
  /** internal runs shorter than this (seconds from first to last sample) are not reported */
  stuckMinS: number;
  zeroMinS: number;
}

export const VOLTAGE = 1;
export const POWER = 2;

/** Rule numbers in the packed runs. */
export const RULE_BAND = 0;
export const RULE_NEGATIVE = 1;
export const RULE_STUCK = 2;
export const RULE_ZERO = 3;
export const RULES = 4;

/** [rule, channel, tStart, tEnd, samples, value, edges] per run */
export const RUN_FIELDS = 7;
/** edges: the run starts at the channel's first sample of the block / ends at its last */
export const AT_START = 1;
export const AT_END = 2;

export interface BlockRuns {
  /** RUN_FIELDS numbers per run */
  runs: Float64Array;
  /** per channel: the time of its first written sample in the block (0: none) */
  firstTime: Float64Array;
}

/** One block's tracker: feed it every written value in row order, then `finish()`. */
export class RunTracker {
  private readonly count: Float64Array;
  private readonly start: Float64Array;
  private readonly end: Float64Array;
  private readonly value: Float64Array;
  private readonly atStart: Uint8Array;
  /** per channel: 1 once its first negative run is over (later ones are not reported) */
  private readonly negDone: Uint8Array;
  private readonly firstTime: Float64Array;
  private readonly out: number[] = [];

  constructor(
    private readonly rules: RunRules,
    n: number,
  ) {
    const cells = n * RULES;
    this.count = new Float64Array(cells);
    this.start = new Float64Array(cells);
    this.end = new Float64Array(cells);
    this.value = new Float64Array(cells);
    this.atStart = new Uint8Array(cells);
    this.negDone = new Uint8Array(n);
    this.firstTime = new Float64Array(n);
  }

  sample(c: number, t: number, v: number): void {
    const first = this.firstTime[c] === 0;
    if (first) this.firstTime[c] = t;
    const b = c * RULES;
    const f = this.rules.flags[c];
    if ((f & VOLTAGE) !== 0) {
      const i = b + RULE_BAND;
      if (v < this.rules.lo[c] || v > this.rules.hi[c]) {
        if (this.count[i] === 0) this.open(i, t, v, first);
        else this.extend(i, t);
        // the value farthest out of the band
        const mid = (this.rules.lo[c] + this.rules.hi[c]) / 2;
        if (Math.abs(v - mid) > Math.abs(this.value[i] - mid)) this.value[i] = v;
      } else if (this.count[i] > 0) this.close(i, RULE_BAND, c, 0);
    }
    if ((f & POWER) !== 0 && this.negDone[c] === 0) {
      const i = b + RULE_NEGATIVE;
      if (v < 0) {
        if (this.count[i] === 0) this.open(i, t, v, first);
        else this.extend(i, t);
        if (v < this.value[i]) this.value[i] = v;
      } else if (this.count[i] > 0) {
        this.close(i, RULE_NEGATIVE, c, 0);
        this.negDone[c] = 1;
      }
    }
    const s = b + RULE_STUCK;
    if (v !== 0 && this.count[s] > 0 && this.value[s] === v) this.extend(s, t);
    else {
      if (this.count[s] > 0) this.close(s, RULE_STUCK, c, this.rules.stuckMinS);
      if (v !== 0) this.open(s, t, v, first);
    }
    const z = b + RULE_ZERO;
    if (v === 0) {
      if (this.count[z] === 0) this.open(z, t, 0, first);
      else this.extend(z, t);
    } else if (this.count[z] > 0) this.close(z, RULE_ZERO, c, this.rules.zeroMinS);
  }

  /** The block's runs: every run still open is reported as reaching the block's end. */
  finish(): BlockRuns {
    const n = this.firstTime.length;
    for (let c = 0; c < n; c++) {
      for (let r = 0; r < RULES; r++) {
        const i = c * RULES + r;
        if (this.count[i] > 0) this.push(i, r, c, AT_END);
      }
    }
    return { runs: Float64Array.from(this.out), firstTime: this.firstTime };
  }

  private open(i: number, t: number, v: number, first: boolean): void {
    this.count[i] = 1;
    this.start[i] = t;
    this.end[i] = t;
    this.value[i] = v;
    this.atStart[i] = first ? 1 : 0;
  }

  private extend(i: number, t: number): void {
    this.count[i]++;
    this.end[i] = t;
  }

  private close(i: number, rule: number, c: number, minS: number): void {
    if (this.atStart[i] === 1 || this.end[i] - this.start[i] >= minS) this.push(i, rule, c, 0);
    this.count[i] = 0;
  }

  private push(i: number, rule: number, c: number, edges: number): void {
    const e = edges | (this.atStart[i] === 1 ? AT_START : 0);
    this.out.push(rule, c, this.start[i], this.end[i], this.count[i], this.value[i], e);
  }
}
