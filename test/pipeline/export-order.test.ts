/**
 * The export-order rule (src/pipeline/export-order.ts): the export time is the
 * last YYMMDD_HHMMSS or YYYYMMDD_HHMMSS (separator _ or T) in a file name;
 * _UTC (or a V003 header declaring UTC) means UTC, otherwise the tenant's
 * zone; files without one come after, in path order. Real logger names:
 * before, only the generator's `…_YYYYMMDD_HHMMSS.tsv` had an export time.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  exportEpochOf,
  exportOrder,
  exportStampOf,
  exportTimeOf,
  sortByExportOrder,
} from '../../src/pipeline/export-order.js';
import { Scheduler } from '../../src/service/scheduler.js';
import { exportFileName } from '../../fixtures/generate.js';

const PARIS = 'Europe/Paris';

t.test('MV2 logger names: T302_YYMMDD_HHMMSS.tsv, 2-digit years, local time in the tenant zone', async (t) => {
  // 12/10/2025 03:17:20 in Paris (CEST, UTC+2)
  t.equal(exportTimeOf('/d/acme/c/02001171/T302_251012_031720.tsv', PARIS), '2025-10-12T01:17:20.000Z');
  // winter: UTC+1
  t.equal(exportTimeOf('T302_260108_214031.tsv', PARIS), '2026-01-08T20:40:31.000Z');
  t.equal(exportTimeOf('T302_260108_214031.tsv', 'UTC'), '2026-01-08T21:40:31.000Z', 'a UTC tenant');
  t.equal(exportTimeOf('T302_991231_235959.tsv', 'UTC'), '2099-12-31T23:59:59.000Z', '2-digit years are 20YY');
  t.equal(exportTimeOf('T302_251012_031720.TSV', PARIS), '2025-10-12T01:17:20.000Z', 'extension in any case');
});

t.test('V003 names: _UTC suffix, or a header declaring UTC', async (t) => {
  t.equal(exportTimeOf('T302_251012_031720_UTC.tsv', PARIS), '2025-10-12T03:17:20.000Z');
  t.equal(exportTimeOf('T302_251012_031720_utc.tsv', PARIS), '2025-10-12T03:17:20.000Z', 'any case');
  t.equal(exportTimeOf('T302_251012_031720.tsv', PARIS, true), '2025-10-12T03:17:20.000Z', 'header says UTC');
  t.same(exportStampOf('T302_251012_031720_UTC.tsv'), {
    wallClock: Date.UTC(2025, 9, 12, 3, 17, 20) / 1000,
    utc: true,
  });
  t.equal(exportStampOf('T302_251012_031720_UTCX.tsv')?.utc, false, '_UTC must be the whole word');
});

t.test('renamed by the customer: a serial in front, the export time last', async (t) => {
  t.equal(exportTimeOf('T302_02001283_T302_260108_214031.tsv', PARIS), '2026-01-08T20:40:31.000Z');
  // an 8-digit serial right before the time is not taken for a date (02001283_251012 is no valid stamp)
  t.equal(exportTimeOf('T302_02001283_251012_031720.tsv', PARIS), '2025-10-12T01:17:20.000Z');
  // two stamps: the last one counts
  t.equal(exportTimeOf('T302_250101_000000_copy_of_T302_251012_031720.tsv', PARIS), '2025-10-12T01:17:20.000Z');
  t.equal(exportTimeOf('T302_251012_031720 (1).tsv', PARIS), '2025-10-12T01:17:20.000Z', 'a copy suffix after it');
});

t.test('YYYYMMDD_HHMMSS and the T separator', async (t) => {
  t.equal(exportTimeOf('MV2_02001000_20250803T000000.tsv', 'UTC'), '2025-08-03T00:00:00.000Z');
  t.equal(exportTimeOf('MV2_02001000_20250803_000000.tsv', 'UTC'), '2025-08-03T00:00:00.000Z');
  t.equal(exportTimeOf('T302_251012T031720.tsv', 'UTC'), '2025-10-12T03:17:20.000Z', '6-digit date with T');
  t.equal(exportTimeOf('MV2_02001000_20250803T000000.tsv', PARIS), '2025-08-02T22:00:00.000Z', 'local');
});

t.test('no export time: null', async (t) => {
  for (const name of [
    'a.tsv',
    'T302.tsv',
    'MV2_02001283.tsv',
    'T302_251012.tsv',
    'T302_251312_031720.tsv',
    'T302_250230_000000.tsv',
    'T302_251012_241720.tsv',
    'T302_1251012_031720.tsv',
    'T302_251012_0317201.tsv',
    'T302_251012-031720.tsv',
  ]) {
    t.equal(exportTimeOf(name, PARIS), null, name);
  }
});

t.test('clock changes: the autumn repeated hour is summer time, the spring gap the offset before it', async (t) => {
  t.equal(exportTimeOf('T302_251026_023000.tsv', PARIS), '2025-10-26T00:30:00.000Z', 'fold: the first (summer) 02:30');
  t.equal(
    exportTimeOf('T302_250330_023000.tsv', PARIS),
    '2025-03-30T01:30:00.000Z',
    'gap: the winter offset (the clock had not jumped)',
  );
});

t.test('order: by export time, files without one last, ties by path', async (t) => {
  const paths = [
    '/r/acme/c/dev/zz.tsv',
    '/r/acme/c/dev/T302_251012_031720.tsv',
    '/r/acme/c/dev/T302_02001283_T302_251013_000000.tsv',
    '/r/acme/c/dev/T302_251012_020000_UTC.tsv', // 04:00 in Paris: after 03:17
    '/r/acme/c/dev/T302_251001_000000.tsv',
    '/r/acme/c/dev/a.tsv',
    '/r/acme/c/dev/MV2_x_20251012T011720.tsv', // the generator's old names: 01:17 local, before 03:17
  ];
  t.same(sortByExportOrder(paths, PARIS), [
    '/r/acme/c/dev/T302_251001_000000.tsv',
    '/r/acme/c/dev/MV2_x_20251012T011720.tsv',
    '/r/acme/c/dev/T302_251012_031720.tsv',
    '/r/acme/c/dev/T302_251012_020000_UTC.tsv',
    '/r/acme/c/dev/T302_02001283_T302_251013_000000.tsv',
    '/r/acme/c/dev/a.tsv',
    '/r/acme/c/dev/zz.tsv',
  ]);
  const cmp = exportOrder(PARIS);
  t.equal(cmp('/x/T302_251012_031720.tsv', '/x/T302_251012_031720.tsv'), 0);
  t.ok(cmp('/a/T302_251012_031720.tsv', '/b/T302_251012_031720.tsv') < 0, 'equal times: path order');
  t.equal(exportEpochOf('/x/T302_251012_031720.tsv', PARIS), Date.UTC(2025, 9, 12, 1, 17, 20));
});

t.test('the generator writes real logger names', async (t) => {
  const at = Date.UTC(2025, 9, 12, 3, 17, 20) / 1000;
  t.equal(exportFileName(at, 'v002'), 'T302_251012_031720.tsv');
  t.equal(exportFileName(at, 'v003'), 'T302_251012_031720_UTC.tsv');
  t.equal(exportTimeOf(exportFileName(at, 'v003'), PARIS), '2025-10-12T03:17:20.000Z');
});

/** serve: the scheduler's order for one device, whether its files arrive one by one or as a backlog */
const root = realpathSync(mkdtempSync(join(tmpdir(), 'pv-export-order-')));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

