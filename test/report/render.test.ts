/**
 * The json, csv and xlsx renderers on a report value built here (no service): the same report gives the
 * same bytes whatever the clock, csv quoting, the xlsx read back with exceljs (sheets, headers with units,
 * frozen rows, number formats, values), and the row limit of a sheet.
 */
import t from 'tap';
import ExcelJS from 'exceljs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CampaignReport } from '../../src/report/model.js';
import { renderCsv } from '../../src/report/csv.js';
import { renderJson } from '../../src/report/json.js';
import { renderXlsx, XLSX_MAX_ROWS } from '../../src/report/xlsx.js';

export function sampleReport(over: Partial<CampaignReport> = {}): CampaignReport {
  return {
    tenant: 'acme',
    campaign: 'c-1',
    period: { from: '2025-10-25T22:00:00Z', to: '2025-10-27T23:00:00Z', timeZone: 'Europe/Paris' },
    generatedAt: new Date().toISOString(),
    devices: [
      {
        deviceMasterSn: '02001084',
        channels: 2,
        firstTime: '2025-10-25T22:00:00Z',
        lastTime: '2025-10-27T22:50:00Z',
        completeness: 0.98,
      },
    ],
    channels: [
      {
        deviceMasterSn: '02001084',
        channelId: 'M02001084_Ch1',
        label: 'Ch1',
        name: 'Ph 1, "main"',
        unit: 'W',
        samples: 288,
        energyKwh: 12.3456789,
        peakW: 2450.5,
        peakAt: '2025-10-26T08:00:00Z',
        minV: null,
        meanV: null,
        maxV: null,
      },
      {
        deviceMasterSn: '02001084',
        channelId: 'M02001084_U1',
        label: 'U1',
        name: 'U1',
        unit: 'V',
        samples: 288,
        energyKwh: null,
        peakW: null,
        peakAt: null,
        minV: 221.5,
        meanV: 230.123456,
        maxV: 241,
      },
    ],
    totalEnergyKwh: 12.3456789,
    daily: [
      { day: '2025-10-26', deviceMasterSn: '02001084', channelId: 'M02001084_Ch1', energyKwh: 6.2 },
      { day: '2025-10-27', deviceMasterSn: '02001084', channelId: 'M02001084_Ch1', energyKwh: 6.1456789 },
    ],
    hourly: [
      {
        hour: '2025-10-26T08:00:00Z',
        deviceMasterSn: '02001084',
        channelId: 'M02001084_Ch1',
        unit: 'W',
        samples: 6,
        mean: 2000.25,
        min: 1500,
        max: 2450.5,
        energyKwh: 2.00025,
      },
    ],
    quality: [
      {
        kind: 'gap',
        severity: 'warning',
        deviceMasterSn: '02001084',
        channelId: null,
        tStart: '2025-10-26T10:00:00Z',
        tEnd: '2025-10-26T10:50:00Z',
        measure: 6,
        detail: { step_s: 600 },
        file: 'T302_251027_000500.tsv',
        open: true,
      },
    ],
    ...over,
  };
}

t.test('json: the report minus generatedAt, the same bytes for the same data', async (t) => {
  const a = renderJson(sampleReport());
  await sleep(5);
  const b = renderJson(sampleReport({ generatedAt: '2030-01-01T00:00:00Z' }));
  t.ok(a.equals(b), 'identical bytes whatever the clock');
  const doc = JSON.parse(a.toString()) as Record<string, unknown>;
  t.equal(doc.generatedAt, undefined, 'no generatedAt');
  t.equal(doc.format, 'powerview-campaign-report');
  t.same(doc.daily, sampleReport().daily, 'tables as the value holds them');
  t.ok(a.toString().endsWith('}\n'), 'a final newline');
});

