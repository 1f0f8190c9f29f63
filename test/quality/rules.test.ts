/**
 * The per-file quality rules on generated files: each defect injected is
 * found exactly (kind, channel, range, samples), a clean file finds none,
 * and the findings do not depend on how the file is cut into blocks (runs
 * continued across blocks, on the main thread and on a worker).
 */
import t from 'tap';
import { copyFileSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GAP_ROWS, defectRows, v003Spec, writeFile, type Defect, type FileSpec } from '../../fixtures/generate.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import type { FileReport } from '../../src/model/values.js';
import { resolveThresholds } from '../../src/quality/thresholds.js';
import { isPhasePhase } from '../../src/quality/value-rules.js';
import { gapsOf } from '../../src/quality/gaps.js';
import { sharedDir, sharedSkip } from '../support/helpers.js';

const STEP = 600;
const T0 = Date.UTC(2025, 5, 2) / 1000;
const iso = (epoch: number) => new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');

/** A V003 file of 02001171 (6 channels, a slave of 3): 400 rows from T0. */
function spec(defects: Defect[], seed = 7): FileSpec {
  return v003Spec({ slaves: 1, slaveChannels: 3, rows: 400, start: T0, step: STEP, defects, seed });
}

const dir = mkdtempSync(join(tmpdir(), 'pv-quality-'));
mkdirSync(join(dir, 'acme', 'c', '02001171'), { recursive: true });
let files = 0;

async function reportOf(s: FileSpec, options: { workers?: number; blockBytes?: number } = {}): Promise<FileReport> {
  const path = join(dir, 'acme', 'c', '02001171', `T302_250602_${String(++files).padStart(6, '0')}.tsv`);
  await writeFile(path, s);
  const pipeline = new Pipeline({ workers: options.workers ?? 0, blockBytes: options.blockBytes ?? 4096 });
  try {
    const [report] = await pipeline.run([{ path, identity: { tenant: 'acme', campaign: 'c', device: '02001171' } }]);
    return report;
  } finally {
    await pipeline.close();
  }
}

t.test('a clean file finds nothing', async (t) => {
  for (const seed of [1, 2, 3]) {
    const r = await reportOf(spec([], seed));
    t.equal(r.status, 'ok');
    t.same(r.quality, [], `seed ${seed}`);
  }
});

const cases: Array<[Defect, string, string]> = [
  ['stuck', 'stuck_value', '1234.5'],
  ['zero-run', 'zero_run', '0'],
  ['voltage-out-of-band', 'voltage_out_of_band', '180'],
  ['negative-power', 'negative_power', '-250'],
];
for (const [defect, kind, value] of cases) {
  t.test(`${defect}: exactly the injected ${kind} run`, async (t) => {
    const s = spec([defect]);
    const at = defectRows(s)[defect];
    for (const options of [{ blockBytes: 1 << 20 }, { blockBytes: 2048 }, { workers: 1, blockBytes: 3000 }]) {
      const r = await reportOf(s, options);
      t.equal(r.status, 'ok');
      t.equal(r.quality?.length, 1, JSON.stringify(r.quality));
      const f = r.quality![0];
      t.equal(f.kind, kind);
      t.equal(f.channel, r.channels[at.channel].channel_id);
      t.same(f.range, { first: iso(T0 + at.from * STEP), last: iso(T0 + (at.to - 1) * STEP) }, JSON.stringify(options));
      t.equal(f.measure, at.to - at.from, 'samples in the run');
      t.equal(String(f.detail.value), value);
    }
  });
}

t.test('clock-reset: the row is written nowhere, counted and found', async (t) => {
  const s = spec(['clock-reset']);
  const r = await reportOf(s);
  t.equal(r.clock_reset_rows, 1);
  t.equal(r.rows, 399, 'the reset row is not a row written');
  t.same(r.time_range, { first: iso(T0), last: iso(T0 + 399 * STEP) }, 'the 2020 row is out of the time range');
  const f = r.quality!.filter((q) => q.kind === 'clock_reset');
  t.equal(f.length, 1);
  t.same(f[0].range, { first: iso(T0 + 199 * STEP), last: iso(T0 + 201 * STEP) }, 'the rows around it');
  t.equal(f[0].detail.rows, 1);
  t.equal(f[0].detail.first_dated, '2020-01-01T01:00:02Z');
  t.equal(f[0].measure, T0 - Date.UTC(2020, 0, 1, 1, 0, 2) / 1000, 'seconds off: from the file’s first row');
  // the row it took the place of is missing from the series: a gap of one sample (rows are found by time)
  t.same(
    r.quality!.filter((q) => q.kind === 'gap').map((q) => [q.range.first, q.measure]),
    [[iso(T0 + 200 * STEP), 1]],
  );
  t.equal(r.quality!.length, 2);
});

t.test('gap: without PostgreSQL, the file’s own gap from its row times', async (t) => {
  const s = spec(['gap']);
  const at = defectRows(s).gap;
  for (const options of [{ blockBytes: 1 << 20 }, { blockBytes: 2048 }]) {
    const r = await reportOf(s, options);
    t.same(r.quality, [
      {
        kind: 'gap',
        severity: 'warning',
        channel: null,
        range: { first: iso(T0 + at.from * STEP), last: iso(T0 + (at.to - 1) * STEP) },
        measure: GAP_ROWS,
        detail: { step_s: STEP },
      },
    ]);
  }
});

