/**
 * `powerview ingest` against the real InfluxDB 1.x (authentication on), InfluxDB side alone: unreadable files,
 * --verify, tenant names, wrong credentials, a store that stays unreachable (test/support/real-influx.ts).
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateArchive } from '../../fixtures/generate.js';
import { pointsOf, runCli } from '../support/services.js';
import { archive, company, influxOnly, realInfluxSuite, tree } from '../support/real-influx.js';

t.setTimeout(300_000);

realInfluxSuite(t, 'ingest into the real InfluxDB: failures and refusals', (t, env, dbs) => {
  t.test('unreadable files go to error/ with their cause; good files of the same run land', async (t) => {
    const db = company('unreadable');
    dbs.push(db);
    const a = await archive(t, { company: db, files: 2, devices: 1 });
    const dev = dirname(a.files[0]);
    writeFileSync(join(dev, 'zz_empty.tsv'), '');
    writeFileSync(join(dev, 'zz_unknown.tsv'), '00000001\t00000001\nMV_T202_V002\tPh 1 V\n01/01/25 00:00:00\t1\n');
    const run = await runCli(influxOnly(a.root), env);
    t.equal(run.code, 1);
    const report = JSON.parse(run.stdout);
    t.equal(report.totals.files_ok, 2);
    t.equal(report.totals.files_failed, 2);
    t.same(tree(join(dev, 'error')), [
      'zz_empty.tsv',
      'zz_empty.tsv.error.json',
      'zz_unknown.tsv',
      'zz_unknown.tsv.error.json',
    ]);
    t.match(JSON.parse(readFileSync(join(dev, 'error', 'zz_unknown.tsv.error.json'), 'utf8')), {
      code: 'PV_ERR_UNKNOWN_FORMAT',
    });
    t.equal((await pointsOf(env, db)).size, report.totals.points);
  });

  t.test('--verify records expected and found points per file', async (t) => {
    const db = company('verify');
    dbs.push(db);
    const a = await archive(t, { company: db, files: 2, devices: 2 });
    const run = await runCli(influxOnly(a.root, '--verify'), env);
    t.equal(run.code, 0, run.stderr.slice(-800));
    for (const f of JSON.parse(run.stdout).files) {
      t.same(f.verify, { expected: f.points, found: f.points });
    }
  });

  t.test('tenant names that are not safe identifiers are refused with a clear error', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'pv-tenant-'));
    const a = await generateArchive({
      out: root,
      company: 'bad name',
      campaign: 'c1',
      devices: 1,
      files: 1,
      rows: 5,
      channels: 4,
      slaves: 0,
      format: 'v003',
      step: 60,
      start: Date.UTC(2025, 0, 1) / 1000,
      defects: [],
      seed: 1,
    });
    const run = await runCli(
      ['ingest', '--no-postgres', '--json', '--root', root, '--report-dir', join(root, 'r'), root],
      env,
    );
    t.equal(run.code, 1);
    const f = JSON.parse(run.stdout).files[0];
    t.equal(f.error.code, 'PV_ERR_TENANT_NAME');
    t.match(f.error.message, /company name "bad name" is not a safe identifier/);
    t.ok(existsSync(a.files[0]), 'the file stays where it is');
    const flag = await runCli(['ingest', '--no-postgres', '--company', 'x";DROP', '--campaign', 'c', a.files[0]], env);
    t.equal(flag.code, 2);
    t.match(flag.stderr, /--company: company name .* is not a safe identifier/);
  });

  t.test('wrong credentials stop the run (exit 2) and leave every file in place', async (t) => {
    const db = company('auth');
    const a = await archive(t, { company: db, files: 2 });
    const run = await runCli(influxOnly(a.root), env, { INFLUX_PASSWORD: 'wrong' });
    t.equal(run.code, 2);
    t.match(run.stderr, /PV_ERR_STORE_AUTH/);
    for (const f of a.files) t.ok(existsSync(f), 'still there');
    t.notOk(existsSync(join(dirname(a.files[0]), 'error')));
  });

  t.test('InfluxDB unreachable past --store-wait: exit 3, files stay, nothing in error/', async (t) => {
    const db = company('down');
    const a = await archive(t, { company: db, files: 2 });
    const run = await runCli(influxOnly(a.root, '--store-wait', '2'), env, {
      INFLUX_URL: 'http://127.0.0.1:9', // discard port: connection refused
    });
    t.equal(run.code, 3, run.stderr.slice(-800));
    const report = JSON.parse(run.stdout);
    t.equal(report.store_failure.code, 'PV_ERR_STORE_UNAVAILABLE');
    for (const f of report.files) t.equal(f.error.code, 'PV_ERR_STORE_UNAVAILABLE');
    for (const f of a.files) t.ok(existsSync(f), 'still there');
    t.notOk(existsSync(join(dirname(a.files[0]), 'error')));
  });
});
