/**
 * Property tests: the two-pass parser's output does not depend on how the
 * bytes arrive (chunking) or how the file is cut into blocks, and no input,
 * however broken, makes it throw anything but a PowerViewError (or makes the
 * Pipeline reject).
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { DEFECTS, generateFile, type Defect, type FileSpec } from '../../fixtures/generate.js';
import { PowerViewError } from '../../src/errors.js';
import type { BlockStats } from '../../src/tsv/block-parser.js';
import { runInProcess, runPipelineOne, type InProcessResult } from '../support/tsv-run.js';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
/** FC_RUNS_FACTOR=20 for a longer bug hunt */
const FACTOR = process.env.FC_RUNS_FACTOR ? Number(process.env.FC_RUNS_FACTOR) : 1;
const params = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns: numRuns * FACTOR,
  ...(SEED !== undefined ? { seed: SEED } : {}),
});

/** everything of the stats except the sums, which are float additions grouped by block */
function exactStats(s: BlockStats) {
  return {
    rows: s.rows,
    points: s.points,
    invalidTimestamps: s.invalidTimestamps,
    invalidValues: s.invalidValues,
    truncatedRows: s.truncatedRows,
    overlongRows: s.overlongRows,
    duplicateRows: s.duplicateRows,
    zeroRows: s.zeroRows,
    minTime: s.minTime,
    maxTime: s.maxTime,
    count: [...s.channels.count],
    min: [...s.channels.min].map(String),
    max: [...s.channels.max].map(String),
  };
}

function closeSums(a: BlockStats, b: BlockStats, what: string): void {
  for (let i = 0; i < a.channels.sum.length; i++) {
    const x = a.channels.sum[i];
    const y = b.channels.sum[i];
    ok(
      x === y || Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y)),
      `${what}: channel ${i} sum ${x} vs ${y}`,
    );
  }
}

function sameRun(a: InProcessResult, b: InProcessResult, what: string, sameBlocks: boolean): void {
  equal(a.lp, b.lp, `${what}: line protocol`);
  deepStrictEqual(exactStats(a.stats), exactStats(b.stats), `${what}: stats`);
  deepStrictEqual(a.scan.warnings, b.scan.warnings, `${what}: warnings`);
  equal(a.scan.rows, b.scan.rows, `${what}: rows`);
  equal(a.scan.bytes, b.scan.bytes, `${what}: bytes`);
  if (sameBlocks) {
    deepStrictEqual([...a.stats.channels.sum], [...b.stats.channels.sum], `${what}: sums`);
    deepStrictEqual(
      a.scan.blocks.map((x) => [x.offset, x.length, x.firstLine, [...x.epochs]]),
      b.scan.blocks.map((x) => [x.offset, x.length, x.firstLine, [...x.epochs]]),
      `${what}: blocks`,
    );
  } else closeSums(a.stats, b.stats, what);
}

/** one assertion per property; on failure the counterexample, the seed and the error */
function verdict(t: Test, details: fc.RunDetails<unknown>): void {
  t.equal(details.failed, false, details.failed ? `property failed, seed ${details.seed}` : 'property holds');
  if (details.failed)
    t.comment(`${fc.defaultReportMessage(details)}\n${String((details as { errorInstance?: unknown }).errorInstance)}`);
}

/** wall-clock starts: ordinary days and the Paris transitions */
const startArb = fc.oneof(
  fc.integer({ min: Date.UTC(2024, 0, 1) / 1000, max: Date.UTC(2026, 11, 31) / 1000 }),
  fc.constantFrom(
    Date.UTC(2025, 9, 26, 1, 0) / 1000,
    Date.UTC(2025, 2, 30, 1, 30) / 1000,
    Date.UTC(2025, 11, 31, 23, 0) / 1000,
  ),
);

const specArb: fc.Arbitrary<{ spec: FileSpec; zone: string }> = fc
  .record({
    format: fc.constantFrom<'v002' | 'v003'>('v002', 'v003'),
    masterSn: fc.constantFrom('02000800', '02001171', 'A1B2C3D4'),
    channels: fc.integer({ min: 1, max: 5 }),
    slaves: fc.integer({ min: 0, max: 2 }),
    slaveChannels: fc.integer({ min: 1, max: 3 }),
    rows: fc.integer({ min: 1, max: 70 }),
    start: startArb,
    step: fc.constantFrom(1, 7, 60, 600, 3600),
    defects: fc.subarray<Defect>([...DEFECTS]),
    seed: fc.integer({ min: 0, max: 1_000_000 }),
    localZone: fc.constantFrom<string | undefined>(undefined, 'Europe/Paris', 'America/New_York'),
    zone: fc.constantFrom('UTC', 'Europe/Paris'),
  })
  .map(({ zone, localZone, ...rest }) => ({
    spec: { ...rest, ...(rest.format === 'v003' && localZone ? { localZone } : {}) },
    zone,
  }));

