/**
 * The campaign report as a PDF a customer can forward (`powerview report
 * --format pdf`): a title block and the summary tables, a page of charts
 * (daily energy per channel, mean power by hour of day), then the quality
 * findings. A4 portrait, one embedded font (DejaVu Sans) for text and charts,
 * page numbers in the footer. The document's dates are `generatedAt`, so the
 * same report gives the same bytes.
 */
import PDFDocument from 'pdfkit';
import type { CampaignReport } from './model.js';
import { chartSeries, dailyPoints, profilePoints } from './pdf-chart-data.js';
import { chartSvg, dailyEnergySpec, drawSvg, powerProfileSpec, type ChartBox } from './pdf-charts.js';
import { FONT, FONT_BOLD, registerFonts } from './pdf-fonts.js';
import { localTime } from './pdf-format.js';
import { qualitySection, summarySections } from './pdf-sections.js';
import { contentWidth, heading, paragraph } from './pdf-tables.js';

const MARGINS = { top: 48, bottom: 36, left: 42, right: 42 };
const A4_WIDTH = 595.28;
export const CHART: ChartBox = { width: A4_WIDTH - MARGINS.left - MARGINS.right, height: 320 };

interface Charts {
  readonly daily: string | null;
  readonly profile: string | null;
}

async function renderCharts(report: CampaignReport): Promise<Charts> {
  const series = chartSeries(report);
  const tz = report.period.timeZone;
  const daily = dailyPoints(report, series);
  const profile = profilePoints(report, series);
  return {
    daily: daily.length === 0 ? null : await chartSvg(dailyEnergySpec(daily, series.order, tz, CHART)),
    profile: profile.length === 0 ? null : await chartSvg(powerProfileSpec(profile, series.order, tz, CHART)),
  };
}

function newDocument(report: CampaignReport): PDFKit.PDFDocument {
  const when = new Date(report.generatedAt);
  return new PDFDocument({
    size: 'A4',
    margins: MARGINS,
    bufferPages: true,
    info: {
      Title: `Campaign report: ${report.campaign}`,
      Subject: `${report.tenant} / ${report.campaign}, ${report.period.from} to ${report.period.to}`,
      Author: 'PowerView',
      Creator: 'PowerView',
      Producer: 'PowerView (PDFKit)',
      CreationDate: when,
      ModDate: when,
    },
  });
}

function titleBlock(doc: PDFKit.PDFDocument, report: CampaignReport): void {
  const tz = report.period.timeZone;
  const x = MARGINS.left;
  const w = contentWidth(doc);
  doc.font(FONT).fontSize(10).fillColor('#5a6478').text('PowerView campaign report', x, MARGINS.top, { width: w });
  doc
    .font(FONT_BOLD)
    .fontSize(22)
    .fillColor('#1d2b45')
    .text(report.campaign, x, doc.y + 2, { width: w });
  doc.moveDown(0.4);
  const lines: [string, string][] = [
    ['Tenant', report.tenant],
    ['Period', `${localTime(report.period.from, tz)} to ${localTime(report.period.to, tz)} (end excluded)`],
    ['Time zone', tz],
    ['Generated', `${localTime(report.generatedAt, tz)} (${tz})`],
  ];
  for (const [label, value] of lines) {
    const y = doc.y;
    doc.font(FONT_BOLD).fontSize(10).fillColor('black').text(label, x, y, { width: 90 });
    doc
      .font(FONT)
      .fontSize(10)
      .text(value, x + 90, y, { width: w - 90 });
  }
  doc.moveDown(1);
  doc
    .moveTo(x, doc.y)
    .lineTo(x + w, doc.y)
    .lineWidth(0.8)
    .strokeColor('#1d2b45')
    .stroke();
  doc.moveDown(1);
}

function chartsPage(doc: PDFKit.PDFDocument, report: CampaignReport, charts: Charts): void {
  doc.addPage();
  heading(doc, 'Energy and power profile', CHART.height);
  if (charts.daily === null && charts.profile === null) {
    paragraph(doc, 'No power channel has data in this period: nothing to chart.');
    return;
  }
  const tz = report.period.timeZone;
  paragraph(doc, `Days and hours are local to ${tz}. At most ten series: smaller channels are summed.`, 8);
  for (const svg of [charts.daily, charts.profile]) {
    if (svg === null) continue;
    // svg-to-pdfkit's warnings (an SVG feature it skips) are left out: the
    // tests render these charts and require none
    drawSvg(doc, svg, MARGINS.left, doc.y, CHART);
    doc.y += CHART.height + 16;
  }
}

/** "tenant · campaign" and "page i of n" at the bottom of every page */
function footers(doc: PDFKit.PDFDocument, report: CampaignReport): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    const y = doc.page.height - bottom - 10;
    const w = contentWidth(doc);
    doc.font(FONT).fontSize(7).fillColor('#5a6478');
    doc.text(`${report.tenant} · ${report.campaign}`, MARGINS.left, y, { width: w, lineBreak: false });
    doc.text(`page ${i + 1} of ${range.count}`, MARGINS.left, y, { width: w, align: 'right', lineBreak: false });
    doc.page.margins.bottom = bottom;
  }
}

function bytesOf(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

/** the report as PDF bytes */
export async function renderPdf(report: CampaignReport): Promise<Buffer> {
  const charts = await renderCharts(report);
  const doc = newDocument(report);
  const bytes = bytesOf(doc);
  registerFonts(doc);
  titleBlock(doc, report);
  summarySections(doc, report);
  chartsPage(doc, report, charts);
  doc.addPage();
  qualitySection(doc, report);
  footers(doc, report);
  doc.end();
  return bytes;
}
