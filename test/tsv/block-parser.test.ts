import t, { type Test } from 'tap';
import { ErrorCodes } from '../../src/errors.js';
import { canonicalDecimal } from '../../src/tsv/block-parser.js';
import type { FileReport } from '../../src/pipeline/report.js';
import type { FileIdentity } from '../../src/influx/series.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import {
  IDENTITY,
  MemorySink,
  epoch,
  lpLines,
  parseLpLine,
  pointMap,
  runInProcess,
  runPipelineOne,
  tempFile,
  type InProcessResult,
} from '../support/tsv-run.js';

const M = '02000800';
const S = '04001002';
/** tri master (U1 U2 U3 Ch1) + one slave (Ch1 Ch2) */
const SERIALS = [M, M, M, M, M, S, S].join('\t');
const LABELS = ['MV_T302_V002', 'Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie1 W', 'Voie1 W', 'Voie2 W'].join('\t');
const F = {
  U1: `M${M}_U1_V`,
  U2: `M${M}_U2_V`,
  U3: `M${M}_U3_V`,
  Ch1: `M${M}_Ch1_W`,
  S1: `M${M}_S${S}_Ch1_W`,
  S2: `M${M}_S${S}_Ch2_W`,
};
const FIELDS = [F.U1, F.U2, F.U3, F.Ch1, F.S1, F.S2];

