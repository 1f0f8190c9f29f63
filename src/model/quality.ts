/**
 * Data-quality findings (docs/reports.md#quality-rules): the values the
 * checks hand to the PostgreSQL stage, one per row of core.quality_events.
 */

export const QUALITY_KINDS = [
  'gap',
  'clock_reset',
  'reexport_conflict',
  'layout_change',
  'voltage_out_of_band',
  'negative_power',
  'stuck_value',
  'zero_run',
] as const;
export type QualityKind = (typeof QUALITY_KINDS)[number];

export type Severity = 'info' | 'warning' | 'error';

export interface Finding {
  readonly kind: QualityKind;
  readonly severity: Severity;
  /** null: about the device or the file, not one channel */
  readonly channelId: string | null;
  /** epoch seconds, inclusive */
  readonly tStart: number;
  readonly tEnd: number;
  /** the kind's measure (core.quality_events.measure): samples missing, seconds off, conflicting points, run length */
  readonly measure: number | null;
  /** kind-specific, JSON-serialisable: thresholds applied, examples, both layouts, … */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A finding as the JSON file report shows it (FileReport.quality). */
export interface QualityEntry {
  kind: QualityKind;
  severity: Severity;
  channel: string | null;
  /** UTC, seconds precision */
  range: { first: string; last: string };
  measure: number | null;
  detail: Record<string, unknown>;
}

const iso = (epoch: number): string => new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');

export function qualityEntry(f: Finding): QualityEntry {
  return {
    kind: f.kind,
    severity: f.severity,
    channel: f.channelId,
    range: { first: iso(f.tStart), last: iso(f.tEnd) },
    measure: f.measure,
    detail: { ...f.detail },
  };
}
