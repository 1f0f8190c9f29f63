import t from 'tap';
import { TimeZoneRules } from '../../src/tsv/timezone.js';
import { LocalTimeResolver } from '../../src/tsv/local-time.js';
import { parseWallClock } from '../../src/tsv/timestamp.js';
import { ErrorCodes, PowerViewError } from '../../src/errors.js';

/** wall clock `YYYY-MM-DD HH:MM:SS` → seconds since 1970 read as if UTC */
const wall = (s: string): number => Date.parse(`${s.replace(' ', 'T')}Z`) / 1000;
const utc = (s: string): number => Date.parse(s) / 1000;
const pwc = (s: string): number => {
  const b = Buffer.from(s, 'latin1');
  const tab = b.indexOf(9);
  return parseWallClock(b, 0, tab < 0 ? b.length : tab);
};
const resolver = (zone: string) => new LocalTimeResolver(TimeZoneRules.get(zone));

t.test('parseWallClock: valid forms', async (t) => {
  t.equal(pwc('05/01/26 10:00:00'), wall('2026-01-05 10:00:00'));
  t.equal(pwc('05/01/26 10:00:00\t1.5\t2'), wall('2026-01-05 10:00:00'), 'ends at the tab');
  t.equal(pwc('05/01/2026 10:00:00'), wall('2026-01-05 10:00:00'), 'DD/MM/YYYY');
  t.equal(pwc('05/01/2026 10:00:00\t7'), wall('2026-01-05 10:00:00'));
  t.equal(pwc('31/12/99 23:59:59'), wall('2099-12-31 23:59:59'), 'two-digit years are 20YY');
  t.equal(pwc('01/01/00 00:00:00'), wall('2000-01-01 00:00:00'));
  t.equal(pwc('29/02/24 12:00:00'), wall('2024-02-29 12:00:00'), '2024 is a leap year');
  t.equal(pwc('29/02/2000 12:00:00'), wall('2000-02-29 12:00:00'), '2000 is a leap year');
  t.equal(pwc('01/01/20 01:00:02'), wall('2020-01-01 01:00:02'), 'clock reset date still a valid time');
  // a range: parse only [start, end) in a larger buffer
  const b = Buffer.from('xx26/10/25 02:30:00\t1', 'latin1');
  t.equal(parseWallClock(b, 2, b.indexOf(9)), wall('2025-10-26 02:30:00'), 'start offset');
});

t.test('parseWallClock: invalid forms', async (t) => {
  const bad = [
    '31/02/25 10:00:00', // no 31 February
    '29/02/25 10:00:00', // 2025 not leap
    '29/02/2100 10:00:00', // 2100 not leap
    '31/04/25 10:00:00',
    '00/01/25 10:00:00',
    '01/00/25 10:00:00',
    '01/13/25 10:00:00',
    '24/10/25 24:00:00',
    '24/10/25 23:60:00',
    '24/10/25 23:59:60',
    '05-01-26 10:00:00',
    '05/01-26 10:00:00',
    '05/01/26T10:00:00',
    '05/01/26  10:00:00',
    '05/01/26 10.00.00',
    '05/01/26 10:00',
    '05/01/26 10:00:0',
    '5/01/26 10:00:00',
    '05/1/26 10:00:00',
    '05/01/26 10:00:00x\t1',
    '05/01/26 10:00:00 \t1',
    '05/01/26 10:00:001\t1',
    '05/01/202 10:00:00',
    '05/01/20266 10:00:00',
    '2025-01-01 10:00',
    '29/10/25 1',
    '',
    'NaN',
    '+5/01/26 10:00:00',
  ];
  for (const s of bad) t.equal(pwc(s), -1, JSON.stringify(s));
  // the end bound is honoured even when the buffer goes on
  const b = Buffer.from('05/01/26 10:00:00', 'latin1');
  t.equal(parseWallClock(b, 0, 12), -1, 'a cell cut before the seconds');
});

t.test('TimeZoneRules: unknown zone', async (t) => {
  for (const name of ['Mars/Olympus_Mons', 'Europe/Pariss', 'not a zone']) {
    let err: unknown;
    try {
      TimeZoneRules.get(name);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof PowerViewError, `${name}: PowerViewError`);
    t.equal((err as PowerViewError)?.code, ErrorCodes.TIMEZONE, `${name}: PV_ERR_TIMEZONE`);
    t.match((err as Error)?.message, name, `${name}: message names the zone`);
    t.equal(TimeZoneRules.isValid(name), false);
  }
  t.equal(TimeZoneRules.isValid('Europe/Paris'), true);
  t.equal(TimeZoneRules.isValid('UTC'), true);
  t.throws(
    () => TimeZoneRules.get('Mars/Olympus_Mons'),
    { code: ErrorCodes.TIMEZONE },
    'throws again, not cached as valid',
  );
});

