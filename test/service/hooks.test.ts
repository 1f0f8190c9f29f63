/**
 * 200 concurrent SFTPGo hook calls for 50 files, most of
 * them sent more than once → each file ingested once (ledger, InfluxDB,
 * hourly aggregates). The watch cannot help (settle of an hour): every file
 * comes from a hook. A mkdir hook provisions the tenant first.
 */
import t from 'tap';
import { join } from 'node:path';
import { influxQuery, servicesSkip } from '../support/services.js';
import { promValue, startServeCase, uploadEvent, waitUntil } from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test('200 concurrent hook calls for 50 files: each file ingested once', { skip: servicesSkip }, async (t) => {
  const t0 = Date.now();
  // 5 devices × 10 files, each overlapping the previous one by 40 rows; the watch never settles them
  const device = (d: number) => ({ files: 10, rows: 120, overlap: 40, seed: 100 + d });
  const c = await startServeCase(t, {
    db: 'hooks',
    label: 'hooks',
    devices: [0, 1, 2, 3, 4].map(device),
    serve: { settle: 3600, rescan: 3600 },
  });
  const { db, tenant, root, files, serve } = c;
  const expected = await c.expected();
  t.ok(expected.duplicateRows > 0, `overlapping files: ${expected.duplicateRows} rows brought twice`);

  // provisioning: mkdir <company>/<campaign>
  const mk = await serve.hook({
    action: 'mkdir',
    username: tenant,
    path: join(root, tenant, 'camp'),
    virtual_path: '/camp',
    status: 1,
  });
  t.equal(mk.status, 200);
  t.equal(mk.body.result, 'queued');
  const provisioned = await waitUntil(async () => {
    const r = await db.pool.query('SELECT 1 FROM core.campaigns WHERE tenant = $1 AND campaign = $2', [tenant, 'camp']);
    return r.rowCount === 1;
  }, 20_000);
  t.ok(provisioned, 'mkdir provisioned the tenant and campaign in PostgreSQL');
  const dbs = await influxQuery(db.env, tenant, 'SHOW DATABASES');
  t.ok(
    dbs.series?.[0].values.some((v) => v[0] === tenant),
    'and its InfluxDB database',
  );

  // 200 calls: every file at least twice, some four or six times, all at once, in shuffled order
  const calls: string[] = [];
  files.forEach((f, i) => {
    const n = i < 10 ? 6 : i < 30 ? 4 : 3;
    for (let k = 0; k < n; k++) calls.push(f);
  });
  while (calls.length < 200) calls.push(files[calls.length % files.length]);
  t.equal(calls.length, 200);
  for (let i = calls.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [calls[i], calls[j]] = [calls[j], calls[i]];
  }
  const replies = await Promise.all(calls.map((f) => serve.hook(uploadEvent(root, f))));
  t.same([...new Set(replies.map((r) => r.status))], [200], 'every call answered 200');
  t.same([...new Set(replies.map((r) => r.body.result))], ['queued'], 'every call queued');
  const fresh = replies.filter((r) => r.body.duplicate === false).length;
  t.ok(fresh >= 50, `${fresh} calls were new (at least one per file)`);

  await c.ingested(files, 60_000, 'every file ingested within 60 s');
  // a late duplicate of a processed file: answered, and nothing happens
  const late = await serve.hook(uploadEvent(root, files[0]));
  t.equal(late.status, 200);
  await waitUntil(
    async () => promValue(await serve.metrics(), 'powerview_queue_depth', { queue: 'files_pending' }) === 0,
    5000,
  );
  await c.check(files, expected);
  const m = await serve.metrics();
  t.equal(promValue(m, 'powerview_files_total', { tenant, outcome: 'ok' }), 50, 'metrics: 50 files ok');
  t.equal(
    promValue(m, 'powerview_files_total', { tenant, outcome: 'noop' }),
    0,
    'no file processed a second time (noop)',
  );
  t.equal(
    promValue(m, 'powerview_points_written_total', { tenant }),
    expected.points.size,
    'metrics: the distinct points written',
  );
  t.equal(
    promValue(m, 'powerview_duplicate_rows_total', { tenant }),
    expected.duplicateRows,
    'metrics: the overlapping rows skipped',
  );
  t.equal(promValue(m, 'powerview_hook_events_total', { action: 'upload', result: 'queued' }), 201);
  await c.stop();
  t.comment(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