const fileOf = (spec: FileSpec): Buffer => Buffer.from([...generateFile(spec, 7)].join(''), 'utf8');

t.test('generated files: output independent of chunking and block size', async (t) => {
  const details = await fc.check(
    fc.asyncProperty(
      specArb,
      fc.integer({ min: 1, max: 5000 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }),
      async ({ spec, zone }, blockBytes, chunks) => {
        const file = fileOf(spec);
        const base = { v002TimeZone: zone };
        const reference = runInProcess(file, base);
        const whole = runInProcess(file, { ...base, blockBytes });
        const bytewise = runInProcess(file, { ...base, blockBytes, chunks: [1] });
        const random = runInProcess(file, { ...base, blockBytes, chunks });
        sameRun(whole, reference, `blockBytes ${blockBytes} vs one block`, false);
        sameRun(bytewise, whole, '1-byte chunks vs whole', true);
        sameRun(random, whole, `chunks ${chunks.join(',')} vs whole`, true);
        ok(
          whole.scan.blocks.every(
            (b) => b.length <= blockBytes || b.epochs.length <= 1 || b.length - blockBytes < 2000,
          ),
          'blocks near the target size',
        );
        // and the Pipeline, on a real file, with that block size
        const { report, lp } = await runPipelineOne(file, { v002TimeZone: zone, blockBytes });
        if (reference.stats.points > 0) {
          equal(report.status, 'ok', `pipeline status (${report.error?.message})`);
          equal(lp, reference.lp, 'pipeline line protocol');
          equal(report.points, reference.stats.points, 'pipeline points');
          deepStrictEqual(
            report.invalid_values.first_lines,
            reference.stats.invalidValues.lines,
            'pipeline invalid value lines',
          );
          deepStrictEqual(
            report.truncated_rows.first_lines,
            reference.stats.truncatedRows.lines,
            'pipeline truncated lines',
          );
          equal(report.duplicate_rows, reference.stats.duplicateRows, 'pipeline duplicates');
        } else {
          equal(report.status, 'error');
          equal(report.error?.code, 'PV_ERR_NO_VALID_ROW');
        }
      },
    ),
    params(200),
  );
  verdict(t, details);
  t.equal(details.numRuns, 200 * FACTOR, 'all runs executed');
});

t.test('generated files: defects are seen the same way whatever the chunking', async (t) => {
  // a fixed, defect-rich file, checked in detail once
  const spec: FileSpec = {
    format: 'v003',
    masterSn: '02000800',
    channels: 4,
    slaves: 1,
    slaveChannels: 2,
    rows: 120,
    start: Date.UTC(2025, 9, 26, 0, 0) / 1000,
    step: 600,
    defects: [...DEFECTS].filter((d) => d !== 'truncated'),
    seed: 7,
    localZone: 'Europe/Paris',
  };
  const file = fileOf(spec);
  const ref = runInProcess(file);
  t.ok(ref.stats.points > 0, 'points written');
  t.ok(ref.stats.invalidValues.count >= 5, 'invalid values seen');
  t.equal(ref.stats.invalidTimestamps.count, 2, 'two invalid timestamps');
  t.equal(ref.stats.duplicateRows, 1, 'one duplicate');
  t.equal(ref.stats.zeroRows, 1, 'one zero row');
  t.match(ref.scan.warnings.join('\n'), /missing END_DATA/);
  t.match(ref.scan.warnings.join('\n'), /earlier than an earlier row/);
  for (const chunks of [[1], [2], [3], [5, 1], [4096]]) {
    for (const blockBytes of [1, 17, 100, 1000]) {
      const r = runInProcess(file, { chunks, blockBytes });
      t.equal(r.lp, ref.lp, `chunks ${chunks.join(',')} blockBytes ${blockBytes}: same line protocol`);
      t.same(
        exactStats(r.stats),
        exactStats(ref.stats),
        `chunks ${chunks.join(',')} blockBytes ${blockBytes}: same stats`,
      );
    }
  }
});

