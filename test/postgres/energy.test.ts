/**
 * The daily and monthly energy views group the UTC hours by the TENANT's
 * time zone (core.tenants.time_zone): the same UTC hour lands on different
 * local days and months for a tenant in Europe/Paris and one in
 * America/New_York; a spring-forward day has 23 hours; only W channels count.
 */
import t from 'tap';
import { migrate } from '../../src/postgres/migrate.js';
import { servicesSkip } from '../support/services.js';
import { ingestFile, partial, testDatabase, type Partial } from '../support/postgres-db.js';

t.setTimeout(300_000);

const utc = (y: number, m: number, d: number, h: number) => Date.UTC(y, m - 1, d, h) / 1000;
/** a W hour with a known energy (dyadic, so sums are exact) */
const wHour = (hour: number, energy: number): Partial => ({
  ...partial('M1_Ch1', 'W', hour, 2, 100),
  energy_wh: energy,
});

t.test('energy views in the tenant time zone', { skip: servicesSkip }, async (t) => {
  const db = await testDatabase(t, 'energy');
  await migrate(db.pool);
  const paris = 'energy_paris';
  const ny = 'energy_ny';
  await db.pool.query("SELECT core.ensure_tenant($1, 'Europe/Paris'), core.ensure_tenant($2, 'America/New_York')", [
    paris,
    ny,
  ]);
  db.dropRoleLater('pv_tenant_energy_paris');
  db.dropRoleLater('pv_tenant_energy_ny');

  const hours = [
    wHour(utc(2025, 1, 15, 12), 1.5), // 13:00 Paris, 07:00 New York: Jan 15 for both
    wHour(utc(2025, 1, 15, 23), 2.25), // 00:00 Jan 16 Paris, 18:00 Jan 15 New York
    wHour(utc(2025, 1, 31, 23), 4), // Feb 1 Paris, Jan 31 New York (month boundary)
    partial('M1_U1', 'V', utc(2025, 1, 15, 12), 2, 230), // not W: not in the energy views
  ];
  for (const tenant of [paris, ny]) {
    await ingestFile(db.pool, { tenant, campaign: 'c', device: 'M1', partials: hours });
  }

  for (const tool of ['metabase', 'powerbi']) {
    t.test(`bi.vw_${tool}_energy_daily / _monthly`, async (t) => {
      const daily = await db.pool.query(
        `SELECT tenant, time_zone, to_char(day, 'YYYY-MM-DD') AS day, hours::int, samples::int, energy_wh, energy_kwh
           FROM bi.vw_${tool}_energy_daily ORDER BY tenant, day`,
      );
      t.same(
        daily.rows,
        [
          {
            tenant: ny,
            time_zone: 'America/New_York',
            day: '2025-01-15',
            hours: 2,
            samples: 4,
            energy_wh: 3.75,
            energy_kwh: 0.00375,
          },
          {
            tenant: ny,
            time_zone: 'America/New_York',
            day: '2025-01-31',
            hours: 1,
            samples: 2,
            energy_wh: 4,
            energy_kwh: 0.004,
          },
          {
            tenant: paris,
            time_zone: 'Europe/Paris',
            day: '2025-01-15',
            hours: 1,
            samples: 2,
            energy_wh: 1.5,
            energy_kwh: 0.0015,
          },
          {
            tenant: paris,
            time_zone: 'Europe/Paris',
            day: '2025-01-16',
            hours: 1,
            samples: 2,
            energy_wh: 2.25,
            energy_kwh: 0.00225,
          },
          {
            tenant: paris,
            time_zone: 'Europe/Paris',
            day: '2025-02-01',
            hours: 1,
            samples: 2,
            energy_wh: 4,
            energy_kwh: 0.004,
          },
        ],
        '23:00 UTC is the next day in Paris, the same day in New York',
      );
      const monthly = await db.pool.query(
        `SELECT tenant, to_char(month, 'YYYY-MM-DD') AS month, hours::int, energy_wh FROM bi.vw_${tool}_energy_monthly ORDER BY tenant, month`,
      );
      t.same(
        monthly.rows,
        [
          { tenant: ny, month: '2025-01-01', hours: 3, energy_wh: 7.75 },
          { tenant: paris, month: '2025-01-01', hours: 2, energy_wh: 3.75 },
          { tenant: paris, month: '2025-02-01', hours: 1, energy_wh: 4 },
        ],
        'the last UTC hour of January is February in Paris',
      );
    });
  }

  t.test('the session time zone does not matter', async (t) => {
    const client = await db.pool.connect();
    try {
      await client.query("SET TIME ZONE 'Asia/Kolkata'");
      const r = await client.query(
        "SELECT to_char(day, 'YYYY-MM-DD') AS day FROM bi.vw_metabase_energy_daily WHERE tenant = $1 ORDER BY day",
        [paris],
      );
      t.same(
        r.rows.map((x) => x.day),
        ['2025-01-15', '2025-01-16', '2025-02-01'],
      );
    } finally {
      client.release();
    }
  });

  t.test('a spring-forward day in Paris has 23 hours; an autumn day 25', async (t) => {
    const spring: Partial[] = [];
    for (let h = utc(2025, 3, 29, 23); h < utc(2025, 3, 30, 22); h += 3600) spring.push(wHour(h, 1));
    const autumn: Partial[] = [];
    for (let h = utc(2025, 10, 25, 22); h < utc(2025, 10, 26, 23); h += 3600) autumn.push(wHour(h, 1));
    await ingestFile(db.pool, { tenant: paris, campaign: 'c', device: 'M1', partials: [...spring, ...autumn] });
    const r = await db.pool.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, hours::int, energy_wh FROM bi.vw_metabase_energy_daily
        WHERE tenant = $1 AND day IN ('2025-03-30', '2025-10-26') ORDER BY day`,
      [paris],
    );
    t.same(r.rows, [
      { day: '2025-03-30', hours: 23, energy_wh: 23 },
      { day: '2025-10-26', hours: 25, energy_wh: 25 },
    ]);
  });

  t.test('changing the tenant zone regroups its history', async (t) => {
    await db.pool.query("UPDATE core.tenants SET time_zone = 'UTC' WHERE tenant = $1", [ny]);
    const r = await db.pool.query(
      "SELECT to_char(day, 'YYYY-MM-DD') AS day, energy_wh FROM bi.vw_powerbi_energy_daily WHERE tenant = $1 ORDER BY day",
      [ny],
    );
    t.same(r.rows, [
      { day: '2025-01-15', energy_wh: 3.75 },
      { day: '2025-01-31', energy_wh: 4 },
    ]);
    const hourly = await db.pool.query(
      'SELECT count(*)::int AS n, count(*) FILTER (WHERE channel_unit = $2)::int AS v FROM bi.vw_metabase_channel_hourly WHERE tenant = $1',
      [ny, 'V'],
    );
    t.same(hourly.rows[0], { n: 4, v: 1 }, 'the hourly view keeps every unit');
  });
});
