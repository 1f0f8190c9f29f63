/**
 * Exactly-once over a file's life: the same bytes again are a no-op, --force replaces a file's contribution instead
 * of adding it, failures in the ledger, skipped rows reported, a layout change is flagged (an ingest killed at
 * random moments: exactly-once-killed.test.ts).
 */
import t from 'tap';
import { cpSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { generateArchive, writeFile as writeTsv } from '../../fixtures/generate.js';
import { influxCount } from '../support/services.js';

import { hourly, ingest, lifecycleSuite } from '../support/lifecycle-suite.js';

t.setTimeout(900_000);

lifecycleSuite(t, 'PostgreSQL lifecycle', (t, { env, pool, archive }) => {
  t.test('the same bytes again are a no-op; --force replaces, never adds', async (t) => {
    const { company, root } = archive('noop', false);
    const a = await generateArchive({
      out: root,
      company,
      campaign: 'c',
      devices: 1,
      files: 2,
      rows: 200,
      channels: 6,
      slaves: 0,
      format: 'v003',
      step: 600,
      start: Date.UTC(2025, 4, 1) / 1000,
      defects: [],
      seed: 9,
    });
    t.equal((await ingest(env, root, [root])).code, 0);
    const before = await hourly(pool, company);
    const points = await influxCount(env, company);
    // the same bytes uploaded again
    const again = join(dirname(a.files[0]), 'again.tsv');
    cpSync(join(dirname(a.files[0]), 'parsed', basename(a.files[0])), again);
    const r = await ingest(env, root, [again]);
    t.equal(r.code, 0);
    const f = JSON.parse(r.stdout).files[0];
    t.match(f.ledger.noop, /same bytes were ingested before/);
    t.equal(f.points, 0);
    t.match(f.warnings.join(' '), /nothing written/);
    t.ok(existsSync(join(dirname(a.files[0]), 'parsed', 'again.tsv')), 'moved to parsed/');
    t.same(await hourly(pool, company), before, 'aggregates unchanged');
    t.equal(await influxCount(env, company), points);
    // --force: the file's coverage and aggregates are replaced
    const forced = join(dirname(a.files[0]), 'forced.tsv');
    cpSync(join(dirname(a.files[0]), 'parsed', basename(a.files[0])), forced);
    const fr = await ingest(env, root, [forced], ['--force']);
    t.equal(fr.code, 0, fr.stderr.slice(-500));
    const ff = JSON.parse(fr.stdout).files[0];
    t.equal(ff.ledger.noop, null);
    t.equal(ff.points, 200 * 6, 'every point of the file written again');
    t.same(await hourly(pool, company), before, 'aggregates equal, not doubled');
    const ledger = await pool.query('SELECT count(*)::int AS n FROM core.files WHERE tenant = $1', [company]);
    t.equal(ledger.rows[0].n, 2, 'the forced file replaced its ledger row');
  });

  t.test('failed files are in the ledger with their cause and sha256', async (t) => {
    const { company, root, dir } = archive('ledger');
    writeFileSync(join(dir, 'unknown.tsv'), '02001171\t02001171\nMV_T202_V002\tPh 1 V\n01/01/25 00:00:00\t1\n');
    const r = await ingest(env, root, [root]);
    t.equal(r.code, 1);
    const f = JSON.parse(r.stdout).files[0];
    t.match(f.sha256, /^[0-9a-f]{64}$/);
    const rows = await pool.query('SELECT status, error, sha256 FROM core.files WHERE tenant = $1', [company]);
    t.equal(rows.rows.length, 1);
    t.equal(rows.rows[0].status, 'error');
    t.match(rows.rows[0].error, /PV_ERR_UNKNOWN_FORMAT/);
    t.equal(rows.rows[0].sha256, f.sha256);
  });

  t.test('overlapping re-exports: the rows skipped are duplicate_rows in the report and in the metrics', async (t) => {
    const { company, root, dir } = archive('dupm');
    const base = {
      format: 'v003' as const,
      masterSn: '02001171',
      channels: 6,
      slaves: 0,
      slaveChannels: 6,
      step: 600,
      defects: [],
      seed: 9,
    };
    // the second export repeats the last 20 instants of the first: the first file's points win
    await writeTsv(join(dir, 'T302_250101_000000.tsv'), { ...base, rows: 60, start: Date.UTC(2024, 11, 1) / 1000 });
    await writeTsv(join(dir, 'T302_250102_000000.tsv'), {
      ...base,
      rows: 60,
      start: Date.UTC(2024, 11, 1) / 1000 + 40 * 600,
    });
    const metricsFile = join(root, 'powerview.prom');
    const r = await ingest(env, root, [root], ['--metrics-file', metricsFile]);
    t.equal(r.code, 0, r.stderr.slice(-500));
    const report = JSON.parse(r.stdout);
    const dups = report.files.reduce((n: number, f: { duplicate_rows: number }) => n + f.duplicate_rows, 0);
    t.equal(dups, 20, 'the 20 repeated rows are duplicates');
    const prom = readFileSync(metricsFile, 'utf8');
    t.match(
      prom,
      new RegExp(`^powerview_duplicate_rows_total\\{tenant="${company}"\\} ${dups}$`, 'm'),
      'and so says powerview_duplicate_rows_total',
    );
  });

  t.test("a header layout that differs from the device's known layout is flagged", async (t) => {
    const { company, root, dir } = archive('drift');
    const base = {
      format: 'v003' as const,
      masterSn: '02001171',
      slaveChannels: 6,
      rows: 50,
      step: 600,
      defects: [],
      seed: 4,
    };
    await writeTsv(join(dir, 'T302_250101_000000.tsv'), {
      ...base,
      channels: 6,
      slaves: 0,
      start: Date.UTC(2024, 11, 1) / 1000,
    });
    await writeTsv(join(dir, 'T302_250201_000000.tsv'), {
      ...base,
      channels: 6,
      slaves: 1,
      start: Date.UTC(2025, 0, 1) / 1000,
    });
    const metricsFile = join(root, 'powerview.prom');
    const r = await ingest(env, root, [root], ['--metrics-file', metricsFile]);
    t.equal(r.code, 0, r.stderr.slice(-500));
    const prom = readFileSync(metricsFile, 'utf8');
    t.match(
      prom,
      new RegExp(`^powerview_layout_drift_total\\{tenant="${company}"\\} 1$`, 'm'),
      'the drift is in the metrics (--metrics-file)',
    );
    t.match(prom, new RegExp(`^powerview_files_total\\{tenant="${company}",outcome="ok"\\} 2$`, 'm'));
    // the report lists files as they finish: by path here
    const [first, second] = JSON.parse(r.stdout).files.sort((a: { path: string }, b: { path: string }) =>
      a.path < b.path ? -1 : 1,
    );
    t.equal(first.layout_drift, false);
    t.equal(second.layout_drift, true);
    t.match(second.warnings.join(' '), /layout differs/);
    const rows = await pool.query('SELECT layout_drift FROM core.files WHERE tenant = $1 ORDER BY path', [company]);
    t.same(
      rows.rows.map((x) => x.layout_drift),
      [false, true],
    );
  });
});