/* ---------------------------------------------------------------- fuzzing */

const TOKENS = [
  '\t',
  '\n',
  '\r\n',
  '\r',
  ' ',
  '  ',
  '-',
  '.',
  '+',
  '0',
  '9',
  '12.5',
  'NaN',
  'inf',
  'END_DATA\n',
  'START_HEADER\n',
  'END_HEADER\n',
  'START_DATA\n',
  '{"MasterType":"Tri"}\n',
  '{',
  '\ufeff',
  'MV_T302_V002',
  'MV_T302_V003',
  'MV_T202_V002',
  '02000800',
  '05/01/26 10:00:00',
  '26/10/25 02:30:00',
  '30/03/25 02:30:00',
  '31/02/25 10:00:00',
  'Ph 1 V',
  '\u00e9',
  '\u0000',
];

type Mutation =
  | { op: 'delete'; at: number; len: number }
  | { op: 'duplicate'; at: number; len: number; to: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'token'; at: number; token: string }
  | { op: 'set'; at: number; byte: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 80 }),
    to: fc.nat(),
  }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('token' as const), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.constantFrom(9, 10, 13, 32, 45, 46, 48, 57, 0x2f, 0x3a, 0xff),
  }),
);

function mutate(file: Buffer, mutations: Mutation[]): Buffer {
  let b = file;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'duplicate': {
        const piece = Buffer.from(b.subarray(at, at + m.len));
        const to = m.to % (b.length + 1);
        b = Buffer.concat([b.subarray(0, to), piece, b.subarray(to)]);
        break;
      }
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'token':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.token, 'utf8'), b.subarray(at)]);
        break;
      case 'set':
        if (at < b.length) {
          b = Buffer.from(b);
          b[at] = m.byte;
        }
        break;
    }
  }
  return b;
}

type Outcome = { kind: 'ok'; lp: string; points: number } | { kind: 'error'; code: string };

/** The in-process path; any error other than a PowerViewError fails the property. */
function outcome(file: Buffer, chunks: number[] | undefined, blockBytes: number): Outcome {
  try {
    const r = runInProcess(file, { chunks, blockBytes, v002TimeZone: 'Europe/Paris' });
    return { kind: 'ok', lp: r.lp, points: r.stats.points };
  } catch (err) {
    if (!(err instanceof PowerViewError)) {
      throw new Error(`not a PowerViewError: ${(err as Error)?.stack ?? String(err)}`);
    }
    ok(typeof err.code === 'string' && err.code.startsWith('PV_ERR_'), `error code ${err.code}`);
    return { kind: 'error', code: err.code };
  }
}

const tally = { ok: 0, noValidRow: 0, otherError: 0 };
const resetTally = () => Object.assign(tally, { ok: 0, noValidRow: 0, otherError: 0 });

async function checkBrokenFile(file: Buffer, chunks: number[], blockBytes: number): Promise<void> {
  const whole = outcome(file, undefined, blockBytes);
  const chunked = outcome(file, chunks, blockBytes);
  // NUL bytes are looked for in the head only, whose extent depends on the chunking
  // (see the NUL test in test/tsv/block-parser.test.ts); everything else must not depend on it
  deepStrictEqual(chunked, whole, `chunks ${chunks.join(',')}: same outcome`);
  let run;
  try {
    run = await runPipelineOne(file, { v002TimeZone: 'Europe/Paris', blockBytes });
  } catch (err) {
    throw new Error(`Pipeline.run rejected: ${(err as Error)?.stack ?? String(err)}`);
  }
  const { report, lp } = run;
  if (report.status === 'ok') tally.ok++;
  else if (report.error?.code === 'PV_ERR_NO_VALID_ROW') tally.noValidRow++;
  else tally.otherError++;
  ok(report.status === 'ok' || report.status === 'error', `status ${report.status}`);
  if (report.status === 'error') {
    ok(report.error && /^PV_ERR_[A-Z_]+$/.test(report.error.code), `error code ${report.error?.code}`);
    ok(report.error.message.length > 0 && !report.error.message.includes('\n'), 'one-line cause');
    equal(lp, '', 'an error file writes nothing');
    if (report.error.code === 'PV_ERR_READ') throw new Error(`unexpected read error: ${report.error.message}`);
  } else {
    equal(report.error, null);
    ok(report.points > 0, 'an ok file has points');
  }
  // the Pipeline reads small files in one piece: it must agree with the in-process path fed whole
  if (whole.kind === 'error') {
    equal(report.status, 'error', 'pipeline: error too');
    equal(report.error?.code, whole.code, 'pipeline: same error code');
  } else if (whole.points === 0) {
    equal(report.error?.code, 'PV_ERR_NO_VALID_ROW', 'pipeline: no valid row');
  } else {
    equal(report.status, 'ok', `pipeline: ok (${report.error?.code} ${report.error?.message})`);
    equal(lp, whole.lp, 'pipeline: same line protocol');
    equal(report.points, whole.points);
  }
  // whatever got written is well-formed line protocol, one point per line
  for (const line of lp.split('\n').slice(0, -1)) {
    ok(
      /^electrical,(?:[^ \\\n]|\\.)+ (?:[^ =\\]|\\.)+=-?\d+(?:\.\d+)? \d+$/.test(line),
      `malformed line: ${JSON.stringify(line)}`,
    );
  }
  ok(lp === '' || lp.endsWith('\n'), 'line protocol ends with a newline');
}

