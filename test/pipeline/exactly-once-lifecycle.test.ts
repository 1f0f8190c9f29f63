/**
 * Exactly-once over a file's life: the same bytes again are a no-op, --force replaces a file's
 * contribution instead of adding it, a layout change is flagged, and an
 * ingest killed (SIGKILL) at random moments then run again ends in the same
 * state as an uninterrupted run.
 */
import t from 'tap';
import { cpSync, readFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { generateArchive, writeFile as writeTsv } from '../../fixtures/generate.js';
import { dropDatabase, influxCount, runCli, servicesSkip, servicesUp } from '../support/services.js';

t.setTimeout(900_000);

async function hourly(pool: pg.Pool, tenant: string): Promise<string[]> {
  const r = await pool.query(
    `SELECT device_master_sn, channel_id, extract(epoch from hour)::bigint AS hour, samples, round(sum_value::numeric, 6) AS sum,
            min_value, max_value, round(energy_wh::numeric, 6) AS energy
       FROM core.hourly WHERE tenant = $1 ORDER BY 1, 2, 3`,
    [tenant],
  );
  return r.rows.map((x) => Object.values(x).join(' '));
}

/** `powerview ingest --json` over `paths` under `root` (no meta database, reports in `root/r`), with `flags`. */
function ingest(env: Record<string, string>, root: string, paths: string[], flags: string[] = []) {
  return runCli(
    ['ingest', '--json', '--meta-db', '', '--root', root, '--report-dir', join(root, 'r'), ...flags, ...paths],
    env,
  );
}

t.test('PostgreSQL lifecycle', { skip: servicesSkip }, async (t) => {
  const env = await servicesUp();
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  const dbs: string[] = [];
  t.teardown(async () => {
    await pool.end();
    for (const db of dbs) await dropDatabase(env, db).catch(() => {});
  });
  t.equal((await runCli(['migrate', '--json'], env)).code, 0);
  /** A tenant of its own (`<label>_<pid>`, dropped at the end), a temporary root and (`device`) a device folder. */
  const archive = (label: string, device = true) => {
    const company = `${label}_${process.pid}`;
    dbs.push(company);
    const root = mkdtempSync(join(tmpdir(), `pv-${label}-`));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, company, 'c', '02001171');
    if (device) mkdirSync(dir, { recursive: true });
    return { company, root, dir };
  };

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

  t.test(
    'killed (SIGKILL) at random moments, then run again: the same aggregates, ledger and InfluxDB counts as an uninterrupted run',
    async (t) => {
      const spec = {
        campaign: 'k',
        devices: 3,
        files: 24,
        rows: 1500,
        channels: 12,
        slaves: 1,
        format: 'v003' as const,
        step: 60,
        start: Date.UTC(2025, 5, 1) / 1000,
        defects: [],
        seed: 21,
      };
      // overlapping re-exports: every device's files overlap the previous one by a third
      const make = async (company: string) => {
        const root = mkdtempSync(join(tmpdir(), 'pv-kill-'));
        await generateArchive({ out: root, company, ...spec });
        // shift every second file back by 500 rows: overlaps (regenerate those with an earlier start)
        for (const device of readdirSync(join(root, company, 'k'))) {
          const files = readdirSync(join(root, company, 'k', device)).sort();
          for (let i = 1; i < files.length; i += 2) {
            await writeTsv(join(root, company, 'k', device, files[i]), {
              format: 'v003',
              masterSn: device,
              channels: 6,
              slaves: 1,
              slaveChannels: 6,
              rows: 1500,
              start: spec.start + (i * 1500 - 500) * 60,
              step: 60,
              defects: [],
              seed: 1000 + i,
            });
          }
        }
        return root;
      };
      const reference = `killref_${process.pid}`;
      const killed = `killed_${process.pid}`;
      dbs.push(reference, killed);
      const refRoot = await make(reference);
      const once = (root: string) => ingest(env, root, [root], ['--workers', '1']);
      t.equal((await once(refRoot)).code, 0);
      const killRoot = await make(killed);
      let kills = 0;
      for (let attempt = 0; attempt < 12; attempt++) {
        const run = once(killRoot);
        const delay = 150 + Math.floor(Math.random() * 1200);
        const early = await Promise.race([run.then(() => true), sleep(delay).then(() => false)]);
        if (early) break;
        run.child.kill('SIGKILL');
        await run;
        kills++;
      }
      const last = await once(killRoot);
      t.equal(last.code, 0, last.stderr.slice(-500));
      t.ok(kills > 0, `killed ${kills} times`);
      t.same(await hourly(pool, killed), await hourly(pool, reference), 'the same hourly aggregates');
      const ledger = async (tenant: string) =>
        (
          await pool.query(
            'SELECT count(*)::int AS n, sum(points)::bigint AS p FROM core.files WHERE tenant = $1 AND status = $2',
            [tenant, 'ok'],
          )
        ).rows[0];
      const lk = await ledger(killed);
      const lr = await ledger(reference);
      t.equal(lk.n, lr.n, 'the same ledger rows');
      t.equal(lk.p, lr.p, 'the same points in the ledger');
      t.equal(await influxCount(env, killed), await influxCount(env, reference), 'the same InfluxDB count');
    },
  );
});
