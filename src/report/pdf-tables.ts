/**
 * Tables and headings of the PDF report, drawn with PDFKit and paginated: a
 * row that does not fit starts a new page, which repeats the header row.
 * Cells wrap inside their column; a row is as tall as its tallest cell.
 */
import { FONT, FONT_BOLD } from './pdf-fonts.js';

export interface Column {
  readonly header: string;
  /** relative width; the columns share the page's content width */
  readonly weight: number;
  readonly align?: 'left' | 'right';
}

export interface Row {
  readonly cells: readonly string[];
  readonly bold?: boolean;
}

export interface TableOptions {
  readonly fontSize?: number;
}

const PAD = 3;
const HEADER_FILL = '#e6e9ef';
const ZEBRA_FILL = '#f6f7f9';
const RULE = '#b8bec9';
/** room kept at the bottom of each page for the footer */
export const FOOTER_ROOM = 24;

export function contentWidth(doc: PDFKit.PDFDocument): number {
  return doc.page.width - doc.page.margins.left - doc.page.margins.right;
}

/** the lowest y a table row or paragraph may reach on this page */
export function bottomLimit(doc: PDFKit.PDFDocument): number {
  return doc.page.height - doc.page.margins.bottom - FOOTER_ROOM;
}

/** starts a new page unless `height` more points fit below doc.y */
export function ensureRoom(doc: PDFKit.PDFDocument, height: number): void {
  if (doc.y + height > bottomLimit(doc)) doc.addPage();
}

/** a section heading, kept on the same page as at least `keep` points below it */
export function heading(doc: PDFKit.PDFDocument, text: string, keep = 60): void {
  ensureRoom(doc, 22 + keep);
  const x = doc.page.margins.left;
  doc
    .font(FONT_BOLD)
    .fontSize(13)
    .fillColor('#1d2b45')
    .text(text, x, doc.y, { width: contentWidth(doc) });
  doc.moveDown(0.3);
  doc.font(FONT).fontSize(9).fillColor('black');
}

/** a plain paragraph across the content width */
export function paragraph(doc: PDFKit.PDFDocument, text: string, fontSize = 9): void {
  ensureRoom(doc, fontSize * 2);
  doc
    .font(FONT)
    .fontSize(fontSize)
    .fillColor('black')
    .text(text, doc.page.margins.left, doc.y, { width: contentWidth(doc) });
  doc.moveDown(0.5);
}

function widths(doc: PDFKit.PDFDocument, columns: readonly Column[]): number[] {
  const total = columns.reduce((s, c) => s + c.weight, 0);
  return columns.map((c) => (contentWidth(doc) * c.weight) / total);
}

function rowHeight(doc: PDFKit.PDFDocument, cells: readonly string[], w: readonly number[], bold: boolean): number {
  doc.font(bold ? FONT_BOLD : FONT);
  let h = 0;
  cells.forEach((cell, i) => {
    h = Math.max(h, doc.heightOfString(cell === '' ? ' ' : cell, { width: w[i] - 2 * PAD }));
  });
  return h + 2 * PAD;
}

interface Drawn {
  readonly columns: readonly Column[];
  readonly w: readonly number[];
  readonly fontSize: number;
}

function drawRow(doc: PDFKit.PDFDocument, t: Drawn, cells: readonly string[], y: number, style: RowStyle): number {
  const h = rowHeight(doc, cells, t.w, style.bold);
  let x = doc.page.margins.left;
  if (style.fill !== undefined) {
    doc.rect(x, y, contentWidth(doc), h).fill(style.fill);
  }
  doc.font(style.bold ? FONT_BOLD : FONT).fillColor('black');
  cells.forEach((cell, i) => {
    doc.text(cell, x + PAD, y + PAD, { width: t.w[i] - 2 * PAD, align: t.columns[i].align ?? 'left' });
    x += t.w[i];
  });
  doc
    .moveTo(doc.page.margins.left, y + h)
    .lineTo(doc.page.margins.left + contentWidth(doc), y + h)
    .lineWidth(0.4)
    .strokeColor(RULE)
    .stroke();
  return y + h;
}

interface RowStyle {
  readonly bold: boolean;
  readonly fill?: string;
}

function drawHeader(doc: PDFKit.PDFDocument, t: Drawn, y: number): number {
  return drawRow(
    doc,
    t,
    t.columns.map((c) => c.header),
    y,
    { bold: true, fill: HEADER_FILL },
  );
}

/**
 * Draws `rows` under `columns` from doc.y, adding pages as needed (the header
 * row is repeated on each); leaves doc.y below the table.
 */
export function table(
  doc: PDFKit.PDFDocument,
  columns: readonly Column[],
  rows: readonly Row[],
  options: TableOptions = {},
): void {
  const t: Drawn = { columns, w: widths(doc, columns), fontSize: options.fontSize ?? 8 };
  doc.fontSize(t.fontSize);
  const header = rowHeight(
    doc,
    t.columns.map((c) => c.header),
    t.w,
    true,
  );
  const first = rows.length > 0 ? rowHeight(doc, rows[0].cells, t.w, rows[0].bold === true) : 0;
  ensureRoom(doc, header + first);
  let y = drawHeader(doc, t, doc.y);
  rows.forEach((row, i) => {
    const bold = row.bold === true;
    doc.fontSize(t.fontSize);
    if (y + rowHeight(doc, row.cells, t.w, bold) > bottomLimit(doc)) {
      doc.addPage();
      doc.fontSize(t.fontSize);
      y = drawHeader(doc, t, doc.page.margins.top);
    }
    y = drawRow(doc, t, row.cells, y, { bold, fill: i % 2 === 1 ? ZEBRA_FILL : undefined });
  });
  doc.font(FONT).fontSize(9).fillColor('black');
  doc.x = doc.page.margins.left;
  doc.y = y + 10;
}
