/**
 * The PDF campaign report read back with poppler-utils: its numbers and
 * findings as text, its pages rendered (not blank, charts in colour), its
 * fonts embedded, its tables paginated, its bytes reproducible. No service:
 * the report value is built in memory (test/support/report-fixture.ts).
 * POWERVIEW_WRITE_DOC_IMAGES=1 writes page 1 to docs/reports-page1.png.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { CampaignReport } from '../../src/report/model.js';
import { CHART, renderPdf } from '../../src/report/pdf.js';
import { chartSeries, dailyPoints, profilePoints } from '../../src/report/pdf-chart-data.js';
import { chartSvg, dailyEnergySpec, drawSvg, powerProfileSpec } from '../../src/report/pdf-charts.js';
import { registerFonts, textWidth } from '../../src/report/pdf-fonts.js';
import PDFDocument from 'pdfkit';
import {
  colourRatio,
  flat,
  fonts,
  info,
  inkRatio,
  pagesText,
  pdfFile,
  popplerMissing,
  rasterize,
} from '../support/poppler.js';
import { reportFixture } from '../support/report-fixture.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const missing = popplerMissing();
if (missing !== null) t.fail(missing);

const num = (v: number, decimals: number): string =>
  v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
/** the fixture's zone, Europe/Zurich, is UTC+1 over its March week */
const zurich = (iso: string): string =>
  new Date(Date.parse(iso) + 3_600_000).toISOString().slice(0, 16).replace('T', ' ');

async function rendered(report: CampaignReport): Promise<{ file: string; pages: string[] }> {
  const file = pdfFile(await renderPdf(report));
  return { file, pages: pagesText(file) };
}

t.test('the summary shows each channel energy, the total, the peak and the voltage', async (t) => {
  const report = reportFixture();
  const { pages } = await rendered(report);
  const text = flat(pages.join(' '));
  t.match(text, 'Plant 7 audit', 'campaign');
  t.match(text, 'acme-energy', 'tenant');
  t.match(text, 'Europe/Zurich', 'time zone');
  t.match(text, '2025-03-01 00:00 to 2025-03-08 00:00', 'period in local time');
  for (const c of report.channels.filter((c) => c.energyKwh !== null)) {
    t.match(text, `${c.deviceMasterSn} ${c.channelId}`, `${c.deviceMasterSn} ${c.channelId} listed`);
    t.match(text, num(c.energyKwh!, 3), `${c.deviceMasterSn} ${c.channelId} energy`);
    t.match(text, num(c.peakW!, 1), `${c.deviceMasterSn} ${c.channelId} peak`);
  }
  t.match(text, `Total energy ${num(report.totalEnergyKwh, 3)} kWh`, 'total energy');
  const peak = [...report.channels].sort((a, b) => (b.peakW ?? 0) - (a.peakW ?? 0))[0];
  t.match(text, `${num(peak.peakW!, 1)} W at ${zurich(peak.peakAt!)}`, 'peak power with its local time');
  const v = report.channels.filter((c) => c.unit === 'V');
  const min = Math.min(...v.map((c) => c.minV!));
  const max = Math.max(...v.map((c) => c.maxV!));
  t.match(text, new RegExp(`${num(min, 1)} / \\d+\\.\\d / ${num(max, 1)} V`), 'voltage min / mean / max');
  t.match(text, '97.9 %', 'completeness');
});

t.test('the quality section lists every finding, or says there is none', async (t) => {
  const report = reportFixture({ findings: 5 });
  const { pages } = await rendered(report);
  const quality = flat(pages.find((p) => p.includes('Data quality findings')) ?? '');
  t.match(quality, '5 findings', 'count');
  for (const q of report.quality) {
    t.match(quality, q.file!, `finding of ${q.file} listed`);
    t.match(quality, q.kind.slice(0, 8), `kind ${q.kind}`);
  }
  t.match(quality, 'info (closed)', 'a closed finding says so');
  const none = await rendered(reportFixture({ findings: 0 }));
  t.match(flat(none.pages.join(' ')), 'No findings', 'an empty quality section says so');
});

t.test('page 1 and the chart page are not blank; the charts are in colour', async (t) => {
  const { file, pages } = await rendered(reportFixture());
  const write = process.env.POWERVIEW_WRITE_DOC_IMAGES === '1';
  const png = join(write ? join(root, 'docs') : mkdtempSync(join(tmpdir(), 'pv-doc-')), 'reports-page1.png');
  const first = rasterize(file, 1, 50, false, png);
  const firstColour = rasterize(file, 1, 50, true);
  t.ok(inkRatio(first) > 0.02, `page 1 has ink (${(inkRatio(first) * 100).toFixed(1)} %), PNG at ${png}`);
  const chartPage = pages.findIndex((p) => p.includes('Daily energy per channel')) + 1;
  t.ok(chartPage > 1, `the charts are on page ${chartPage}`);
  t.match(pages[chartPage - 1], 'Mean power by hour of day', 'the power profile is on the same page');
  t.match(pages[chartPage - 1], 'SN4100 ch1 Main feed', 'the legend names the series');
  const chart = rasterize(file, chartPage, 50, true);
  t.ok(inkRatio(chart) > 0.05, `chart page has ink (${(inkRatio(chart) * 100).toFixed(1)} %)`);
  t.ok(colourRatio(chart) > 0.05, `chart page has coloured bars (${(colourRatio(chart) * 100).toFixed(1)} %)`);
  t.ok(colourRatio(firstColour) < 0.01, 'page 1 (tables) is not mistaken for a chart');
});