/** a V002 file: the two header lines then the given rows (line 3 is the first row) */
const v002 = (rows: string[], eol = '\n'): string => [SERIALS, LABELS, ...rows].join(eol) + eol;
const row = (ts: string, ...cells: Array<string | number>): string => [ts, ...cells.map(String)].join('\t');
const T0 = '05/01/26 10:00:00';
const E0 = epoch('2026-01-05T10:00:00Z');
const ts = (minutes: number): string => {
  const d = new Date((E0 + minutes * 60) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
};
const at = (minutes: number): number => E0 + minutes * 60;
const uniq = (a: number[]): number[] => [...new Set(a)];

interface Both {
  inproc: InProcessResult;
  report: FileReport;
  lp: string;
  points: Map<string, string>;
}

/**
 * Runs a file through the in-process two-pass path and through the Pipeline
 * (tiny blocks, so every line is its own block), checks both agree, and
 * returns both.
 */
async function both(
  t: Test,
  text: string | Buffer,
  opts: { v002TimeZone?: string; identity?: FileIdentity; blockBytes?: number } = {},
): Promise<Both> {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const inproc = runInProcess(buf, { v002TimeZone: opts.v002TimeZone ?? 'UTC', identity: opts.identity });
  const { report, lp } = await runPipelineOne(buf, {
    v002TimeZone: opts.v002TimeZone ?? 'UTC',
    identity: opts.identity,
    blockBytes: opts.blockBytes ?? 1,
  });
  t.equal(lp, inproc.lp, 'pipeline (1-byte blocks) and in-process (one block) line protocol are identical');
  t.equal(report.points, inproc.stats.points, 'same point count');
  t.same(report.invalid_values.first_lines, inproc.stats.invalidValues.lines, 'same invalid value lines');
  return { inproc, report, lp, points: pointMap(lp) };
}

t.test('values are copied as written', async (t) => {
  const { points, report } = await both(
    t,
    v002([row(T0, '114.40', '230.0', '-0.0', '0', '-12.3450', '1234567890.0000001')]),
  );
  t.equal(report.status, 'ok');
  t.equal(points.get(`${F.U1}@${E0}`), '114.40', 'trailing zero kept');
  t.equal(points.get(`${F.U2}@${E0}`), '230.0');
  t.equal(points.get(`${F.U3}@${E0}`), '-0.0', 'negative zero kept');
  t.equal(points.get(`${F.Ch1}@${E0}`), '0');
  t.equal(points.get(`${F.S1}@${E0}`), '-12.3450');
  t.equal(points.get(`${F.S2}@${E0}`), '1234567890.0000001', 'no float round-trip');
  t.equal(points.size, 6);
});

t.test('line protocol: tags sorted and escaped, master vs slave tags, field key', async (t) => {
  const identity = { tenant: 'acme', campaign: 'camp 1,a=b' };
  const { lp, inproc } = await both(t, v002([row(T0, 1, 2, 3, 4, 5, 6)]), { identity });
  const lines = lp.split('\n').filter(Boolean);
  t.equal(lines.length, 6);
  t.equal(
    lines[0],
    `electrical,campaign=camp\\ 1\\,a\\=b,channel_id=M${M}_U1,channel_label=U1,channel_name=Ph\\ 1,channel_unit=V,device=MV2,` +
      `device_master_sn=${M},device_sn=${M},device_subtype=tri,device_type=master M${M}_U1_V=1 ${E0}`,
    'master point, byte for byte',
  );
  t.equal(
    lines[5],
    `electrical,campaign=camp\\ 1\\,a\\=b,channel_id=M${M}_S${S}_Ch2,channel_label=Ch2,channel_name=Voie2,channel_unit=W,device=MV2,` +
      `device_master_sn=${M},device_sn=${S},device_type=slave M${M}_S${S}_Ch2_W=6 ${E0}`,
    'slave point, byte for byte',
  );
  for (const l of lpLines(lp)) {
    t.same(l.tagKeys, [...l.tagKeys].sort(), `${l.field}: tags sorted`);
    t.equal(l.measurement, 'electrical');
    if (l.tags.device_type === 'slave') t.notOk('device_subtype' in l.tags, `${l.field}: slave has no device_subtype`);
    else t.equal(l.tags.device_subtype, 'tri', `${l.field}: master subtype`);
    t.equal(l.field, `${l.tags.channel_id}_${l.tags.channel_unit}`, 'field key = channel_id_unit');
  }
  t.equal(inproc.scan.header.masterType, 'tri');
});

t.test('invalid values are counted with line numbers; the rest of the row is kept', async (t) => {
  const { points, report } = await both(
    t,
    v002([
      row(ts(0), 1, 2, 3, 4, 5, 6), // line 3
      row(ts(10), 'NaN', '231', 'inf', '', '12,5', '7'), // line 4: 4 bad cells
      row(ts(20), 1, 2, 3, 4, 5, 6), // line 5
      row(ts(30), '-inf', 'Infinity', '1e5', '0x10', 'abc', '-'), // line 6: 6 bad cells
      row(ts(40), '1.2.3', '--5', '5-', '+-5', '.', '8'), // line 7: 5 bad cells
    ]),
  );
  t.equal(report.status, 'ok');
  t.equal(report.invalid_values.count, 15);
  t.same(uniq(report.invalid_values.first_lines).slice(0, 2), [4, 6], 'the first bad lines, in file order');
  t.equal(report.invalid_values.first_lines[0], 4, 'first bad line is 4');
  t.equal(points.get(`${F.U2}@${at(10)}`), '231', 'valid cell in a row with invalid cells kept');
  t.equal(points.get(`${F.S2}@${at(10)}`), '7');
  t.equal(points.get(`${F.S2}@${at(40)}`), '8');
  t.notOk(points.has(`${F.U1}@${at(10)}`), 'NaN not written');
  t.notOk(points.has(`${F.Ch1}@${at(10)}`), 'empty cell not written');
  t.notOk(points.has(`${F.S1}@${at(10)}`), '12,5 not written');
  t.equal(report.points, 6 + 2 + 6 + 0 + 1);
  t.equal(report.rows, 5);
  t.equal(report.truncated_rows.count, 0);
});

t.test('invalid value line numbers: one per bad row, 1-based', async (t) => {
  const { report } = await both(
    t,
    v002([
      row(ts(0), 1, 2, 3, 4, 5, 6), // 3
      row(ts(10), 'NaN', 2, 3, 4, 5, 6), // 4
      row(ts(20), 1, 2, 3, 4, 5, 6), // 5
      row(ts(30), 1, 2, 3, 4, 5, 'inf'), // 6
      row(ts(40), 1, 2, '', 4, 5, 6), // 7
    ]),
  );
  t.equal(report.invalid_values.count, 3);
  t.same(report.invalid_values.first_lines, [4, 6, 7]);
});

t.test('a row with fewer cells than the header is skipped whole', async (t) => {
  const { points, report } = await both(
    t,
    v002([
      row(ts(0), 1, 2, 3, 4, 5, 6), // 3
      row(ts(10), 1, 2, 3), // 4: truncated
      row(ts(20), 1, 2, 3, 4, 5, 6), // 5
      '29/10/25 1', // 6: cut inside the timestamp
      row(ts(30), 1, 2, 3, 4, 5, '2'), // 7
      row(ts(40), 1, 2, 3, 4, 5).slice(0, -1), // 8: ends "4\t": five cells, the sixth missing
      `${ts(50)}\t231.5\t22`, // 9: cut short at the end of the file (no newline)
    ]).replace(/\n$/, ''),
  );
  t.equal(report.status, 'ok');
  t.equal(report.truncated_rows.count, 3);
  t.same(report.truncated_rows.first_lines, [4, 8, 9]);
  t.equal(report.invalid_timestamps.count, 1, '29/10/25 1 is an invalid timestamp');
  t.same(report.invalid_timestamps.first_lines, [6]);
  for (const f of FIELDS) {
    t.notOk(points.has(`${f}@${at(10)}`), `${f}: nothing from the truncated row`);
    t.notOk(points.has(`${f}@${at(50)}`), `${f}: nothing from the last, cut row`);
  }
  t.equal(points.get(`${F.S2}@${at(30)}`), '2');
  t.equal(report.points, 18);
});

t.test('duplicate timestamps: the last occurrence wins', async (t) => {
  const { points, report, lp } = await both(
    t,
    v002([
      row(ts(0), 1, 2, 3, 4, 5, 6), // 3
      row(ts(10), 10, 20, 30, 40, 50, 60), // 4
      row(ts(20), 1, 2, 3, 4, 5, 6), // 5
      row(ts(10), 11, 21, 31, 41, 51, 61), // 6: same time as line 4, later: wins
      row(ts(30), 1, 2, 3, 4, 5, 6), // 7
    ]),
  );
  t.equal(report.duplicate_rows, 1);
  t.equal(points.get(`${F.U1}@${at(10)}`), '11');
  t.equal(points.get(`${F.S2}@${at(10)}`), '61');
  t.equal(lpLines(lp).filter((l) => l.time === at(10)).length, 6, 'the duplicated time is written once per channel');
  t.equal(report.points, 24);
  t.equal(report.rows, 4);
  const u1 = report.channels.find((c) => c.channel_id === `M${M}_U1`)!;
  t.equal(u1.count, 4);
  t.equal(u1.max, 11, 'statistics see only the winning row');
});

t.test('duplicate timestamps: three occurrences, and a duplicate of the newest row', async (t) => {
  const { points, report } = await both(
    t,
    v002([
      row(ts(0), 1, 1, 1, 1, 1, 1),
      row(ts(0), 2, 2, 2, 2, 2, 2),
      row(ts(10), 5, 5, 5, 5, 5, 5),
      row(ts(0), 3, 3, 3, 3, 3, 3),
      row(ts(10), 6, 6, 6, 6, 6, 6),
    ]),
  );
  t.equal(report.duplicate_rows, 3);
  t.equal(points.get(`${F.U1}@${at(0)}`), '3');
  t.equal(points.get(`${F.U1}@${at(10)}`), '6');
  t.equal(report.points, 12);
});

t.test('duplicate timestamps: a later occurrence cut short does not win', async (t) => {
  const { points, report } = await both(
    t,
    v002([
      row(ts(0), 1, 2, 3, 4, 5, 6), // 3
      row(ts(10), 10, 20, 30, 40, 50, 60), // 4
      row(ts(10), 11, 21), // 5: truncated repeat
    ]),
  );
  t.equal(points.get(`${F.U1}@${at(10)}`), '10', 'the earlier, complete row is kept');
  t.equal(points.get(`${F.S2}@${at(10)}`), '60');
  t.equal(report.truncated_rows.count, 1);
  t.same(report.truncated_rows.first_lines, [5]);
  t.equal(report.points, 12);
});

t.test('rows of all zeros are kept and counted', async (t) => {
  const { points, report } = await both(
    t,
    v002([
      row(ts(0), 1, 2, 3, 4, 5, 6),
      row(ts(10), 0, 0, 0, 0, 0, 0),
      row(ts(20), '0.0', '-0.0', '0', '0.00', '0', '0'),
      row(ts(30), 0, 0, 0, 0, 0, 1),
    ]),
  );
  t.equal(report.zero_rows, 2);
  t.equal(points.get(`${F.U1}@${at(10)}`), '0');
  t.equal(points.get(`${F.U2}@${at(20)}`), '-0.0');
  t.equal(report.points, 24);
});

t.test('invalid timestamps are counted with their line numbers', async (t) => {
  const { report, points } = await both(
    t,
    v002([
      row(ts(0), 1, 2, 3, 4, 5, 6), // 3
      row('31/02/25 10:00:00', 1, 2, 3, 4, 5, 6), // 4
      row('2025-01-01 10:00', 1, 2, 3, 4, 5, 6), // 5
      row(ts(10), 1, 2, 3, 4, 5, 6), // 6
      row('05/01/26 24:00:00', 1, 2, 3, 4, 5, 6), // 7
      'garbage', // 8
    ]),
  );
  t.equal(report.invalid_timestamps.count, 4);
  t.same(report.invalid_timestamps.first_lines, [4, 5, 7, 8]);
  t.equal(report.points, 12);
  t.equal(points.size, 12);
});

t.test('blank and whitespace-only lines are skipped; line numbers stay right', async (t) => {
  const rows = [
    '', // 3
    row(ts(0), 1, 2, 3, 4, 5, 6), // 4
    '   ', // 5
    '\t\t', // 6
    row(ts(10), 'NaN', 2, 3, 4, 5, 6), // 7
    ' \t \r', // 8
    '', // 9
    row('bad', 1, 2, 3, 4, 5, 6), // 10
    row(ts(20), 1, 2), // 11
  ];
  for (const [name, text] of [
    ['LF', v002(rows)],
    ['CRLF', v002(rows, '\r\n')],
    [
      'BOM + CRLF + trailing tabs',
      '\ufeff' +
        v002(
          rows.map((r) => r + '\t'),
          '\r\n',
        ),
    ],
  ] as const) {
    const { report } = await both(t, text);
    t.equal(report.status, 'ok', `${name}: ok`);
    t.same(report.invalid_values.first_lines, [7], `${name}: invalid value line`);
    t.same(report.invalid_timestamps.first_lines, [10], `${name}: invalid timestamp line`);
    t.same(report.truncated_rows.first_lines, [11], `${name}: truncated row line`);
    t.equal(report.points, 11, `${name}: points`);
    t.equal(report.rows, 2, `${name}: rows`);
  }
});

t.test('non-canonical decimals are accepted and written canonically', async (t) => {
  const { points, report } = await both(t, v002([row(T0, '+5', ' 7.5 ', '.5', '5.', '-.5', '+0.25')]));
  t.equal(report.invalid_values.count, 0);
  t.equal(points.get(`${F.U1}@${E0}`), '5');
  t.equal(points.get(`${F.U2}@${E0}`), '7.5');
  t.equal(points.get(`${F.U3}@${E0}`), '0.5');
  t.equal(points.get(`${F.Ch1}@${E0}`), '5');
  t.equal(points.get(`${F.S1}@${E0}`), '-0.5');
  t.equal(points.get(`${F.S2}@${E0}`), '0.25');
  const u3 = report.channels.find((c) => c.label === 'U3')!;
  t.equal(u3.mean, 0.5);
  t.equal(canonicalDecimal('-5.'), '-5');
  t.equal(canonicalDecimal(' 12 '), '12');
  t.equal(canonicalDecimal('1e3'), null);
  t.equal(canonicalDecimal(''), null);
  t.equal(canonicalDecimal(' . '), null);
  t.equal(canonicalDecimal('+'), null);
});

t.test('per-channel statistics and time range', async (t) => {
  const { report, inproc } = await both(
    t,
    v002([
      row(ts(20), 1, '10.5', -3, 0, 100, 7),
      row(ts(0), 2, '11.5', -1, 0, 200, 'NaN'),
      row(ts(40), 6, '9.5', -2, 0, 300, 'NaN'),
      row('bad', 1000, 1000, 1000, 1000, 1000, 1000),
      row(ts(60), 3, 2),
    ]),
  );
  const by = Object.fromEntries(report.channels.map((c) => [c.channel_id, c]));
  t.same([by[`M${M}_U1`].count, by[`M${M}_U1`].min, by[`M${M}_U1`].max, by[`M${M}_U1`].mean], [3, 1, 6, 3]);
  t.same([by[`M${M}_U2`].min, by[`M${M}_U2`].max, by[`M${M}_U2`].mean], [9.5, 11.5, 10.5]);
  t.same([by[`M${M}_U3`].min, by[`M${M}_U3`].max, by[`M${M}_U3`].mean], [-3, -1, -2]);
  t.same([by[`M${M}_Ch1`].min, by[`M${M}_Ch1`].max, by[`M${M}_Ch1`].mean], [0, 0, 0]);
  t.same([by[`M${M}_S${S}_Ch1`].count, by[`M${M}_S${S}_Ch1`].mean], [3, 200]);
  t.same(
    [by[`M${M}_S${S}_Ch2`].count, by[`M${M}_S${S}_Ch2`].min, by[`M${M}_S${S}_Ch2`].max, by[`M${M}_S${S}_Ch2`].mean],
    [1, 7, 7, 7],
  );
  t.equal(by[`M${M}_S${S}_Ch2`].device_sn, S);
  t.same(
    report.time_range,
    { first: '2026-01-05T10:00:00Z', last: '2026-01-05T10:40:00Z' },
    'from the earliest to the latest valid row',
  );
  t.equal(inproc.stats.minTime, at(0));
  t.equal(inproc.stats.maxTime, at(40));
  t.equal(report.master_sn, M);
  t.equal(report.master_type, 'tri');
  t.equal(report.format, 'V002');
  t.equal(report.format_id, 'MV_T302_V002');
  t.equal(report.time_basis, 'UTC (config)');
});

t.test('a channel with no valid value has null statistics', async (t) => {
  const { report } = await both(t, v002([row(ts(0), 1, 2, 3, 4, 5, 'NaN'), row(ts(10), 1, 2, 3, 4, 5, '')]));
  const c = report.channels[5];
  t.same([c.count, c.min, c.max, c.mean], [0, null, null, null]);
});

t.test('V003: missing END_DATA warns and keeps the data; content after END_DATA is ignored', async (t) => {
  const json = JSON.stringify({ DataTimeSettings: 'UTC', TimeZoneName: 'Europe/Paris', MasterType: 'Mono' });
  const head = ['START_HEADER', json, 'END_HEADER', 'START_DATA', `${M}\t${M}\t${S}`, 'MV_T302_V003\tPh 1 V\tVoie1 W'];
  const missing = await both(t, [...head, row(ts(0), 230, 5), row(ts(10), 231, 6), ''].join('\n'));
  t.equal(missing.report.status, 'ok');
  t.match(missing.report.warnings.join('\n'), /missing END_DATA/);
  t.equal(missing.report.points, 4);
  t.equal(missing.points.get(`M${M}_U1_V@${at(10)}`), '231');
  t.equal(missing.report.master_type, 'mono');
  t.equal(missing.report.format, 'V003');
  t.same(missing.report.header_meta, JSON.parse(json));

  const after = await both(
    t,
    [...head, row(ts(0), 230, 5), 'END_DATA', row(ts(10), 999, 999), 'garbage', ''].join('\r\n'),
  );
  t.equal(after.report.status, 'ok');
  t.equal(after.report.points, 2, 'rows after END_DATA are not data');
  t.notOk(after.points.has(`M${M}_U1_V@${at(10)}`));
  t.equal(after.report.invalid_timestamps.count, 0, 'garbage after END_DATA is not counted');
  t.notMatch(after.report.warnings.join('\n'), /missing END_DATA/);
  t.match(after.report.warnings.join('\n'), /after END_DATA/);

  const clean = await both(t, [...head, row(ts(0), 230, 5), 'END_DATA', ''].join('\n'));
  t.same(clean.report.warnings, [], 'a well-formed V003 file has no warning');
});

t.test('V003 local time and V002 zones through the whole path', async (t) => {
  // V003 with local times in Europe/Paris (header) across the autumn fold
  const json = JSON.stringify({ DataTimeSettings: 'Local', TimeZoneName: 'Europe/Paris', MasterType: 'Mono' });
  const head = ['START_HEADER', json, 'END_HEADER', 'START_DATA', `${M}\t${M}`, 'MV_T302_V003\tVoie1 W'];
  const times = ['01:50', '02:00', '02:30', '02:00', '02:30', '03:00'];
  const rows = times.map((h, i) => row(`26/10/25 ${h}:00`, i + 1));
  const r = await both(t, [...head, ...rows, 'END_DATA', ''].join('\n'), { v002TimeZone: 'UTC' });
  t.equal(r.report.duplicate_rows, 0, 'the fold is not a duplicate');
  t.same(
    lpLines(r.lp).map((l) => [l.value, l.time]),
    [
      ['1', epoch('2025-10-25T23:50:00Z')],
      ['2', epoch('2025-10-26T00:00:00Z')],
      ['3', epoch('2025-10-26T00:30:00Z')],
      ['4', epoch('2025-10-26T01:00:00Z')],
      ['5', epoch('2025-10-26T01:30:00Z')],
      ['6', epoch('2025-10-26T02:00:00Z')],
    ],
  );
  t.equal(r.report.time_basis, 'Europe/Paris (header)');

  // V002 in the configured zone: the spring gap is an invalid timestamp
  const spring = v002([
    row('30/03/25 01:30:00', 1, 2, 3, 4, 5, 6), // 3
    row('30/03/25 02:30:00', 1, 2, 3, 4, 5, 6), // 4: in the gap
    row('30/03/25 03:30:00', 1, 2, 3, 4, 5, 6), // 5
  ]);
  const paris = await both(t, spring, { v002TimeZone: 'Europe/Paris' });
  t.same(paris.report.invalid_timestamps, { count: 1, first_lines: [4] });
  t.same(
    [...new Set(lpLines(paris.lp).map((l) => l.time))],
    [epoch('2025-03-30T00:30:00Z'), epoch('2025-03-30T01:30:00Z')],
  );
  const asUtc = await both(t, spring, { v002TimeZone: 'UTC' });
  t.equal(asUtc.report.invalid_timestamps.count, 0, 'UTC (the earlier deployment) has no gap');
  t.equal(asUtc.report.points, 18);
});

t.test('clock reset rows are written nowhere, counted, with a warning', async (t) => {
  const r = await both(
    t,
    v002([row(ts(0), 1, 2, 3, 4, 5, 6), row('01/01/20 01:00:02', 7, 7, 7, 7, 7, 7), row(ts(10), 1, 2, 3, 4, 5, 6)]),
  );
  t.equal(r.points.get(`${F.U1}@${epoch('2020-01-01T01:00:02Z')}`), undefined);
  t.equal(r.report.points, 12, 'the two other rows');
  t.equal(r.report.clock_reset_rows, 1);
  t.match(r.report.warnings.join('\n'), /earlier than an earlier row/);
  t.equal(r.report.time_range?.first, new Date(E0 * 1000).toISOString().replace('.000Z', 'Z'));
});

t.test('rows cut short that repeat a reset time count once: they do not outvote the real rows', async (t) => {
  // one real row, then the same 2004 time three times in rows cut short (a clock reset while the export was cut)
  const reset = '01/01/04 00:00:01';
  const r = await both(t, v002([row(ts(0), 1, 2, 3, 4, 5, 6), row(reset, 7, 7), row(reset, 8), row(reset)]));
  t.equal(r.report.status, 'ok', 'the real row is read');
  t.equal(r.report.points, 6);
  t.equal(r.points.get(`${F.U1}@${E0}`), '1');
  t.equal(r.report.clock_reset_rows, 1, 'the 2004 time is one clock-reset row');
  t.same(r.report.truncated_rows.first_lines, [5, 6], 'its repeats are rows cut short');
  t.equal(r.report.duplicate_rows, 0);
});

t.test('a row cut short is reported as truncated, also between two complete rows of its time', async (t) => {
  const r = await both(
    t,
    v002([
      row(ts(0), 1, 2, 3, 4, 5, 6),
      row(ts(10), 1, 2, 3, 4, 5, 6),
      row(ts(5), 5, 5, 5, 5, 5, 5), // 5
      row(ts(5), 7, 7), // 6: cut short
      row(ts(5), 9, 9, 9, 9, 9, 9), // 7: the last complete occurrence wins
    ]),
  );
  t.equal(r.report.points, 18);
  t.equal(r.points.get(`${F.U1}@${at(5)}`), '9');
  t.same(r.report.truncated_rows.first_lines, [6]);
  t.equal(r.report.duplicate_rows, 1, 'line 5');
});
t.test('folder and header disagree: the header wins, with a warning', async (t) => {
  const r = await both(t, v002([row(ts(0), 1, 2, 3, 4, 5, 6)]), { identity: { ...IDENTITY, device: '02001084' } });
  t.equal(r.report.status, 'ok');
  t.equal(r.report.master_sn, M);
  t.ok(lpLines(r.lp).every((l) => l.tags.device_master_sn === M));
  t.match(r.report.warnings.join('\n'), /folder 02001084 but the header's master is 02000800/);
});

t.test('files without a valid row are errors', async (t) => {
  const cases: Array<[string, string | Buffer, string, RegExp]> = [
    ['header only', v002([]), ErrorCodes.NO_VALID_ROW, /header only/],
    ['header only, blank lines', v002(['', '  ', '']), ErrorCodes.NO_VALID_ROW, /no/],
    [
      'V003 header only',
      [
        'START_HEADER',
        '{"DataTimeSettings":"UTC"}',
        'END_HEADER',
        'START_DATA',
        `${M}\t${M}`,
        'MV_T302_V003\tVoie1 W',
        'END_DATA',
        '',
      ].join('\n'),
      ErrorCodes.NO_VALID_ROW,
      /no/,
    ],
    [
      'every row invalid',
      v002([row('bad', 1, 2, 3, 4, 5, 6), row(ts(0), 'NaN', '', 'x', 'inf', '-', '.'), row(ts(10), 1, 2)]),
      ErrorCodes.NO_VALID_ROW,
      /invalid timestamps.*invalid values.*truncated rows/,
    ],
    ['empty', '', ErrorCodes.EMPTY_FILE, /empty/],
    ['unknown format', `${M}\t${M}\nMV_T202_V002\tVoie1 W\n${row(T0, 1)}\n`, ErrorCodes.UNKNOWN_FORMAT, /MV_T202_V002/],
    ['binary', Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 10]), ErrorCodes.BINARY_FILE, /binary/],
    ['bad header', `${M}\t${M}\t${M}\nMV_T302_V002\tVoie1 W\n`, ErrorCodes.BAD_HEADER, /disagree/],
  ];
  for (const [name, text, code, message] of cases) {
    const { report, lp } = await runPipelineOne(text);
    t.equal(report.status, 'error', `${name}: error`);
    t.equal(report.error?.code, code, `${name}: ${code}`);
    t.match(report.error?.message, message, `${name}: message`);
    t.notMatch(report.error?.message ?? '', /\n/, `${name}: one line`);
    t.equal(lp, '', `${name}: nothing written`);
  }
});

