/**
 * `powerview ingest` against the real InfluxDB 1.x started by ops/services.sh
 * (authentication on), InfluxDB side alone (--no-postgres; PostgreSQL has its
 * own tests): points, tags and values read back, re-ingestion,
 * rejections, gzip (the failures: ingest-real-influxdb-failures.test.ts).
 */
import t from 'tap';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { sharedDir, sharedSkip } from '../support/helpers.js';
import { influxQuery, pointsOf, pointsOfLp, runCli } from '../support/services.js';

import { archive, company, influxOnly, realInfluxSuite } from '../support/real-influx.js';

t.setTimeout(300_000);

realInfluxSuite(t, 'ingest into the real InfluxDB', (t, env, dbs) => {
  t.test(
    'V003 and V002: every point, tag and value reads back as the dry run built it; files move to parsed/',
    async (t) => {
      for (const format of ['v003', 'v002'] as const) {
        const db = company(format);
        dbs.push(db);
        const a = await archive(t, { company: db, format, slaves: 1, channels: 10 });
        const lpFile = join(a.root, 'expected.lp');
        const dry = await runCli(['ingest', '--dry-run', '--lp-out', lpFile, '--json', '--root', a.root, a.root], env);
        t.equal(dry.code, 0, dry.stderr.slice(-800));
        const expected = pointsOfLp(readFileSync(lpFile, 'utf8'));
        const run = await runCli(
          ['ingest', '--no-postgres', '--json', '--root', a.root, '--report-dir', join(a.root, 'reports'), a.root],
          env,
        );
        t.equal(run.code, 0, run.stderr.slice(-800));
        const report = JSON.parse(run.stdout);
        t.equal(report.totals.files_ok, 4);
        t.equal(report.totals.points, expected.size);
        const got = await pointsOf(env, db);
        t.equal(got.size, expected.size, `${format}: point count`);
        let diff = 0;
        for (const [k, v] of expected) if (got.get(k) !== v) diff++;
        t.equal(diff, 0, `${format}: points differing from the line protocol`);
        // tags as docs/architecture.md ("InfluxDB output") names them, master only has a subtype
        const tags = await influxQuery(env, db, 'SHOW TAG KEYS FROM electrical');
        t.same(
          tags.series![0].values.map((v) => v[0]),
          [
            'campaign',
            'channel_id',
            'channel_label',
            'channel_name',
            'channel_unit',
            'device',
            'device_master_sn',
            'device_sn',
            'device_subtype',
            'device_type',
          ],
        );
        const slave = await influxQuery(
          env,
          db,
          `SELECT count(*) FROM electrical WHERE device_type = 'slave' AND device_subtype = ''`,
        );
        t.ok(slave.series?.length, 'slave series carry no device_subtype');
        for (const f of a.files) {
          t.notOk(existsSync(f), 'moved away');
          t.ok(existsSync(join(dirname(f), 'parsed', basename(f))), 'now in parsed/');
        }
        t.equal(readdirSync(join(a.root, 'reports')).length, 1, 'one report file');
        const saved = JSON.parse(
          readFileSync(join(a.root, 'reports', readdirSync(join(a.root, 'reports'))[0]), 'utf8'),
        );
        t.equal(saved.run_id, report.run_id);
        // meta summaries, as the earlier tool wrote them
        const meta = await influxQuery(
          env,
          'powerview_meta',
          `SELECT points, status FROM tsv_parser_file WHERE run_id = '${report.run_id}'`,
        );
        t.equal(meta.series?.[0].values.length, 4, 'one tsv_parser_file point per file');
        const runMeta = await influxQuery(
          env,
          'powerview_meta',
          `SELECT points, files_ok FROM tsv_parser_run WHERE run_id = '${report.run_id}'`,
        );
        t.same(runMeta.series?.[0].values[0].slice(1), [expected.size, 4]);
      }
    },
  );

  t.test(
    'the real samples (V002 and V003) land with the tags and values of the golden line protocol',
    { skip: sharedSkip },
    async (t) => {
      const db = company('samples');
      dbs.push(db);
      const root = mkdtempSync(join(tmpdir(), 'pv-samples-'));
      const dir = join(root, db, 'golden', 'dev');
      mkdirSync(dir, { recursive: true });
      const names = ['v002_master_4slaves', 'v002_tri_1slave', 'v003_mono', 'v003_tri_1slave'];
      for (const n of names) cpSync(join(sharedDir, 'samples', `${n}.tsv`), join(dir, `${n}.tsv`));
      const run = await runCli(
        [
          'ingest',
          '--no-postgres',
          '--json',
          '--v002-timezone',
          'UTC',
          '--root',
          root,
          '--report-dir',
          join(root, 'r'),
          dir,
        ],
        env,
      );
      t.equal(run.code, 0, run.stderr.slice(-800));
      const got = await pointsOf(env, db);
      let expectedPoints = 0;
      let differing = 0;
      for (const n of names) {
        const golden = readFileSync(join(sharedDir, 'golden', `${n}.lp`), 'utf8').replace(
          /campaign=[^,]+/g,
          'campaign=golden',
        );
        const want = pointsOfLp(golden);
        expectedPoints += want.size;
        for (const [k, v] of want) if (got.get(k) !== v) differing++;
      }
      t.equal(differing, 0, 'golden points missing or different in InfluxDB');
      t.ok(
        got.size >= expectedPoints * 0.99 && got.size <= expectedPoints,
        `${got.size} points for ${expectedPoints} golden lines (overlaps between samples collapse)`,
      );
    },
  );

  t.test('the same file ingested twice leaves the same points', async (t) => {
    const db = company('twice');
    dbs.push(db);
    const a = await archive(t, { company: db, files: 2 });
    const first = await runCli(influxOnly(a.root), env);
    t.equal(first.code, 0, first.stderr.slice(-800));
    const before = await pointsOf(env, db);
    // the archive again, from parsed/, as an operator re-running a backfill would
    const again = await runCli(influxOnly(a.root, '--include-processed'), env);
    t.equal(again.code, 0, again.stderr.slice(-800));
    const after = await pointsOf(env, db);
    t.equal(after.size, before.size);
    t.same([...after.entries()].sort(), [...before.entries()].sort());
    for (const f of a.files)
      t.ok(existsSync(join(dirname(f), 'parsed', basename(f))), 'a file already in parsed/ stays there');
    t.notOk(existsSync(join(dirname(a.files[0]), 'parsed', 'parsed')), 'no parsed/parsed');
  });

  t.test('gzip on and off write the same points', async (t) => {
    const counts: number[] = [];
    for (const gzip of [true, false]) {
      const db = company(gzip ? 'gz' : 'plain');
      dbs.push(db);
      const a = await archive(t, { company: db, files: 3 });
      const run = await runCli(
        [
          'ingest',
          '--no-postgres',
          '--json',
          ...(gzip ? ['--gzip'] : []),
          '--root',
          a.root,
          '--report-dir',
          join(a.root, 'r'),
          a.root,
        ],
        env,
      );
      t.equal(run.code, 0, run.stderr.slice(-800));
      t.equal(JSON.parse(run.stdout).influx.gzip, gzip);
      counts.push((await pointsOf(env, db)).size);
    }
    t.equal(counts[0], counts[1]);
    t.ok(counts[0] > 0);
  });

  t.test(
    'a 4xx rejection keeps the server message and the lines, and sends the file to error/ without overwriting',
    async (t) => {
      const db = company('reject');
      dbs.push(db);
      const a = await archive(t, { company: db, files: 2, devices: 2 });
      // a string field where the file brings floats: InfluxDB 1.x answers 400 "field type conflict"
      const dryLp = join(a.root, 'dry.lp');
      await runCli(['ingest', '--dry-run', '--lp-out', dryLp, '--root', a.root, a.files[0]], env);
      const first = readFileSync(dryLp, 'utf8').split('\n')[0];
      const [series, field, time] = first.split(/(?<!\\) /);
      const poison = `${series} ${field.slice(0, field.indexOf('='))}="text" ${time}\n`;
      await influxQuery(env, db, `CREATE DATABASE "${db}"`);
      const w = await fetch(`${env.INFLUX_URL}/write?db=${db}&precision=s`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`,
        },
        body: poison,
      });
      t.equal(w.status, 204);
      // an earlier file of the same name in error/: it must survive
      const errDir = join(dirname(a.files[0]), 'error');
      mkdirSync(errDir, { recursive: true });
      writeFileSync(join(errDir, basename(a.files[0])), 'earlier\n');
      const run = await runCli(influxOnly(a.root), env);
      t.equal(run.code, 1, 'exit 1: a file failed');
      const report = JSON.parse(run.stdout);
      const bad = report.files.find((f: { path: string }) => f.path === a.files[0]);
      t.equal(bad.status, 'error');
      // InfluxDB 1.x drops the 60 lines of the conflicting field and stores the file's 300 others: a partial write
      t.equal(bad.error.code, 'PV_ERR_STORE_PARTIAL');
      t.equal(bad.error.http_status, 400);
      t.match(bad.error.message, /stored 300 of 360 lines and refused 60 .*field type conflict/);
      t.same(bad.written, { lines: 300, batches: bad.written.batches, refused: 60 }, 'counted as InfluxDB holds them');
      t.ok(bad.error.server_lines.length >= 1, 'the lines the server named');
      t.equal(bad.moved_to, join(errDir, basename(a.files[0]).replace(/\.tsv$/, '.1.tsv')));
      t.equal(readFileSync(join(errDir, basename(a.files[0])), 'utf8'), 'earlier\n', 'the earlier file is untouched');
      const sidecar = JSON.parse(readFileSync(`${bad.moved_to}.error.json`, 'utf8'));
      t.match(sidecar.message, /field type conflict/);
      const good = report.files.find((f: { path: string }) => f.path === a.files[1]);
      t.equal(good.status, 'ok', 'the other file (other device) is unaffected');
      t.ok(existsSync(join(dirname(a.files[1]), 'parsed', basename(a.files[1]))));
    },
  );
});
