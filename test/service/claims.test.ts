/**
 * Claims with a release linger (serve): a released claim stays held by its
 * session for the linger, taken again within it without a new lock, and is
 * unlocked once the linger passes untouched; without a linger a release
 * unlocks at once (powerview ingest).
 */
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