t.test('a NUL byte in a data row spoils that row, not the file (same answer for any read size)', async (t) => {
  const text = Buffer.from(v002([row(ts(0), 1, 2, 3, 4, 5, 6), row(ts(10), 1, 2, 3, 4, 5, 6)]));
  text[text.length - 2] = 0; // the last cell of the last row: "6" -> NUL
  let whole: string;
  let chunked: string;
  try {
    whole = `ok ${runInProcess(text).lp.length}`;
  } catch (err) {
    whole = `error ${(err as { code?: string }).code}`;
  }
  try {
    chunked = `ok ${runInProcess(text, { chunks: [64] }).lp.length}`;
  } catch (err) {
    chunked = `error ${(err as { code?: string }).code}`;
  }
  t.equal(whole, chunked, 'the scanner gives the same outcome fed whole or in 64-byte chunks');
  const { report } = await runPipelineOne(text);
  t.equal(report.status, 'ok', 'the file is read');
  t.equal(report.invalid_values.count, 1, 'the NUL cell is one invalid value');
  t.equal(report.points, 11);
});

t.test('a value out of float64 range is not a finite decimal', async (t) => {
  const huge = '9'.repeat(400);
  const { report, points } = await both(t, v002([row(ts(0), huge, 2, 3, 4, 5, 6), row(ts(10), 1, 2, 3, 4, 5, 6)]));
  t.equal(report.invalid_values.count, 1, 'a 400-digit value is invalid (InfluxDB rejects it as out of range)');
  t.notOk(points.has(`${F.U1}@${at(0)}`), 'not written');
  const u1 = report.channels[0];
  t.ok(Number.isFinite(u1.max ?? 0) && Number.isFinite(u1.mean ?? 0), 'statistics stay finite');
});

