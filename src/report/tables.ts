import type { CampaignReport, ChannelSummary, DailyEnergy, DeviceSummary, HourlyRow, QualityRow } from './model.js';

/**
 * The report's tables as columns, once, for csv and xlsx (docs/reports.md#reports): headers carry the
 * units, `format` is the Excel number format of a numeric column. Every cell is a string, a number or
 * empty (null); times are UTC ISO strings, local days `YYYY-MM-DD`.
 */
export type Cell = string | number | null;

export interface Column<R> {
  readonly header: string;
  readonly value: (row: R) => Cell;
  /** Excel number format; absent: text or a count shown as is */
  readonly format?: string;
  /** column width in characters (xlsx) */
  readonly width?: number;
}

export interface Table<R = unknown> {
  /** the xlsx sheet it goes to: Summary stacks the info, devices and channels tables */
  readonly sheet: string;
  /** the section title above it when it shares its sheet */
  readonly title: string;
  /** file name (csv) */
  readonly file: string;
  readonly columns: readonly Column<R>[];
  readonly rows: readonly R[];
}

export const FORMATS = { kwh: '#,##0.000', w: '#,##0.0', v: '0.0', value: '#,##0.###', count: '#,##0', pct: '0.0%' };

const TIME = 22;

const infoColumns: Column<[string, Cell, string?]>[] = [
  { header: 'Item', value: (r) => r[0], width: 24 },
  { header: 'Value', value: (r) => r[1], width: 28 },
  { header: 'Unit', value: (r) => r[2] ?? null, width: 8 },
];

/** The report's identity and totals as (item, value, unit) rows: the top of the Summary sheet, summary.csv. */
export function infoRows(r: CampaignReport): [string, Cell, string?][] {
  return [
    ['Tenant', r.tenant],
    ['Campaign', r.campaign],
    ['Period from (UTC, inclusive)', r.period.from],
    ['Period to (UTC, exclusive)', r.period.to],
    ['Time zone of days', r.period.timeZone],
    ['Devices', r.devices.length, 'count'],
    ['Channels', r.channels.length, 'count'],
    ['Total energy', r.totalEnergyKwh, 'kWh'],
  ];
}

export const deviceColumns: Column<DeviceSummary>[] = [
  { header: 'Device', value: (d) => d.deviceMasterSn, width: 12 },
  { header: 'Channels', value: (d) => d.channels, format: FORMATS.count, width: 10 },
  { header: 'First sample (UTC)', value: (d) => d.firstTime, width: TIME },
  { header: 'Last sample (UTC)', value: (d) => d.lastTime, width: TIME },
  { header: 'Completeness (ratio)', value: (d) => d.completeness, format: FORMATS.pct, width: 14 },
];

export const channelColumns: Column<ChannelSummary>[] = [
  { header: 'Device', value: (c) => c.deviceMasterSn, width: 12 },
  { header: 'Channel', value: (c) => c.channelId, width: 20 },
  { header: 'Label', value: (c) => c.label, width: 8 },
  { header: 'Name', value: (c) => c.name, width: 14 },
  { header: 'Unit', value: (c) => c.unit, width: 6 },
  { header: 'Samples (count)', value: (c) => c.samples, format: FORMATS.count, width: 12 },
  { header: 'Energy (kWh)', value: (c) => c.energyKwh, format: FORMATS.kwh, width: 14 },
  { header: 'Peak power (W)', value: (c) => c.peakW, format: FORMATS.w, width: 14 },
  { header: 'Peak hour (UTC)', value: (c) => c.peakAt, width: TIME },
  { header: 'Voltage min (V)', value: (c) => c.minV, format: FORMATS.v, width: 12 },
  { header: 'Voltage mean (V)', value: (c) => c.meanV, format: FORMATS.v, width: 12 },
  { header: 'Voltage max (V)', value: (c) => c.maxV, format: FORMATS.v, width: 12 },
];

export const dailyColumns: Column<DailyEnergy>[] = [
  { header: 'Day (local)', value: (d) => d.day, width: 12 },
  { header: 'Device', value: (d) => d.deviceMasterSn, width: 12 },
  { header: 'Channel', value: (d) => d.channelId, width: 20 },
  { header: 'Energy (kWh)', value: (d) => d.energyKwh, format: FORMATS.kwh, width: 14 },
];

export const hourlyColumns: Column<HourlyRow>[] = [
  { header: 'Hour (UTC)', value: (h) => h.hour, width: TIME },
  { header: 'Device', value: (h) => h.deviceMasterSn, width: 12 },
  { header: 'Channel', value: (h) => h.channelId, width: 20 },
  { header: 'Unit', value: (h) => h.unit, width: 6 },
  { header: 'Samples (count)', value: (h) => h.samples, format: FORMATS.count, width: 12 },
  { header: 'Mean (unit)', value: (h) => h.mean, format: FORMATS.value, width: 12 },
  { header: 'Min (unit)', value: (h) => h.min, format: FORMATS.value, width: 12 },
  { header: 'Max (unit)', value: (h) => h.max, format: FORMATS.value, width: 12 },
  { header: 'Energy (kWh)', value: (h) => h.energyKwh, format: FORMATS.kwh, width: 14 },
];

export const qualityColumns: Column<QualityRow>[] = [
  { header: 'Kind', value: (q) => q.kind, width: 20 },
  { header: 'Severity', value: (q) => q.severity, width: 9 },
  { header: 'Device', value: (q) => q.deviceMasterSn, width: 12 },
  { header: 'Channel', value: (q) => q.channelId, width: 20 },
  { header: 'Start (UTC)', value: (q) => q.tStart, width: TIME },
  { header: 'End (UTC)', value: (q) => q.tEnd, width: TIME },
  { header: "Measure (the kind's unit)", value: (q) => q.measure, format: FORMATS.value, width: 14 },
  { header: 'Open', value: (q) => (q.open ? 'yes' : 'no'), width: 6 },
  { header: 'File', value: (q) => q.file, width: 30 },
  { header: 'Detail (JSON)', value: (q) => JSON.stringify(q.detail), width: 40 },
];

/** Every table of the report, in the order of the xlsx sheets, with the csv file names (one file per table). */
export function reportTables(r: CampaignReport): Table[] {
  const table = <R>(sheet: string, title: string, file: string, columns: Column<R>[], rows: readonly R[]): Table =>
    ({ sheet, title, file, columns, rows }) as Table;
  return [
    table('Summary', 'Summary', 'summary.csv', infoColumns, infoRows(r)),
    table('Summary', 'Devices', 'devices.csv', deviceColumns, r.devices),
    table('Summary', 'Channels', 'channels.csv', channelColumns, r.channels),
    table('Daily energy', 'Daily energy', 'daily-energy.csv', dailyColumns, r.daily),
    table('Hourly', 'Hourly', 'hourly.csv', hourlyColumns, r.hourly),
    table('Quality', 'Quality', 'quality.csv', qualityColumns, r.quality),
  ];
}
