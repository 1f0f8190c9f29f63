/**
 * A V002 file (local times, no offset) that starts inside the autumn repeated
 * hour (Europe/Paris, 2025-10-26 02:00–02:59 happens twice): when the device's
 * earlier file already holds that hour's first occurrence (summer time) and
 * this file goes on straight into winter time, its first rows are the second
 * occurrence (01:00Z.., not 00:00Z..). With no earlier file the first
 * occurrence stands (today's rule). Against the real services: per-hour
 * counts in PostgreSQL and the timestamps in InfluxDB.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { writeFile as writeTsv, type FileSpec } from '../../fixtures/generate.js';
import { FileScanner } from '../../src/tsv/scanner.js';
import { TimeZoneRules } from '../../src/tsv/timezone.js';
import { ingestArgs } from '../support/cli-helpers.js';
import { dropDatabase, influxQuery, runCli, servicesSkip, servicesUp } from '../support/services.js';

t.setTimeout(600_000);

const STEP = 600;
const SN = '02001171';
const H = 3600;
/** 2025-10-26 00:00 Europe/Paris (summer time, UTC+2) */
const A_START = Date.UTC(2025, 9, 25, 22, 0, 0) / 1000;
/** 2025-10-26 02:00 Europe/Paris, second occurrence (winter time, UTC+1) */
const B_START = Date.UTC(2025, 9, 26, 1, 0, 0) / 1000;

// A: 00:00 .. 02:50 local, summer time (22:00Z .. 00:50Z); B: 02:00 (repeated) .. 04:50 local (01:00Z .. 03:50Z)
const specA: FileSpec = {
  format: 'v002',
  masterSn: SN,
  channels: 2,
  slaves: 0,
  slaveChannels: 0,
  rows: 18,
  start: A_START,
  step: STEP,
  defects: [],
  seed: 5,
  localZone: 'Europe/Paris',
};
const specB: FileSpec = { ...specA, start: B_START, seed: 6 };
const NAME_A = 'T302_251026_025000.tsv';
const NAME_B = 'T302_251026_045000.tsv';

const iso = (s: number) => new Date(s * 1000).toISOString();

/** UTC hour → samples per channel in core.hourly, and the InfluxDB timestamps of one channel. */
async function stored(
  env: Record<string, string>,
  pool: pg.Pool,
  company: string,
): Promise<{ hours: Record<string, number>; times: number[]; values: Map<number, number> }> {
  const r = await pool.query<{ hour: string; channel_id: string; samples: string }>(
    `SELECT extract(epoch from hour)::bigint AS hour, channel_id, samples FROM core.hourly WHERE tenant = $1 ORDER BY 1, 2`,
    [company],
  );
  const hours: Record<string, number> = {};
  const perChannel = new Map<string, Record<string, number>>();
  for (const row of r.rows) {
    const m = perChannel.get(row.channel_id) ?? {};
    m[iso(Number(row.hour))] = Number(row.samples);
    perChannel.set(row.channel_id, m);
  }
  // every channel the same: one map (checked)
  const maps = [...perChannel.values()].map((m) => JSON.stringify(m));
  if (new Set(maps).size > 1) throw new Error(`channels differ: ${maps.join(' / ')}`);
  Object.assign(hours, perChannel.values().next().value ?? {});
  const q = await influxQuery(env, company, 'SELECT * FROM electrical GROUP BY *');
  const series = (q.series ?? []).filter((s) => Object.values(s.tags ?? {}).some((v) => /Voie1/.test(String(v))));
  if (series.length !== 1) throw new Error(`${series.length} Voie1 series`);
  const s = series[0];
  const vi = s.columns.findIndex((c) => c !== 'time');
  const values = new Map<number, number>(s.values.map((v) => [Number(v[0]), Number(v[vi])]));
  return { hours, times: [...values.keys()].sort((a, b) => a - b), values };
}

/** A column's value in the file's first data row (V002: two header lines). */
function firstRowValue(path: string, column: number): number {
  const lines = readFileSync(path, 'latin1').split('\n');
  return Number(lines[2].split('\t')[column]);
}

const every = (from: number, to: number) => {
  const out: number[] = [];
  for (let x = from; x <= to; x += STEP) out.push(x);
  return out;
};

t.test('scanner: a file starting in the repeated hour and going on into winter time is flagged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pv-fold-scan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const scan = async (spec: FileSpec) => {
    const p = join(dir, 'f.tsv');
    await writeTsv(p, spec);
    const s = new FileScanner({
      blockBytes: 256,
      v002TimeZone: 'Europe/Paris',
      isValidZone: (z) => TimeZoneRules.isValid(z),
    });
    s.push(readFileSync(p));
    return s.end();
  };
  const b = await scan(specB);
  t.same(
    b.leadingFold && { ...b.leadingFold },
    { firstRow: 0, rowEnd: 6, shift: 3600, from: B_START - H, to: B_START - H + 5 * STEP },
    'B: its six 02:xx rows, read as summer time for now',
  );
  const both = await scan({ ...specA, rows: 36 });
  t.equal(both.leadingFold, undefined, 'a file holding both occurrences (00:00 summer .. 03:50 winter): not flagged');
  const inside = await scan({ ...specB, rows: 4 });
  t.equal(inside.leadingFold, undefined, 'a file that ends inside the repeated hour: not flagged');
});

