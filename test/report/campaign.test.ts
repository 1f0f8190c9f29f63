/**
 * readCampaignReport against the real PostgreSQL, as the tenant's own login, on the demo archive
 * ingested through the CLI (fixture.ts): every number equals SQL over core.hourly read as the superuser
 * (energy per local day and channel, total, peak and its hour, voltage statistics, samples), --from and
 * --to cut local days in the tenant's zone, and row-level security keeps tenant B's rows (same serials)
 * out of tenant A's report.
 */
import t from 'tap';
import { ReportEmptyError, readCampaignReport } from '../../src/report/read.js';
import { renderJson } from '../../src/report/json.js';
import { servicesSkip } from '../support/services.js';
import { CAMPAIGN, reportDb } from './fixture.js';

t.setTimeout(600_000);

const close = (a: number | null, b: number | null) =>
  a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

t.test('the campaign report as the tenant login', { skip: servicesSkip }, async (t) => {
  const { db, A, B, loginPool } = await reportDb(t, 'num');
  const report = await readCampaignReport(loginPool(A), { tenant: A, campaign: CAMPAIGN });
  const sql = async <R>(text: string, params: unknown[] = [A, CAMPAIGN]) =>
    (await db.pool.query<R & Record<string, unknown>>(text, params)).rows;
  const key = (r: { device_master_sn: string; channel_id: string }) =>
    `${String(r.device_master_sn)} ${String(r.channel_id)}`;

  t.test('energy per local day and channel, and the total, equal SQL over core.hourly', async (t) => {
    const days = await sql<{ day: string; device_master_sn: string; channel_id: string; energy_kwh: number }>(
      `SELECT to_char(date_trunc('day', h.hour AT TIME ZONE t.time_zone), 'YYYY-MM-DD') AS day, h.device_master_sn,
              h.channel_id, sum(h.energy_wh) / 1000 AS energy_kwh
         FROM core.hourly h JOIN core.tenants t USING (tenant)
        WHERE h.tenant = $1 AND h.campaign = $2 AND h.channel_unit = 'W' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    t.ok(days.length > 10, `${days.length} (day, channel) rows`);
    t.equal(report.daily.length, days.length, 'as many rows');
    const mine = new Map(report.daily.map((d) => [`${d.day} ${d.deviceMasterSn} ${d.channelId}`, d.energyKwh]));
    const off = days.filter((d) => !close(mine.get(`${d.day} ${key(d)}`) ?? null, d.energy_kwh));
    t.same(off, [], 'every (day, channel) energy equal');
    t.ok(new Set(days.map((d) => d.day)).has('2025-10-26'), 'the autumn clock change day is one local day');
    const [total] = await sql<{ kwh: number }>(
      "SELECT sum(energy_wh) / 1000 AS kwh FROM core.hourly WHERE tenant = $1 AND campaign = $2 AND channel_unit = 'W'",
    );
    t.ok(total.kwh > 0 && close(report.totalEnergyKwh, total.kwh), `total ${report.totalEnergyKwh} kWh`);
    const perChannel = report.channels.reduce((s, c) => s + (c.energyKwh ?? 0), 0);
    t.ok(close(perChannel, total.kwh), 'the channels add up to the total');
  });

  t.test('peak power and its hour, voltage min/mean/max, samples and hours equal SQL', async (t) => {
    const rows = await sql<{
      device_master_sn: string;
      channel_id: string;
      unit: string;
      samples: number;
      peak: number;
      peak_at: Date;
      min: number;
      mean: number;
      max: number;
    }>(
      `SELECT device_master_sn, channel_id, channel_unit AS unit, sum(samples)::float8 AS samples,
              max(max_value) AS peak, (array_agg(hour ORDER BY max_value DESC, hour))[1] AS peak_at,
              min(min_value) AS min, sum(sum_value) / sum(samples) AS mean, max(max_value) AS max
         FROM core.hourly WHERE tenant = $1 AND campaign = $2 GROUP BY 1, 2, 3`,
    );
    t.equal(report.channels.length, rows.length, `${rows.length} channels`);
    const byKey = new Map(report.channels.map((c) => [`${c.deviceMasterSn} ${c.channelId}`, c]));
    let w = 0;
    let v = 0;
    for (const r of rows) {
      const c = byKey.get(key(r))!;
      if (c.samples !== r.samples) t.fail(`${key(r)}: samples ${c.samples} ≠ ${r.samples}`);
      if (r.unit === 'W') {
        w++;
        if (!close(c.peakW, r.peak) || c.peakAt !== r.peak_at.toISOString().replace('.000Z', 'Z'))
          t.fail(`${key(r)}: peak ${c.peakW} at ${c.peakAt} ≠ ${r.peak} at ${r.peak_at.toISOString()}`);
      }
      if (r.unit === 'V') {
        v++;
        if (!close(c.minV, r.min) || !close(c.meanV, r.mean) || !close(c.maxV, r.max))
          t.fail(`${key(r)}: voltage ${c.minV}/${c.meanV}/${c.maxV} ≠ ${r.min}/${r.mean}/${r.max}`);
      } else if (c.minV !== null) t.fail(`${key(r)}: a ${r.unit} channel has no voltage figures`);
    }
    t.ok(w > 0 && v > 0, `${w} power and ${v} voltage channels checked`);
    const [n] = await sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM core.hourly WHERE tenant = $1 AND campaign = $2',
    );
    t.equal(report.hourly.length, n.n, 'one hourly row per channel and hour');
    const devices = await sql<{ d: string }>(
      'SELECT DISTINCT device_master_sn AS d FROM core.hourly WHERE tenant = $1 AND campaign = $2 ORDER BY 1',
    );
    t.same(
      report.devices.map((d) => d.deviceMasterSn),
      devices.map((d) => d.d),
      'the devices of the campaign',
    );
    for (const d of report.devices) {
      t.ok(
        d.completeness !== null && d.completeness > 0 && d.completeness <= 1.0001,
        `${d.deviceMasterSn}: completeness ${d.completeness}`,
      );
    }
  });

  t.test('--from and --to are local days in the tenant zone, inclusive', async (t) => {
    const day = await readCampaignReport(loginPool(A), {
      tenant: A,
      campaign: CAMPAIGN,
      from: '2025-10-26',
      to: '2025-10-26',
    });
    t.same(
      day.period,
      { from: '2025-10-25T22:00:00Z', to: '2025-10-26T23:00:00Z', timeZone: 'Europe/Paris' },
      '25 hours',
    );
    t.same([...new Set(day.daily.map((d) => d.day))], ['2025-10-26']);
    t.ok(
      day.hourly.every((h) => h.hour >= day.period.from && h.hour < day.period.to),
      'hours within the period',
    );
    const hours = new Set(day.hourly.filter((h) => h.unit === 'W').map((h) => h.hour));
    t.ok(hours.size <= 25, `${hours.size} hours of power on the day of the clock change`);
    const expected = await sql<{ d: string; c: number }>(
      `SELECT h.device_master_sn AS d, sum(h.samples)::float8 / (count(DISTINCT h.channel_id) * floor(90000 / (
                SELECT mode() WITHIN GROUP (ORDER BY step) FROM core.coverage c
                 WHERE c.tenant = h.tenant AND c.device_master_sn = h.device_master_sn AND c.n > 1))) AS c
         FROM core.hourly h
        WHERE h.tenant = $1 AND h.campaign = $2 AND h.hour >= '2025-10-25T22:00:00Z' AND h.hour < '2025-10-26T23:00:00Z'
        GROUP BY h.tenant, h.device_master_sn ORDER BY 1`,
    );
    t.ok(expected.length > 0, 'devices with data on the day');
    t.same(
      day.devices.map((d) => [d.deviceMasterSn, Number(d.completeness?.toFixed(12))]),
      expected.map((e) => [e.d, Number(e.c.toFixed(12))]),
      'completeness: samples / (channels × the steps of the 25-hour day)',
    );
    await t.rejects(
      readCampaignReport(loginPool(A), { tenant: A, campaign: CAMPAIGN, from: '2030-01-01', to: '2030-01-31' }),
      ReportEmptyError,
      'a period without data is an error, not an empty report',
    );
    await t.rejects(readCampaignReport(loginPool(A), { tenant: A, campaign: CAMPAIGN, from: '2025-02-30' }), {
      code: 'PV_ERR_USAGE',
    });
  });

  t.test("tenant A's report never shows tenant B's rows, and A's login cannot read B's", async (t) => {
    const b = await readCampaignReport(loginPool(B), { tenant: B, campaign: CAMPAIGN });
    t.same(
      b.devices.map((d) => d.deviceMasterSn),
      ['02001171'],
      'B: its one device',
    );
    const [bs] = await sql<{ n: number }>(
      'SELECT sum(samples)::float8 AS n FROM core.hourly WHERE tenant = $1 AND campaign = $2',
      [B, CAMPAIGN],
    );
    t.equal(
      b.channels.reduce((s, c) => s + c.samples, 0),
      bs.n,
      "B's samples are B's alone",
    );
    const aSamples = report.channels.filter((c) => c.deviceMasterSn === '02001171').map((c) => c.samples);
    const [as] = await sql<{ n: number }>(
      "SELECT sum(samples)::float8 AS n FROM core.hourly WHERE tenant = $1 AND campaign = $2 AND device_master_sn = '02001171'",
    );
    t.equal(
      aSamples.reduce((x, y) => x + y, 0),
      as.n,
      "A's device 02001171 (the serial B has too): A's samples only",
    );
    t.same(
      report.quality.map((q) => q.kind),
      ['voltage_out_of_band', 'gap'],
      "A's findings of the period only",
    );
    t.same(
      b.quality.map((q) => q.kind),
      ['stuck_value'],
      "B's finding only",
    );
    t.match(report.quality[0], { open: true, channelId: 'M02001171_U1', file: /^T302_\d{6}_\d{6}(_UTC)?\.tsv$/ });
    t.match(report.quality[1], { open: false, file: null, measure: 6 });
    t.notOk(renderJson(report).toString().includes(B), "B's name appears nowhere in A's report");
    await t.rejects(
      readCampaignReport(loginPool(A), { tenant: B, campaign: CAMPAIGN }),
      ReportEmptyError,
      "A's login sees nothing of B",
    );
    await t.rejects(readCampaignReport(loginPool(A, 'another-secret-0123456789'), { tenant: A, campaign: CAMPAIGN }), {
      code: 'PV_ERR_DATABASE_AUTH',
    });
  });
});
