/**
 * An ingest job stopped by a run-level store failure (here InfluxDB answering
 * writes with a redirect, as a misconfigured proxy would) is restarted by
 * serve: /readyz says so meanwhile, a metric counts the restarts, files stay in
 * place, and once the store answers properly everything is ingested — never a
 * live process that ingests nothing.
 */
import t from 'tap';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { servicesSkip } from '../support/services.js';
import {
  checkStores,
  deliver,
  expectedOf,
  notParsed,
  promValue,
  rebase,
  serial,
  serveSetup,
  startServe,
  uploadEvent,
  waitParsed,
  waitUntil,
  writeDeviceFiles,
} from '../support/serve-harness.js';

// the services-lock wait comes first (other test files hold the services one at a time)
t.setTimeout(600_000);

t.test(
  'a job stopped by a store failure is restarted, and ingests once the store is right',
  { skip: servicesSkip },
  async (t) => {
    const { db, tenant, base, root } = await serveSetup(t, 'job_restart', 'jobrs');
    const stage = join(base, 'stage');
    const ref = join(base, 'ref');
    const files = writeDeviceFiles(stage, tenant, 'camp', {
      masterSn: serial(2),
      files: 5,
      rows: 100,
      overlap: 20,
      seed: 77,
    });
    cpSync(stage, ref, { recursive: true });

    // a proxy in front of InfluxDB that answers writes with a redirect while `redirecting`
    const target = new URL(db.env.INFLUX_URL);
    let redirecting = true;
    const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (redirecting && req.url?.startsWith('/write')) {
        req.resume();
        res.writeHead(307, { location: `http://127.0.0.1:1${req.url}` });
        res.end();
        return;
      }
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    t.teardown(
      () =>
        new Promise<void>((r) => {
          proxy.close(() => r());
          proxy.closeAllConnections();
        }),
    );
    const env = { ...db.env, INFLUX_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };

    const serve = await startServe(t, env, { root, stateDir: join(base, 'state'), settle: 1, rescan: 5, workers: 1 });
    const delivered = deliver(stage, root, files);
    for (const p of delivered) t.equal((await serve.hook(uploadEvent(root, p))).status, 200, 'hook answered 200');

    const restarting = await waitUntil(
      async () => {
        const r = await serve.get('/readyz');
        const body = JSON.parse(r.text) as Record<string, string>;
        return r.status === 503 && typeof body.ingest === 'string' ? body : null;
      },
      30_000,
      200,
    );
    t.ok(restarting, '/readyz 503 names the ingest job while it restarts');
    if (restarting) t.match(restarting.ingest, /restarting after: PV_ERR_STORE_REJECTED/);
    // the second end comes once the restarted job has taken a file back from the scheduler's backoff: generous on a busy machine
    const again = await waitUntil(
      async () => promValue(await serve.metrics(), 'powerview_ingest_job_restarts_total') >= 2,
      120_000,
      500,
    );
    t.ok(again, 'restarted, and again while the store stays wrong');
    if (!again) t.comment(`job lines: ${JSON.stringify(serve.logs().filter((l) => l.event === 'job'))}`);
    t.ok(
      serve.logs().some((l) => l.event === 'job' && l.level === 50),
      'an error log line for each end of the job',
    );
    t.same(
      delivered.filter((p) => !existsSync(p)),
      [],
      'meanwhile every file stays in place',
    );
    t.same(
      existsSync(join(dirname(delivered[0]), 'error')) ? readdirSync(join(dirname(delivered[0]), 'error')) : [],
      [],
      'none in error/',
    );

    redirecting = false;
    const drained = await waitParsed(delivered, 120_000);
    t.ok(drained, 'the store answers properly again: everything ingested');
    if (!drained) t.comment(`not parsed: ${notParsed(delivered).length}; logs:\n${serve.stderr().slice(-3000)}`);
    t.ok(await waitUntil(async () => (await serve.get('/readyz')).status === 200, 60_000, 250), '/readyz 200 again');
    t.equal(promValue(await serve.metrics(), 'powerview_ingest_job_up'), 1, 'the job runs');
    await checkStores(
      t,
      db,
      tenant,
      delivered,
      await expectedOf(
        ref,
        delivered.map((p) => rebase(root, ref, p)),
      ),
    );
    serve.child.kill('SIGTERM');
    t.equal((await serve.exited).code, 0, 'SIGTERM: exit 0');
  },
);
