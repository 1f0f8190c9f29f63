/**
 * A month of daily MV2 exports (real names, T302_YYMMDD_HHMMSS.tsv, local
 * time) and then a long re-export of the same logger, renamed by the customer
 * (T302_02001283_T302_251202_214031.tsv: sorts FIRST by path) and whose
 * header changed layout (its first column is a power channel, so the
 * positional channel ids U1..U3/Ch1.. shift: Ch1 holds a voltage). Exported
 * last, it must be applied last: the daily files bring the month's points,
 * the re-export only adds its extra day (exactly-once: the first file in
 * export order that brings a point wins). The field defect: applied in path
 * order, the re-export won and the power channel Ch1 held voltages in both
 * stores for the whole month. The ledger's export_time is set for real names
 * (local names in the tenant's zone, a V003 header declaring UTC as UTC).
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { exportFileName, formatWallClock, wallClockIn, writeFile as writeTsv } from '../../fixtures/generate.js';
import type { Test } from 'tap';
import { ingestArgs } from '../support/cli-helpers.js';
import { pointsOf, runCli, servicesSkip } from '../support/services.js';
import { serveSetup, startServe, waitParsed } from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

const ZONE = 'Europe/Paris';
const SN = '02001283';
const STEP = 600;
const ROWS_PER_DAY = 144;
const DAYS = 30;
/** 01/11/2025 00:00 in Paris (CET, UTC+1): no clock change in the month */
const T0 = Date.UTC(2025, 9, 31, 23, 0, 0) / 1000;
const MONTH_END = T0 + DAYS * 86400;

const volts = (k: number, ts: number) => (230 + k + ((ts / STEP) % 7) * 0.1).toFixed(1);
const watts = (j: number, ts: number) => (1000 * (j + 1) + ((ts / STEP) % 13)).toFixed(1);

/** A V002 file: rows at `from + r × STEP` (UTC), written as Paris wall-clock time; `reordered`: the re-export's layout. */
function v002(from: number, rows: number, reordered: boolean): string {
  const labels = reordered
    ? ['Voie1 W', 'Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie2 W', 'Voie3 W']
    : ['Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie1 W', 'Voie2 W', 'Voie3 W'];
  const lines = [[SN, ...labels.map(() => SN)].join('\t'), ['MV_T302_V002', ...labels].join('\t')];
  for (let r = 0; r < rows; r++) {
    const ts = from + r * STEP;
    const v = [volts(0, ts), volts(1, ts), volts(2, ts)];
    const p = [watts(0, ts), watts(1, ts), watts(2, ts)];
    const cells = reordered ? [p[0], v[0], v[1], v[2], p[1], p[2]] : [...v, ...p];
    lines.push([formatWallClock(wallClockIn(ZONE, ts)), ...cells].join('\t'));
  }
  return lines.join('\n') + '\n';
}

/** The month of daily files, the re-export (last, first by path) and a V003 file under `root/company/c/`. */
async function writeArchive(
  t: Test,
  root: string,
  company: string,
): Promise<{ daily: string[]; reexport: string; paths: string[] }> {
  const dir = join(root, company, 'c', SN);
  mkdirSync(dir, { recursive: true });
  const daily: string[] = [];
  for (let d = 0; d < DAYS; d++) {
    const from = T0 + d * 86400;
    // exported the next day at 00:05, named in local time (02/11/2025 00:05 … 01/12/2025 00:05)
    const name = exportFileName(wallClockIn(ZONE, from + 86400 + 300), 'v002');
    daily.push(name);
    writeFileSync(join(dir, name), v002(from, ROWS_PER_DAY, false));
  }
  t.equal(daily[0], 'T302_251102_000500.tsv', 'real MV2 names');
  // the whole month again plus one more day, exported 02/12/2025 21:40:31 and renamed with the serial in front
  const reexport = `T302_${SN}_T302_251202_214031.tsv`;
  writeFileSync(join(dir, reexport), v002(T0, (DAYS + 1) * ROWS_PER_DAY, true));
  t.ok(reexport < daily[0], 'the re-export sorts first by path');
  // a V003 logger whose header declares UTC, its name without _UTC
  const v3dir = join(root, company, 'c', '02001311');
  mkdirSync(v3dir, { recursive: true });
  await writeTsv(join(v3dir, 'T302_251115_120000.tsv'), {
    format: 'v003',
    masterSn: '02001311',
    channels: 4,
    slaves: 0,
    slaveChannels: 0,
    rows: 10,
    start: T0,
    step: STEP,
    defects: [],
    seed: 5,
  });

  return {
    daily,
    reexport,
    paths: [...daily.map((n) => join(dir, n)), join(dir, reexport), join(v3dir, 'T302_251115_120000.tsv')],
  };
}

