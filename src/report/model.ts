/**
 * The campaign report as plain values (`powerview report`): read once from
 * PostgreSQL as the tenant's own login, then rendered as json, csv, xlsx or
 * pdf. Every renderer takes this and nothing else, so that the formats agree.
 * Times are ISO 8601 strings (UTC, `Z`), local days `YYYY-MM-DD` in the
 * tenant's zone; numbers are as SQL returned them (no rounding here).
 */

export interface ReportPeriod {
  /** inclusive, UTC ISO */
  readonly from: string;
  /** exclusive, UTC ISO */
  readonly to: string;
  readonly timeZone: string;
}

export interface ChannelSummary {
  readonly deviceMasterSn: string;
  readonly channelId: string;
  readonly label: string | null;
  readonly name: string | null;
  readonly unit: string | null;
  readonly samples: number;
  /** W channels: kWh over the period; null otherwise */
  readonly energyKwh: number | null;
  /** W channels: the highest hourly max and its hour (UTC ISO) */
  readonly peakW: number | null;
  readonly peakAt: string | null;
  /** V channels */
  readonly minV: number | null;
  readonly meanV: number | null;
  readonly maxV: number | null;
}

export interface DeviceSummary {
  readonly deviceMasterSn: string;
  readonly channels: number;
  readonly firstTime: string | null;
  readonly lastTime: string | null;
  /** samples received / expected over the period, 0..1 (null: step unknown) */
  readonly completeness: number | null;
}

export interface DailyEnergy {
  readonly day: string;
  readonly deviceMasterSn: string;
  readonly channelId: string;
  readonly energyKwh: number;
}

export interface HourlyRow {
  readonly hour: string;
  readonly deviceMasterSn: string;
  readonly channelId: string;
  readonly unit: string | null;
  readonly samples: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly energyKwh: number | null;
}

export interface QualityRow {
  readonly kind: string;
  readonly severity: string;
  readonly deviceMasterSn: string;
  readonly channelId: string | null;
  readonly tStart: string;
  readonly tEnd: string;
  readonly measure: number | null;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly file: string | null;
  readonly open: boolean;
}

export interface CampaignReport {
  readonly tenant: string;
  readonly campaign: string;
  readonly period: ReportPeriod;
  /** when the data was read (UTC ISO); left out of the deterministic formats' bytes when `generatedAt` is pinned */
  readonly generatedAt: string;
  readonly devices: readonly DeviceSummary[];
  readonly channels: readonly ChannelSummary[];
  readonly totalEnergyKwh: number;
  readonly daily: readonly DailyEnergy[];
  readonly hourly: readonly HourlyRow[];
  readonly quality: readonly QualityRow[];
}
