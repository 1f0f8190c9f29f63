/**
 * `powerview ingest` as a process: --lp-out to a file and to stdout, file order, tags from the header and escaped folder names.
 * Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sortByExportOrder } from '../../src/pipeline/export-order.js';
import { archive, lineCount, parseLp, putFile, run, spec, tempDir, type Json } from '../support/cli-helpers.js';

t.test('--lp-out FILE: one line per point, in file order (files in export order)', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const r = await run(
    ['ingest', '--dry-run', '--json', '--workers', '2', '--block-size', '700', '--lp-out', 'out.lp', root],
    { cwd },
  );
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  const text = readFileSync(join(cwd, 'out.lp'), 'utf8');
  t.ok(text.endsWith('\n'), 'ends with a newline');
  t.equal(lineCount(text), report.totals.points, 'line count = totals.points');
  const paths = report.files.map((f: Json) => f.path);
  t.same(paths, sortByExportOrder(paths, 'Europe/Paris'), 'report files in export order (time in the name, then path)');
  const lp = parseLp(text);
  let offset = 0;
  for (const f of report.files) {
    const mine = lp.slice(offset, offset + f.points);
    offset += f.points;
    const first = Date.parse(f.time_range.first) / 1000;
    const last = Date.parse(f.time_range.last) / 1000;
    t.ok(
      mine.every((l) => l.tags.device_master_sn === f.master_sn && l.ts >= first && l.ts <= last),
      `${relative(root, f.path)}: its lines come as one run, in its place`,
    );
    t.ok(
      mine.every((l) => l.tags.campaign === 'camp-2025'),
      'campaign tag from the path',
    );
  }
  // blocks and threads do not change the bytes
  const r0 = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', 'out0.lp', root], { cwd });
  t.equal(r0.code, 0);
  t.equal(
    readFileSync(join(cwd, 'out0.lp'), 'utf8'),
    text,
    'same line protocol on the main thread and on 2 workers with small blocks',
  );
});

t.test('--lp-out -: line protocol on stdout, the JSON report on stderr', async (t) => {
  const cwd = tempDir(t);
  await archive(join(cwd, 'data'));
  const r = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', '-', 'data'], { cwd });
  t.equal(r.code, 0);
  let report: Json;
  t.doesNotThrow(() => (report = JSON.parse(r.stderr)), 'stderr is the JSON report');
  t.equal(lineCount(r.stdout), report?.totals.points, 'stdout: one line per point');
  t.doesNotThrow(() => parseLp(r.stdout), 'stdout is only line protocol');
  t.ok(r.stdout.startsWith('electrical,campaign=camp-2025,'), 'starts with a point');
});

t.test('explicit files given out of order are still ingested in export order', async (t) => {
  const cwd = tempDir(t);
  const { files } = await archive(join(cwd, 'data'));
  const sorted = sortByExportOrder(files, 'Europe/Paris');
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '0', ...[...sorted].reverse()], { cwd });
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  t.same(
    report.files.map((f: Json) => f.path),
    sorted,
    'a device’s files in export order, whatever the argument order',
  );
});

t.test('folder serial ≠ header master serial: a warning, and the header wins for tags', async (t) => {
  const cwd = tempDir(t);
  const file = await putFile(
    join(cwd, 'data', 'acme', 'camp', '02001084', 'MV2_x.tsv'),
    spec({ masterSn: '02001171', slaves: 1 }),
  );
  const r = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', '-', file], { cwd });
  t.equal(r.code, 0, 'not an error');
  const f = JSON.parse(r.stderr).files[0];
  t.equal(f.status, 'ok');
  t.equal(f.device, '02001084', 'device: the folder');
  t.equal(f.master_sn, '02001171', 'master_sn: the header');
  t.equal(f.warnings.length, 1, 'one warning');
  t.match(f.warnings[0], /02001084/, 'names the folder');
  t.match(f.warnings[0], /02001171/, 'names the header serial');
  const lp = parseLp(r.stdout);
  t.ok(lp.length > 0);
  t.ok(
    lp.every((l) => l.tags.device_master_sn === '02001171'),
    'device_master_sn is the header’s serial',
  );
  t.ok(
    lp.every((l) => l.tags.channel_id.startsWith('M02001171_')),
    'channel ids from the header’s serial',
  );
  t.notOk(r.stdout.includes('02001084'), 'the folder serial is in no tag');
});

t.test('company and campaign folders with spaces, commas and = are escaped in the tags', async (t) => {
  const cwd = tempDir(t);
  const file = await putFile(join(cwd, 'data', 'Ac me', 'camp 2025,x=y', '02001000', 'a.tsv'), spec({ rows: 2 }));
  const r = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', '-', file], { cwd });
  t.equal(r.code, 0);
  const f = JSON.parse(r.stderr).files[0];
  t.match(f, { tenant: 'Ac me', campaign: 'camp 2025,x=y', device: '02001000' }, 'identity as in the path');
  t.ok(
    r.stdout.startsWith('electrical,campaign=camp\\ 2025\\,x\\=y,channel_id='),
    'escaped by the line protocol rules',
  );
  t.ok(
    parseLp(r.stdout).every((l) => l.tags.campaign === 'camp 2025,x=y'),
    'round-trips',
  );
});
