/**
 * The quality rules' thresholds (docs/reports.md#quality-rules): defaults in
 * code, overridden per tenant by rows of core.quality_thresholds
 * (parameter, value). Unknown parameters and values out of range are ignored
 * (with a warning), so a bad row never stops ingest.
 */

export const DEFAULT_THRESHOLDS = Object.freeze({
  /** half-width of the voltage band around the nominal, percent */
  voltage_band_pct: 10,
  /** nominal of a phase-neutral voltage channel, V */
  voltage_nominal_pn: 230,
  /** nominal of a phase-phase voltage channel (its name says U12, L1-L2, …), V */
  voltage_nominal_pp: 400,
  /** a power channel's first negative value counts when the channel was non-negative this long before, hours */
  negative_power_prior_h: 24,
  /** a non-zero value repeated for at least this long (first to last sample) is stuck, hours */
  stuck_min_h: 6,
  /** zeros for at least this long (first to last sample), hours */
  zero_run_min_h: 24,
  /** rows dated more than this far from the file's main cluster of rows are clock resets, days */
  clock_reset_days: 30,
  /** gaps of fewer missing samples are not findings */
  gap_min_samples: 1,
});

export type ThresholdName = keyof typeof DEFAULT_THRESHOLDS;
export type Thresholds = Readonly<Record<ThresholdName, number>>;

export const THRESHOLD_NAMES = Object.keys(DEFAULT_THRESHOLDS) as ThresholdName[];

/** The defaults with a tenant's overrides applied; `warnings` names the rows ignored. */
export function resolveThresholds(rows: ReadonlyArray<{ parameter: string; value: number }>): {
  thresholds: Thresholds;
  warnings: string[];
} {
  const out: Record<string, number> = { ...DEFAULT_THRESHOLDS };
  const warnings: string[] = [];
  for (const { parameter, value } of rows) {
    if (!(parameter in DEFAULT_THRESHOLDS)) {
      warnings.push(`quality threshold ${parameter}: unknown parameter, ignored`);
      continue;
    }
    if (!Number.isFinite(value) || value < 0) {
      warnings.push(`quality threshold ${parameter} = ${value}: not a non-negative number, ignored`);
      continue;
    }
    out[parameter] = value;
  }
  return { thresholds: Object.freeze(out), warnings };
}
