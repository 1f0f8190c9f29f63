/**
 * Exactly-once across processes, serve beside backfills: one logger's
 * overlapping re-exports misfiled in three campaign folders; two
 * `powerview ingest` processes work on the first two folders at once while
 * `powerview serve` (fed by hooks and its watch) works on the third. Overlap
 * is judged per (tenant, master serial), and serve claims the device like the
 * backfills do, so nobody plans against another's uncommitted work: the
 * hourly samples and InfluxDB's points both equal the distinct points
 * (device, channel, time), whatever campaign each point landed in, and
 * nothing goes to error/.
 */
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ingestArgs } from '../support/cli-helpers.js';
import { pointsOf, runCli, servicesSkip } from '../support/services.js';
import {
  deliver,
  expectedOf,
  parsedPath,
  serveSetup,
  startServe,
  uploadEvent,
  waitParsed,
  writeDeviceFiles,
} from '../support/serve-harness.js';

t.setTimeout(600_000);

const SN = '02001173';

t.test(
  'one logger in three campaign folders: two backfills at once and serve beside a third count each point once',
  { skip: servicesSkip },
  async (t) => {
    const { db, tenant, base, root: serveRoot } = await serveSetup(t, 'xsrv', 'xsrv');
    // one long recording cut in 12 windows of 2000 rows, each overlapping the next two (stride 800),
    // dealt to the three folders in turn: every folder's files overlap both other folders' files
    const stage = join(base, 'stage');
    const windows = writeDeviceFiles(stage, tenant, 'stage', {
      masterSn: SN,
      files: 12,
      rows: 2000,
      overlap: 1200,
      channels: 3,
      step: 60,
      seed: 11,
    });
    const backfillRoot = join(base, 'backfill');
    // serve's files wait outside its root until the backfills are under way
    const serveStage = join(base, 'serve-stage');
    const folder = (r: string, c: string) => join(r, tenant, c, SN);
    const place = (paths: string[], r: string, c: string) =>
      paths.map((p) => {
        mkdirSync(folder(r, c), { recursive: true });
        const to = join(folder(r, c), basename(p));
        renameSync(p, to);
        return to;
      });
    const dealt = (k: number) => windows.filter((_, i) => i % 3 === k);
    const c1 = place(dealt(0), backfillRoot, 'c1');
    const c2 = place(dealt(1), backfillRoot, 'c2');
    const staged3 = place(dealt(2), serveStage, 'c3');

    // the distinct points (device, channel, field, time), without their campaign; one recording: one value each
    const distinct = new Map<string, number>();
    for (const [r, paths] of [
      [backfillRoot, [...c1, ...c2]],
      [serveStage, staged3],
    ] as Array<[string, string[]]>) {
      for (const [k, v] of (await expectedOf(r, paths)).points) distinct.set(k.replace(/,campaign=[^,]+/, ''), v);
    }
    t.equal(distinct.size, (800 * 11 + 2000) * 3, 'the fixture: 10800 distinct rows × 3 channels');

    const t0 = Date.now();
    const serve = await startServe(t, db.env, {
      root: serveRoot,
      stateDir: join(base, 'state'),
      settle: 1,
      rescan: 2,
      workers: 1,
    });
    const ingest = (c: string) =>
      runCli(
        ingestArgs(backfillRoot, '--workers', '1', '--report-dir', join(base, `r-${c}`), join(backfillRoot, tenant, c)),
        db.env,
      );
    const runs = [ingest('c1'), ingest('c2')];
    // once a backfill has ingested its first file (three to go), serve's files arrive, announced by hooks
    let started!: () => void;
    const underWay = new Promise<void>((r) => (started = r));
    for (const r of runs) r.child.stderr!.on('data', (d: Buffer) => String(d).includes('"event":"file"') && started());
    await Promise.race([underWay, Promise.all(runs)]);
    const c3 = deliver(serveStage, serveRoot, staged3);
    const hooks = await Promise.all(c3.map((p) => serve.hook(uploadEvent(serveRoot, p))));
    t.same(
      hooks.map((h) => h.status),
      [200, 200, 200, 200],
      'serve took the hooks',
    );
    for (const r of await Promise.all(runs))
      t.equal(r.code, 0, r.code === 0 ? 'backfill exit 0' : `backfill exit ${r.code}: ${r.stderr.slice(-800)}`);
    t.ok(await waitParsed(c3, 120_000), "serve ingested the third folder's files");
    const waited =
      [...(await Promise.all(runs)).map((r) => r.stderr), serve.stderr()]
        .join('\n')
        .match(/waiting for the device claim/g)?.length ?? 0;
    t.comment(
      `device claim waits logged: ${waited}; ${Math.round((Date.now() - t0) / 1000)} s from serve's start to the last file`,
    );

    const all = [...c1, ...c2, ...c3];
    t.same(
      all.filter((p) => !existsSync(parsedPath(p))).map((p) => basename(p)),
      [],
      'every file in parsed/',
    );
    const errors = [...new Set(all.map((p) => join(dirname(p), 'error')))].flatMap((d) =>
      existsSync(d) ? readdirSync(d) : [],
    );
    t.same(errors, [], 'nothing in error/');
    const ledger = await db.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM core.files WHERE tenant = $1 GROUP BY 1',
      [tenant],
    );
    t.same(ledger.rows, [{ status: 'ok', n: 12 }], 'the ledger: 12 files ok');

    // InfluxDB: each distinct point once, in one campaign or another, with its value
    const found = await pointsOf(db.env, tenant);
    const byIdentity = new Map<string, number>();
    let twice = 0;
    for (const [k, v] of found) {
      const id = k.replace(/,campaign=[^,]+/, '');
      if (byIdentity.has(id)) twice++;
      byIdentity.set(id, v);
    }
    t.equal(found.size, distinct.size, `InfluxDB points = the ${distinct.size} distinct points`);
    t.equal(twice, 0, 'no point in two campaigns');
    t.same(
      [...distinct.keys()].filter((k) => byIdentity.get(k) !== distinct.get(k)).slice(0, 5),
      [],
      'every distinct point in InfluxDB with its value',
    );

    // PostgreSQL: hourly samples and sums of the distinct points
    const hourly = await db.pool.query<{ samples: string; sum: number }>(
      'SELECT coalesce(sum(samples), 0)::bigint AS samples, coalesce(sum(sum_value), 0)::float8 AS sum FROM core.hourly WHERE tenant = $1',
      [tenant],
    );
    t.equal(Number(hourly.rows[0].samples), distinct.size, 'hourly samples = the distinct points');
    const sum = [...distinct.values()].reduce((s, v) => s + v, 0);
    t.ok(
      Math.abs(hourly.rows[0].sum - sum) <= 1e-6 * Math.max(1, Math.abs(sum)),
      `hourly sums = the sum of the distinct points (${hourly.rows[0].sum} vs ${sum})`,
    );
    await serve.kill();
  },
);
