/**
 * The one font of the PDF report, embedded (subset) in every document: DejaVu
 * Sans from the `dejavu-fonts-ttf` package. PDFKit's own standard fonts
 * (Helvetica…) are only named, not embedded, so a reader substitutes them.
 *
 * Vega lays out chart text (axis label widths, legend columns, truncation)
 * with `textMetrics.width`, which without a canvas in Node falls back to
 * 0.8 × font size per character. `useFontMetrics()` replaces it with the
 * widths of this same font as PDFKit measures them, so the chart's layout
 * matches the glyphs svg-to-pdfkit then draws.
 */
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import * as vega from 'vega';

const require = createRequire(import.meta.url);

/** the family name the chart specs use, mapped back to the embedded files */
export const CHART_FONT_FAMILY = 'DejaVu Sans';
export const FONT = 'report-regular';
export const FONT_BOLD = 'report-bold';

const FONT_FILES = {
  [FONT]: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
  [FONT_BOLD]: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
} as const;

/** registers the embedded fonts and selects the regular one */
export function registerFonts(doc: PDFKit.PDFDocument): void {
  for (const [name, file] of Object.entries(FONT_FILES)) doc.registerFont(name, file);
  doc.font(FONT);
}

/** svg-to-pdfkit's font callback: every family the charts name is DejaVu Sans */
export function chartFont(_family: string, bold: boolean): string {
  return bold ? FONT_BOLD : FONT;
}

interface VegaTextItem {
  readonly fontSize?: number;
  readonly fontWeight?: string | number;
}
interface VegaTextMetrics {
  width: (item: VegaTextItem, text: string | number | null | undefined) => number;
}

let measurer: PDFKit.PDFDocument | undefined;

/** a never-ended document used only to measure strings */
function measuringDoc(): PDFKit.PDFDocument {
  if (measurer === undefined) {
    measurer = new PDFDocument({ autoFirstPage: false });
    registerFonts(measurer);
  }
  return measurer;
}

function isBold(weight: string | number | undefined): boolean {
  if (weight === undefined) return false;
  if (typeof weight === 'number') return weight >= 600;
  return weight === 'bold' || weight === 'bolder' || Number(weight) >= 600;
}

/** the width of `text` at `fontSize` in the report font (bold or not), in points */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const doc = measuringDoc();
  doc.font(bold ? FONT_BOLD : FONT).fontSize(fontSize);
  return doc.widthOfString(text);
}

/**
 * Makes Vega measure text with the embedded font. Vega keeps this in module
 * state, so it applies to every view of the process; it is idempotent.
 */
export function useFontMetrics(): void {
  const metrics = (vega as unknown as { textMetrics: VegaTextMetrics }).textMetrics;
  metrics.width = (item, text) => {
    const size = item.fontSize ?? 11;
    const value = text == null ? '' : String(text).trim();
    if (size <= 0 || value === '') return 0;
    return textWidth(value, size, isBold(item.fontWeight));
  };
}