t.test('every font is embedded, the charts use the same font as the text', async (t) => {
  const { file } = await rendered(reportFixture());
  const list = fonts(file);
  t.ok(list.length > 0, 'fonts listed');
  t.same(
    list.filter((f) => !f.embedded).map((f) => f.name),
    [],
    'no font left to the reader',
  );
  t.ok(
    list.every((f) => /\+DejaVuSans(-Bold)?$/.test(f.name)),
    `only subsets of DejaVu Sans: ${list.map((f) => f.name).join(', ')}`,
  );
  t.ok(textWidth('WWWW', 10) > 2 * textWidth('iiii', 10), 'chart text is measured per glyph, not estimated');
});

t.test('long tables continue on new pages with their header repeated', async (t) => {
  const report = reportFixture({ devices: 6, powerChannels: 12, voltageChannels: 1, days: 3, findings: 90 });
  const { pages } = await rendered(report);
  const text = flat(pages.join(' '));
  t.ok(pages.length >= 6, `${pages.length} pages`);
  for (const c of report.channels.filter((c) => c.energyKwh !== null)) {
    t.match(text, num(c.energyKwh!, 3), `${c.deviceMasterSn} ${c.channelId} energy on some page`);
  }
  const header = ['Samples', '(kWh)', 'Peak (W)', 'Peak at'];
  const channelPages = pages.filter((p) => header.every((h) => flat(p).includes(h)));
  t.ok(channelPages.length >= 2, `channel table header on ${channelPages.length} pages`);
  const findingPages = pages.filter((p) => flat(p).includes('File and detail'));
  t.ok(findingPages.length >= 2, `findings table header on ${findingPages.length} pages`);
  const listed = report.quality.filter((q) => text.includes(`${q.file} missing=${q.detail.missing as number}`));
  t.equal(listed.length, report.quality.length, 'every finding on some page');
  t.ok(
    pages.every((p, i) => p.includes(`page ${i + 1} of ${pages.length}`)),
    'every page numbered',
  );
  const chart = flat(pages.find((p) => p.includes('Daily energy per channel'))!);
  t.match(chart, 'Other channels', '72 power channels: the small ones are summed in the charts');
});

t.test('the same report gives the same bytes, dated generatedAt', async (t) => {
  const report = reportFixture();
  const a = await renderPdf(report);
  const b = await renderPdf(report);
  t.ok(a.equals(b), `identical bytes (${a.length})`);
  t.equal(a.subarray(0, 5).toString('latin1'), '%PDF-', 'a PDF');
  const meta = info(pdfFile(a));
  t.match(meta.CreationDate, /Mar 10 08:30:00 2025/, 'CreationDate is generatedAt');
  t.match(meta.Title, 'Plant 7 audit', 'title');
  const later = await renderPdf({ ...report, generatedAt: '2025-03-11T08:30:00.000Z' });
  t.notOk(a.equals(later), 'another generatedAt gives other bytes');
});

t.test('the charts are SVG that svg-to-pdfkit draws without a warning, in the embedded font', async (t) => {
  const report = reportFixture();
  const s = chartSeries(report);
  const tz = report.period.timeZone;
  const specs = [
    dailyEnergySpec(dailyPoints(report, s), s.order, tz, CHART),
    powerProfileSpec(profilePoints(report, s), s.order, tz, CHART),
  ];
  for (const spec of specs) {
    const svg = await chartSvg(spec);
    t.match(svg, /^<svg /, 'an SVG');
    t.match(svg, 'font-family="DejaVu Sans', 'text in the embedded family');
    t.notMatch(svg, /font-family="(?!DejaVu Sans)/, 'no other family');
    const doc = new PDFDocument({ autoFirstPage: true });
    registerFonts(doc);
    t.same(drawSvg(doc, svg, 40, 40, CHART), [], 'no svg-to-pdfkit warning');
    doc.end();
  }
});

t.test('a report with no data still renders, saying there is nothing to chart', async (t) => {
  const empty: CampaignReport = {
    ...reportFixture(),
    devices: [],
    channels: [],
    totalEnergyKwh: 0,
    daily: [],
    hourly: [],
    quality: [],
  };
  const { file, pages } = await rendered(empty);
  const text = flat(pages.join(' '));
  t.match(text, 'Total energy 0.000 kWh', 'total is zero');
  t.match(text, 'nothing to chart', 'the chart page says why it is empty');
  t.match(text, 'No findings', 'no findings');
  t.ok(
    fonts(file).every((f) => f.embedded),
    'fonts embedded',
  );
});

t.test('names outside ASCII are drawn with the embedded font and read back', async (t) => {
  const base = reportFixture({ devices: 1, powerChannels: 2, findings: 1 });
  const report: CampaignReport = {
    ...base,
    tenant: 'Stadtwerke Zürich',
    campaign: 'Kühlhaus Süd – Ω-Messung',
    channels: base.channels.map((c, i) => (i === 0 ? { ...c, label: 'Küche Ø 3~' } : c)),
  };
  const { file, pages } = await rendered(report);
  const text = flat(pages.join(' '));
  t.match(text, 'Stadtwerke Zürich', 'tenant');
  t.match(text, 'Kühlhaus Süd – Ω-Messung', 'campaign');
  t.match(text, 'ch1 Küche Ø 3~', 'channel label in the table and the legend');
  const legend = flat(pages.find((p) => p.includes('Daily energy per channel'))!);
  t.match(legend, 'Küche Ø 3~', 'in the chart legend too');
  t.ok(
    fonts(file).every((f) => f.embedded),
    'fonts embedded',
  );
});
