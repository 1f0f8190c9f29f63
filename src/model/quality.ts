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
