/** The terminal summary: fits the width, paths relative to the root, plurals, PostgreSQL off said. */
import t from 'tap';
import { emptyFileReport, totalsOf, type FileReport, type RunReport } from '../../src/pipeline/report.js';
import { count, shortRange, summaryTable, terminalColumns } from '../../src/cli/summary.js';
import { elide } from '../../src/cli/table.js';

function file(path: string, over: Partial<FileReport> = {}): FileReport {
  const r = emptyFileReport(path, { tenant: 'acme', campaign: 'camp-2025', device: '02001000' });
  r.rows = 1;
  r.points = 1;
  r.duplicate_rows = 1;
  r.time_range = { first: '2025-08-03T00:00:00Z', last: '2025-08-03T03:10:00Z' };
  r.moved_to = `${path.replace(/[^/]+$/, 'parsed/')}x.tsv`;
  return Object.assign(r, over);
}

function report(files: FileReport[], over: Partial<RunReport> = {}): RunReport {
  return {
    run_id: 'r',
    dry_run: false,
    started_at: '',
    finished_at: '',
    duration_ms: 1000,
    points_per_second: 1,
    workers: 0,
    peak_rss_bytes: 0,
    v002_timezone: 'Europe/Paris',
    influx: {
      url: 'http://127.0.0.1:8086',
      api: 'v1',
      gzip: false,
      batch_lines: 1,
      batch_bytes: 1,
      concurrency: 1,
      requests: 1,
      retries: {},
    },
    totals: totalsOf(files),
    files,
    ...over,
  };
}

const root = '/srv/powerview/data';
const deep = `${root}/acme-industrie-very-long-company-name/campaign-2025-summer-north-site/02001000`;

