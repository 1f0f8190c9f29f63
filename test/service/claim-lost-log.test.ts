/**
 * A claim lost because PostgreSQL went away while a file was in flight is not
 * the file's failure: the log says, as a warning, that the file is kept in
 * place and retried, with the cause (never "file failed"), and the file is
 * ingested once PostgreSQL is back. PostgreSQL is made unreachable for this
 * serve only, through a TCP proxy the test controls (the shared service runs on).
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { influxGate } from '../support/http-proxy.js';
import { servicesSkip, servicesUp } from '../support/services.js';
import { serial, startServeCase, waitUntil } from '../support/serve-harness.js';
import { tcpProxy } from '../support/tcp-proxy.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'a claim lost with PostgreSQL down: a warning, the file kept and retried, then ingested',
  { skip: servicesSkip },
  async (t) => {
    const t0 = Date.now();
    const mark = (what: string) => t.comment(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    // PostgreSQL through a proxy the test can take down; InfluxDB through one that holds writes while the gate
    // is held: the file stays in flight, its claims taken
    const services = await servicesUp();
    mark('services taken');
    const pgUrl = new URL(services.DATABASE_URL);
    const pgProxy = await tcpProxy(pgUrl.hostname, Number(pgUrl.port));
    t.teardown(() => pgProxy.close());
    const { gate, url: influxUrl } = await influxGate(t, services.INFLUX_URL);
    const throughProxy = (url: string) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(pgProxy.port);
      return u.toString();
    };
    const c = await startServeCase(t, {
      db: 'claim_lost_log',
      label: 'claimlog',
      devices: [{ masterSn: serial(7), files: 1, rows: 200, overlap: 0, seed: 43 }],
      serve: { settle: 3600, rescan: 3600 },
      env: (db) => ({ ...db.env, DATABASE_URL: throughProxy(db.url), INFLUX_URL: influxUrl }),
    });
    const { files, serve } = c;
    await c.send(files, 'queued');
    t.ok(
      await waitUntil(() => gate.writes > 0, 60_000, 100),
      'the file is in flight: its write waits at the InfluxDB proxy',
    );

    // PostgreSQL goes away: every connection dropped (the claims session with it), new ones refused
    mark('file in flight');
    pgProxy.down();
    t.ok(
      await waitUntil(() => serve.logs().some((l) => l.event === 'claims_lost'), 30_000, 100),
      'serve sees its claims session end',
    );
    gate.release();
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
    await c.ingested(files, 90_000, 'then ingested, once PostgreSQL is back');
    mark('ingested');
    t.same(
      serve.logs().filter((l) => l.msg === 'file failed'),
      [],
      'never "file failed"',
    );
    await c.check(files);
    await c.stop();
  },
);
