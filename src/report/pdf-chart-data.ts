/**
 * The values the PDF report's charts plot, from the report model: the power
 * channels as named series (the largest `MAX_SERIES - 1` by energy, the rest
 * summed as "Other channels"), their energy per local day and their mean
 * power per local hour of day.
 */
import type { CampaignReport, ChannelSummary } from './model.js';
import { localHour } from './pdf-format.js';

export const MAX_SERIES = 10;
export const OTHER = 'Other channels';

export interface ChartSeries {
  /** legend order: by energy, largest first, "Other channels" last */
  readonly order: readonly string[];
  /** `device␀channel` → series name */
  readonly seriesOf: ReadonlyMap<string, string>;
}

export interface DailyPoint {
  readonly day: string;
  readonly series: string;
  readonly kwh: number;
}

export interface ProfilePoint {
  readonly hour: number;
  readonly series: string;
  readonly watts: number;
}

export const channelKey = (device: string, channel: string): string => `${device}\u0000${channel}`;

/** the name a channel has in the tables and legends */
export function channelName(c: Pick<ChannelSummary, 'channelId' | 'label' | 'name'>): string {
  const text = c.label ?? c.name;
  return text === null || text === '' || text === c.channelId ? c.channelId : `${c.channelId} ${text}`;
}

const isPower = (c: ChannelSummary): boolean => c.energyKwh !== null || c.unit === 'W';

export function chartSeries(report: CampaignReport): ChartSeries {
  const power = report.channels.filter(isPower);
  const manyDevices = new Set(report.channels.map((c) => c.deviceMasterSn)).size > 1;
  const ranked = [...power].sort(
    (a, b) =>
      Math.abs(b.energyKwh ?? 0) - Math.abs(a.energyKwh ?? 0) ||
      a.deviceMasterSn.localeCompare(b.deviceMasterSn) ||
      a.channelId.localeCompare(b.channelId),
  );
  const keep = ranked.length > MAX_SERIES ? MAX_SERIES - 1 : ranked.length;
  const seriesOf = new Map<string, string>();
  const order: string[] = [];
  ranked.forEach((c, i) => {
    const name = i < keep ? (manyDevices ? `${c.deviceMasterSn} ${channelName(c)}` : channelName(c)) : OTHER;
    seriesOf.set(channelKey(c.deviceMasterSn, c.channelId), name);
    if (!order.includes(name)) order.push(name);
  });
  return { order, seriesOf };
}

/** energy per (local day, series), days ascending then legend order */
export function dailyPoints(report: CampaignReport, s: ChartSeries): DailyPoint[] {
  const sums = new Map<string, Map<string, number>>();
  for (const d of report.daily) {
    const series = s.seriesOf.get(channelKey(d.deviceMasterSn, d.channelId));
    if (series === undefined) continue;
    const day = sums.get(d.day) ?? new Map<string, number>();
    day.set(series, (day.get(series) ?? 0) + d.energyKwh);
    sums.set(d.day, day);
  }
  const out: DailyPoint[] = [];
  for (const day of [...sums.keys()].sort()) {
    const bySeries = sums.get(day)!;
    for (const series of s.order) {
      const kwh = bySeries.get(series);
      if (kwh !== undefined) out.push({ day, series, kwh });
    }
  }
  return out;
}

/**
 * Mean power per local hour of day: each channel's hourly means averaged over
 * the days of the period, then summed over the channels of a series.
 */
export function profilePoints(report: CampaignReport, s: ChartSeries): ProfilePoint[] {
  const perChannel = new Map<string, { sum: number[]; n: number[] }>();
  // the same hours recur for every channel: one time-zone conversion each
  const hourOf = new Map<string, number>();
  for (const h of report.hourly) {
    const key = channelKey(h.deviceMasterSn, h.channelId);
    if (!s.seriesOf.has(key)) continue;
    const acc = perChannel.get(key) ?? { sum: new Array<number>(24).fill(0), n: new Array<number>(24).fill(0) };
    let hour = hourOf.get(h.hour);
    if (hour === undefined) {
      hour = localHour(h.hour, report.period.timeZone);
      hourOf.set(h.hour, hour);
    }
    acc.sum[hour] += h.mean;
    acc.n[hour] += 1;
    perChannel.set(key, acc);
  }
  const bySeries = new Map<string, (number | undefined)[]>();
  for (const [key, acc] of perChannel) {
    const series = s.seriesOf.get(key)!;
    const line = bySeries.get(series) ?? new Array<number | undefined>(24).fill(undefined);
    for (let hour = 0; hour < 24; hour++) {
      if (acc.n[hour] > 0) line[hour] = (line[hour] ?? 0) + acc.sum[hour] / acc.n[hour];
    }
    bySeries.set(series, line);
  }
  const out: ProfilePoint[] = [];
  for (const series of s.order) {
    (bySeries.get(series) ?? []).forEach((watts, hour) => {
      if (watts !== undefined) out.push({ hour, series, watts });
    });
  }
  return out;
}