t.test('fits the terminal: paths relative to the root, elided in the middle, columns dropped', async (t) => {
  const files = [file(`${deep}/MV2_2025-08-03_000000_a-very-long-export-file-name.tsv`)];
  for (const columns of [100, 80, 60]) {
    const text = summaryTable(report(files), { root, columns });
    const table = text.split('\n').slice(0, 4);
    for (const line of table) t.ok(line.length <= columns, `${columns}: "${line}" fits`);
    t.notMatch(text, root, `${columns}: no root prefix`);
    t.match(table[0], /^in acme-/, `${columns}: the shared company and campaign folders, relative to the root`);
    t.match(table[3], /^02001000\//, `${columns}: each row keeps its device folder`);
    t.match(table[3], /…/, `${columns}: the path elided`);
  }
  const wide = summaryTable(report(files), { root, columns: 300 });
  t.match(wide, /truncated/, 'wide: every column');
  t.match(wide, /^in acme-industrie-very-long-company-name\/campaign-2025-summer-north-site\/\n/, 'wide: whole');
  t.notMatch(wide, /…/, 'wide: nothing elided');
  const narrow = summaryTable(report(files), { root, columns: 100 });
  t.notMatch(narrow, /truncated/, 'narrow: the defect counts go first');
  t.match(narrow, /file\s+status/, 'narrow: the file and its status stay');
});

t.test('an error cut short in the table is given whole below it', async (t) => {
  const message = 'InfluxDB refused the lines of this file: '.repeat(4);
  const bad = file(`${root}/acme/c/02001000/x.tsv`, { status: 'error', error: { code: 'X', message }, moved_to: null });
  const text = summaryTable(report([bad]), { root, columns: 80 });
  t.match(text, `error: acme/c/02001000/x.tsv: ${message}`);
});

t.test('plurals: 1 file, 1 duplicate row, 1 commit, 1 request', async (t) => {
  const pg = {
    commits: 1,
    hourly_rows: 1,
    coverage_rows: 1,
    commit_seconds: 0,
    plan_seconds: 0,
    hourly_rows_per_second: 0,
  };
  const text = summaryTable(report([file(`${root}/a/b/c/x.tsv`)], { postgres: pg }), { root });
  t.match(text, /1 file \(1 ok, 0 failed\), 1 row, 1 point, 1 duplicate row skipped/);
  t.match(text, /1 request;/);
  t.match(text, /PostgreSQL: 1 commit, 1 hourly row; 0 points already held/);
  t.equal(count(2, 'commit'), '2 commits');
  t.equal(count(1234, 'duplicate row'), '1,234 duplicate rows');
});

t.test('without PostgreSQL the summary says so and what it costs', async (t) => {
  const text = summaryTable(report([file(`${root}/a/b/c/x.tsv`)]), { root });
  t.match(text, 'PostgreSQL: off (no DATABASE_URL): no aggregates, no exactly-once across files');
  const flag = summaryTable(report([file(`${root}/a/b/c/x.tsv`)]), { root, postgresOff: '--no-postgres' });
  t.match(flag, 'PostgreSQL: off (--no-postgres)');
});

t.test('width: COLUMNS, else the TTY, else 100', async (t) => {
  t.equal(terminalColumns({ isTTY: true, columns: 132 }, {}), 132);
  t.equal(terminalColumns({ isTTY: true, columns: 132 }, { COLUMNS: '80' }), 80, 'COLUMNS set on a terminal wins');
  t.equal(terminalColumns({ isTTY: false }, { COLUMNS: '90' }), 90);
  t.equal(terminalColumns({ isTTY: false }, { COLUMNS: 'wide' }), 100);
  t.equal(terminalColumns({}, {}), 100);
});

t.test('elide keeps both ends', async (t) => {
  t.equal(elide('abcdefghij', 5), 'ab…ij');
  t.equal(elide('abcdefghij', 5, 'end'), 'abcd…');
  t.equal(elide('abc', 5), 'abc');
});

t.test('a file ingested before shows as a no-op naming the earlier file, not as ok with 0 points', async (t) => {
  const root = '/data';
  const noop = 'the same bytes were ingested before (file 7: acme/camp-2025/02001000/a.tsv)';
  const text = summaryTable(
    report([file(`${root}/acme/camp-2025/02001000/b.tsv`, { points: 0, ledger: { file_id: 7, noop } })]),
    { root, columns: 200 },
  );
  const line = text.split('\n').find((l) => l.includes('b.tsv'));
  t.match(line, /b\.tsv\s+no-op\s/, 'status no-op');
  t.match(line, noop, 'the earlier file named where the range would be');
});

t.test('a time range reads short: the date once, seconds only when there are some', async (t) => {
  t.equal(shortRange('2025-08-03T00:00:00Z', '2025-08-03T23:50:00Z'), '2025-08-03 00:00 → 23:50');
  t.equal(shortRange('2025-08-03T00:00:00Z', '2025-08-04T00:10:00Z'), '2025-08-03 00:00 → 2025-08-04 00:10');
  t.equal(shortRange('2025-08-03T00:00:05Z', '2025-08-03T00:10:05Z'), '2025-08-03 00:00:05 → 00:10:05');
});

t.test('files of several campaigns keep their whole path in the rows', async (t) => {
  const root = '/data';
  const text = summaryTable(report([file(`${root}/acme/a/d1/x.tsv`), file(`${root}/acme/b/d1/y.tsv`)]), { root });
  t.notMatch(text, /^in /, 'no shared campaign');
  t.match(text, /\nacme\/a\/d1\/x\.tsv /);
  t.match(text, /\nacme\/b\/d1\/y\.tsv /);
});

t.test('a dry run says its points are counted before the exactly-once plan', async (t) => {
  const text = summaryTable(report([file('/data/acme/c/d/x.tsv')], { dry_run: true }), { root: '/data' });
  t.match(text, 'dry run: nothing written or moved');
  t.match(text, 'a real run with PostgreSQL skips those the stores already hold');
  const real = summaryTable(report([file('/data/acme/c/d/x.tsv')]), { root: '/data' });
  t.notMatch(real, 'already hold', 'not said of a real run');
});