t.test('UTC is the identity', async (t) => {
  for (const name of ['UTC', 'Etc/UTC', 'utc']) {
    const r = resolver(name);
    t.equal(r.isUtc, true, `${name} is UTC`);
    for (const s of ['2025-03-30 02:30:00', '2025-10-26 02:30:00', '2026-01-05 10:00:00', '2020-01-01 01:00:02']) {
      t.equal(r.toUtc(wall(s)), wall(s), `${name}: ${s}`);
    }
  }
  t.equal(TimeZoneRules.get('UTC').offsetAt(utc('2025-07-01T00:00:00Z')), 0);
});

t.test('Europe/Paris: winter +1, summer +2', async (t) => {
  const z = TimeZoneRules.get('Europe/Paris');
  t.equal(z.offsetAt(utc('2025-01-15T12:00:00Z')), 3600);
  t.equal(z.offsetAt(utc('2025-07-15T12:00:00Z')), 7200);
  const r = resolver('Europe/Paris');
  t.equal(r.toUtc(wall('2025-01-15 12:00:00')), utc('2025-01-15T11:00:00Z'), 'winter');
  t.equal(r.toUtc(wall('2025-07-15 12:00:00')), utc('2025-07-15T10:00:00Z'), 'summer');
  t.equal(r.toUtc(wall('2025-12-31 23:30:00')), utc('2025-12-31T22:30:00Z'), 'new year eve');
  t.equal(r.toUtc(wall('2026-01-01 00:30:00')), utc('2025-12-31T23:30:00Z'), 'over the year boundary');
  // the days either side of the transitions
  t.equal(r.toUtc(wall('2025-03-29 12:00:00')), utc('2025-03-29T11:00:00Z'));
  t.equal(r.toUtc(wall('2025-03-30 01:59:59')), utc('2025-03-30T00:59:59Z'), 'last second before the gap');
  t.equal(r.toUtc(wall('2025-03-30 03:00:00')), utc('2025-03-30T01:00:00Z'), 'first second after the gap');
  t.equal(r.toUtc(wall('2025-03-31 12:00:00')), utc('2025-03-31T10:00:00Z'));
  t.equal(r.toUtc(wall('2025-10-25 12:00:00')), utc('2025-10-25T10:00:00Z'));
  t.equal(r.toUtc(wall('2025-10-27 12:00:00')), utc('2025-10-27T11:00:00Z'));
  // other years, asked of the same long-lived resolver (day cache) and of fresh ones
  const cases: Array<[string, string]> = [
    ['2024-03-31 12:00:00', '2024-03-31T10:00:00Z'],
    ['2024-10-27 04:00:00', '2024-10-27T03:00:00Z'],
    ['2023-06-01 00:00:00', '2023-05-31T22:00:00Z'],
    ['2030-02-01 08:00:00', '2030-02-01T07:00:00Z'],
    ['2025-01-15 12:00:00', '2025-01-15T11:00:00Z'],
  ];
  for (const [s, expected] of cases) {
    t.equal(r.toUtc(wall(s)), utc(expected), `${s}: long-lived resolver`);
    t.equal(resolver('Europe/Paris').toUtc(wall(s)), utc(expected), `${s}: fresh resolver`);
  }
});

t.test('Europe/Paris: the spring gap is invalid', async (t) => {
  const r = resolver('Europe/Paris');
  for (const s of ['2025-03-30 02:00:00', '2025-03-30 02:30:00', '2025-03-30 02:59:59']) {
    t.ok(Number.isNaN(r.toUtc(wall(s))), `${s} is in the gap`);
  }
  t.ok(Number.isNaN(resolver('Europe/Paris').toUtc(wall('2024-03-31 02:15:00'))), '2024 gap too');
  t.same(TimeZoneRules.get('Europe/Paris').classify(wall('2025-03-30 02:10:00')), { kind: 'gap' });
});

