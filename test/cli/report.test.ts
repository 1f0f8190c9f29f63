/**
 * `powerview ingest` as a process: the JSON report of a dry run, exit codes for bad files, row-level defect counts.
 * Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sortByExportOrder } from '../../src/pipeline/export-order.js';
import { archive, parseLp, putFile, run, spec, tempDir, wall, type Json } from '../support/cli-helpers.js';

t.test('ingest --dry-run --json DIR: one JSON report with every field, identity from the path', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  const { files } = await archive(root, { slaves: 1, channels: 10 });
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '0', '--lp-out', join(cwd, 'out.lp'), root], {
    cwd,
  });
  t.equal(r.code, 0, 'exit 0');
  let report: Json;
  t.doesNotThrow(() => (report = JSON.parse(r.stdout)), 'stdout is one JSON document');
  if (!report) return;
  t.match(report.run_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'run_id is a UUID');
  t.ok(!Number.isNaN(Date.parse(report.started_at)) && /Z$/.test(report.started_at), 'started_at is an ISO date');
  t.ok(!Number.isNaN(Date.parse(report.finished_at)), 'finished_at is an ISO date');
  t.ok(Date.parse(report.finished_at) >= Date.parse(report.started_at), 'finished_at ≥ started_at');
  t.type(report.duration_ms, 'number');
  t.ok(report.duration_ms >= 0, 'duration_ms ≥ 0');
  t.equal(report.dry_run, true, 'dry_run');
  t.equal(report.v002_timezone, 'Europe/Paris', 'default V002 zone');
  t.equal(report.workers, 0, '--workers 0 reported');

  t.equal(report.files.length, 4, 'four files');
  t.same(
    report.files.map((f: Json) => f.path),
    sortByExportOrder(files, 'Europe/Paris'),
    'files listed in export order, absolute',
  );
  t.same(report.totals, {
    files: 4,
    files_ok: 4,
    files_failed: 0,
    bytes: report.files.reduce((s: number, f: Json) => s + f.bytes, 0),
    rows: 80,
    points: 80 * 10,
    invalid_timestamps: 0,
    invalid_values: 0,
    truncated_rows: 0,
    duplicate_rows: 0,
  });
  for (const f of report.files) {
    const device = f.path.split('/').at(-2);
    t.match(
      f,
      {
        tenant: 'acme',
        campaign: 'camp-2025',
        device,
        status: 'ok',
        error: null,
        warnings: [],
        rows: 20,
        points: 200,
        invalid_timestamps: { count: 0, first_lines: [] },
        invalid_values: { count: 0, first_lines: [] },
        truncated_rows: { count: 0, first_lines: [] },
        duplicate_rows: 0,
        master_sn: device,
        format_id: 'MV_T302_V002',
      },
      `${device}: report fields`,
    );
    t.same(f.warnings, [], 'no warnings');
    t.equal(f.channels.length, 10, 'one entry per column');
    for (const c of f.channels) {
      t.equal(c.count, 20, `${c.channel_id}: count`);
      t.ok(c.min <= c.mean && c.mean <= c.max, `${c.channel_id}: min ≤ mean ≤ max`);
    }
    t.same(
      f.channels.map((c: Json) => c.label),
      ['U1', 'U2', 'U3', 'Ch1', 'Ch1', 'Ch2', 'Ch3', 'Ch4', 'Ch5', 'Ch6'],
      'master tri labels, then the slave’s',
    );
    t.match(f.channels[4].channel_id, new RegExp(`^M${device}_S\\d{8}_Ch1$`), 'slave channel id');
  }
  const first = report.files[0];
  t.same(
    first.time_range,
    { first: '2025-08-02T22:00:00Z', last: '2025-08-03T01:10:00Z' },
    'time_range in UTC (Paris summer time)',
  );

  // the channel statistics agree with the line protocol
  const lp = parseLp(readFileSync(join(cwd, 'out.lp'), 'utf8'));
  t.equal(lp.length, report.totals.points, 'as many lines as points');
  let offset = 0;
  for (const f of report.files) {
    const mine = lp.slice(offset, offset + f.points);
    offset += f.points;
    for (const c of f.channels) {
      const values = mine.filter((l) => l.tags.channel_id === c.channel_id).map((l) => Number(l.value));
      t.equal(values.length, c.count, `${c.channel_id}: LP lines = count`);
      t.equal(Math.min(...values), c.min, `${c.channel_id}: min`);
      t.equal(Math.max(...values), c.max, `${c.channel_id}: max`);
      t.ok(Math.abs(values.reduce((s, v) => s + v, 0) / values.length - c.mean) < 1e-6, `${c.channel_id}: mean`);
    }
  }
});

t.test('piped stdout without --json still gives the JSON report', async (t) => {
  const cwd = tempDir(t);
  await archive(join(cwd, 'data'));
  const r = await run(['ingest', '--dry-run', '--workers', '0', 'data'], { cwd });
  t.equal(r.code, 0);
  let report: Json;
  t.doesNotThrow(() => (report = JSON.parse(r.stdout)), 'JSON on a pipe');
  t.equal(report?.totals.files, 4);
  t.equal(report?.files[0].tenant, 'acme', 'relative PATH resolved against cwd');
});

t.test('a folder with bad files: exit 1, those files in error with a one-line cause, the others ok', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const dev = join(root, 'acme', 'camp-2025', '02001000');
  writeFileSync(join(dev, 'MV2_empty.tsv'), '');
  writeFileSync(
    join(dev, 'MV2_t202.tsv'),
    '02001000\t02001000\t02001000\nMV_T202_V002\tPh 1 V\tVoie1 W\n03/08/25 00:00:00\t230.1\t12.5\n',
  );
  writeFileSync(join(dev, 'MV2_header_only.tsv'), '02001000\t02001000\nMV_T302_V002\tPh 1 V\n');
  writeFileSync(join(dev, 'MV2_binary.tsv'), Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0, 10, 0, 1]));
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '2', root], { cwd });
  t.equal(r.code, 1, 'exit 1 when a file failed');
  const report = JSON.parse(r.stdout);
  t.equal(report.totals.files, 8);
  t.equal(report.totals.files_ok, 4);
  t.equal(report.totals.files_failed, 4);
  const byName = new Map<string, Json>(report.files.map((f: Json) => [f.path.split('/').at(-1), f]));
  for (const name of ['MV2_empty.tsv', 'MV2_t202.tsv', 'MV2_header_only.tsv', 'MV2_binary.tsv']) {
    const f = byName.get(name);
    t.equal(f?.status, 'error', `${name}: status error`);
    t.match(f?.error?.code, /^PV_ERR_[A-Z_]+$/, `${name}: error code`);
    t.type(f?.error?.message, 'string');
    t.ok(f?.error?.message.length > 0 && !/[\r\n]/.test(f?.error?.message), `${name}: one-line message`);
    t.equal(f?.points, 0, `${name}: no points`);
    t.match(f, { tenant: 'acme', campaign: 'camp-2025', device: '02001000' }, `${name}: identity`);
  }
  t.equal(byName.get('MV2_empty.tsv')?.error.code, 'PV_ERR_EMPTY_FILE');
  t.equal(byName.get('MV2_t202.tsv')?.error.code, 'PV_ERR_UNKNOWN_FORMAT');
  t.match(byName.get('MV2_t202.tsv')?.error.message, /MV_T202_V002/, 'the unknown format id is named');
  for (const f of report.files.filter((f: Json) => !/empty|t202|header_only|binary/.test(f.path))) {
    t.equal(f.status, 'ok', `${f.path.split('/').at(-1)}: ok`);
    t.equal(f.points, 80);
  }
});

t.test('every file failing: exit 1', async (t) => {
  const cwd = tempDir(t);
  const dev = join(cwd, 'data', 'acme', 'camp', '02001000');
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dev, 'a.tsv'), '');
  const r = await run(['ingest', '--dry-run', '--json', join(cwd, 'data')], { cwd });
  t.equal(r.code, 1);
  t.equal(JSON.parse(r.stdout).totals.files_failed, 1);
});

t.test('row-level defects are counted with their line numbers, good rows kept', async (t) => {
  const cwd = tempDir(t);
  const file = await putFile(
    join(cwd, 'data', 'acme', 'camp', '02001000', 'a.tsv'),
    spec({ defects: ['duplicates', 'truncated', 'invalid-values', 'invalid-timestamps'] }),
  );
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '0', '--lp-out', '-', file], { cwd });
  t.equal(r.code, 0, 'bad rows do not fail the file');
  const f = JSON.parse(r.stderr).files[0];
  t.equal(f.status, 'ok');
  t.same(f.invalid_timestamps, { count: 2, first_lines: [7, 8] }, 'invalid timestamps at lines 7 and 8');
  t.equal(f.invalid_values.count, 4, 'four bad cells (abc, -, empty, 12,5)');
  t.ok(
    f.invalid_values.first_lines.length > 0 && f.invalid_values.first_lines.every((l: number) => l === 9),
    'on line 9',
  );
  t.same(f.truncated_rows, { count: 1, first_lines: [24] }, 'the cut row at the end');
  t.equal(f.duplicate_rows, 1, 'one timestamp twice');
  t.equal(f.rows, 18, '20 rows written, 2 with bad timestamps');
  t.equal(f.points, 18 * 4 - 4, 'every valid value is a point');
  const lp = parseLp(r.stdout);
  t.equal(lp.length, f.points);
  // 03/08/25 02:00:00 Paris (= 00:00Z) appears twice: the later row wins
  const dup = lp.filter((l) => l.ts === wall('2025-08-03T00:00:00') && l.tags.channel_label === 'Ch1');
  t.same(
    dup.map((l) => l.value),
    ['-302.8'],
    'the last occurrence of a timestamp wins',
  );
});