t.test('csv: one file per table, RFC 4180 quoting, units in headers, deterministic', async (t) => {
  const files = renderCsv(sampleReport());
  t.same(
    [...files.keys()],
    ['summary.csv', 'devices.csv', 'channels.csv', 'daily-energy.csv', 'hourly.csv', 'quality.csv'],
  );
  const channels = files.get('channels.csv')!.toString();
  const [header, ch1, u1] = channels.split('\r\n');
  t.match(
    header,
    /^Device,Channel,Label,Name,Unit,Samples \(count\),Energy \(kWh\),Peak power \(W\),Peak hour \(UTC\)/,
  );
  t.equal(
    ch1,
    '02001084,M02001084_Ch1,Ch1,"Ph 1, ""main""",W,288,12.3456789,2450.5,2025-10-26T08:00:00Z,,,',
    'a comma and quotes quoted, numbers as they are, empty for none',
  );
  t.equal(u1, '02001084,M02001084_U1,U1,U1,V,288,,,,221.5,230.123456,241');
  t.equal(files.get('daily-energy.csv')!.toString().split('\r\n')[2], '2025-10-27,02001084,M02001084_Ch1,6.1456789');
  t.match(files.get('quality.csv')!.toString(), /,"\{""step_s"":600\}"\r\n$/, 'detail as JSON, quoted');
  t.match(files.get('summary.csv')!.toString(), /Total energy,12\.3456789,kWh\r\n/);
  const again = renderCsv(sampleReport({ generatedAt: '1999-01-01T00:00:00Z' }));
  for (const [f, bytes] of files) t.ok(bytes.equals(again.get(f)!), `${f}: same bytes`);
});

t.test('xlsx: same bytes twice, read back with exceljs', async (t) => {
  const a = await renderXlsx(sampleReport());
  await sleep(2100); // past the 2 s resolution of zip entry times: the clock must not reach the bytes
  const b = await renderXlsx(sampleReport({ generatedAt: '2031-05-05T00:00:00Z' }));
  t.ok(a.equals(b), `identical bytes (${a.length})`);

  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength) as ArrayBuffer);
  t.same(
    wb.worksheets.map((w) => w.name),
    ['Summary', 'Daily energy', 'Hourly', 'Quality'],
  );
  t.equal(wb.created.toISOString(), '2025-10-27T23:00:00.000Z', 'document dates pinned to the period end');
  for (const ws of wb.worksheets) {
    const view = ws.views[0] as { state?: string; ySplit?: number };
    t.equal(view.state, 'frozen', `${ws.name}: frozen pane`);
    t.equal(view.ySplit, 1, `${ws.name}: the header row frozen`);
    t.equal(ws.getRow(1).font?.bold, true, `${ws.name}: bold header`);
  }
  const daily = wb.getWorksheet('Daily energy')!;
  t.same(daily.getRow(1).values, [undefined, 'Day (local)', 'Device', 'Channel', 'Energy (kWh)']);
  t.equal(daily.getCell('D3').value, 6.1456789, 'the value as it is');
  t.equal(daily.getCell('D3').numFmt, '#,##0.000', 'shown with three decimals');
  const summary = wb.getWorksheet('Summary')!;
  const texts = summary.getColumn(1).values.filter((v) => typeof v === 'string');
  t.ok(texts.includes('Devices') && texts.includes('Channels') && texts.includes('Total energy'), 'sections');
  const header = summary.getRow(summary.getColumn(1).values.lastIndexOf('Channels') + 1).values as unknown[];
  t.ok(header.includes('Energy (kWh)') && header.includes('Voltage mean (V)'), 'channel headers with units');
  const hourly = wb.getWorksheet('Hourly')!;
  t.equal(hourly.getCell('A2').value, '2025-10-26T08:00:00Z');
  t.equal(hourly.getCell('I2').value, 2.00025);
  t.equal(wb.getWorksheet('Quality')!.getCell('I2').value, 'T302_251027_000500.tsv');
});

t.test('xlsx: a sheet over Excel’s row limit is refused with what to do instead', async (t) => {
  const row = sampleReport().hourly[0];
  const hourly = new Array<typeof row>(XLSX_MAX_ROWS).fill(row);
  await t.rejects(renderXlsx(sampleReport({ hourly })), { name: 'RangeError', message: /--format csv/ });
});
