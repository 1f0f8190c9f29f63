/**
 * Bounded planning and scanning: coverage stays runs (a lookup is a binary
 * search, whatever the number of timestamps or the window's length), a file's
 * coverage is gathered in typed arrays (no 2^24 limit of JS arrays and Sets),
 * and a line longer than 1 MiB fails the file instead of being buffered.
 */
import t from 'tap';
import fc from 'fast-check';
import { FileCoverage, HeldPoints, type Run } from '../../src/pipeline/coverage.js';
import { ErrorCodes, FileFormatError } from '../../src/errors.js';
import { FileScanner, LINE_LIMIT } from '../../src/tsv/scanner.js';
import { TimeZoneRules } from '../../src/tsv/timezone.js';
import { runPipelineOne } from '../support/tsv-run.js';

const ABOVE_2_24 = 2 ** 24 + 1_000_000;
const T0 = Date.UTC(2025, 0, 6, 10, 0, 0) / 1000;
const RESET = Date.UTC(2020, 0, 1, 1, 0, 2) / 1000;

t.test(
  'held coverage of more than 2^24 timestamps in a years-long window: no RangeError, exact membership',
  async (t) => {
    // a 1-second logger's half year, then a file whose clock-reset row opens the window in 2020
    const big: Run = { start: T0 - ABOVE_2_24, step: 1, n: ABOVE_2_24 };
    const other: Run = { start: T0 + 100, step: 600, n: 10 };
    const started = process.hrtime.bigint();
    const held = new HeldPoints([[big, other], [other], []], RESET, T0 + 10_000);
    const epochs = Uint32Array.from([
      RESET,
      T0 - ABOVE_2_24 - 1,
      T0 - ABOVE_2_24,
      T0 - 7,
      T0 - 1,
      T0,
      T0 + 100,
      T0 + 700,
      T0 + 701,
      T0 + 5500,
    ]);
    const mask = held.skipMask(epochs, 3)!;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const ch = (c: number) => [...epochs].map((_, r) => mask[r * 3 + c]);
    t.same(ch(0), [0, 0, 1, 1, 1, 0, 1, 1, 0, 1], 'channel 0: the 1-s run and the 600-s run');
    t.same(ch(1), [0, 0, 0, 0, 0, 0, 1, 1, 0, 1], 'channel 1: the 600-s run only');
    t.same(ch(2), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'channel 2 holds nothing');
    t.ok(held.has(0, T0 - 1) && !held.has(1, T0 - 1));
    // not a timing assertion on a busy machine: expanding 17.7 M timestamps into a Set threw; runs take microseconds
    t.ok(ms < 5_000, `planning and lookup took ${ms.toFixed(1)} ms`);
  },
);

t.test('held points: the window clips runs, single points stored with step 0 count', async (t) => {
  const held = new HeldPoints(
    [
      [
        { start: 1000, step: 0, n: 1 },
        { start: 0, step: 600, n: 10 },
      ],
    ],
    600,
    1200,
  );
  const mask = held.skipMask(Uint32Array.from([0, 600, 1000, 1200, 1800]), 1)!;
  t.same([...mask], [0, 1, 1, 1, 0]);
});

