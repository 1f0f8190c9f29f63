/**
 * Re-export conflicts (docs/reports.md#re-export-conflicts): points a later
 * file brings for a (channel, time) the device already holds with a different
 * value. The first value stays in both stores (exactly-once); the conflict is
 * counted, reported, and recorded as one `reexport_conflict` finding per file.
 */
import type { Finding } from './quality.js';

/** Examples kept per file (the first ones met, in time order of their chunk). */
export const CONFLICT_EXAMPLES = 5;

/** A point the file brought with another value than the one held. */
export interface ConflictExample {
  readonly channel_id: string;
  /** ISO UTC */
  readonly time: string;
  /** the value the stores hold (kept) */
  readonly stored: number;
  /** the value this file brought (not written) */
  readonly file: number;
  /** |file − stored| */
  readonly difference: number;
}

export interface ChannelConflicts {
  readonly channel_id: string;
  readonly compared: number;
  readonly conflicting: number;
}

/** What comparing a file's held points with the stored ones found. */
export interface ConflictSummary {
  /** held points whose stored value was found and compared */
  readonly compared: number;
  /** of those, with a different value */
  readonly conflicting: number;
  /** held points InfluxDB did not return (e.g. the earlier file's write was refused) */
  readonly missing: number;
  /** the conflict with the largest |difference| */
  readonly largest: ConflictExample | null;
  /** the first CONFLICT_EXAMPLES conflicts */
  readonly examples: readonly ConflictExample[];
  /** first and last conflicting time (epoch s); null without conflicts */
  readonly range: { readonly from: number; readonly to: number } | null;
  /** every channel with a conflict: its compared and conflicting points (at most the file's channels) */
  readonly channels: readonly ChannelConflicts[];
}

/** Share of a file's (or channel's) compared held points that must conflict for "most". */
export const MOSTLY_CONFLICTING = 0.5;

/** Most of the file's compared held points conflict. */
export function mostlyConflicting(s: ConflictSummary): boolean {
  return s.compared > 0 && s.conflicting / s.compared > MOSTLY_CONFLICTING;
}

/** Channels most of whose compared points conflict. */
export function mostlyConflictingChannels(s: ConflictSummary): ChannelConflicts[] {
  return s.channels.filter((c) => c.compared > 0 && c.conflicting / c.compared > MOSTLY_CONFLICTING);
}

/**
 * A wrong header is likely when the layout changed and most overlapping
 * points conflict: over the whole file, or on two channels or more (columns
 * swapped: each of the two gets the other's values).
 */
export function headerLikelyWrong(s: ConflictSummary, layoutDrift: boolean): boolean {
  return layoutDrift && (mostlyConflicting(s) || mostlyConflictingChannels(s).length >= 2);
}

const fmt = (x: number): string => String(Math.round(x * 1e9) / 1e9);

/** The report's warnings for a file's conflicts, and for held points InfluxDB did not return. */
export function conflictWarnings(
  s: ConflictSummary | null | undefined,
  drift: { layoutDrift: boolean; knownLayout: string | null; layout: string | null },
): string[] {
  if (!s) return [];
  const out: string[] = [];
  if (s.missing > 0)
    out.push(
      `${s.missing} points already held were not found in InfluxDB under this file's field (a channel whose unit ` +
        `changed, or an earlier write InfluxDB refused): not compared`,
    );
  if (s.conflicting === 0) return out;
  const l = s.largest!;
  out.push(
    `${s.conflicting} of ${s.compared} points already held conflict with the stored values ` +
      `(largest difference ${fmt(l.difference)} on ${l.channel_id} at ${l.time}: stored ${l.stored}, ` +
      `file ${l.file}); the stored values are kept`,
  );
  if (headerLikelyWrong(s, drift.layoutDrift)) {
    const which = mostlyConflictingChannels(s)
      .map((c) => `${c.channel_id} ${c.conflicting}/${c.compared}`)
      .join(', ');
    out.push(
      `header likely wrong (e.g. columns swapped): most overlapping points conflict` +
        `${which ? ` (${which})` : ''} and the header layout differs from the device's known one ` +
        `(${drift.knownLayout} → ${drift.layout})`,
    );
  }
  return out;
}

/** The file's `reexport_conflict` finding (core.quality_events), or null without conflicts. */
export function conflictFinding(s: ConflictSummary | null | undefined, layoutDrift: boolean): Finding | null {
  if (!s || s.conflicting === 0 || !s.range) return null;
  return {
    kind: 'reexport_conflict',
    severity: 'warning',
    channelId: s.channels.length === 1 ? s.channels[0].channel_id : null,
    tStart: s.range.from,
    tEnd: s.range.to,
    measure: s.conflicting,
    detail: {
      compared: s.compared,
      conflicting: s.conflicting,
      missing: s.missing,
      largest_difference: s.largest,
      examples: s.examples,
      channels: s.channels,
      header_likely_wrong: headerLikelyWrong(s, layoutDrift),
    },
  };
}
