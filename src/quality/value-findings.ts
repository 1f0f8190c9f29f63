import type { Finding, QualityKind } from '../model/quality.js';
import type { FileHeader } from '../tsv/header.js';
import {
  AT_END,
  AT_START,
  RULE_BAND,
  RULE_NEGATIVE,
  RULE_STUCK,
  RULES,
  RUN_FIELDS,
  type BlockRuns,
} from '../tsv/value-runs.js';
import type { Thresholds } from './thresholds.js';
import { voltageBand } from './value-rules.js';

/** Findings of one kind one file keeps at most (the rest are counted in a warning). */
export const MAX_FINDINGS_PER_KIND = 200;

const KIND: readonly QualityKind[] = ['voltage_out_of_band', 'negative_power', 'stuck_value', 'zero_run'];

/**
 * The file's value findings, from its blocks' runs taken in file order
 * (docs/reports.md#quality-rules): a run reaching a block's end is held open
 * and continued by the next block's run that starts at its first sample of
 * the channel. State: O(channels), plus the findings.
 */
export class ValueFindings {
  private readonly n: number;
  private readonly open: Float64Array;
  private readonly isOpen: Uint8Array;
  private readonly seenIn: Int32Array;
  private readonly firstTime: Float64Array;
  private readonly negDone: Uint8Array;
  private block = 0;
  private readonly found: Finding[] = [];
  private readonly kept = new Map<QualityKind, number>();
  private readonly dropped = new Map<QualityKind, number>();

  constructor(
    private readonly header: FileHeader,
    private readonly t: Thresholds,
  ) {
    this.n = header.channels.length;
    this.open = new Float64Array(this.n * RULES * RUN_FIELDS);
    this.isOpen = new Uint8Array(this.n * RULES);
    this.seenIn = new Int32Array(this.n * RULES).fill(-1);
    this.firstTime = new Float64Array(this.n);
    this.negDone = new Uint8Array(this.n);
  }

  /** One block's runs; `samples[c]`: the values of channel c the block wrote. */
  addBlock(b: BlockRuns, samples: ArrayLike<number>): void {
    const blk = this.block++;
    for (let c = 0; c < this.n; c++)
      if (this.firstTime[c] === 0 && b.firstTime[c] > 0) this.firstTime[c] = b.firstTime[c];
    const r = b.runs;
    for (let k = 0; k < r.length; k += RUN_FIELDS) {
      const rule = r[k];
      const c = r[k + 1];
      const i = c * RULES + rule;
      let run = r.subarray(k, k + RUN_FIELDS);
      if (this.seenIn[i] !== blk) {
        this.seenIn[i] = blk;
        if (this.isOpen[i] === 1) {
          const o = this.open.subarray(i * RUN_FIELDS, (i + 1) * RUN_FIELDS);
          const continues = (run[6] & AT_START) !== 0 && (rule !== RULE_STUCK || o[5] === run[5]);
          if (continues) {
            const merged = Float64Array.from(o);
            merged[3] = run[3];
            merged[4] += run[4];
            if (rule === RULE_BAND && this.farther(c, run[5], o[5])) merged[5] = run[5];
            if (rule === RULE_NEGATIVE && run[5] < o[5]) merged[5] = run[5];
            merged[6] = run[6];
            run = merged;
          } else this.judge(Float64Array.from(o));
          this.isOpen[i] = 0;
        }
      }
      if ((run[6] & AT_END) !== 0) {
        this.open.set(run, i * RUN_FIELDS);
        this.isOpen[i] = 1;
      } else this.judge(run);
    }
    // an open run whose channel wrote values in this block but not at its start has ended
    for (let i = 0; i < this.isOpen.length; i++) {
      if (this.isOpen[i] === 1 && this.seenIn[i] !== blk && samples[Math.floor(i / RULES)] > 0) {
        this.judge(this.open.slice(i * RUN_FIELDS, (i + 1) * RUN_FIELDS));
        this.isOpen[i] = 0;
      }
    }
  }

  /** The findings, in kind and time order; `warnings`: findings left out past MAX_FINDINGS_PER_KIND. */
  finish(): { findings: Finding[]; warnings: string[] } {
    for (let i = 0; i < this.isOpen.length; i++) {
      if (this.isOpen[i] === 1) this.judge(this.open.slice(i * RUN_FIELDS, (i + 1) * RUN_FIELDS));
      this.isOpen[i] = 0;
    }
    const order = (f: Finding) => KIND.indexOf(f.kind);
    const findings = this.found.sort((a, b) => order(a) - order(b) || a.tStart - b.tStart || cmp(a, b));
    const warnings = [...this.dropped].map(
      ([kind, n]) => `quality: ${n} more ${kind} finding(s) not recorded (at most ${MAX_FINDINGS_PER_KIND} per file)`,
    );
    return { findings, warnings };
  }

  /** Whether voltage v is farther from channel c's nominal than w. */
  private farther(c: number, v: number, w: number): boolean {
    const { nominal } = voltageBand(this.header.channels[c].name, this.t);
    return Math.abs(v - nominal) > Math.abs(w - nominal);
  }

  /** A complete run: a finding when the rule's threshold says so. */
  private judge(run: Float64Array): void {
    const [rule, c, tStart, tEnd, samples, value] = run;
    const ch = this.header.channels[c];
    const t = this.t;
    let detail: Record<string, unknown>;
    if (rule === RULE_BAND) {
      const band = voltageBand(ch.name, t);
      detail = { value, nominal: band.nominal, low: band.lo, high: band.hi, band_pct: t.voltage_band_pct };
    } else if (rule === RULE_NEGATIVE) {
      if (this.negDone[c] === 1) return;
      this.negDone[c] = 1;
      const prior = tStart - this.firstTime[c];
      if (prior < t.negative_power_prior_h * 3600) return;
      detail = { value, non_negative_before_s: prior, threshold_h: t.negative_power_prior_h };
    } else if (rule === RULE_STUCK) {
      if (tEnd - tStart < t.stuck_min_h * 3600) return;
      detail = { value, duration_s: tEnd - tStart, threshold_h: t.stuck_min_h };
    } else {
      if (tEnd - tStart < t.zero_run_min_h * 3600) return;
      detail = { value: 0, duration_s: tEnd - tStart, threshold_h: t.zero_run_min_h };
    }
    const kind = KIND[rule];
    const kept = this.kept.get(kind) ?? 0;
    if (kept >= MAX_FINDINGS_PER_KIND) {
      this.dropped.set(kind, (this.dropped.get(kind) ?? 0) + 1);
      return;
    }
    this.kept.set(kind, kept + 1);
    const severity = kind === 'zero_run' ? 'info' : 'warning';
    this.found.push({ kind, severity, channelId: ch.channelId, tStart, tEnd, measure: samples, detail });
  }
}

const cmp = (a: Finding, b: Finding): number => ((a.channelId ?? '') < (b.channelId ?? '') ? -1 : 1);
