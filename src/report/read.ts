import type pg from 'pg';
import { ErrorCodes, PowerViewError, UsageError } from '../errors.js';
import { toDatabaseError } from '../postgres/errors.js';
import type { CampaignReport, ChannelSummary, DailyEnergy, DeviceSummary, HourlyRow, QualityRow } from './model.js';
import {
  CHANNELS_SQL,
  DAILY_SQL,
  DEVICES_SQL,
  HOURLY_SQL,
  PERIOD_SQL,
  QUALITY_SQL,
  TIME_ZONE_SQL,
  TOTAL_SQL,
} from './sql.js';

export interface ReportQuery {
  tenant: string;
  campaign: string;
  /** first local day (YYYY-MM-DD, the tenant's zone), inclusive; default: the campaign's first hour with data */
  from?: string;
  /** last local day, inclusive; default: the campaign's last hour with data */
  to?: string;
  /** pinned for reproducible output; default: now */
  generatedAt?: string;
}

/** The campaign has no hourly data the login can see in the period: nothing to report. */
export class ReportEmptyError extends PowerViewError {
  constructor(message: string) {
    super(ErrorCodes.REPORT_EMPTY, message);
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` and a real calendar day, else a UsageError naming the flag. */
export function checkDay(flag: string, day: string | undefined): void {
  if (day === undefined) return;
  const date = new Date(`${day}T00:00:00Z`);
  const ok = DAY.test(day) && !Number.isNaN(date.getTime()) && date.toISOString().startsWith(day);
  if (!ok) throw new UsageError(`${flag}: expected a day YYYY-MM-DD, got ${JSON.stringify(day)}`);
}

/** UTC ISO 8601 to the second (`2025-10-26T01:00:00Z`). */
export function isoOf(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString().replace(/\.000Z$/, 'Z');
}

const isoOrNull = (v: Date | null): string | null => (v === null ? null : isoOf(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

type Row = Record<string, unknown>;

/**
 * Reads the campaign report with `pool`, which must be connected as the tenant's own login (connect.ts):
 * one read-only REPEATABLE READ transaction, so every table of the report is of the same snapshot.
 * Throws ReportEmptyError when the login sees no data of the campaign in the period.
 */
export async function readCampaignReport(pool: pg.Pool, q: ReportQuery): Promise<CampaignReport> {
  checkDay('--from', q.from);
  checkDay('--to', q.to);
  if (q.from && q.to && q.from > q.to) throw new UsageError(`--from ${q.from} is after --to ${q.to}`);
  const client = await pool.connect().catch((err: unknown) => {
    throw toDatabaseError(err, `report ${q.tenant}/${q.campaign}: connect as the tenant's login`);
  });
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const report = await readIn(client, q);
    await client.query('COMMIT');
    return report;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if (err instanceof PowerViewError) throw err;
    throw toDatabaseError(err, `report ${q.tenant}/${q.campaign}`);
  } finally {
    client.release();
  }
}

async function readIn(client: pg.PoolClient, q: ReportQuery): Promise<CampaignReport> {
  const what = `${q.tenant}/${q.campaign}`;
  const zone = (await client.query<{ time_zone: string }>(TIME_ZONE_SQL, [q.tenant])).rows[0]?.time_zone;
  if (!zone) throw new ReportEmptyError(`${what}: the tenant's login sees no device of tenant ${q.tenant}`);
  const bounds = await client.query<{ period_from: Date | null; period_to: Date | null }>(PERIOD_SQL, [
    q.tenant,
    q.campaign,
    q.from ?? null,
    q.to ?? null,
    zone,
  ]);
  const { period_from: from, period_to: to } = bounds.rows[0];
  if (!from || !to) throw new ReportEmptyError(`${what}: no hourly data of campaign ${q.campaign}`);
  const params = [q.tenant, q.campaign, from.toISOString(), to.toISOString(), zone];
  const run = async (sql: string, more: unknown[] = []): Promise<Row[]> =>
    (await client.query<Row>(sql, [...params, ...more])).rows;
  const channels = (await run(CHANNELS_SQL)).map(channelOf);
  if (!channels.length) {
    throw new ReportEmptyError(
      `${what}: no hourly data from ${isoOf(from)} to ${isoOf(to)} (${zone}): check --from and --to`,
    );
  }
  const total = Number((await run(TOTAL_SQL))[0].total_kwh);
  const devices = (await run(DEVICES_SQL, [q.from !== undefined, q.to !== undefined])).map(deviceOf);
  const daily = (await run(DAILY_SQL)).map(dailyOf);
  const hourly = (await run(HOURLY_SQL)).map(hourlyOf);
  const quality = (await run(QUALITY_SQL)).map(qualityOf);
  return {
    tenant: q.tenant,
    campaign: q.campaign,
    period: { from: isoOf(from), to: isoOf(to), timeZone: zone },
    generatedAt: q.generatedAt ?? isoOf(new Date(Math.floor(Date.now() / 1000) * 1000)),
    devices,
    channels,
    totalEnergyKwh: total,
    daily,
    hourly,
    quality,
  };
}

function channelOf(r: Row): ChannelSummary {
  return {
    deviceMasterSn: r.device_master_sn as string,
    channelId: r.channel_id as string,
    label: (r.channel_label as string | null) ?? null,
    name: (r.channel_name as string | null) ?? null,
    unit: (r.channel_unit as string | null) ?? null,
    samples: Number(r.samples),
    energyKwh: num(r.energy_kwh),
    peakW: num(r.peak_w),
    peakAt: isoOrNull(r.peak_at as Date | null),
    minV: num(r.min_v),
    meanV: num(r.mean_v),
    maxV: num(r.max_v),
  };
}

function deviceOf(r: Row): DeviceSummary {
  return {
    deviceMasterSn: r.device_master_sn as string,
    channels: Number(r.channels),
    firstTime: isoOrNull(r.first_time as Date | null),
    lastTime: isoOrNull(r.last_time as Date | null),
    completeness: num(r.completeness),
  };
}

function dailyOf(r: Row): DailyEnergy {
  return {
    day: r.day as string,
    deviceMasterSn: r.device_master_sn as string,
    channelId: r.channel_id as string,
    energyKwh: Number(r.energy_kwh),
  };
}

function hourlyOf(r: Row): HourlyRow {
  return {
    hour: isoOf(r.hour as Date),
    deviceMasterSn: r.device_master_sn as string,
    channelId: r.channel_id as string,
    unit: (r.channel_unit as string | null) ?? null,
    samples: Number(r.samples),
    mean: Number(r.mean),
    min: Number(r.min_value),
    max: Number(r.max_value),
    energyKwh: num(r.energy_kwh),
  };
}

function qualityOf(r: Row): QualityRow {
  return {
    kind: r.kind as string,
    severity: r.severity as string,
    deviceMasterSn: r.device_master_sn as string,
    channelId: (r.channel_id as string | null) ?? null,
    tStart: isoOf(r.t_start as Date),
    tEnd: isoOf(r.t_end as Date),
    measure: num(r.measure),
    detail: (r.detail as Record<string, unknown> | null) ?? {},
    file: (r.file as string | null) ?? null,
    open: r.open === true,
  };
}
