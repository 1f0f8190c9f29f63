import t from 'tap';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunReportWriter } from '../../src/pipeline/run-report.js';
import { emptyFileReport, type RunReport } from '../../src/pipeline/report.js';

const head = (): Omit<RunReport, 'files' | 'totals'> => ({
  run_id: 'r1',
  dry_run: false,
  started_at: 'a',
  finished_at: 'b',
  duration_ms: 1,
  points_per_second: 1,
  workers: 1,
  peak_rss_bytes: 1,
  v002_timezone: 'UTC',
});

t.test('a long run keeps a bounded number of reports in memory and every one in the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pv-report-'));
  const w = new RunReportWriter(dir, 'run.json', 50);
  for (let i = 0; i < 1000; i++) {
    const r = emptyFileReport(`/d/f${String(i).padStart(4, '0')}.tsv`, { tenant: 'c', campaign: 'k' });
    r.points = 10;
    if (i % 100 === 7) {
      r.status = 'error';
      r.error = { code: 'PV_ERR_EMPTY_FILE', message: 'empty' };
    }
    w.add(r);
  }
  t.equal(w.totals.files, 1000);
  t.equal(w.totals.files_failed, 10);
  t.equal(w.totals.points, 10_000);
  const kept = w.files();
  t.ok(kept.length <= 50, `at most 50 in memory (${kept.length})`);
  t.equal(kept.filter((f) => f.status === 'error').length, 10, 'every failure kept');
  t.equal(w.omitted, 1000 - kept.length);
  const path = await w.finish(head());
  t.equal(path, join(dir, 'run.json'));
  const report = JSON.parse(readFileSync(path!, 'utf8')) as RunReport;
  t.equal(report.files.length, 1000, 'the file holds every report');
  t.equal(report.files[999].path, '/d/f0999.tsv');
  t.equal(report.totals.points, 10_000);
  t.equal(report.run_id, 'r1');
  t.equal(report.report_path, path);
  t.notOk(existsSync(`${path}.files.jsonl`), 'the spool is gone');
});

t.test('an empty run writes a valid report; without a folder everything stays in memory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pv-report-'));
  const w = new RunReportWriter(dir, 'empty.json');
  const report = JSON.parse(readFileSync((await w.finish(head()))!, 'utf8')) as RunReport;
  t.same(report.files, []);
  const mem = new RunReportWriter(null, 'x', 1);
  for (let i = 0; i < 5; i++) mem.add(emptyFileReport(`/f${i}`, { tenant: 'c', campaign: 'k' }));
  t.equal(mem.files().length, 5);
  t.equal(await mem.finish(head()), null);
});
