/**
 * InfluxDB stopped in the middle of a backfill and started again
 * → the run waits, completes, no point is missing, no file goes to error/.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateArchive } from '../../fixtures/generate.js';
import { dropDatabase, influxQuery, runCli, serviceCtl, servicesSkip, servicesUp } from '../support/services.js';

t.setTimeout(600_000);

function findDirs(root: string, name: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name === name) out.push(join(d, e.name));
      walk(join(d, e.name));
    }
  };
  walk(root);
  return out;
}

t.test(
  'InfluxDB restarted during a run: the run waits and completes, zero points lost, zero files in error/',
  { skip: servicesSkip },
  async (t) => {
    const env = await servicesUp();
    const db = `it_restart_${process.pid}`;
    t.teardown(async () => {
      serviceCtl('start', 'influxdb'); // whatever happened, leave it running
      await dropDatabase(env, db).catch(() => {});
    });
    const root = mkdtempSync(join(tmpdir(), 'pv-restart-'));
    const a = await generateArchive({
      out: root,
      company: db,
      campaign: 'restart',
      devices: 20,
      files: 200,
      rows: 500,
      channels: 24,
      slaves: 2,
      format: 'v003',
      step: 60,
      start: Date.UTC(2025, 0, 1) / 1000,
      defects: [],
      seed: 3,
    });
    const run = runCli(
      [
        'ingest',
        '--no-postgres',
        '--json',
        '--workers',
        '1',
        '--concurrency',
        '2',
        '--root',
        root,
        '--report-dir',
        join(root, 'reports'),
        root,
      ],
      env,
    );
    // wait until the run has written something, then take InfluxDB away for a few seconds
    const deadline = Date.now() + 60_000;
    while (findDirs(root, 'parsed').length === 0 && Date.now() < deadline) await sleep(20);
    t.ok(findDirs(root, 'parsed').length > 0, 'the run had started writing');
    serviceCtl('stop', 'influxdb');
    const stoppedAt = Date.now();
    await sleep(4000);
    serviceCtl('start', 'influxdb');
    t.comment(`InfluxDB was down for ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
    const result = await run;
    t.equal(result.code, 0, result.stderr.slice(-1500));
    const report = JSON.parse(result.stdout);
    t.equal(report.totals.files_ok, 200);
    t.equal(report.totals.files_failed, 0);
    t.ok(
      (report.influx.retries.network ?? 0) +
        (report.influx.retries.server_error ?? 0) +
        (report.influx.retries.timeout ?? 0) >
        0,
      `the outage was met mid-run: retries ${JSON.stringify(report.influx.retries)}`,
    );
    const count = await influxQuery(env, db, 'SELECT count(*) FROM electrical');
    const columns = count.series![0].columns;
    const values = count.series![0].values[0];
    const found = columns.reduce((s, c, i) => (c === 'time' ? s : s + Number(values[i])), 0);
    t.equal(found, report.totals.points, 'every point of the archive is in InfluxDB');
    t.equal(report.totals.points, 200 * 500 * 24, 'points of the archive');
    t.same(findDirs(root, 'error'), [], 'no error/ folder anywhere');
    const notParsed = a.files.filter((f) => !existsSync(join(dirname(f), 'parsed', basename(f))));
    t.same(notParsed, [], 'every file in its parsed/ folder');
  },
);
