/**
 * SIGTERM while serve is idle and InfluxDB has become unreachable: the run
 * summary for the meta database (powerview_meta) is best effort at shutdown,
 * bounded by a short wait, and logged when dropped; it never holds the exit
 * for the drain bound. The file ingested before stays ingested.
 */
import t from 'tap';
import { servicesSkip } from '../support/services.js';
import { serial, serveFixtures, startServe, uploadEvent, waitParsed } from '../support/serve-harness.js';
import { tcpProxy } from '../support/tcp-proxy.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'SIGTERM while idle with InfluxDB unreachable: the meta run summary does not hold the exit',
  { skip: servicesSkip },
  async (t) => {
    const fx = await serveFixtures(t, {
      db: 'sigterm_meta',
      label: 'termmeta',
      devices: [{ masterSn: serial(5), files: 1, rows: 120, overlap: 0, seed: 41 }],
    });
    const { db, tenant, root, stateDir, files } = fx;
    const metaDb = `${tenant}_meta`;
    db.tenants.push(metaDb);
    const target = new URL(db.env.INFLUX_URL);
    const proxy = await tcpProxy(target.hostname, Number(target.port));
    t.teardown(() => proxy.close());
    const env = { ...db.env, INFLUX_URL: `http://127.0.0.1:${proxy.port}` };
    const drain = 60;
    const serve = await startServe(t, env, {
      root,
      stateDir,
      settle: 3600,
      rescan: 3600,
      drain,
      args: ['--meta-db', metaDb],
    });
    for (const f of files) t.equal((await serve.hook(uploadEvent(root, f))).status, 200, 'queued');
    t.ok(await waitParsed(files, 60_000), 'the file is ingested');
    // idle; InfluxDB goes away for this process (the proxy closes), then SIGTERM
    await proxy.close();
    const termAt = Date.now();
    serve.child.kill('SIGTERM');
    const exit = await serve.exited;
    const took = (Date.now() - termAt) / 1000;
    t.ok(took < drain / 2, `exited ${took.toFixed(1)} s after SIGTERM, well before the ${drain} s drain bound`);
    t.equal(exit.code, 0, 'exit code 0: nothing was in flight');
    const dropped = serve.logs().filter((l) => l.event === 'meta' && l.level === 40);
    t.ok(dropped.length >= 1, 'a warning says the summaries were not written to the meta database');
    t.ok(
      dropped.some((l) => String(l.db) === metaDb),
      'naming the meta database',
    );
    t.notOk(
      serve.logs().some((l) => l.event === 'file' && l.status !== 'ok'),
      'no file failed',
    );
    await fx.check(files);
  },
);
