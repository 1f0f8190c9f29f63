/**
 * Hourly partials, the energy convention and coverage runs, on the parser
 * alone: no database.
 */
import t from 'tap';
import { parseBlock, H, HOURLY_FIELDS } from '../../src/tsv/block-parser.js';
import { buildSeriesTable } from '../../src/influx/series.js';
import { FileCoverage, HeldPoints, runsOf, samplingStep } from '../../src/pipeline/coverage.js';
import { scan, IDENTITY } from '../support/tsv-run.js';

const T0 = Date.UTC(2025, 0, 6, 10, 0, 0) / 1000;
const pad = (n: number) => String(n).padStart(2, '0');
const stamp = (epoch: number) => {
  const d = new Date(epoch * 1000);
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${String(d.getUTCFullYear()).slice(2)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};

/** V003 (UTC) file: master mono, channels U1 (V) and Ch1 (W), one row per step. */
function file(rows: Array<[number, string, string]>): Buffer {
  const lines = [
    'START_HEADER',
    JSON.stringify({ DataTimeSettings: 'UTC', MasterType: 'Mono', FileVersion: 3 }),
    'END_HEADER',
    'START_DATA',
    '02001171\t02001171\t02001171',
    'MV_T302_V003\tPh 1 V\tP1 W',
    ...rows.map(([t, v, w]) => `${stamp(t)}\t${v}\t${w}`),
    'END_DATA',
  ];
  return Buffer.from(`${lines.join('\n')}\n`);
}

function parseAll(buf: Buffer, plan: { skip?: (epochs: Uint32Array) => Uint8Array | null; step?: number } = {}) {
  const s = scan(buf);
  const table = buildSeriesTable(s.header, IDENTITY);
  const power = Uint8Array.from(s.header.channels, (c) => (c.unit === 'W' ? 1 : 0));
  const results = s.blocks.map((b) =>
    parseBlock(buf.subarray(b.offset, b.offset + b.length), b.epochs, b.firstLine, table, undefined, {
      skip: plan.skip?.(b.epochs) ?? null,
      power,
      stepSeconds: plan.step ?? samplingStep(s.blocks.map((x) => x.epochs)),
    }),
  );
  const hourly = new Map<string, number[]>();
  for (const r of results) {
    const p = r.agg!.hourly;
    for (let i = 0; i < p.length; i += HOURLY_FIELDS)
      hourly.set(`${p[i + H.channel]} ${p[i + H.hour]}`, [...p.subarray(i, i + HOURLY_FIELDS)]);
  }
  return { s, results, hourly };
}

t.test('energy convention: value × sampling step / 3600, credited to the hour holding the timestamp', async (t) => {
  // 1000 W for one hour at 10-minute steps (timestamps 10:00 … 10:50) = 1000 Wh; the 11:00 sample belongs to the next hour
  const rows: Array<[number, string, string]> = [];
  for (let k = 0; k <= 6; k++) rows.push([T0 + k * 600, '230.0', '1000']);
  const { hourly, s } = parseAll(file(rows));
  t.equal(samplingStep(s.blocks.map((b) => b.epochs)), 600);
  const w10 = hourly.get(`1 ${T0}`)!;
  t.equal(w10[H.samples], 6);
  t.equal(w10[H.energy] / 3600, 1000, '6 × 1000 W × 600 s / 3600 = 1000 Wh (partials hold W·s)');
  t.equal(hourly.get(`1 ${T0 + 3600}`)![H.energy] / 3600, 1000 / 6, 'the 11:00 sample: one step in the next hour');
  t.equal(hourly.get(`0 ${T0}`)![H.energy], 0, 'voltage channels carry no energy (stored as NULL)');
});

t.test('hourly partials: count, sum, min, max, first and last by time (rows out of order)', async (t) => {
  const { hourly } = parseAll(
    file([
      [T0 + 1200, '231', '30'],
      [T0, '230', '10'],
      [T0 + 600, '229', '-5'],
      [T0 + 3000, '232', 'NaN'],
    ]),
    { step: 600 },
  );
  const w = hourly.get(`1 ${T0}`)!;
  t.same([w[H.samples], w[H.sum], w[H.min], w[H.max]], [3, 35, -5, 30], 'the NaN is no sample');
  t.same([w[H.firstTime], w[H.firstValue], w[H.lastTime], w[H.lastValue]], [T0, 10, T0 + 1200, 30]);
  const v = hourly.get(`0 ${T0}`)!;
  t.same([v[H.samples], v[H.lastTime], v[H.lastValue]], [4, T0 + 3000, 232]);
});

t.test('held points are skipped in the line protocol and the partials, and counted', async (t) => {
  const rows: Array<[number, string, string]> = [];
  for (let k = 0; k < 6; k++) rows.push([T0 + k * 600, String(230 + k), String(100 + k)]);
  // an earlier file brought Ch1 (channel 1) at the first three timestamps, and U1 at the first
  const held = new HeldPoints([[{ start: T0, step: 600, n: 1 }], [{ start: T0, step: 600, n: 3 }]], T0, T0 + 3000);
  const { results, hourly } = parseAll(file(rows), { skip: (e) => held.skipMask(e, 2), step: 600 });
  const lp = results.map((r) => Buffer.from(r.lp.subarray(0, r.lpLength)).toString()).join('');
  t.equal(lp.split('\n').filter(Boolean).length, 12 - 4, 'four points held, eight written');
  t.equal(results[0].agg!.skippedPoints, 4);
  t.equal(results[0].stats.duplicateRows, 1, 'the first row is held entirely: a duplicate row');
  t.equal(hourly.get(`1 ${T0}`)![H.samples], 3);
  t.equal(hourly.get(`1 ${T0}`)![H.sum], 103 + 104 + 105);
  // what this file wrote is its coverage: not the held cells
  const cov = new FileCoverage(2);
  for (const r of results) cov.addBlock(scan(file(rows)).blocks[0].epochs, r.agg!.brought);
  const runs = cov.runs();
  t.same(runs[1], [{ start: T0 + 1800, step: 600, n: 3 }]);
  t.same(runs[0], [{ start: T0 + 600, step: 600, n: 5 }]);
});

t.test('coverage runs', async (t) => {
  t.same(runsOf([]), []);
  t.same(runsOf([5]), [{ start: 5, step: 1, n: 1 }]);
  t.same(runsOf([0, 600, 1200, 1800, 1830, 2400]), [
    { start: 0, step: 600, n: 4 },
    { start: 1830, step: 570, n: 2 },
  ]);
  const held = new HeldPoints(
    [
      [
        { start: 0, step: 600, n: 10 },
        { start: 300, step: 600, n: 2 },
      ],
      [],
    ],
    600,
    1200,
  );
  const mask = held.skipMask(Uint32Array.from([0, 300, 600, 900, 1200, 1500]), 2)!;
  t.same(
    [...mask],
    [0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0],
    'only the window [600, 1200] is held; overlapping runs both count',
  );
  t.equal(new HeldPoints([[], []], 0, 10).skipMask(Uint32Array.from([1]), 2), null);
});
