/**
 * `powerview ingest` against the real InfluxDB 1.x started by ops/services.sh
 * (authentication on), InfluxDB side alone (--no-postgres; PostgreSQL has its
 * own tests): points, tags and values read back, re-ingestion,
 * rejections, gzip, tenant names, file lifecycle, reports and meta summaries.
 */
import t, { type Test } from 'tap';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { generateArchive, type ArchiveSpec } from '../../fixtures/generate.js';
import { sharedDir, sharedSkip } from '../support/helpers.js';
import {
  dropDatabase,
  influxQuery,
  pointsOf,
  pointsOfLp,
  runCli,
  servicesSkip,
  servicesUp,
} from '../support/services.js';

t.setTimeout(300_000);

let seq = 0;
/** a database name of this test process alone */
const company = (tag: string) => `it_${tag}_${process.pid}_${seq++}`;

function archive(t: Test, spec: Partial<ArchiveSpec> & { company: string }) {
  const out = mkdtempSync(join(tmpdir(), 'pv-ingest-'));
  t.teardown(() => {});
  return generateArchive({
    out,
    campaign: 'camp-1',
    devices: 2,
    files: 4,
    rows: 60,
    channels: 6,
    slaves: 0,
    format: 'v003',
    step: 600,
    start: Date.UTC(2025, 3, 1) / 1000,
    defects: [],
    seed: 7,
    ...spec,
  }).then((a) => ({ ...a, root: out }));
}

/** every file under dir, relative, sorted */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), join(rel, e.name));
      else out.push(join(rel, e.name));
    }
  };
  walk(dir, '');
  return out.sort();
}

t.test('ingest into the real InfluxDB', { skip: servicesSkip }, async (t) => {
  const env = await servicesUp();
  const dbs: string[] = [];
  t.teardown(async () => {
    for (const db of dbs) await dropDatabase(env, db).catch(() => {});
  });

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
    const first = await runCli(
      ['ingest', '--no-postgres', '--json', '--root', a.root, '--report-dir', join(a.root, 'r'), a.root],
      env,
    );
    t.equal(first.code, 0, first.stderr.slice(-800));
    const before = await pointsOf(env, db);
    // the archive again, from parsed/, as an operator re-running a backfill would
    const again = await runCli(
      [
        'ingest',
        '--no-postgres',
        '--json',
        '--include-processed',
        '--root',
        a.root,
        '--report-dir',
        join(a.root, 'r'),
        a.root,
      ],
      env,
    );
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
      const run = await runCli(
        ['ingest', '--no-postgres', '--json', '--root', a.root, '--report-dir', join(a.root, 'r'), a.root],
        env,
      );
      t.equal(run.code, 1, 'exit 1: a file failed');
      const report = JSON.parse(run.stdout);
      const bad = report.files.find((f: { path: string }) => f.path === a.files[0]);
      t.equal(bad.status, 'error');
      t.equal(bad.error.code, 'PV_ERR_STORE_REJECTED');
      t.equal(bad.error.http_status, 400);
      t.match(bad.error.message, /field type conflict/);
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

  t.test('unreadable files go to error/ with their cause; good files of the same run land', async (t) => {
    const db = company('unreadable');
    dbs.push(db);
    const a = await archive(t, { company: db, files: 2, devices: 1 });
    const dev = dirname(a.files[0]);
    writeFileSync(join(dev, 'zz_empty.tsv'), '');
    writeFileSync(join(dev, 'zz_unknown.tsv'), '00000001\t00000001\nMV_T202_V002\tPh 1 V\n01/01/25 00:00:00\t1\n');
    const run = await runCli(
      ['ingest', '--no-postgres', '--json', '--root', a.root, '--report-dir', join(a.root, 'r'), a.root],
      env,
    );
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
    const run = await runCli(
      ['ingest', '--no-postgres', '--json', '--verify', '--root', a.root, '--report-dir', join(a.root, 'r'), a.root],
      env,
    );
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
    const run = await runCli(
      ['ingest', '--no-postgres', '--json', '--root', a.root, '--report-dir', join(a.root, 'r'), a.root],
      env,
      { INFLUX_PASSWORD: 'wrong' },
    );
    t.equal(run.code, 2);
    t.match(run.stderr, /PV_ERR_STORE_AUTH/);
    for (const f of a.files) t.ok(existsSync(f), 'still there');
    t.notOk(existsSync(join(dirname(a.files[0]), 'error')));
  });

  t.test('InfluxDB unreachable past --store-wait: exit 3, files stay, nothing in error/', async (t) => {
    const db = company('down');
    const a = await archive(t, { company: db, files: 2 });
    const run = await runCli(
      [
        'ingest',
        '--no-postgres',
        '--json',
        '--store-wait',
        '2',
        '--root',
        a.root,
        '--report-dir',
        join(a.root, 'r'),
        a.root,
      ],
      env,
      {
        INFLUX_URL: 'http://127.0.0.1:9', // discard port: connection refused
      },
    );
    t.equal(run.code, 3, run.stderr.slice(-800));
    const report = JSON.parse(run.stdout);
    t.equal(report.store_failure.code, 'PV_ERR_STORE_UNAVAILABLE');
    for (const f of report.files) t.equal(f.error.code, 'PV_ERR_STORE_UNAVAILABLE');
    for (const f of a.files) t.ok(existsSync(f), 'still there');
    t.notOk(existsSync(join(dirname(a.files[0]), 'error')));
  });
});