t.test('every defect at once: one finding per rule', async (t) => {
  const r = await reportOf(spec(['stuck', 'zero-run', 'voltage-out-of-band', 'negative-power', 'clock-reset']), {
    blockBytes: 2500,
  });
  t.same(r.quality!.map((q) => q.kind).sort(), [
    'clock_reset',
    'gap',
    'negative_power',
    'stuck_value',
    'voltage_out_of_band',
    'zero_run',
  ]);
});

t.test('thresholds: parameters override the defaults, bad rows are ignored with a reason', async (t) => {
  const { thresholds, warnings } = resolveThresholds([
    { parameter: 'stuck_min_h', value: 2 },
    { parameter: 'nope', value: 1 },
    { parameter: 'zero_run_min_h', value: -1 },
  ]);
  t.equal(thresholds.stuck_min_h, 2);
  t.equal(thresholds.zero_run_min_h, 24);
  t.equal(warnings.length, 2);
});

t.test('phase-phase voltage names', async (t) => {
  for (const name of ['U12', 'U 23', 'L1-L2', 'Ph 1-2', 'V31']) t.ok(isPhasePhase(name), name);
  for (const name of ['Ph 1', 'Ph 3', 'U1', 'Voie1']) t.notOk(isPhasePhase(name), name);
});

const samples = join(sharedDir, 'samples');

t.test('the real samples: the findings they hold', { skip: sharedSkip }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'pv-quality-samples-'));
  const at = join(root, 'acme', 'c', 'dev');
  mkdirSync(at, { recursive: true });
  const names = ['v002_master_4slaves.tsv', 'v002_tri_1slave.tsv', 'v003_mono.tsv', 'v003_tri_1slave.tsv'];
  for (const n of names) copyFileSync(join(samples, n), join(at, n));
  const pipeline = new Pipeline({ workers: 0 });
  const reports = await pipeline.run(
    names.map((n) => ({ path: join(at, n), identity: { tenant: 'acme', campaign: 'c', device: 'dev' } })),
  );
  await pipeline.close();
  const byName = new Map(reports.map((r) => [r.path.split('/').pop()!, r]));
  const kinds = (n: string) => byName.get(n)!.quality!.map((q) => `${q.kind} ${q.channel}`);
  // negatives from the first rows (never flagged), voltages within 242 ± 1 V
  t.same(kinds('v002_master_4slaves.tsv'), []);
  t.same(kinds('v003_tri_1slave.tsv'), []);
  // phases 2 and 3 at 114 V for the whole file
  const tri = byName.get('v002_tri_1slave.tsv')!.quality!;
  t.same(kinds('v002_tri_1slave.tsv'), ['voltage_out_of_band M02000800_U2', 'voltage_out_of_band M02000800_U3']);
  t.same(
    tri.map((q) => q.measure),
    [38, 38],
    'every row of the file',
  );
  t.equal(tri[0].detail.value, 113.39);
  // the mono logger: 17 rows of all zeros (voltage 0) and five power channels at 0 for the whole file
  const mono = byName.get('v003_mono.tsv')!.quality!;
  const band = mono.filter((q) => q.kind === 'voltage_out_of_band');
  t.equal(band.length, 17);
  t.ok(band.every((q) => q.channel === 'M02001311_U1' && q.measure === 1 && q.detail.value === 0));
  const zeros = mono.filter((q) => q.kind === 'zero_run');
  t.same(
    zeros.map((q) => q.channel),
    ['M02001311_Ch1', 'M02001311_Ch2', 'M02001311_Ch3', 'M02001311_Ch4', 'M02001311_Ch5'],
  );
  t.ok(zeros.every((q) => q.measure === 132 && q.range.first === '2026-01-21T08:15:24Z'));
  // two gaps at its 10-minute step: 70 minutes in the afternoon, the night
  t.same(
    mono.filter((q) => q.kind === 'gap').map((q) => [q.range.first, q.range.last, q.measure]),
    [
      ['2026-01-21T17:50:00Z', '2026-01-21T18:40:07Z', 6],
      ['2026-01-21T19:00:07Z', '2026-01-22T08:13:46Z', 80],
    ],
  );
  t.equal(mono.length, 24);
});

t.test('gaps between coverage runs: at the step, isolated samples, changes of sampling', async (t) => {
  const run = (start: number, step: number, n: number) => ({ start, step, n });
  t.same(gapsOf([run(0, 600, 10), run(9000, 600, 5)], 600, 1), [{ tStart: 6000, tEnd: 8400, missing: 5 }]);
  t.same(gapsOf([run(0, 600, 10), run(5400, 600, 5)], 600, 1), [], 'contiguous');
  t.same(gapsOf([run(0, 600, 10), run(2400, 600, 20)], 600, 1), [], 'overlapping');
  t.same(gapsOf([run(0, 600, 10), run(9000, 600, 5)], 600, 6), [], 'below gap_min_samples');
  // an isolated sample then a jump: the greedy runs pair them, the pair covers its two samples only
  t.same(gapsOf([run(0, 600, 10), run(6000, 36000, 2), run(42600, 600, 3)], 600, 1), [
    { tStart: 6600, tEnd: 41400, missing: 59 },
  ]);
  t.same(gapsOf([run(0, 600, 10), run(5400, 1200, 5)], 600, 1), [], 'sampling at 20 minutes: no gap');
});
