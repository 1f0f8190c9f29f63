import type { CampaignReport } from './model.js';

/**
 * The report as one JSON document: the CampaignReport's fields as they are, minus `generatedAt`, so that
 * the same data gives the same bytes (two-space indentation, a final newline). Numbers are SQL's
 * (JSON.stringify writes the shortest text that reads back as the same double).
 */
export function renderJson(report: CampaignReport): Buffer {
  const doc = { format: 'powerview-campaign-report', version: 1, ...report, generatedAt: undefined };
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
}