async function drain(paths: string[], oneByOne: boolean): Promise<string[]> {
  const held = new Set<string>();
  const claims = {
    tryClaim: async (f: string) => (held.add(f), true),
    release: async (f: string) => void held.delete(f),
    isHeld: (f: string) => held.has(f),
  };
  const s = new Scheduler(root, claims, undefined, undefined, PARIS);
  const it = s[Symbol.asyncIterator]();
  const out: string[] = [];
  if (oneByOne) {
    for (const p of paths) {
      s.add(p, Date.now());
      const next = await it.next();
      out.push(next.value.path);
      s.done({ status: 'ok', moved_to: 'parsed' } as never, next.value);
    }
  } else {
    for (const p of paths) s.add(p, Date.now());
    for (let i = 0; i < paths.length; i++) {
      const next = await it.next();
      out.push(next.value.path);
      s.done({ status: 'ok', moved_to: 'parsed' } as never, next.value);
    }
  }
  s.stop();
  return out;
}

t.test('serve: a backlog is taken in the order the files would have arrived one by one', async (t) => {
  const dev = join(root, 'acme', 'camp', '02001283');
  mkdirSync(dev, { recursive: true });
  // the logger's exports, in the order it made them
  const arrival = [
    `${dev}/T302_251001_000500.tsv`,
    `${dev}/T302_251002_000500.tsv`,
    `${dev}/T302_251003_000500_UTC.tsv`,
    `${dev}/T302_02001283_T302_251004_120000.tsv`,
  ];
  for (const p of arrival) writeFileSync(p, 'x');
  t.same(await drain(arrival, true), arrival, 'one by one');
  // found at start or by a rescan, in directory (path) order: the renamed one first by path
  const byPath = [...arrival].sort();
  t.not(byPath[0], arrival[0], 'path order differs from export order here');
  t.same(await drain(byPath, false), arrival, 'backlog: export order, not path order');
  t.same(await drain([...arrival].reverse(), false), arrival, 'backlog in any order');
});