interface Case {
  label: string;
  /** runs: the files of each `powerview ingest` */
  runs: string[][];
}

const CASES: Case[] = [
  { label: 'sep', runs: [[NAME_A], [NAME_B]] },
  { label: 'one', runs: [[NAME_A, NAME_B]] },
];

for (const c of CASES) {
  t.test(
    `earlier file holds summer 02:xx (${c.runs.length} run(s)): the next file's 02:xx rows are winter time, 01:00Z..`,
    { skip: servicesSkip },
    async (t) => {
      const env = await servicesUp();
      const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
      t.teardown(() => pool.end());
      t.equal((await runCli(['migrate', '--json'], env)).code, 0, 'migrated');
      const company = `fold_${c.label}_${process.pid}`;
      t.teardown(() => dropDatabase(env, company).catch(() => {}));
      const root = mkdtempSync(join(tmpdir(), 'pv-fold-'));
      t.teardown(() => rmSync(root, { recursive: true, force: true }));
      const dir = join(root, company, 'c', SN);
      mkdirSync(dir, { recursive: true });
      await writeTsv(join(dir, NAME_A), specA);
      await writeTsv(join(dir, NAME_B), specB);
      const bVoie1 = firstRowValue(join(dir, NAME_B), 2);
      let report = '';
      for (const names of c.runs) {
        const r = await runCli(
          ingestArgs(root, '--report-dir', join(root, 'r'), ...names.map((n) => join(dir, n))),
          env,
        );
        t.equal(r.code, 0, `ingest ${names.join(' ')}: exit 0`);
        if (r.code !== 0) t.comment(r.stderr.slice(-800));
        report += r.stdout;
      }
      t.match(
        report,
        /starts in the repeated hour: rows 2025-10-26T00:00:00.000Z\.\.2025-10-26T00:50:00.000Z already held/,
        "B's report says how its first rows were read",
      );
      const s = await stored(env, pool, company);
      t.same(
        s.hours,
        {
          '2025-10-25T22:00:00.000Z': 6,
          '2025-10-25T23:00:00.000Z': 6,
          '2025-10-26T00:00:00.000Z': 6,
          '2025-10-26T01:00:00.000Z': 6,
          '2025-10-26T02:00:00.000Z': 6,
          '2025-10-26T03:00:00.000Z': 6,
        },
        "PostgreSQL: six samples in every UTC hour 22Z..03Z (01Z from B's repeated 02:xx)",
      );
      t.same(
        s.times.map(iso),
        every(A_START, B_START + 17 * STEP).map(iso),
        'InfluxDB: every 10 min from 22:00Z to 03:50Z, none missing or doubled',
      );
      t.equal(s.values.get(B_START), bVoie1, "InfluxDB 01:00Z holds B's first row (its 02:00)");
    },
  );
}

t.test(
  'a file starting in the repeated hour with no earlier file: the first occurrence (summer time) stands',
  { skip: servicesSkip },
  async (t) => {
    const env = await servicesUp();
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    t.teardown(() => pool.end());
    t.equal((await runCli(['migrate', '--json'], env)).code, 0, 'migrated');
    const company = `fold_alone_${process.pid}`;
    t.teardown(() => dropDatabase(env, company).catch(() => {}));
    const root = mkdtempSync(join(tmpdir(), 'pv-fold-'));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, company, 'c', SN);
    mkdirSync(dir, { recursive: true });
    await writeTsv(join(dir, NAME_B), specB);
    const r = await runCli(ingestArgs(root, '--report-dir', join(root, 'r'), join(dir, NAME_B)), env);
    t.equal(r.code, 0, 'ingest: exit 0');
    if (r.code !== 0) t.comment(r.stderr.slice(-800));
    t.notMatch(r.stdout, /repeated hour/, 'no reinterpretation');
    const s = await stored(env, pool, company);
    t.same(
      s.hours,
      { '2025-10-26T00:00:00.000Z': 6, '2025-10-26T02:00:00.000Z': 6, '2025-10-26T03:00:00.000Z': 6 },
      'PostgreSQL: 02:xx in 00Z (summer time), nothing in 01Z, then 03:00 local = 02Z',
    );
    t.same(
      s.times.map(iso),
      [...every(B_START - H, B_START - H + 5 * STEP), ...every(B_START + H, B_START + 17 * STEP)].map(iso),
      'InfluxDB: 00:00Z..00:50Z, then 02:00Z..03:50Z',
    );
  },
);
