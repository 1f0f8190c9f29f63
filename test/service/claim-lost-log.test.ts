/**
 * A claim lost because PostgreSQL went away while a file was in flight is not
 * the file's failure: the log says, as a warning, that the file is kept in
 * place and retried, with the cause (never "file failed"), and the file is
 * ingested once PostgreSQL is back. PostgreSQL is made unreachable for this
 * serve only, through a TCP proxy the test controls (the shared service runs on).
 */
import t from 'tap';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesSkip } from '../support/services.js';
import {
  checkStores,
  expectedOf,
  notParsed,
  serial,
  serveSetup,
  startServe,
  uploadEvent,
  waitParsed,
  waitUntil,
  writeDeviceFiles,
} from '../support/serve-harness.js';
import { tcpProxy } from '../support/tcp-proxy.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'a claim lost with PostgreSQL down: a warning, the file kept and retried, then ingested',
  { skip: servicesSkip },
  async (t) => {
    const t0 = Date.now();
    const mark = (what: string) => t.comment(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    const { db, tenant, base, root } = await serveSetup(t, 'claim_lost_log', 'claimlog');
    mark('services taken, database ready');
    const files = writeDeviceFiles(root, tenant, 'camp', {
      masterSn: serial(7),
      files: 1,
      rows: 200,
      overlap: 0,
      seed: 43,
    });
    const expected = await expectedOf(root, files);

    // PostgreSQL through a proxy the test can take down
    const pgUrl = new URL(db.env.DATABASE_URL);
    const pgProxy = await tcpProxy(pgUrl.hostname, Number(pgUrl.port));
    t.teardown(() => pgProxy.close());
    pgUrl.hostname = '127.0.0.1';
    pgUrl.port = String(pgProxy.port);

    // InfluxDB through a proxy that holds writes while `holding`: the file stays in flight, its claims taken
    const target = new URL(db.env.INFLUX_URL);
    let holding = true;
    const held: Array<() => void> = [];
    const forward = (req: IncomingMessage, res: ServerResponse) => {
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    const influx = createServer((req, res) => {
      if (holding && /write/.test(req.url ?? '')) held.push(() => forward(req, res));
      else forward(req, res);
    });
    await new Promise<void>((r) => influx.listen(0, '127.0.0.1', r));
    t.teardown(
      () =>
        new Promise<void>((r) => {
          influx.close(() => r());
          influx.closeAllConnections();
        }),
    );
    const env = {
      ...db.env,
      DATABASE_URL: pgUrl.toString(),
      INFLUX_URL: `http://127.0.0.1:${(influx.address() as AddressInfo).port}`,
    };

    const serve = await startServe(t, env, { root, stateDir: join(base, 'state'), settle: 3600, rescan: 3600 });
    for (const f of files) t.equal((await serve.hook(uploadEvent(root, f))).status, 200, 'queued');
    t.ok(
      await waitUntil(() => held.length > 0, 60_000, 100),
      'the file is in flight: its write waits at the InfluxDB proxy',
    );

    // PostgreSQL goes away: every connection dropped (the claims session with it), new ones refused
    mark('file in flight');
    pgProxy.down();
    t.ok(
      await waitUntil(() => serve.logs().some((l) => l.event === 'claims_lost'), 30_000, 100),
      'serve sees its claims session end',
    );
    holding = false;
    for (const go of held.splice(0)) go();
    // the commit waits for PostgreSQL (retried) ...
    t.ok(
      await waitUntil(() => serve.logs().some((l) => l.event === 'retry' && l.store === 'postgres'), 30_000, 100),
      'the commit is retried while PostgreSQL is down',
    );
    await sleep(500);
    // ... and once it is back, finds the claim gone
    mark('PostgreSQL back');
    pgProxy.up();
    const kept = await waitUntil(
      () => serve.logs().find((l) => l.event === 'file' && l.status === 'error'),
      60_000,
      100,
    );
    t.ok(kept, 'the file ended its first attempt');
    if (kept) {
      t.equal(kept.level, 40, 'logged as a warning');
      t.match(String(kept.msg), /kept in place, retried/, 'saying the file is kept and retried');
      t.match(String(kept.msg), /claim on .* lost/, 'with the cause in the message');
      t.equal(kept.code, 'PV_ERR_STORE_UNAVAILABLE', 'code: the store, not the file');
      t.match(String(kept.error), /claim on .* lost/, 'and in the error field');
      t.equal(kept.moved_to, null, 'the file stays in place');
    }
    mark('first attempt ended');
    t.ok(await waitParsed(files, 90_000), 'then ingested, once PostgreSQL is back');
    mark('ingested');
    if (notParsed(files).length) t.comment(serve.stderr().slice(-3000));
    t.same(
      serve.logs().filter((l) => l.msg === 'file failed'),
      [],
      'never "file failed"',
    );
    await checkStores(t, db, tenant, files, expected);
    serve.child.kill('SIGTERM');
    t.equal((await serve.exited).code, 0, 'SIGTERM: exit 0');
  },
);
