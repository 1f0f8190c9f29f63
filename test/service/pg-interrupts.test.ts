/**
 * PostgreSQL cancelling and terminating serve's sessions under a stream of
 * uploads (pg_cancel_backend: 57014; pg_terminate_backend: 57P01 and a
 * connection lost mid-transaction; the claims session too) is the store's
 * failure, never the file's: no file in error/, every point in both stores,
 * nothing doubled.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesSkip } from '../support/services.js';
import { deliver, promValue, roundRobin, startServeCase, uploadEvent } from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'cancelled and terminated PostgreSQL sessions send no good file to error/',
  { skip: servicesSkip },
  async (t) => {
    // 3 devices × 12 overlapping files, delivered in export order, round-robin over the devices
    const device = (d: number) => ({ files: 12, rows: 120, overlap: 30, seed: 300 + d });
    const c = await startServeCase(t, {
      db: 'pg_interrupts',
      label: 'pgint',
      devices: [0, 1, 2].map(device),
      staged: true,
    });
    const { db, tenant, root, stage, serve } = c;
    const queue = roundRobin(c.perDevice);
    const dbName = new URL(db.url).pathname.slice(1);

    // the interrupter, while files arrive: every 150 ms one of serve's sessions at work is cancelled or terminated
    // (now and then the claims one); it stops with the stream, so that the retries can get through. Sessions are busy
    // for milliseconds at a time: it looks every 20 ms until it finds one, then waits its 150 ms
    let interrupting = true;
    const landed = { cancel: 0, terminate: 0, claims: 0 };
    const interrupter = (async () => {
      for (let i = 0; interrupting; i++) {
        try {
          const busy = await db.pool.query<{ pid: number; app: string }>(
            `SELECT pid, application_name AS app FROM pg_stat_activity
            WHERE datname = $1 AND application_name LIKE 'powerview serve%' AND pid <> pg_backend_pid()
              AND (state IN ('active', 'idle in transaction') OR application_name = 'powerview serve claims')`,
            [dbName],
          );
          const claims = busy.rows.find((r) => r.app === 'powerview serve claims');
          const worker = busy.rows.find((r) => r.app !== 'powerview serve claims');
          if (i % 12 === 6 && claims) {
            await db.pool.query('SELECT pg_terminate_backend($1)', [claims.pid]);
            landed.claims++;
          } else if (worker) {
            const kind = i % 2 === 0 ? 'cancel' : 'terminate';
            const r = await db.pool.query<{ ok: boolean }>(`SELECT pg_${kind}_backend($1) AS ok`, [worker.pid]);
            if (r.rows[0].ok) landed[kind]++;
          } else {
            i--; // nothing at work right now: look again soon, same turn
            await sleep(20);
            continue;
          }
        } catch {
          // the test's own session may be the one in trouble: next round
        }
        await sleep(150);
      }
    })();

    const delivered: string[] = [];
    const statuses = new Set<number>();
    while (queue.length > 0) {
      const [path] = deliver(stage, root, [queue.shift()!]);
      delivered.push(path);
      statuses.add((await serve.hook(uploadEvent(root, path))).status);
      await sleep(300);
    }
    interrupting = false;
    await interrupter;
    t.comment(`interrupts that landed on a busy session: ${JSON.stringify(landed)}`);
    t.ok(landed.cancel + landed.terminate > 0, 'sessions at work were cancelled or terminated');
    t.same([...statuses], [200], 'every hook answered 200');
    await c.ingested(delivered, 90_000, 'every file ingested despite the interrupts');
    await c.check(delivered);
    const m = await serve.metrics();
    t.equal(promValue(m, 'powerview_files_total', { tenant, outcome: 'error' }), 0, 'no file failed');
    t.comment(`PostgreSQL retries: ${promValue(m, 'powerview_retries_total', { store: 'postgres' })}`);
    const failed = serve.logs().filter((l) => l.msg === 'file failed' && l.code !== 'PV_ERR_STORE_UNAVAILABLE');
    t.same(
      failed.map((l) => `${String(l.code)}: ${String(l.error)}`),
      [],
      'no file failed for a reason of its own',
    );
    await c.stop();
  },
);