const baseSpecArb = specArb.map(({ spec }) => ({ ...spec, rows: Math.min(spec.rows, 30) }));
const chunksArb = fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 8 });
const blockArb = fc.integer({ min: 1, max: 5000 });

t.test('mutated files: only PowerViewErrors, and the Pipeline always reports', async (t) => {
  resetTally();
  const details = await fc.check(
    fc.asyncProperty(
      baseSpecArb,
      fc.array(mutationArb, { minLength: 1, maxLength: 8 }),
      chunksArb,
      blockArb,
      async (spec, mutations, chunks, blockBytes) => {
        await checkBrokenFile(mutate(fileOf(spec), mutations), chunks, blockBytes);
      },
    ),
    params(600),
  );
  verdict(t, details);
  t.comment(`outcomes: ${JSON.stringify(tally)}`);
  t.ok(
    tally.ok >= 60 * FACTOR && tally.otherError >= 60 * FACTOR,
    'the mutations reach both the data rules and the file-level errors',
  );
});

t.test('mutations confined to the data: the header survives, the file is still read', async (t) => {
  resetTally();
  // mutations after the header never turn the file into an error other than "no valid row"
  const details = await fc.check(
    fc.asyncProperty(
      baseSpecArb.filter((s) => !s.defects.includes('bom')),
      fc.array(
        mutationArb.filter((m) => m.op !== 'token' || !m.token.includes('\u0000')),
        { minLength: 1, maxLength: 6 },
      ),
      chunksArb,
      blockArb,
      async (spec, mutations, chunks, blockBytes) => {
        const file = fileOf(spec);
        const text = file.toString('latin1');
        const headerEnd = text.indexOf('MV_T302_V00');
        const dataStart = text.indexOf('\n', headerEnd) + 1;
        const head = file.subarray(0, dataStart);
        const tail = mutate(file.subarray(dataStart), mutations);
        const broken = Buffer.concat([head, Buffer.from(tail.map((b) => (b === 0 ? 0x30 : b)))]);
        await checkBrokenFile(broken, chunks, blockBytes);
        const r = outcome(broken, chunks, blockBytes);
        equal(r.kind, 'ok', `the header is intact: no file-level error (${r.kind === 'error' ? r.code : ''})`);
      },
    ),
    params(300),
  );
  verdict(t, details);
  t.comment(`outcomes: ${JSON.stringify(tally)}`);
  t.ok(tally.ok >= 150 * FACTOR, 'most data-only mutations leave valid rows');
});

