/**
 * Gaps (docs/reports.md#quality-rules): missing intervals in a device's
 * series at its sampling step. The series is the union of its channels'
 * coverage runs (any channel's sample covers the instant). A run of another
 * step of three samples or more is a change of sampling and covers its
 * span; a run of two samples further apart than the step (what the greedy
 * runs make of an isolated sample followed by a jump) covers its two
 * samples only. Pure: the PostgreSQL side (src/postgres/quality-store.ts)
 * feeds it the runs of one window and stores what it returns.
 */
import type { Finding } from '../model/quality.js';

/** A run of equally spaced samples, as core.coverage holds them. */
export interface SpanRun {
  start: number;
  step: number;
  n: number;
}

interface Span {
  start: number;
  end: number;
}

export interface Gap {
  /** the first and last missing sample times */
  tStart: number;
  tEnd: number;
  /** samples missing at `step` */
  missing: number;
}

/** A gap as a finding of the device (no channel): its missing samples at `step`. */
export function gapFinding(g: Gap, step: number): Finding {
  return {
    kind: 'gap',
    severity: 'warning',
    channelId: null,
    tStart: g.tStart,
    tEnd: g.tEnd,
    measure: g.missing,
    detail: { step_s: step },
  };
}

function spansOf(runs: readonly SpanRun[], step: number): Span[] {
  const out: Span[] = [];
  for (const r of runs) {
    const end = r.start + r.step * (r.n - 1);
    if (r.n === 2 && r.step >= 2 * step) out.push({ start: r.start, end: r.start }, { start: end, end });
    else out.push({ start: r.start, end });
  }
  return out;
}

/** The gaps between the runs (any order, may overlap) at `step`, of at least `minSamples` missing samples. */
export function gapsOf(runs: readonly SpanRun[], step: number, minSamples: number): Gap[] {
  if (step <= 0 || runs.length === 0) return [];
  const sorted = spansOf(runs, step).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Gap[] = [];
  let end = sorted[0].end;
  for (let i = 1; i < sorted.length; i++) {
    const s = sorted[i];
    if (s.start > end) {
      const missing = Math.round((s.start - end) / step) - 1;
      if (missing >= Math.max(1, minSamples)) out.push({ tStart: end + step, tEnd: s.start - step, missing });
    }
    if (s.end > end) end = s.end;
  }
  return out;
}

/**
 * A file's own gaps from its row times (ingest without PostgreSQL, where no
 * coverage is committed): the rows' greedy runs of constant step (as
 * core.coverage holds them) as spans, at the file's most common step.
 */
export function fileGaps(
  epochs: readonly Uint32Array[],
  minValid: number,
  minSamples: number,
): { step: number; gaps: Gap[] } {
  let n = 0;
  for (const e of epochs) n += e.length;
  const all = new Uint32Array(n);
  let k = 0;
  for (const e of epochs) for (const t of e) if (t >= minValid) all[k++] = t;
  const times = all.subarray(0, k).sort();
  const steps = new Map<number, number>();
  for (let i = 1; i < times.length; i++) {
    const d = times[i] - times[i - 1];
    if (d > 0) steps.set(d, (steps.get(d) ?? 0) + 1);
  }
  let step = 0;
  let most = 0;
  for (const [d, count] of steps) if (count > most || (count === most && d < step)) [step, most] = [d, count];
  if (step === 0) return { step, gaps: [] };
  // distinct times, then greedy runs of constant step (the same runs as the coverage's: coverage.ts runsOf)
  let m = 0;
  for (let i = 0; i < times.length; i++) if (i === 0 || times[i] !== times[i - 1]) times[m++] = times[i];
  const runs: SpanRun[] = [];
  for (let i = 0; i < m;) {
    if (i + 1 >= m) {
      runs.push({ start: times[i], step: 0, n: 1 });
      break;
    }
    const runStep = times[i + 1] - times[i];
    let j = i + 1;
    while (j + 1 < m && times[j + 1] - times[j] === runStep) j++;
    runs.push({ start: times[i], step: runStep, n: j - i + 1 });
    i = j + 1;
  }
  return { step, gaps: gapsOf(runs, step, minSamples) };
}