t.test('the in-process path accepts any read chunking and a scanner that must copy', async (t) => {
  const text = Buffer.from(
    v002(
      [
        row(ts(0), 1, 2, 3, 4, 5, 6),
        '',
        row(ts(10), '114.40', 2, 3, 4, 5, 6),
        row(ts(10), 9, 9, 9, 9, 9, 9),
        row(ts(20), 1, 2),
      ],
      '\r\n',
    ),
  );
  const ref = runInProcess(text);
  for (const chunks of [[1], [2], [3, 7], [50, 1, 13]]) {
    const r = runInProcess(text, { chunks, blockBytes: 40 });
    t.equal(r.lp, ref.lp, `chunks ${chunks.join(',')}: same line protocol`);
    t.same(r.stats.truncatedRows, ref.stats.truncatedRows, `chunks ${chunks.join(',')}: same truncated rows`);
    t.equal(r.stats.duplicateRows, 1);
  }
});

t.test('one Pipeline, several files: a bad file does not stop the others; reports in order', async (t) => {
  const good = v002([row(ts(0), 1, 2, 3, 4, 5, 6)]);
  const paths = [
    tempFile(good, 'a.tsv'),
    tempFile('', 'empty.tsv'),
    tempFile(`${M}\t${M}\nMV_T202_V002\tVoie1 W\n`, 'unknown.tsv'),
    tempFile(good.replace('1\t2\t3', '7\t8\t9'), 'b.tsv'),
    `${tempFile('x', 'gone.tsv')}.does-not-exist`,
    tempFile(v002([]), 'header-only.tsv'),
  ];
  const sink = new MemorySink();
  const seen: string[] = [];
  const pipeline = new Pipeline({ workers: 0, v002TimeZone: 'UTC', sink, onFile: (r) => seen.push(r.path) });
  let reports: FileReport[];
  try {
    reports = await pipeline.run(paths.map((path) => ({ path, identity: IDENTITY })));
  } finally {
    await pipeline.close();
  }
  t.same(
    reports.map((r) => r.path),
    paths,
    'one report per file, in order',
  );
  t.same(seen, paths, 'onFile in order');
  t.same(
    reports.map((r) => [r.status, r.error?.code ?? null]),
    [
      ['ok', null],
      ['error', ErrorCodes.EMPTY_FILE],
      ['error', ErrorCodes.UNKNOWN_FORMAT],
      ['ok', null],
      ['error', ErrorCodes.READ],
      ['error', ErrorCodes.NO_VALID_ROW],
    ],
  );
  t.equal(reports[0].bytes, Buffer.byteLength(good), 'bytes of the file');
  const pts = pointMap(sink.text());
  t.equal(pts.size, 6, 'both good files wrote their points (same series and times: the later file overwrites)');
  t.equal(pts.get(`${F.U1}@${at(0)}`), '7');
  t.equal(sink.text().split('\n').filter(Boolean).length, 12, 'twelve lines written, in file order');
  t.match(sink.text().split('\n')[0], / M02000800_U1_V=1 /, 'the first file first');
});

