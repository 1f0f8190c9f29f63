import type { FileHeader } from '../tsv/header.js';
import { POWER, VOLTAGE, type RunRules } from '../tsv/value-runs.js';
import type { Thresholds } from './thresholds.js';

/**
 * Which nominal a voltage channel is held to: phase-phase (400 V) when its
 * name names two phases (`U12`, `U 23`, `L1-L2`, `Ph 1-2`, `V31`), else
 * phase-neutral (230 V): the MV2's `Ph n V` channels are phase-neutral.
 */
export function isPhasePhase(name: string): boolean {
  return /^(?:U|V)\s*[123]\s*-?\s*[123]\b|L\s*[123]\s*-\s*L\s*[123]|\b[123]\s*-\s*[123]\b/i.test(name.trim());
}

export interface VoltageBand {
  nominal: number;
  lo: number;
  hi: number;
}

export function voltageBand(name: string, t: Thresholds): VoltageBand {
  const nominal = isPhasePhase(name) ? t.voltage_nominal_pp : t.voltage_nominal_pn;
  const half = (nominal * t.voltage_band_pct) / 100;
  return { nominal, lo: nominal - half, hi: nominal + half };
}

/** The block parser's run rules for a file: voltage (unit V) and power (unit W) channels, the run thresholds. */
export function runRulesFor(header: FileHeader, t: Thresholds): RunRules {
  const n = header.channels.length;
  const rules: RunRules = {
    flags: new Uint8Array(n),
    lo: new Float64Array(n),
    hi: new Float64Array(n),
    stuckMinS: t.stuck_min_h * 3600,
    zeroMinS: t.zero_run_min_h * 3600,
  };
  header.channels.forEach((ch, c) => {
    if (ch.unit === 'V') {
      const band = voltageBand(ch.name, t);
      rules.flags[c] = VOLTAGE;
      rules.lo[c] = band.lo;
      rules.hi[c] = band.hi;
    } else if (ch.unit === 'W') rules.flags[c] = POWER;
  });
  return rules;
}
