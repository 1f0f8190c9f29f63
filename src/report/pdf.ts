import type { CampaignReport } from './model.js';

/**
 * The PDF renderer is built on its own branch (Vega-Lite charts into PDFKit): until it is merged, this
 * stand-in keeps `powerview report --format pdf` an explicit error.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars, @typescript-eslint/require-await
export async function renderPdf(report: CampaignReport): Promise<Buffer> {
  throw new Error('pdf renderer not merged');
}
