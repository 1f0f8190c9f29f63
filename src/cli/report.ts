import { rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { environment } from '../config/config.js';
import { ErrorCodes, PowerViewError, UsageError } from '../errors.js';
import { describePg, resolvePgConfig } from '../postgres/config.js';
import { toDatabaseError } from '../postgres/errors.js';
import { tenantLogin } from '../grafana/names.js';
import { requireTenantSecret } from '../provision/secrets.js';
import { tenantPool } from '../report/connect.js';
import { writeCsv } from '../report/csv.js';
import { renderJson } from '../report/json.js';
import type { CampaignReport } from '../report/model.js';
import { checkDay, readCampaignReport } from '../report/read.js';
import { preflightPostgres } from './preflight.js';

export const REPORT_FORMATS = ['pdf', 'xlsx', 'csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportFlags {
  from?: string;
  to?: string;
  format?: string;
  out?: string;
  databaseUrl?: string;
  json?: boolean;
}

/** Where the report goes without --out: `<tenant>_<campaign>_report.<format>` (csv: a folder of that name). */
export function defaultOut(tenant: string, campaign: string, format: ReportFormat): string {
  return `${tenant}_${campaign}_report${format === 'csv' ? '' : `.${format}`}`;
}

/**
 * `powerview report <tenant> <campaign>`: 0 written, 1 no data in the period or a database error,
 * 2 bad usage or credentials (the tenant's login refused: provision it), 3 PostgreSQL unreachable.
 */
export async function runReport(tenant: string, campaign: string, flags: ReportFlags): Promise<number> {
  const format = flags.format as ReportFormat;
  if (!REPORT_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')}, got ${JSON.stringify(flags.format)}`);
  checkDay('--from', flags.from);
  checkDay('--to', flags.to);
  if (format === 'csv' && flags.out === '-') throw new UsageError('--format csv writes a folder: --out DIR, not -');
  const env = environment();
  const secret = requireTenantSecret(env);
  const base = resolvePgConfig(flags, env);
  const absent = await preflightPostgres(base);
  if (absent) {
    process.stderr.write(`powerview: ${ErrorCodes.DATABASE_UNAVAILABLE}: ${absent.message}\n`);
    return 3;
  }
  const out = flags.out === '-' ? '-' : resolve(flags.out ?? defaultOut(tenant, campaign, format));
  const pool = tenantPool(base, tenant, secret);
  let report: CampaignReport;
  try {
    report = await readCampaignReport(pool, { tenant, campaign, from: flags.from, to: flags.to });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err instanceof PowerViewError ? err : toDatabaseError(err, 'report');
    const hint =
      e.code === ErrorCodes.DATABASE_AUTH
        ? ` (the login ${tenantLogin(tenant)} on ${describePg(base)}: run \`powerview provision ${tenant}\` ` +
          'with the same POWERVIEW_TENANT_SECRET)'
        : '';
    process.stderr.write(`powerview: ${e.code}: ${e.message}${hint}\n`);
    if (e.code === ErrorCodes.DATABASE_UNAVAILABLE) return 3;
    return e.code === ErrorCodes.DATABASE_AUTH ? 2 : 1;
  } finally {
    await pool.end().catch(() => {});
  }
  const written = await writeReport(report, format, out);
  const result = {
    tenant,
    campaign,
    format,
    out: written,
    period: report.period,
    devices: report.devices.length,
    channels: report.channels.length,
    total_energy_kwh: report.totalEnergyKwh,
    quality_findings: report.quality.length,
  };
  const status = out === '-' ? process.stderr : process.stdout;
  if (!flags.json && (out === '-' || process.stdout.isTTY)) {
    status.write(
      `${tenant}/${campaign}: ${format} report of ${report.period.from} – ${report.period.to} written to ` +
        `${written.join(', ')} (${result.devices} device(s), ${result.channels} channel(s), ` +
        `${report.totalEnergyKwh.toFixed(3)} kWh, ${result.quality_findings} quality finding(s))\n`,
    );
  } else {
    status.write(`${JSON.stringify(result, null, 2)}\n`);
  }
  return 0;
}

/** Renders and writes: a file through a temporary name and a rename (never half a report), csv a folder. */
async function writeReport(report: CampaignReport, format: ReportFormat, out: string): Promise<string[]> {
  if (format === 'csv') return writeCsv(report, out).catch(cannotWrite(out));
  const bytes = await render(report, format).catch((err: unknown) => {
    // a sheet over Excel's row limit: the message says what to do instead
    if (err instanceof RangeError) throw new UsageError(`--format ${format}: ${err.message}`);
    throw err;
  });
  if (out === '-') {
    process.stdout.write(bytes);
    return ['-'];
  }
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    cannotWrite(out)(err);
  }
  return [out];
}

async function render(report: CampaignReport, format: Exclude<ReportFormat, 'csv'>): Promise<Buffer> {
  if (format === 'json') return renderJson(report);
  // exceljs, PDFKit and Vega cost about a second of CPU to load: only the command that renders with them loads them
  if (format === 'xlsx') return (await import('../report/xlsx.js')).renderXlsx(report);
  return (await import('../report/pdf.js')).renderPdf(report);
}

function cannotWrite(out: string): (err: unknown) => never {
  return (err) => {
    throw new UsageError(`--out: cannot write ${out}: ${(err as Error).message}`, ErrorCodes.CONFIG);
  };
}

/** The `report` command (registered by main.ts). */
export function registerReportCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('report')
    .description(
      "a campaign's report (summary, energy per local day and per hour, quality findings) read as the tenant's " +
        'own login: pdf, xlsx, csv (a folder of files) or json',
    )
    .argument('<tenant>', 'tenant (company folder name)')
    .argument('<campaign>', 'campaign folder name')
    .option('--from <day>', "first local day YYYY-MM-DD in the tenant's zone (default: the campaign's first data)")
    .option('--to <day>', 'last local day YYYY-MM-DD, inclusive (default: the last data)')
    .option('--format <format>', 'pdf, xlsx, csv or json')
    .option('--out <file>', 'file to write, - for stdout; csv: a folder (default: <tenant>_<campaign>_report[.ext])')
    .option('--database-url <url>', 'PostgreSQL: host, port and database (default: DATABASE_URL, else PG*)')
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .action(async (tenant: string, campaign: string, flags: ReportFlags) => {
      if (flags.format === undefined) throw new UsageError('--format is required: pdf, xlsx, csv or json');
      setExit(await runReport(tenant, campaign, flags));
    });
}
