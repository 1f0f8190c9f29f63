/**
 * An ingest job stopped by a run-level store failure (here InfluxDB answering
 * writes with a redirect, as a misconfigured proxy would) is restarted by
 * serve: /readyz says so meanwhile, a metric counts the restarts, files stay in
 * place, and once the store answers properly everything is ingested — never a
 * live process that ingests nothing.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { httpProxy } from '../support/http-proxy.js';
import { servicesSkip, servicesUp } from '../support/services.js';
import { promValue, serial, startServeCase, waitUntil } from '../support/serve-harness.js';

// the services-lock wait comes first (other test files hold the services one at a time)
t.setTimeout(600_000);

t.test(
  'a job stopped by a store failure is restarted, and ingests once the store is right',
  { skip: servicesSkip },
  async (t) => {
    // a proxy in front of InfluxDB that answers writes with a redirect while `redirecting`
    let redirecting = true;
    const influxUrl = await httpProxy(t, (await servicesUp()).INFLUX_URL, (req, res) => {
      if (!redirecting || !req.url?.startsWith('/write')) return false;
      req.resume();
      res.writeHead(307, { location: `http://127.0.0.1:1${req.url}` });
      res.end();
      return true;
    });
    const c = await startServeCase(t, {
      db: 'job_restart',
      label: 'jobrs',
      devices: [{ masterSn: serial(2), files: 5, rows: 100, overlap: 20, seed: 77 }],
      staged: true,
      env: (db) => ({ ...db.env, INFLUX_URL: influxUrl }),
    });
    const { serve } = c;
    const delivered = await c.send(c.files);

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
    await c.ingested(delivered, 120_000, 'the store answers properly again: everything ingested');
    t.ok(await waitUntil(async () => (await serve.get('/readyz')).status === 200, 60_000, 250), '/readyz 200 again');
    t.equal(promValue(await serve.metrics(), 'powerview_ingest_job_up'), 1, 'the job runs');
    await c.check(delivered);
    await c.stop();
  },
);