t.test('random bytes and random token soup: only PowerViewErrors, and the Pipeline always reports', async (t) => {
  resetTally();
  const soup = fc
    .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 })), { maxLength: 60 })
    .map((parts) => Buffer.from(parts.join(''), 'utf8'));
  const cellArb = fc.constantFrom(
    '1',
    '-0.0',
    '12.5',
    '230.40',
    'NaN',
    '',
    ' 7 ',
    '+5',
    '.5',
    '5.',
    'inf',
    '12,5',
    'x',
    '-',
  );
  const tsArb = fc.constantFrom(
    '05/01/26 10:00:00',
    '05/01/26 10:10:00',
    '05/01/2026 10:20:00',
    '26/10/25 02:30:00',
    '30/03/25 02:30:00',
    '31/02/25 10:00:00',
    '29/10/25 1',
    'garbage',
  );
  const rowArb = fc
    .tuple(tsArb, fc.array(cellArb, { maxLength: 3 }), fc.constantFrom('\n', '\r\n', '\t\n', '\n\n'))
    .map(([ts, cells, eol]) => [ts, ...cells].join('\t') + eol);
  const headed = fc
    .tuple(
      fc.constantFrom(
        '02000800\t02000800\t02000800\nMV_T302_V002\tPh 1 V\tVoie1 W\n',
        'START_HEADER\n{"DataTimeSettings":"UTC","MasterType":"Mono"}\nEND_HEADER\nSTART_DATA\n02000800\t04001002\nMV_T302_V003\tVoie1 W\n',
      ),
      fc.array(fc.oneof({ weight: 4, arbitrary: rowArb }, { weight: 1, arbitrary: fc.constantFrom(...TOKENS) }), {
        maxLength: 20,
      }),
    )
    .map(([h, rows]) => Buffer.from(h + rows.join(''), 'utf8'));
  const details = await fc.check(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
        soup,
        headed,
      ),
      chunksArb,
      blockArb,
      async (file, chunks, blockBytes) => {
        await checkBrokenFile(file, chunks, blockBytes);
      },
    ),
    params(500),
  );
  verdict(t, details);
  t.comment(`outcomes: ${JSON.stringify(tally)}`);
  t.ok(tally.ok >= 40 * FACTOR, 'some row soups behind a valid header yield points');
});

/* ------------------------------------------------- an independent oracle */

interface Expected {
  points: Map<string, string>;
  invalidTimestamps: number[];
  invalidValues: number[];
  minTime: number;
  maxTime: number;
}

/** A deliberately naive reading of docs/formats.md for UTC files, line by line with regexes. */
function naiveParse(file: Buffer, fields: string[]): Expected {
  const text = file.toString('latin1');
  const labelAt = text.indexOf('MV_T302_V00');
  let pos = text.indexOf('\n', labelAt) + 1;
  let lineNo = text.slice(0, pos).split('\n').length;
  const n = fields.length;
  const invalidTimestamps: number[] = [];
  const rows: Array<{ line: number; time: number; cells: string[] | null }> = [];
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    let line = text.slice(pos, nl);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const here = lineNo;
    pos = nl + 1;
    lineNo++;
    if (line.startsWith('E') && line.trim() === 'END_DATA') break;
    if (/^[ \t\r]*$/.test(line)) continue;
    const cells = line.split('\t');
    const m = /^(\d\d)\/(\d\d)\/(\d\d|\d\d\d\d) (\d\d):(\d\d):(\d\d)$/.exec(cells[0]);
    let time = NaN;
    if (m) {
      const [d, mo, y, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
      const year = m[3].length === 2 ? 2000 + y : y;
      const date = new Date(0);
      date.setUTCFullYear(year, mo - 1, d);
      date.setUTCHours(h, mi, s, 0);
      const ok =
        mo >= 1 && mo <= 12 && date.getUTCDate() === d && date.getUTCMonth() === mo - 1 && h < 24 && mi < 60 && s < 60;
      if (ok) time = date.getTime() / 1000;
      if (time < 5 || time > 0xffffffff) time = NaN;
    }
    if (Number.isNaN(time)) {
      invalidTimestamps.push(here);
      continue;
    }
    rows.push({ line: here, time, cells: cells.length - 1 < n ? null : cells.slice(1, n + 1) });
  }
  // the last complete occurrence of a time wins
  const winner = new Map<number, number>();
  const firstOf = new Map<number, number>();
  rows.forEach((r, i) => {
    if (r.cells) winner.set(r.time, i);
    if (!firstOf.has(r.time)) firstOf.set(r.time, i);
  });
  // clock resets (src/quality/clock-reset.ts): days of rows, each time once (its winner, else its first
  // occurrence), clusters more than 30 days apart, the largest wins
  const days = new Map<number, number>();
  rows.forEach((r, i) => {
    if ((winner.get(r.time) ?? firstOf.get(r.time)) !== i) return;
    const d = Math.floor(r.time / 86400);
    days.set(d, (days.get(d) ?? 0) + 1);
  });
  const clusters: Array<{ first: number; last: number; rows: number }> = [];
  for (const d of [...days.keys()].sort((a, b) => a - b)) {
    const cur = clusters.at(-1);
    if (cur && d - cur.last <= 30) {
      cur.last = d;
      cur.rows += days.get(d)!;
    } else clusters.push({ first: d, last: d, rows: days.get(d)! });
  }
  let main = clusters[0];
  for (const c of clusters) if (c.rows >= main.rows) main = c;
  const reset = (time: number) =>
    clusters.length > 1 && (Math.floor(time / 86400) < main.first || Math.floor(time / 86400) > main.last);
  const points = new Map<string, string>();
  const invalidValues: number[] = [];
  let minTime = 0;
  let maxTime = 0;
  rows.forEach((r, i) => {
    if (!r.cells || winner.get(r.time) !== i || reset(r.time)) return;
    let any = false;
    r.cells.forEach((cell, c) => {
      const v = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(cell);
      if (!v || (v[2] === '' && (v[3] ?? '') === '')) {
        invalidValues.push(r.line);
        return;
      }
      const value = `${v[1] === '-' ? '-' : ''}${v[2] === '' ? '0' : v[2]}${(v[3] ?? '') === '' ? '' : `.${v[3]}`}`;
      points.set(`${fields[c]}@${r.time}`, value);
      any = true;
    });
    if (any) {
      if (minTime === 0 || r.time < minTime) minTime = r.time;
      if (r.time > maxTime) maxTime = r.time;
    }
  });
  return { points, invalidTimestamps, invalidValues, minTime, maxTime };
}