t.test('held points answer like expanding the runs (property)', async () => {
  const run = fc.record({
    start: fc.integer({ min: 0, max: 2000 }),
    step: fc.integer({ min: 1, max: 97 }),
    n: fc.integer({ min: 1, max: 40 }),
  });
  fc.assert(
    fc.property(
      fc.array(fc.array(run, { maxLength: 6 }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: 0, max: 3000 }),
      (rel, a, b) => {
        // valid epochs only (the mask ignores invalid-row markers)
        const runs = rel.map((l) => l.map((r) => ({ ...r, start: r.start + T0 })));
        const [from, to] = a <= b ? [T0 + a, T0 + b] : [T0 + b, T0 + a];
        const held = new HeldPoints(runs, from, to);
        const epochs = Uint32Array.from({ length: 3200 }, (_, i) => T0 + i);
        const mask = held.skipMask(epochs, runs.length);
        for (let c = 0; c < runs.length; c++) {
          const expected = new Set<number>();
          for (const r of runs[c])
            for (let k = 0; k < r.n; k++)
              if (r.start + k * r.step >= from && r.start + k * r.step <= to) expected.add(r.start + k * r.step);
          for (let i = 0; i < epochs.length; i++) {
            const got = mask ? mask[i * runs.length + c] === 1 : false;
            if (got !== expected.has(epochs[i]))
              throw new Error(
                `channel ${c} t ${i}: ${got} (runs ${JSON.stringify(rel[c])}, window ${from - T0}..${to - T0})`,
              );
            if (got !== held.has(c, epochs[i])) throw new Error(`has() differs from the mask at channel ${c} t ${i}`);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

t.test('a file of more than 2^24 rows gives its coverage runs without throwing', async (t) => {
  const cov = new FileCoverage(2);
  const block = 1 << 20;
  const epochs = new Uint32Array(block);
  const all = new Uint8Array(block * 2).fill(1);
  const some = new Uint8Array(block * 2);
  // blocks arrive newest first, so the runs need the numeric sort
  const blocks = Math.ceil(ABOVE_2_24 / block);
  for (let b = blocks - 1; b >= 0; b--) {
    for (let i = 0; i < block; i++) epochs[i] = T0 + (b * block + i) * 2;
    cov.addBlock(epochs, all);
  }
  // channel 1 also wrote alone a second later on the first block's rows: partial coverage merged with the full rows
  for (let i = 0; i < block; i++) {
    epochs[i] = T0 + i * 2 + 1;
    some[i * 2 + 1] = 1;
  }
  cov.addBlock(epochs, some);
  const runs = cov.runs();
  t.same(runs[0], [{ start: T0, step: 2, n: blocks * block }], 'one run over every row');
  t.equal(runs[1][0].start, T0);
  t.equal(
    runs[1].reduce((n, r) => n + r.n, 0),
    blocks * block + block,
    'channel 1: every full row and its own',
  );
  // greedy runs: step 1 over the first block, up to and including T0 + 2·block; then step 2
  t.same(runs[1].at(-1), { start: T0 + 2 * block + 2, step: 2, n: (blocks - 1) * block - 1 });
});

function scanner(): FileScanner {
  return new FileScanner({ blockBytes: 256 * 1024, v002TimeZone: 'UTC', isValidZone: (z) => TimeZoneRules.isValid(z) });
}
const HEAD = [
  'START_HEADER',
  JSON.stringify({ DataTimeSettings: 'UTC', MasterType: 'Mono', FileVersion: 3 }),
  'END_HEADER',
  'START_DATA',
  '02001171\t02001171\t02001171',
  'MV_T302_V003\tPh 1 V\tP1 W',
  '06/01/25 10:00:00\t230\t100',
  '',
].join('\n');

t.test('a line without a newline fails at the bound, not after buffering the whole line', async (t) => {
  const s = scanner();
  s.push(Buffer.from(HEAD));
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  let pushed = 0;
  let err: unknown = null;
  try {
    // up to 64 MiB offered; the scanner must stop just past 1 MiB
    for (let i = 0; i < 1024; i++) {
      s.push(chunk);
      pushed += chunk.length;
    }
    s.end();
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof FileFormatError, 'a FileFormatError');
  t.equal((err as FileFormatError).code, ErrorCodes.LINE_TOO_LONG);
  t.equal((err as FileFormatError).line, 8, 'names the line');
  t.match((err as Error).message, /line 8 is longer than 1048576 bytes/);
  t.ok(pushed <= LINE_LIMIT + chunk.length, `stopped after ${pushed} bytes of the line`);

  // a long line inside one chunk, followed by a newline, fails too
  const one = scanner();
  t.throws(() => one.push(Buffer.concat([Buffer.from(HEAD), Buffer.alloc(LINE_LIMIT + 1, 0x41), Buffer.from('\n')])), {
    code: ErrorCodes.LINE_TOO_LONG,
  });
  // a line of exactly the bound is accepted (as an invalid row)
  const ok = scanner();
  ok.push(
    Buffer.concat([Buffer.from(HEAD), Buffer.alloc(LINE_LIMIT, 0x41), Buffer.from('\n06/01/25 10:10:00\t231\t101\n')]),
  );
  t.equal(ok.end().rows, 3);
});

t.test('the pipeline fails a file with an overlong line with PV_ERR_LINE_TOO_LONG', async (t) => {
  const content = Buffer.concat([
    Buffer.from(HEAD),
    Buffer.alloc(3 * LINE_LIMIT, 0x41),
    Buffer.from('\n06/01/25 10:10:00\t231\t101\n'),
  ]);
  const { report } = await runPipelineOne(content, { blockBytes: 64 * 1024 });
  t.equal(report.status, 'error');
  t.match(JSON.stringify(report), /PV_ERR_LINE_TOO_LONG/);
  t.match(JSON.stringify(report), /longer than 1048576 bytes/);
});