t.test('Europe/Paris: autumn fold, both occurrences, row order decides', async (t) => {
  const r = resolver('Europe/Paris');
  const rows: string[] = ['2025-10-26 01:50:00'];
  for (let m = 0; m < 60; m += 10) rows.push(`2025-10-26 02:${String(m).padStart(2, '0')}:00`);
  for (let m = 0; m < 60; m += 10) rows.push(`2025-10-26 02:${String(m).padStart(2, '0')}:00`);
  rows.push('2025-10-26 03:00:00');
  const out = rows.map((s) => r.toUtc(wall(s)));
  t.equal(out.length, 14);
  t.equal(out[0], utc('2025-10-25T23:50:00Z'), '01:50 local is summer time');
  t.equal(out[1], utc('2025-10-26T00:00:00Z'), 'first 02:00 = 00:00Z');
  t.equal(out[7], utc('2025-10-26T01:00:00Z'), 'second 02:00 = 01:00Z');
  t.equal(out[13], utc('2025-10-26T02:00:00Z'), '03:00 local = 02:00Z');
  const steps = out.slice(1).map((v, i) => v - out[i]);
  t.same(steps, new Array(13).fill(600), 'strictly increasing, ten minutes apart');
});

t.test('Europe/Paris: a fold with only the first occurrence uses the summer offset', async (t) => {
  const r = resolver('Europe/Paris');
  const rows = [
    '2025-10-26 01:50:00',
    '2025-10-26 02:00:00',
    '2025-10-26 02:20:00',
    '2025-10-26 02:50:00',
    '2025-10-26 03:00:00',
  ];
  const out = rows.map((s) => r.toUtc(wall(s)));
  t.same(out, [
    utc('2025-10-25T23:50:00Z'),
    utc('2025-10-26T00:00:00Z'),
    utc('2025-10-26T00:20:00Z'),
    utc('2025-10-26T00:50:00Z'),
    utc('2025-10-26T02:00:00Z'),
  ]);
});

t.test('Europe/Paris: rows after the fold are winter time, also when the fold itself is absent', async (t) => {
  const r = resolver('Europe/Paris');
  t.equal(r.toUtc(wall('2025-10-26 01:50:00')), utc('2025-10-25T23:50:00Z'));
  t.equal(r.toUtc(wall('2025-10-26 04:00:00')), utc('2025-10-26T03:00:00Z'));
  t.equal(r.toUtc(wall('2025-10-26 12:00:00')), utc('2025-10-26T11:00:00Z'));
});

t.test('Europe/Paris: hourly rows across the fold (the sample pattern) stay distinct', async (t) => {
  // 00:00 … 01:00, 02:00, 02:00, 03:00 … : each row one hour apart in UTC
  const r = resolver('Europe/Paris');
  const rows = ['00:00', '01:00', '02:00', '02:00', '03:00', '04:00'].map((h) => r.toUtc(wall(`2025-10-26 ${h}:00`)));
  t.same(
    rows.slice(1).map((v, i) => v - rows[i]),
    [3600, 3600, 3600, 3600, 3600],
  );
});

t.test('America/New_York', async (t) => {
  const r = resolver('America/New_York');
  t.equal(r.toUtc(wall('2025-01-15 12:00:00')), utc('2025-01-15T17:00:00Z'), 'EST -5');
  t.equal(r.toUtc(wall('2025-07-15 12:00:00')), utc('2025-07-15T16:00:00Z'), 'EDT -4');
  t.ok(Number.isNaN(r.toUtc(wall('2025-03-09 02:30:00'))), 'spring gap 2025-03-09 02:30');
  const f = resolver('America/New_York');
  const fold = ['00:30', '01:00', '01:30', '01:00', '01:30', '02:00'].map((h) => f.toUtc(wall(`2025-11-02 ${h}:00`)));
  t.same(fold, [
    utc('2025-11-02T04:30:00Z'),
    utc('2025-11-02T05:00:00Z'),
    utc('2025-11-02T05:30:00Z'),
    utc('2025-11-02T06:00:00Z'),
    utc('2025-11-02T06:30:00Z'),
    utc('2025-11-02T07:00:00Z'),
  ]);
});

t.test('a zone without daylight saving', async (t) => {
  const r = resolver('Asia/Tokyo');
  t.equal(r.toUtc(wall('2025-03-30 02:30:00')), utc('2025-03-29T17:30:00Z'));
  t.equal(r.toUtc(wall('2025-10-26 02:30:00')), utc('2025-10-25T17:30:00Z'));
});
