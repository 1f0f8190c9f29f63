import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CampaignReport } from './model.js';
import { reportTables, type Cell, type Table } from './tables.js';

/**
 * The report as CSV: one file per table (summary, devices, channels, daily-energy, hourly, quality),
 * RFC 4180 (comma, CRLF, fields quoted when they hold a comma, a quote or a line break), UTF-8 without a
 * BOM, headers with units, numbers as the shortest text that reads back as the same double, empty for
 * no value. Deterministic: `generatedAt` is left out.
 */
export function renderCsv(report: CampaignReport): Map<string, Buffer> {
  return new Map(reportTables(report).map((t) => [t.file, Buffer.from(csvOf(t))]));
}

/** Writes the files of renderCsv into `dir` (created when missing); returns their paths. */
export async function writeCsv(report: CampaignReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [file, bytes] of renderCsv(report)) {
    const path = join(dir, file);
    await writeFile(path, bytes);
    paths.push(path);
  }
  return paths;
}

function csvOf(t: Table): string {
  const lines = [t.columns.map((c) => field(c.header))];
  for (const row of t.rows) lines.push(t.columns.map((c) => field(c.value(row))));
  return lines.map((l) => `${l.join(',')}\r\n`).join('');
}

function field(v: Cell): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
