/**
 * A file the commit fence refuses (its plan was made against coverage another
 * process changed since: StaleCoverageError) is planned again within the same
 * run, against the coverage now committed, and committed: a backfill never
 * ends with a good file left unprocessed because of the fence.
 *
 * Two jobs of one logger, each with its own store (two processes), without
 * device claims (the case the fence is there for: a claim not held). Job B
 * plans its file first; its InfluxDB writes are held by a proxy until job A
 * has committed an overlapping file; B's commit is then refused and B plans
 * the file again in its run: the hourly samples and InfluxDB's points equal
 * the distinct points, and B's file counts the overlap as duplicates.
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { discover } from '../../src/pipeline/discover.js';
import { runIngestJob } from '../../src/pipeline/ingest-job.js';
import { resolveInfluxConfig } from '../../src/influx/config.js';
import { pointsOf, servicesSkip } from '../support/services.js';
import { expectedOf, parsedPath, serveSetup, waitUntil, writeDeviceFiles } from '../support/serve-harness.js';

t.setTimeout(600_000);

const SN = '02001174';

/** An HTTP proxy to `target` that holds every write until `release()` (all, from then on) or `releaseOne()` (the oldest held); other requests pass. */
async function holdingProxy(
  t: Test,
  target: string,
): Promise<{ url: string; held: () => number; release: () => void; releaseOne: () => void }> {
  let held = 0;
  let open = false;
  const waiting: Array<() => void> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const write = /\/write/.test(req.url ?? '');
      if (write) held++;
      void (open || !write ? Promise.resolve() : new Promise<void>((r) => waiting.push(r)))
        .then(async () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
          const body = chunks.length ? Buffer.concat(chunks) : undefined;
          const r = await fetch(target + req.url, { method: req.method, headers, body });
          const out = Buffer.from(await r.arrayBuffer());
          const back: Record<string, string> = {};
          r.headers.forEach((v, k) => {
            if (!['content-length', 'connection', 'transfer-encoding', 'content-encoding', 'keep-alive'].includes(k))
              back[k] = v;
          });
          res.writeHead(r.status, back).end(out);
        })
        .catch((err: unknown) => res.writeHead(502).end(String(err)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held,
    release: () => {
      open = true;
      for (const go of waiting.splice(0)) go();
    },
    releaseOne: () => waiting.shift()?.(),
  };
}

t.test(
  'a file refused by the coverage fence is planned again in the run and committed',
  { skip: servicesSkip },
  async (t) => {
    const { db, tenant, root } = await serveSetup(t, 'replan', 'replan');
    // two re-exports of one recording, overlapping by 500 rows
    const [fa, fb] = writeDeviceFiles(root, tenant, 'c1', {
      masterSn: SN,
      files: 2,
      rows: 1000,
      overlap: 500,
      channels: 3,
      step: 60,
      seed: 21,
    });
    const expected = await expectedOf(root, [fa, fb]);
    t.equal(expected.points.size, 1500 * 3, 'the fixture: 1500 distinct rows × 3 channels');
    const [taskA] = await discover([fa], { root });
    const [taskB] = await discover([fb], { root });

    const proxy = await holdingProxy(t, db.env.INFLUX_URL);
    const job = (task: typeof taskA, influxUrl: string) =>
      runIngestJob([task], {
        pipeline: { workers: 0 },
        influx: resolveInfluxConfig({ influxUrl }, db.env),
        metaDb: '',
        // a process of its own: its own store (its own commits), no device claim
        postgres: { pool: db.pool, commitLingerMs: 0 },
      });
    // B plans against empty coverage, then waits for InfluxDB (held)
    const b = job(taskB, proxy.url);
    t.ok(await waitUntil(() => proxy.held() > 0, 60_000, 50), 'B planned and parsed its file (its write is held)');
    // A commits an overlapping file meanwhile: B's plan is stale
    const a = await job(taskA, db.env.INFLUX_URL);
    t.equal(a.exitCode, 0, 'A ingested its file');
    proxy.release();
    const rb = await b;
    const report = rb.report.files[0];
    t.equal(rb.exitCode, 0, `B's run ends well (${report.error?.code ?? ''} ${report.error?.message ?? ''})`);
    t.equal(report.status, 'ok', "B's file ok");
    t.ok(
      report.warnings.some((w) => /planned again once/.test(w)),
      `B's file says it was planned again (${report.warnings.join('; ')})`,
    );
    t.equal(report.duplicate_rows, 500, "B's new plan held A's 500 rows: counted as duplicates");
    t.ok(existsSync(parsedPath(fb)) && existsSync(parsedPath(fa)), 'both files in parsed/');

    const hourly = await db.pool.query<{ n: string }>(
      'SELECT coalesce(sum(samples), 0)::bigint AS n FROM core.hourly WHERE tenant = $1',
      [tenant],
    );
    t.equal(Number(hourly.rows[0].n), expected.points.size, 'hourly samples = the distinct points');
    const found = await pointsOf(db.env, tenant);
    t.equal(found.size, expected.points.size, 'InfluxDB points = the distinct points');
    const ledger = await db.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM core.files WHERE tenant = $1 GROUP BY 1',
      [tenant],
    );
    t.same(ledger.rows, [{ status: 'ok', n: 2 }], 'the ledger: both files ok, once each');
  },
);

t.test(
  'a file the fence keeps refusing is planned again 3 times, then left in place for a later run',
  { skip: servicesSkip },
  async (t) => {
    const { db, tenant, root } = await serveSetup(t, 'replan3', 'replan3');
    // B's file, and four files of the same logger another process commits one by one, each while B waits for InfluxDB
    // (the version is per device: they need not overlap B's file to make its plan stale)
    const files = writeDeviceFiles(root, tenant, 'c1', {
      masterSn: SN,
      files: 5,
      rows: 300,
      overlap: 0,
      channels: 3,
      step: 60,
      seed: 22,
    });
    const fb = files[4];
    const tasks = await discover(files, { root });
    const proxy = await holdingProxy(t, db.env.INFLUX_URL);
    const job = (task: (typeof tasks)[number], influxUrl: string) =>
      runIngestJob([task], {
        pipeline: { workers: 0 },
        influx: resolveInfluxConfig({ influxUrl }, db.env),
        metaDb: '',
        postgres: { pool: db.pool, commitLingerMs: 0 },
      });
    const b = job(tasks[4], proxy.url);
    for (let k = 0; k < 4; k++) {
      // B's pass k+1 is planned and waits for InfluxDB; another process commits a file of the device meanwhile
      t.ok(await waitUntil(() => proxy.held() > k, 60_000, 50), `B's pass ${k + 1} planned`);
      t.equal((await job(tasks[k], db.env.INFLUX_URL)).exitCode, 0, `the other process commits file ${k + 1}`);
      proxy.releaseOne();
    }
    const rb = await b;
    const report = rb.report.files[0];
    t.equal(rb.report.files.length, 1, 'one report for the file, not one per pass');
    t.equal(report.status, 'error');
    t.equal(report.error?.code, 'PV_ERR_STORE_UNAVAILABLE', "the store's failure, not the file's");
    t.match(report.error?.message, /still changing after 3 new plans, left in place/);
    t.equal(rb.exitCode, 1, 'exit 1: a file failed');
    t.ok(
      existsSync(fb) && !existsSync(parsedPath(fb)),
      'left in place for a later run (not in parsed/, not in error/)',
    );
    const ledger = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM core.files WHERE tenant = $1 AND status = 'ok'",
      [tenant],
    );
    t.equal(ledger.rows[0].n, 4, "the other process's four files only");
  },
);
