/**
 * The PostgreSQL stage's retry (retryPostgres): its own wait bound
 * (postgresWaitMs, not InfluxDB's storeWaitMs), BACKOFF.postgres, who owns
 * which error, and the storeWait event. No database: the calls are stubs.
 */
import t from 'tap';
import { ErrorCodes, StoreError } from '../../src/errors.js';
import { retryPostgres } from '../../src/pipeline/postgres-stage.js';
import type { StoreWait } from '../../src/pipeline/events.js';

const pgError = (code: string) => Object.assign(new Error(`SQLSTATE ${code}`), { code });

t.test('a store-owned failure is retried until the call succeeds, each wait an event', async (t) => {
  const waits: StoreWait[] = [];
  let calls = 0;
  const out = await retryPostgres(
    async () => {
      if (++calls < 3) throw pgError('40001');
      return 'committed';
    },
    10_000,
    { events: { storeWait: (w) => waits.push(w) } },
  );
  t.equal(out, 'committed');
  t.equal(calls, 3);
  t.same(
    waits.map((w) => [w.store, w.attempt]),
    [
      ['postgres', 1],
      ['postgres', 2],
    ],
  );
  t.equal(waits[0].cause, '40001', 'the SQLSTATE, as the retries metric labels it');
  t.match(waits[0].detail, /40001/);
  // BACKOFF.postgres: 250 ms base, jittered into its upper half
  t.ok(waits[0].delayMs >= 125 && waits[0].delayMs <= 250, `first delay ${waits[0].delayMs}`);
});

t.test('past its own wait bound the failure is STORE_UNAVAILABLE naming that bound', async (t) => {
  const t0 = Date.now();
  const err = await retryPostgres(() => Promise.reject(pgError('57P01')), 300, {}).catch((e: unknown) => e);
  t.ok(err instanceof StoreError);
  t.equal((err as StoreError).code, ErrorCodes.STORE_UNAVAILABLE);
  t.match((err as StoreError).message, /PostgreSQL unavailable for 0 s/);
  t.ok(Date.now() - t0 < 3000, 'gave up soon after the bound');
});

t.test("an error about the data is the file's: thrown at once, not retried", async (t) => {
  let calls = 0;
  const err = await retryPostgres(
    () => {
      calls++;
      return Promise.reject(pgError('22003'));
    },
    10_000,
    {},
  ).catch((e: unknown) => e);
  t.equal(calls, 1);
  t.equal((err as { code: string }).code, '22003');
});

t.test('refused credentials stop the file as STORE_AUTH without serve health, are waited out with it', async (t) => {
  const err = await retryPostgres(() => Promise.reject(pgError('28P01')), 10_000, {}).catch((e: unknown) => e);
  t.equal((err as StoreError).code, ErrorCodes.STORE_AUTH);
  const seen: string[] = [];
  let calls = 0;
  const health = {
    refused: (store: string) => seen.push(`refused ${store}`),
    ok: (store: string) => seen.push(`ok ${store}`),
  };
  const out = await retryPostgres(
    async () => {
      if (++calls < 2) throw pgError('28P01');
      return 1;
    },
    10_000,
    { health: health as never },
  );
  t.equal(out, 1);
  t.same(seen, ['refused postgres', 'ok postgres']);
});
