/**
 * `powerview report` as a process on the demo archive (fixture.ts): xlsx, json and csv written twice
 * are byte-identical and hold what readCampaignReport reads; the xlsx read back with exceljs; exit codes
 * (2 usage and credentials, 1 no data in the period, 3 PostgreSQL unreachable), no file left behind on
 * failure.
 */
import t from 'tap';
import ExcelJS from 'exceljs';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderCsv } from '../../src/report/csv.js';
import { renderJson } from '../../src/report/json.js';
import { kwh } from '../../src/report/pdf-format.js';
import { readCampaignReport } from '../../src/report/read.js';
import { flat, pagesText, popplerMissing } from '../support/poppler.js';
import { runCli, servicesSkip } from '../support/services.js';
import { CAMPAIGN, reportDb } from './fixture.js';

t.setTimeout(600_000);

t.test('powerview report', { skip: servicesSkip }, async (t) => {
  const { A, env, loginPool } = await reportDb(t, 'cli');
  const dir = mkdtempSync(join(tmpdir(), 'pv-report-out-'));
  const report = (args: string[], extra: Record<string, string> = {}) =>
    runCli(['report', A, CAMPAIGN, ...args], env, extra);
  const expected = await readCampaignReport(loginPool(A), { tenant: A, campaign: CAMPAIGN });

  t.test('xlsx: the same bytes twice, the sheets and values of the report', async (t) => {
    const outs = [join(dir, 'a.xlsx'), join(dir, 'b.xlsx')];
    for (const out of outs) {
      const r = await report(['--format', 'xlsx', '--out', out]);
      t.equal(r.code, 0, r.stderr);
      t.match(JSON.parse(r.stdout), { format: 'xlsx', out: [out], devices: expected.devices.length });
    }
    const [a, b] = outs.map((f) => readFileSync(f));
    t.ok(a.equals(b), `byte-identical (${a.length} bytes)`);
    t.same(
      readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
      'no temporary file left',
    );
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
    t.same(
      wb.worksheets.map((w) => w.name),
      ['Summary', 'Daily energy', 'Hourly', 'Quality'],
    );
    const daily = wb.getWorksheet('Daily energy')!;
    t.equal(daily.rowCount, expected.daily.length + 1, 'a header and one row per (day, channel)');
    t.same((daily.getRow(1).values as unknown[]).slice(1), ['Day (local)', 'Device', 'Channel', 'Energy (kWh)']);
    const cells = expected.daily.map((_, i) => (daily.getRow(i + 2).values as unknown[]).slice(1));
    t.same(
      cells,
      expected.daily.map((d) => [d.day, d.deviceMasterSn, d.channelId, d.energyKwh]),
      'every daily energy as read',
    );
    const hourly = wb.getWorksheet('Hourly')!;
    t.equal(hourly.rowCount, expected.hourly.length + 1);
    t.same((hourly.getRow(1).values as unknown[]).slice(1, 6), [
      'Hour (UTC)',
      'Device',
      'Channel',
      'Unit',
      'Samples (count)',
    ]);
    t.equal(wb.getWorksheet('Quality')!.rowCount, expected.quality.length + 1);
    for (const ws of wb.worksheets) t.match(ws.views[0], { state: 'frozen', ySplit: 1 }, `${ws.name}: header frozen`);
    const summary = wb.getWorksheet('Summary')!;
    const total = summary.getColumn(1).values.indexOf('Total energy');
    t.equal(summary.getCell(total, 2).value, expected.totalEnergyKwh, 'the total as SQL summed it');
    t.equal(summary.getCell(total, 3).value, 'kWh');
  });

  t.test('json and csv: byte-identical twice, the report as read', async (t) => {
    const json = [join(dir, 'a.json'), join(dir, 'b.json')];
    for (const out of json) t.equal((await report(['--format', 'json', '--out', out])).code, 0);
    const [a, b] = json.map((f) => readFileSync(f));
    t.ok(a.equals(b), 'json: byte-identical');
    t.ok(a.equals(renderJson(expected)), 'json: the report read in-process, byte for byte');
    const stdout = await report(['--format', 'json', '--out', '-']);
    t.equal(stdout.code, 0);
    t.equal(stdout.stdout, a.toString(), '--out -: the document on stdout');
    t.match(stdout.stderr, /json report of .* written to -/);
    for (const sub of ['c1', 'c2']) t.equal((await report(['--format', 'csv', '--out', join(dir, sub)])).code, 0);
    const files = renderCsv(expected);
    t.same(readdirSync(join(dir, 'c1')).sort(), [...files.keys()].sort(), 'one file per table');
    for (const [f, bytes] of files) {
      t.ok(readFileSync(join(dir, 'c1', f)).equals(bytes), `${f}: as rendered in-process`);
      t.ok(readFileSync(join(dir, 'c2', f)).equals(bytes), `${f}: byte-identical twice`);
    }
  });

  t.test(
    'pdf: the total and the devices of the campaign in the text',
    { skip: popplerMissing() ?? false },
    async (t) => {
      const out = join(dir, 'r.pdf');
      const r = await report(['--format', 'pdf', '--out', out]);
      t.equal(r.code, 0, r.stderr);
      t.equal(readFileSync(out).subarray(0, 5).toString(), '%PDF-');
      const text = flat(pagesText(out).join(' '));
      t.match(text, `${kwh(expected.totalEnergyKwh)} kWh`, 'the total energy as SQL summed it');
      for (const d of expected.devices) t.match(text, d.deviceMasterSn, `device ${d.deviceMasterSn}`);
    },
  );

  t.test('exit codes', async (t) => {
    const out = join(dir, 'never.xlsx');
    const cases: Array<[string, string[], Record<string, string>, number, RegExp]> = [
      ['an unknown format', ['--format', 'docx'], {}, 2, /--format must be one of pdf, xlsx, csv, json/],
      ['no format', [], {}, 2, /--format is required/],
      ['not a day', ['--format', 'json', '--from', '2025-10-32'], {}, 2, /--from: expected a day YYYY-MM-DD/],
      ['csv to stdout', ['--format', 'csv', '--out', '-'], {}, 2, /csv writes a folder/],
      ['no tenant secret', ['--format', 'xlsx'], { POWERVIEW_TENANT_SECRET: '' }, 2, /POWERVIEW_TENANT_SECRET/],
      [
        'another secret: the login refuses it',
        ['--format', 'xlsx'],
        { POWERVIEW_TENANT_SECRET: 'not-the-secret-0123456789' },
        2,
        /PV_ERR_DATABASE_AUTH.*powerview provision/,
      ],
      ['a period without data', ['--format', 'xlsx', '--from', '2030-01-01'], {}, 1, /PV_ERR_REPORT_EMPTY/],
      [
        'PostgreSQL unreachable',
        ['--format', 'xlsx'],
        { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db' },
        3,
        /PostgreSQL at 127\.0\.0\.1:1 refused the connection/,
      ],
    ];
    for (const [what, args, extra, code, stderr] of cases) {
      const r = await report(args.includes('--out') ? args : [...args, '--out', out], extra);
      t.equal(r.code, code, `${what}: exit ${code}`);
      t.match(r.stderr, stderr, `${what}: says why`);
    }
    t.notOk(existsSync(out), 'no report written by a failed run');
  });
});
