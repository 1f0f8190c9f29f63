/**
 * Claims with a release linger (serve): a released claim stays held by its
 * session for the linger, taken again within it without a new lock, and is
 * unlocked once the linger passes untouched; without a linger a release
 * unlocks at once (powerview ingest).
 */
import pg from 'pg';
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { Claims } from '../../src/service/claims.js';
import { servicesSkip, servicesUp } from '../support/services.js';

t.setTimeout(600_000);

t.test('a released claim lingers, is kept when taken again, then unlocked', { skip: servicesSkip }, async (t) => {
  const env = await servicesUp();
  const config = { connectionString: env.DATABASE_URL };
  const mine = new Claims(config, (p) => p, undefined, { releaseLingerMs: 400 });
  const other = new Claims(config, (p) => p);
  t.teardown(async () => {
    await mine.close();
    await other.close();
  });
  const folder = `claims-linger/${process.pid}/dev1`;
  t.ok(await mine.tryClaim(folder), 'claim taken');
  await mine.release(folder);
  t.notOk(await other.tryClaim(folder), 'within the linger the released claim is still held');
  t.ok(mine.keep(folder), 'taken again within the linger: kept');
  await sleep(700);
  t.notOk(await other.tryClaim(folder), 'a kept claim is not unlocked when the linger would have ended');
  await mine.release(folder);
  await sleep(700);
  t.notOk(mine.isHeld(folder), 'past the linger: let go');
  t.ok(await other.tryClaim(folder), 'and another process takes it');
  await other.release(folder);

  await mine.claimDevice('claims_linger', `${process.pid}`);
  await mine.releaseDevice('claims_linger', `${process.pid}`);
  await mine.claimDevice('claims_linger', `${process.pid}`);
  await sleep(700);
  const probe = new Claims(config, null, undefined, { waitNoticeMs: 100_000 });
  t.teardown(() => probe.close());
  const waited = await Promise.race([
    probe.claimDevice('claims_linger', `${process.pid}`).then(() => 'taken'),
    sleep(600).then(() => 'waiting'),
  ]);
  t.equal(waited, 'waiting', 'a device claim taken again within its linger stays held past it');
  await mine.releaseDevice('claims_linger', `${process.pid}`);
  await sleep(500);
  t.equal(
    await Promise.race([
      probe.claimDevice('claims_linger', `${process.pid}`).then(() => 'taken'),
      sleep(3000).then(() => 'waiting'),
    ]),
    'taken',
    'released and untouched past the linger: another process takes the device',
  );
});

t.test('without a linger a release unlocks at once', { skip: servicesSkip }, async (t) => {
  const env = await servicesUp();
  const config = { connectionString: env.DATABASE_URL };
  const mine = new Claims(config, (p) => p);
  const other = new Claims(config, (p) => p);
  t.teardown(async () => {
    await mine.close();
    await other.close();
  });
  const folder = `claims-now/${process.pid}/dev1`;
  t.ok(await mine.tryClaim(folder));
  await mine.release(folder);
  t.ok(await other.tryClaim(folder), 'released: another process takes it at once');
});

t.test('closing stops a wait for a device claim and opens no session again', { skip: servicesSkip }, async (t) => {
  const env = await servicesUp();
  const config = { connectionString: env.DATABASE_URL };
  const holder = new Claims(config, null);
  const app = `claims-close-${process.pid}`;
  const waiter = new Claims(config, null, undefined, { applicationName: app, waitNoticeMs: 100_000 });
  const probe = new pg.Client(config);
  await probe.connect();
  t.teardown(async () => {
    await waiter.close();
    await holder.close();
    await probe.end();
  });
  await holder.claimDevice('claims_close', `${process.pid}`);
  const waiting = waiter.claimDevice('claims_close', `${process.pid}`).then(
    () => 'taken',
    (err: unknown) => (err as Error).message,
  );
  await sleep(300);
  await waiter.close();
  await holder.releaseDevice('claims_close', `${process.pid}`);
  t.equal(
    await Promise.race([waiting, sleep(5000).then(() => 'still waiting')]),
    'claims closed',
    'the wait ends with the close',
  );
  await sleep(1500);
  const sessions = await probe.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
    app,
  ]);
  t.equal(sessions.rows[0].n, 0, 'no session of the closed Claims is left open');
});