/** Both stores and the ledger after the archive went through, whatever the order it was found in. */
async function checkStores(
  t: Test,
  env: Record<string, string>,
  pool: pg.Pool,
  company: string,
  daily: string[],
  reexport: string,
): Promise<void> {
  // not checked: the commit order (a file commits once InfluxDB acknowledged it, so a small file may commit before
  // an earlier big one; core.devices.layout follows the last commit, not the last export)
  // PostgreSQL: over the month every channel holds what the daily files' layout says
  const month = await pool.query<{
    channel_id: string;
    channel_unit: string;
    samples: string;
    min_value: number;
    max_value: number;
  }>(
    `SELECT channel_id, channel_unit, sum(samples)::bigint AS samples, min(min_value) AS min_value, max(max_value) AS max_value
       FROM core.hourly WHERE tenant = $1 AND device_master_sn = $2 AND hour < to_timestamp($3)
      GROUP BY channel_id, channel_unit ORDER BY channel_id, channel_unit`,
    [company, SN, MONTH_END],
  );
  const byChannel = new Map(month.rows.map((r) => [r.channel_id, r]));
  t.equal(
    month.rows.length,
    6,
    `one unit per channel over the month: ${JSON.stringify(month.rows.map((r) => `${r.channel_id} ${r.channel_unit}`))}`,
  );
  for (const ch of ['Ch1', 'Ch2', 'Ch3']) {
    const r = byChannel.get(`M${SN}_${ch}`);
    t.equal(r?.channel_unit, 'W', `${ch} is a power channel over the month`);
    t.ok(r && r.min_value >= 1000, `${ch} holds powers, not voltages (min ${r?.min_value})`);
    t.equal(Number(r?.samples), DAYS * ROWS_PER_DAY, `${ch}: every daily point, each once`);
  }
  for (const u of ['U1', 'U2', 'U3']) {
    const r = byChannel.get(`M${SN}_${u}`);
    t.equal(r?.channel_unit, 'V', `${u} is a voltage over the month`);
    t.ok(r && r.max_value < 240, `${u} holds voltages (max ${r?.max_value})`);
  }
  // the re-export's extra day is its own, in its own layout (Ch1 = Ph 3 V there)
  const extra = await pool.query<{ channel_unit: string; samples: string }>(
    `SELECT channel_unit, sum(samples)::bigint AS samples FROM core.hourly
      WHERE tenant = $1 AND channel_id = $2 AND hour >= to_timestamp($3) GROUP BY channel_unit`,
    [company, `M${SN}_Ch1`, MONTH_END],
  );
  t.same(
    extra.rows.map((r) => [r.channel_unit, Number(r.samples)]),
    [['V', ROWS_PER_DAY]],
    "the extra day: the re-export's points",
  );

  // InfluxDB: the same
  const points = await pointsOf(env, company);
  let monthCh1 = 0;
  let wrongCh1 = 0;
  let monthPoints = 0;
  for (const [key, value] of points) {
    if (!key.includes(`device_master_sn=${SN}`)) continue;
    const time = Number(key.slice(key.lastIndexOf(' ') + 1));
    if (time >= MONTH_END) continue;
    monthPoints++;
    if (!key.includes(`channel_id=M${SN}_Ch1,`)) continue;
    monthCh1++;
    if (!key.includes('channel_unit=W') || value < 1000) wrongCh1++;
  }
  t.equal(monthPoints, DAYS * ROWS_PER_DAY * 6, "InfluxDB: the month's points once each");
  t.equal(monthCh1, DAYS * ROWS_PER_DAY, 'InfluxDB: Ch1 over the month');
  t.equal(wrongCh1, 0, 'InfluxDB: Ch1 holds powers over the month (no voltage written into it)');

  // the ledger: export times from the real names, the re-export applied last
  const files = await pool.query<{
    path: string;
    export_time: Date | null;
    layout_drift: boolean;
    points: number;
    layout: string;
  }>(`SELECT path, export_time, layout_drift, points, layout FROM core.files WHERE tenant = $1 ORDER BY file_id`, [
    company,
  ]);
  const row = (name: string) => files.rows.find((f) => f.path.endsWith(`/${name}`));
  t.equal(files.rows.length, DAYS + 2, 'every file in the ledger');
  t.equal(row(daily[0])?.export_time?.toISOString(), '2025-11-01T23:05:00.000Z', 'local name in the tenant zone (CET)');
  t.equal(row(daily[DAYS - 1])?.export_time?.toISOString(), '2025-11-30T23:05:00.000Z', 'the last daily file');
  t.equal(
    row(reexport)?.export_time?.toISOString(),
    '2025-12-02T20:40:31.000Z',
    'renamed: the export time is the last stamp',
  );
  t.equal(
    row('T302_251115_120000.tsv')?.export_time?.toISOString(),
    '2025-11-15T12:00:00.000Z',
    'V003 header declaring UTC',
  );
  t.equal(files.rows.filter((f) => f.export_time === null).length, 0, 'no file without an export time');
  t.equal(row(reexport)?.layout_drift, true, 'the re-export is the one whose layout drifted');
  t.equal(files.rows.filter((f) => f.layout_drift).length, 1, 'no daily file counted as drift');
  t.equal(Number(row(reexport)?.points), ROWS_PER_DAY * 6, 'the re-export wrote its extra day only');
}

t.test(
  'a re-export with a changed layout, exported last but first by path, is applied last in both stores',
  { skip: servicesSkip },
  async (t) => {
    // a fresh migrated database of its own (the shared one may be at another branch's migration level)
    const { db, tenant: company, root } = await serveSetup(t, 'exporder_ingest', 'exporderi');
    const env = db.env;
    const pool = db.pool;
    const { daily, reexport } = await writeArchive(t, root, company);
    const run = await runCli(
      ingestArgs(root, '--report-dir', join(root, '..', 'r'), '--v002-timezone', ZONE, root),
      env,
    );
    t.equal(run.code, 0, run.code === 0 ? 'one ingest run over the archive' : run.stderr.slice(-1500));
    await checkStores(t, env, pool, company, daily, reexport);
  },
);

t.test(
  'serve: the same archive found as a backlog at start ends in the same state',
  { skip: servicesSkip },
  async (t) => {
    const { db, tenant, base, root } = await serveSetup(t, 'exporder', 'exporder');
    const { daily, reexport, paths } = await writeArchive(t, root, tenant);
    await startServe(t, db.env, {
      root,
      stateDir: join(base, 'state'),
      settle: 0.5,
      rescan: 1,
      args: ['--v002-timezone', ZONE],
    });
    t.ok(await waitParsed(paths, 180_000), 'every file in parsed/');
    await checkStores(t, db.env, db.pool, tenant, daily, reexport);
  },
);
