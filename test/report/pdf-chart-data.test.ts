/**
 * What the PDF report's charts plot: series capped at ten with the rest
 * summed, daily energy summing to the report's, the hour-of-day profile in
 * the tenant's zone; and how numbers and local times are written.
 */
import t from 'tap';
import { MAX_SERIES, OTHER, chartSeries, dailyPoints, profilePoints } from '../../src/report/pdf-chart-data.js';
import { fixed, kwh, localHour, localTime, percent } from '../../src/report/pdf-format.js';
import { reportFixture } from '../support/report-fixture.js';

t.test('at most ten series: the nine largest channels by energy, the rest summed', async (t) => {
  const report = reportFixture({ devices: 3, powerChannels: 5, days: 2 });
  const s = chartSeries(report);
  t.equal(s.order.length, MAX_SERIES, 'ten series');
  t.equal(s.order[s.order.length - 1], OTHER, '"Other channels" last');
  const power = report.channels.filter((c) => c.energyKwh !== null);
  const largest = [...power].sort((a, b) => b.energyKwh! - a.energyKwh!).slice(0, MAX_SERIES - 1);
  t.same(
    s.order.slice(0, -1),
    largest.map((c) => `${c.deviceMasterSn} ${c.channelId}${c.label ? ` ${c.label}` : ` ${c.name}`}`),
    'largest first, named device and channel',
  );
  const points = dailyPoints(report, s);
  const total = points.reduce((sum, p) => sum + p.kwh, 0);
  t.ok(Math.abs(total - report.totalEnergyKwh) < 1e-6, `daily points sum to the total (${total})`);
  const days = [...new Set(points.map((p) => p.day))];
  t.same(days, [...days].sort(), 'days ascending');
});

t.test('few channels: one series each, no "Other channels", no device prefix for one device', async (t) => {
  const report = reportFixture({ devices: 1, powerChannels: 3 });
  const s = chartSeries(report);
  t.equal(s.order.length, 3);
  t.notOk(s.order.includes(OTHER));
  t.ok(
    s.order.every((name) => name.startsWith('ch')),
    `names: ${s.order.join(', ')}`,
  );
});

t.test('the profile is each channel mean per local hour of day', async (t) => {
  const report = reportFixture({ devices: 1, powerChannels: 1, voltageChannels: 0, days: 3 });
  const points = profilePoints(report, chartSeries(report));
  t.equal(points.length, 24, 'one point per hour of day');
  for (const hour of [0, 7, 13]) {
    const rows = report.hourly.filter((h) => localHour(h.hour, 'Europe/Zurich') === hour);
    const mean = rows.reduce((s, h) => s + h.mean, 0) / rows.length;
    const p = points.find((q) => q.hour === hour)!;
    t.ok(Math.abs(p.watts - mean) < 1e-9, `hour ${hour}: ${p.watts} = ${mean}`);
  }
  // the fixture's daytime bump peaks at local 13:00 (UTC 12:00)
  const top = [...points].sort((a, b) => b.watts - a.watts)[0];
  t.equal(top.hour, 13, 'peak hour is local');
});

t.test('local times follow the zone, daylight saving included', async (t) => {
  t.equal(localTime('2025-03-30T00:30:00Z', 'Europe/Zurich'), '2025-03-30 01:30', 'winter time, UTC+1');
  t.equal(localTime('2025-03-30T01:30:00Z', 'Europe/Zurich'), '2025-03-30 03:30', 'summer time, UTC+2');
  t.equal(localTime('2025-01-01T00:00:00Z', 'America/New_York'), '2024-12-31 19:00');
  t.equal(localTime('2025-06-01T12:00:00Z', 'UTC'), '2025-06-01 12:00');
  t.equal(localHour('2025-06-01T23:00:00Z', 'Europe/Zurich'), 1, 'next day hour 1');
  t.equal(localTime(null, 'UTC'), '–');
});

t.test('numbers: fixed decimals, comma thousands, a dash for none', async (t) => {
  t.equal(kwh(1234567.8912), '1,234,567.891');
  t.equal(kwh(0.0004), '0.000');
  t.equal(kwh(-12.5), '-12.500');
  t.equal(fixed(null, 2), '–');
  t.equal(fixed(Number.NaN, 2), '–');
  t.equal(percent(0.95833), '95.8 %');
  t.equal(percent(null), '–');
});
