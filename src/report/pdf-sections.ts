/**
 * The table sections of the PDF report: key figures, devices, channels
 * (energy and peak power), voltage, and the quality findings.
 */
import type { CampaignReport, ChannelSummary } from './model.js';
import { channelName } from './pdf-chart-data.js';
import { detailText, fixed, kwh, localTime, percent, volts, watts } from './pdf-format.js';
import { heading, paragraph, table, type Row } from './pdf-tables.js';

const isVoltage = (c: ChannelSummary): boolean => c.unit === 'V';

/** the highest peak of the period, null when no channel has one */
export function peakOf(report: CampaignReport): ChannelSummary | null {
  let best: ChannelSummary | null = null;
  for (const c of report.channels) {
    if (c.peakW !== null && (best === null || c.peakW > (best.peakW ?? -Infinity))) best = c;
  }
  return best;
}

interface VoltageFigures {
  readonly min: number | null;
  readonly mean: number | null;
  readonly max: number | null;
}

/** min of mins, sample-weighted mean of means, max of maxes over the V channels */
export function voltageOf(report: CampaignReport): VoltageFigures {
  let min: number | null = null;
  let max: number | null = null;
  let sum = 0;
  let weight = 0;
  for (const c of report.channels.filter(isVoltage)) {
    if (c.minV !== null) min = min === null ? c.minV : Math.min(min, c.minV);
    if (c.maxV !== null) max = max === null ? c.maxV : Math.max(max, c.maxV);
    if (c.meanV !== null && c.samples > 0) {
      sum += c.meanV * c.samples;
      weight += c.samples;
    }
  }
  return { min, mean: weight > 0 ? sum / weight : null, max };
}

function completenessOf(report: CampaignReport): number | null {
  const known = report.devices.map((d) => d.completeness).filter((c): c is number => c !== null);
  return known.length === 0 ? null : known.reduce((s, c) => s + c, 0) / known.length;
}

function keyFigures(d: PDFKit.PDFDocument, report: CampaignReport): void {
  const tz = report.period.timeZone;
  const peak = peakOf(report);
  const v = voltageOf(report);
  const peakText =
    peak === null
      ? '–'
      : `${watts(peak.peakW)} W at ${localTime(peak.peakAt, tz)} (${peak.deviceMasterSn} ${channelName(peak)})`;
  const rows: Row[] = [
    { cells: ['Devices', String(report.devices.length)] },
    { cells: ['Channels', String(report.channels.length)] },
    { cells: ['Completeness (mean over devices)', percent(completenessOf(report))] },
    { cells: ['Total energy', `${kwh(report.totalEnergyKwh)} kWh`], bold: true },
    { cells: ['Peak power (highest hourly maximum)', peakText] },
    { cells: ['Voltage min / mean / max', `${volts(v.min)} / ${volts(v.mean)} / ${volts(v.max)} V`] },
  ];
  heading(d, 'Summary');
  table(
    d,
    [
      { header: 'Figure', weight: 2 },
      { header: 'Value', weight: 3 },
    ],
    rows,
    { fontSize: 9 },
  );
}

function devices(d: PDFKit.PDFDocument, report: CampaignReport): void {
  const tz = report.period.timeZone;
  heading(d, 'Devices');
  table(
    d,
    [
      { header: 'Device', weight: 3 },
      { header: 'Channels', weight: 1.2, align: 'right' },
      { header: 'First sample', weight: 2.4 },
      { header: 'Last sample', weight: 2.4 },
      { header: 'Completeness', weight: 1.6, align: 'right' },
    ],
    report.devices.map((d) => ({
      cells: [
        d.deviceMasterSn,
        String(d.channels),
        localTime(d.firstTime, tz),
        localTime(d.lastTime, tz),
        percent(d.completeness),
      ],
    })),
  );
}

function channels(d: PDFKit.PDFDocument, report: CampaignReport): void {
  const tz = report.period.timeZone;
  const rows: Row[] = report.channels
    .filter((c) => !isVoltage(c))
    .map((c) => ({
      cells: [
        c.deviceMasterSn,
        channelName(c),
        c.unit ?? '',
        String(c.samples),
        kwh(c.energyKwh),
        watts(c.peakW),
        localTime(c.peakAt, tz),
      ],
    }));
  rows.push({ cells: ['Total', '', '', '', kwh(report.totalEnergyKwh), '', ''], bold: true });
  heading(d, 'Energy and peak power per channel');
  table(
    d,
    [
      { header: 'Device', weight: 2.2 },
      { header: 'Channel', weight: 2.6 },
      { header: 'Unit', weight: 0.8 },
      { header: 'Samples', weight: 1.3, align: 'right' },
      { header: 'Energy (kWh)', weight: 1.6, align: 'right' },
      { header: 'Peak (W)', weight: 1.5, align: 'right' },
      { header: 'Peak at', weight: 2.2 },
    ],
    rows,
  );
}

function voltage(d: PDFKit.PDFDocument, report: CampaignReport): void {
  const v = report.channels.filter(isVoltage);
  if (v.length === 0) return;
  heading(d, 'Voltage per channel');
  table(
    d,
    [
      { header: 'Device', weight: 2.2 },
      { header: 'Channel', weight: 2.6 },
      { header: 'Samples', weight: 1.3, align: 'right' },
      { header: 'Min (V)', weight: 1.3, align: 'right' },
      { header: 'Mean (V)', weight: 1.3, align: 'right' },
      { header: 'Max (V)', weight: 1.3, align: 'right' },
    ],
    v.map((c) => ({
      cells: [c.deviceMasterSn, channelName(c), String(c.samples), volts(c.minV), volts(c.meanV), volts(c.maxV)],
    })),
  );
}

/** key figures, devices, channels and voltage tables from doc.y */
export function summarySections(d: PDFKit.PDFDocument, report: CampaignReport): void {
  keyFigures(d, report);
  devices(d, report);
  channels(d, report);
  voltage(d, report);
}

function measureText(m: number | null): string {
  return m === null ? '–' : fixed(m, Number.isInteger(m) ? 0 : 3);
}

/** the quality findings table, or a sentence saying there are none */
export function qualitySection(d: PDFKit.PDFDocument, report: CampaignReport): void {
  const tz = report.period.timeZone;
  heading(d, 'Data quality findings');
  if (report.quality.length === 0) {
    paragraph(d, 'No findings: no data-quality check reported anything for this period.');
    return;
  }
  const kinds = new Map<string, number>();
  for (const q of report.quality) kinds.set(q.kind, (kinds.get(q.kind) ?? 0) + 1);
  const counts = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
  paragraph(d, `${report.quality.length} findings (${counts}). Times in ${tz}.`);
  table(
    d,
    [
      { header: 'Kind', weight: 2.5 },
      { header: 'Severity', weight: 1.5 },
      { header: 'Device', weight: 1.6 },
      { header: 'Chan.', weight: 1 },
      { header: 'From', weight: 2.5 },
      { header: 'To', weight: 2.5 },
      { header: 'Measure', weight: 1.4, align: 'right' },
      { header: 'File and detail', weight: 4.5 },
    ],
    report.quality.map((q) => ({
      cells: [
        q.kind,
        q.open ? q.severity : `${q.severity} (closed)`,
        q.deviceMasterSn,
        q.channelId ?? '–',
        localTime(q.tStart, tz),
        localTime(q.tEnd, tz),
        measureText(q.measure),
        [q.file ?? '', detailText(q.detail)].filter((s) => s !== '').join('\n'),
      ],
    })),
    { fontSize: 7 },
  );
}