function agreesWithOracle(file: Buffer, chunks: number[], blockBytes: number): void {
  const r = runInProcess(file, { chunks, blockBytes, v002TimeZone: 'UTC' });
  const fields = r.scan.header.channels.map((c) => c.fieldKey);
  const want = naiveParse(file, fields);
  const lines = r.lp.split('\n').filter(Boolean);
  const got = new Map<string, string>();
  for (const line of lines) {
    const m = / (\S+)=(\S+) (\d+)$/.exec(line);
    ok(m, `line protocol line ${line}`);
    const key = `${m[1]}@${m[3]}`;
    ok(!got.has(key), `point ${key} written twice`);
    got.set(key, m[2]);
  }
  deepStrictEqual(new Map([...got].sort()), new Map([...want.points].sort()), 'points (series, time, value)');
  equal(r.stats.invalidTimestamps.count, want.invalidTimestamps.length, 'invalid timestamp count');
  deepStrictEqual(r.stats.invalidTimestamps.lines, want.invalidTimestamps.slice(0, 10), 'invalid timestamp lines');
  equal(r.stats.invalidValues.count, want.invalidValues.length, 'invalid value count');
  // the report lists each line once, however many bad cells it has
  const valueLines = want.invalidValues.filter((l, i, a) => i === 0 || a[i - 1] !== l);
  deepStrictEqual(r.stats.invalidValues.lines, valueLines.slice(0, 10), 'invalid value lines');
  equal(r.stats.minTime, want.minTime, 'first time');
  equal(r.stats.maxTime, want.maxTime, 'last time');
}

const utcSpecArb = baseSpecArb.map((spec) => {
  const { localZone: _drop, ...rest } = spec;
  void _drop;
  return rest;
});

t.test('generated files agree with a naive reference parser (UTC)', async (t) => {
  const details = fc.check(
    fc.property(utcSpecArb, chunksArb, blockArb, (spec, chunks, blockBytes) => {
      agreesWithOracle(fileOf(spec), chunks, blockBytes);
    }),
    params(200),
  );
  verdict(t, details);
});

t.test('files mutated after the header agree with a naive reference parser (UTC)', async (t) => {
  const details = fc.check(
    fc.property(
      utcSpecArb,
      fc.array(mutationArb, { minLength: 1, maxLength: 8 }),
      chunksArb,
      blockArb,
      (spec, mutations, chunks, blockBytes) => {
        const file = fileOf(spec);
        const text = file.toString('latin1');
        const dataStart = text.indexOf('\n', text.indexOf('MV_T302_V00')) + 1;
        const tail = mutate(file.subarray(dataStart), mutations);
        const broken = Buffer.concat([file.subarray(0, dataStart), Buffer.from(tail.map((b) => (b === 0 ? 0x30 : b)))]);
        agreesWithOracle(broken, chunks, blockBytes);
      },
    ),
    params(400),
  );
  verdict(t, details);
});
