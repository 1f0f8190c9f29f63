import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import type { CampaignReport } from './model.js';
import { reportTables, type Table } from './tables.js';

/** Rows a worksheet holds (Excel's limit, header included). */
export const XLSX_MAX_ROWS = 1_048_576;

/**
 * The report as an Excel workbook (exceljs): sheets Summary (the report's identity and totals, then the
 * devices and the channels), Daily energy, Hourly and Quality; units in the headers, Excel number formats,
 * the first row of every sheet frozen. Deterministic: the same report gives the same bytes (the document's
 * dates and the zip entries' dates are the period's end, never the clock; `generatedAt` is left out).
 */
export async function renderXlsx(report: CampaignReport): Promise<Buffer> {
  const pinned = new Date(report.period.to);
  const wb = new ExcelJS.Workbook();
  wb.creator = 'PowerView';
  wb.lastModifiedBy = 'PowerView';
  wb.created = pinned;
  wb.modified = pinned;
  wb.title = `Campaign report ${report.tenant} / ${report.campaign}`;
  const bySheet = new Map<string, Table[]>();
  for (const t of reportTables(report)) bySheet.set(t.sheet, [...(bySheet.get(t.sheet) ?? []), t]);
  for (const [name, tables] of bySheet) addSheet(wb, name, tables);
  const raw = Buffer.from(await wb.xlsx.writeBuffer());
  return pinZipDates(raw, pinned);
}

function addSheet(wb: ExcelJS.Workbook, name: string, tables: Table[]): void {
  const rows = tables.reduce((n, t) => n + t.rows.length + 2, 0);
  if (rows > XLSX_MAX_ROWS) {
    throw new RangeError(
      `the ${name} sheet would need ${rows} rows, more than Excel's ${XLSX_MAX_ROWS}: ` +
        'use --format csv, or a shorter period (--from, --to)',
    );
  }
  const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', xSplit: 0, ySplit: 1 }] });
  const widths: number[] = [];
  tables.forEach((t, i) => {
    if (i > 0) {
      ws.addRow([]);
      ws.addRow([t.title]).font = { bold: true, size: 12 };
    }
    const header = ws.addRow(t.columns.map((c) => c.header));
    header.font = { bold: true };
    header.eachCell((cell) => {
      cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE7EEF7' } };
      cell.border = { bottom: { style: 'thin' } };
    });
    for (const row of t.rows) {
      const r = ws.addRow(t.columns.map((c) => c.value(row)));
      t.columns.forEach((c, j) => {
        if (c.format && typeof r.getCell(j + 1).value === 'number') r.getCell(j + 1).numFmt = c.format;
      });
    }
    t.columns.forEach((c, j) => (widths[j] = Math.max(widths[j] ?? 0, c.width ?? 12)));
  });
  widths.forEach((w, j) => (ws.getColumn(j + 1).width = w));
}

/**
 * JSZip (under exceljs) stamps each zip entry with the clock: rewrite the archive with every entry dated
 * `date`, in the same order, so that the bytes depend on the report only.
 */
async function pinZipDates(xlsx: Buffer, date: Date): Promise<Buffer> {
  const src = await JSZip.loadAsync(xlsx);
  const out = new JSZip();
  for (const [name, entry] of Object.entries(src.files)) {
    if (entry.dir) continue;
    out.file(name, await entry.async('uint8array'), { date, binary: true, createFolders: false });
  }
  return out.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 6 } });
}
