/**
 * serve runs for months: what it retains per file must stay bounded whatever
 * the number of files (docs/operations.md, "Memory bounds"). No services: a
 * long job's report collector, and the scheduler's memory of given-up files.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIngestJob } from '../../src/pipeline/ingest-job.js';
import { RunReportWriter } from '../../src/pipeline/run-report.js';
import { emptyFileReport } from '../../src/pipeline/report.js';
import { resolveInfluxConfig } from '../../src/influx/config.js';
import { identityOf } from '../../src/pipeline/discover.js';
import { Scheduler } from '../../src/service/scheduler.js';
import { RootWatch } from '../../src/service/watch.js';
import { ErrorCodes } from '../../src/errors.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';
import type { FileReport } from '../../src/pipeline/report.js';

t.test('a never-ending report collector keeps only the most recent reports, the totals count every file', async (t) => {
  const w = new RunReportWriter(null, 'serve', 50, { recent: true });
  for (let i = 0; i < 5000; i++) {
    const r = emptyFileReport(`/d/f${String(i).padStart(5, '0')}.tsv`, { tenant: 'c', campaign: 'k' });
    r.points = 1;
    if (i % 10 === 3) {
      r.status = 'error';
      r.error = { code: 'PV_ERR_EMPTY_FILE', message: 'empty' };
    }
    w.add(r);
  }
  const kept = w.files();
  t.ok(kept.length <= 50, `at most 50 reports retained (${kept.length})`);
  t.equal(w.totals.files, 5000);
  t.equal(w.totals.files_failed, 500);
  t.equal(w.omitted, 5000 - kept.length);
  t.ok(
    kept.some((f) => f.path === '/d/f04999.tsv'),
    'the newest success is kept',
  );
  t.ok(
    kept.some((f) => f.path === '/d/f04993.tsv'),
    'the newest failure is kept',
  );
  t.notOk(
    kept.some((f) => f.path === '/d/f00000.tsv'),
    'the oldest is gone',
  );
  t.ok(kept.filter((f) => f.status === 'error').length >= 20, 'failures keep their own share');
});

t.test('a streaming job told to keep a bounded report retains at most that many file reports', async (t) => {
  // files whose company cannot name a tenant: refused up front, no store is ever contacted
  const n = 600;
  async function* tasks(): AsyncIterable<FileTask> {
    for (let i = 0; i < n; i++)
      yield {
        path: `/nowhere/Bad Co/k/d/f${i}.tsv`,
        identity: { tenant: 'Bad Co', campaign: 'k', device: 'd' },
        size: 1,
      };
  }
  const { report } = await runIngestJob(tasks(), {
    pipeline: { workers: 0 },
    influx: resolveInfluxConfig({ influxUrl: 'http://127.0.0.1:9' }, {}),
    metaDb: '',
    moveFiles: false,
    reportKeep: 40,
  });
  t.equal(report.totals.files, n, 'every file counted');
  t.equal(report.totals.files_failed, n);
  t.ok(report.files.length <= 40, `at most 40 reports retained (${report.files.length})`);
  t.equal(report.files_omitted, n - report.files.length);
});

t.test('the scheduler forgets its oldest given-up files past its bound', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'pv-bounds-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const device = join(root, 'co', 'camp', 'dev1');
  mkdirSync(device, { recursive: true });
  const claims = { tryClaim: async () => true, release: async () => {}, isHeld: () => true };
  const s = new Scheduler(root, claims);
  const N = 12_500;
  const paths: string[] = [];
  for (let i = 0; i < N; i++) {
    const p = join(device, `f${String(i).padStart(6, '0')}.tsv`);
    writeFileSync(p, '');
    paths.push(p);
    s.add(p, Date.now());
  }
  let taken = 0;
  for await (const task of s) {
    // failed for good and not movable (a refused company name, say): given up, left in place
    const r: FileReport = emptyFileReport(task.path, identityOf(task.path, root)!);
    r.status = 'error';
    r.error = { code: ErrorCodes.TENANT_NAME, message: 'refused' };
    r.moved_to = null;
    s.done(r, task);
    if (++taken === N) break;
  }
  s.stop();
  t.equal(taken, N);
  const remembered = paths.filter((p) => s.knows(p)).length;
  t.ok(remembered <= 10_000, `at most 10,000 given-up files remembered (${remembered} of ${N})`);
  t.ok(s.knows(paths[N - 1]), 'the latest is remembered');
  t.notOk(s.knows(paths[0]), 'the oldest is forgotten (a rescan finds it and refuses it again)');
  t.same(s.depth, { pending: 0, inFlight: 0 });
});

t.test(
  'the watch holds one watch per folder, none per file nor in parsed/, and finds files in new folders',
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'pv-bounds-watch-'));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const old = join(root, 'co', 'camp', 'dev0');
    mkdirSync(join(old, 'parsed'), { recursive: true });
    for (let i = 0; i < 300; i++) writeFileSync(join(old, 'parsed', `p${i}.tsv`), 'x\n');
    writeFileSync(join(old, 'a.tsv'), 'x\n');
    const got: string[] = [];
    const w = new RootWatch(root, {
      settleMs: 100,
      rescanMs: 3_600_000,
      knows: (p) => got.includes(p),
      onSettled: (p) => got.push(p),
    });
    w.start();
    t.teardown(() => w.stop());
    await sleep(300);
    const dev1 = join(root, 'co2', 'camp', 'dev1');
    mkdirSync(dev1, { recursive: true });
    writeFileSync(join(dev1, 'b.tsv'), 'x\n');
    for (let i = 0; i < 100 && got.length < 2; i++) await sleep(100);
    t.ok(got.includes(join(old, 'a.tsv')), 'a file present at start is found');
    t.ok(got.includes(join(dev1, 'b.tsv')), 'a file in a folder created after start is found without a rescan');
    mkdirSync(join(dev1, 'parsed'));
    renameSync(join(dev1, 'b.tsv'), join(dev1, 'parsed', 'b.tsv'));
    await sleep(300);
    // root, co, co/camp, co/camp/dev0, co2, co2/camp, co2/camp/dev1: 300 archived files cost nothing
    const watchers = (w as unknown as { watchers: Map<string, unknown> }).watchers;
    t.equal(watchers.size, 7, 'one watch per folder up to the device level');
    t.notOk(
      [...watchers.keys()].some((k) => k.endsWith('parsed')),
      'parsed/ is never watched',
    );
  },
);