t.test('Pipeline refuses an unknown V002 zone', async (t) => {
  t.throws(() => new Pipeline({ workers: 0, v002TimeZone: 'Europe/Nowhere' }), { code: ErrorCodes.TIMEZONE });
});

t.test('a header label ending in a backslash never yields malformed line protocol', async (t) => {
  // line protocol cannot escape a trailing backslash: `channel_unit=W\,device=MV2` swallows the next tag,
  // `…_W\=5` swallows the `=`. Either the header is refused, or what is written must still parse.
  const text = `${M}\t${M}\t${M}\nMV_T302_V002\tVoie1 W\\\tVoie2 kW\n${row(T0, 5, 6)}\n`;
  const { report, lp } = await runPipelineOne(text);
  if (report.status === 'error') {
    t.equal(report.error?.code, ErrorCodes.BAD_HEADER, 'refused as a bad header');
    return;
  }
  const lines = lp.split('\n').filter(Boolean);
  t.equal(lines.length, 2);
  for (const line of lines) {
    let parsed;
    try {
      parsed = parseLpLine(line);
    } catch {
      parsed = null;
    }
    t.ok(parsed, `parses: ${line}`);
    if (!parsed) continue;
    t.equal(parsed.tags.device, 'MV2', `the device tag survives: ${line}`);
    t.match(parsed.value, /^-?\d+(\.\d+)?$/, `the value is a number: ${line}`);
  }
});
