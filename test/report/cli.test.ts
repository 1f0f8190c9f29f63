/**
 * `powerview report` as a process on the demo archive (fixture.ts): the xlsx written twice is byte-identical and
 * holds what readCampaignReport reads (read back with exceljs); the pdf shows the campaign's total and devices.
 * JSON, CSV and exit codes: cli-exits.test.ts.
 */
import t from 'tap';
import ExcelJS from 'exceljs';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { kwh } from '../../src/report/pdf-format.js';
import { flat, pagesText, popplerMissing } from '../support/poppler.js';

import { reportCliSuite } from './cli-suite.js';

t.setTimeout(600_000);

reportCliSuite(t, 'powerview report: xlsx and pdf', 'cli', (t, { dir, expected, report }) => {
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
});
