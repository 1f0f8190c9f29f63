/**
 * Gaps (docs/reports.md#quality-rules): missing intervals in a device's
 * series at its sampling step. The series is the union of its channels'
 * coverage runs (any channel's sample covers the instant); a run of another
 * step is a change of sampling, not a gap, so a run counts as covering its
 * whole span. Pure: the PostgreSQL side (src/postgres/quality-store.ts)
 * feeds it the runs of one window and stores what it returns.
 */

export interface Span {
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

/** The gaps between the spans (any order, may overlap) at `step`, of at least `minSamples` missing samples. */
export function gapsOf(spans: readonly Span[], step: number, minSamples: number): Gap[] {
  if (step <= 0 || spans.length < 2) return [];
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
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
