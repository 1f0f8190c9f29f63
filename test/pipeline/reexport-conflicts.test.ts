/**
 * Re-export conflicts (docs/reports.md#re-export-conflicts), on the real
 * InfluxDB 1.x and PostgreSQL: a later file's held points are compared with
 * the stored values; the first value stays in both stores, the conflicts are
 * counted in the report, the ledger, a finding, a metric and a warning.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDS, SN, STEP, T0, iso, tsv, value, type Export } from '../support/reexport-fixture.js';
import { ingestArgs } from '../support/cli-helpers.js';
import { dropDatabase, influxQuery, runCli, servicesSkip } from '../support/services.js';
import { serveDb } from '../support/serve-harness.js';

t.setTimeout(600_000);

interface FileOut {
  path: string;
  status: string;
  held_points?: number;
  conflicting_points?: number;
  layout_drift?: boolean;
  warnings: string[];
  conflicts?: {
    compared: number;
    conflicting: number;
    largest: { channel_id: string; time: string; stored: number; file: number; difference: number };
    examples: Array<{ channel_id: string; time: string; stored: number; file: number; difference: number }>;
  };
}

t.test('re-exports: identical overlap, changed values, swapped columns', { skip: servicesSkip }, async (t) => {
  // a database of its own, migrated by this build
  const { env, pool } = await serveDb(t, 'reexport');
  const company = `conflicts_${process.pid}`;
  t.teardown(() => dropDatabase(env, company).catch(() => {}));
  const root = mkdtempSync(join(tmpdir(), 'pv-conflicts-'));
  const dir = join(root, company, 'c', SN);
  mkdirSync(dir, { recursive: true });

  let n = 0;
  const ingest = async (e: Export): Promise<{ file: FileOut; prom: string }> => {
    n++;
    const path = join(dir, `T302_2504${String(10 + n)}_000000.tsv`);
    writeFileSync(path, tsv(e));
    const metrics = join(root, `run${n}.prom`);
    const r = await runCli(ingestArgs(root, '--report-dir', join(root, 'r'), '--metrics-file', metrics, path), env);
    t.equal(r.code, 0, r.stderr.slice(-800));
    const file = (JSON.parse(r.stdout) as { files: FileOut[] }).files[0];
    return { file, prom: readFileSync(metrics, 'utf8') };
  };
  const ledger = async () =>
    (
      await pool.query<{ conflicting_points: string | null }>(
        'SELECT conflicting_points FROM core.files WHERE tenant = $1 ORDER BY file_id',
        [company],
      )
    ).rows.map((x) => (x.conflicting_points === null ? null : Number(x.conflicting_points)));
  const findings = async () =>
    (
      await pool.query<{ measure: number; channel_id: string | null; detail: Record<string, unknown>; path: string }>(
        `SELECT q.measure, q.channel_id, q.detail, f.path FROM core.quality_events q JOIN core.files f USING (file_id)
          WHERE q.tenant = $1 AND q.kind = 'reexport_conflict' ORDER BY q.event_id`,
        [company],
      )
    ).rows;
  const metric = (prom: string) =>
    Number(
      new RegExp(`^powerview_conflicting_points_total\\{tenant="${company}"\\} (\\d+)$`, 'm').exec(prom)?.[1] ?? 0,
    );

  const first = await ingest({ rows: [0, 144] });
  t.equal(first.file.conflicting_points, 0, 'a first file conflicts with nothing');

  const same = await ingest({ rows: [72, 216] });
  t.equal(same.file.held_points, 72 * 6, 'the overlap is held');
  t.equal(same.file.conflicting_points, 0, 'identical overlap: no conflict');
  t.notOk(same.file.conflicts);
  t.notOk(
    same.file.warnings.some((w) => /conflict/.test(w)),
    'no conflict warning',
  );
  t.equal(metric(same.prom), 0);
  t.same(await ledger(), [0, 0]);
  t.same(await findings(), []);

  // five values changed where the device already holds them (rows 150..215: the second file's)
  const changes: Array<[number, number, string]> = [
    [150, 3, '999.5'],
    [151, 0, '231.0'],
    [160, 4, '0.0'],
    [170, 5, '-12.5'],
    [200, 1, '240.9'],
  ];
  const changed = new Map<number, Map<number, string>>();
  for (const [r, c, v] of changes) changed.set(r, (changed.get(r) ?? new Map()).set(c, v));
  for (const [r, c, v] of changes) t.not(v, value(r, c), `row ${r} column ${c} really changes`);
  // 999.5 − 185.3, as decimals
  const worst = 0;
  const largest = 814.2;
  const conflicting = await ingest({ rows: [140, 260], changed });
  const f = conflicting.file;
  t.equal(f.status, 'ok');
  t.equal(f.held_points, (216 - 140) * 6);
  t.equal(f.conflicting_points, 5, 'five changed values: five conflicts');
  t.equal(f.conflicts?.compared, (216 - 140) * 6, 'every held point compared');
  const [wr, wc, wv] = changes[worst];
  t.same(
    f.conflicts?.largest,
    { channel_id: IDS[wc], time: iso(wr), stored: Number(value(wr, wc)), file: Number(wv), difference: largest },
    'the largest difference, where and what',
  );
  t.same(
    f.conflicts?.examples.map((e) => [e.channel_id, e.time, e.stored, e.file]),
    changes.map(([r, c, v]) => [IDS[c], iso(r), Number(value(r, c)), Number(v)]),
    'the examples, in time order',
  );
  t.match(f.warnings.join('\n'), /5 of 456 points already held conflict with the stored values/);
  t.notOk(
    f.warnings.some((w) => /header likely wrong/.test(w)),
    'same layout: the header is not blamed',
  );
  t.equal(metric(conflicting.prom), 5, 'the metric counts them');
  t.same(await ledger(), [0, 0, 5], 'the ledger column');
  const [finding] = await findings();
  t.equal(finding?.measure, 5, 'one finding, measure = conflicting points');
  t.equal(finding?.channel_id, null, 'conflicts on several channels: the finding is the file’s');
  t.match(finding?.detail, {
    conflicting: 5,
    largest_difference: { difference: largest },
    header_likely_wrong: false,
  });
  t.equal((finding?.detail.examples as unknown[]).length, 5);

  // both stores keep the first value: InfluxDB's point and the hour's sum in PostgreSQL
  for (const [r, c] of changes) {
    const field = `${IDS[c]}_${c < 3 ? 'V' : 'W'}`;
    const q = await influxQuery(
      env,
      company,
      `SELECT "${field}" FROM "electrical" WHERE "device_master_sn" = '${SN}' AND time = ${T0 + r * STEP}s`,
    );
    t.same(q.series?.[0].values, [[T0 + r * STEP, Number(value(r, c))]], `InfluxDB keeps the stored ${field}`);
    const hour = Math.floor((T0 + r * STEP) / 3600) * 3600;
    const rowsOfHour = Array.from({ length: 6 }, (_, k) => Math.floor((hour - T0) / STEP) + k);
    const want = rowsOfHour.reduce((s, x) => s + Number(value(x, c)), 0);
    const pgSum = await pool.query<{ sum_value: number }>(
      'SELECT sum_value FROM core.hourly WHERE tenant = $1 AND channel_id = $2 AND hour = to_timestamp($3)',
      [company, IDS[c], hour],
    );
    t.ok(Math.abs(pgSum.rows[0].sum_value - want) < 1e-9, `PostgreSQL's hour of ${IDS[c]} sums the stored values`);
  }

  // the logger's Voie1 and Voie2 columns swapped: positional channels Ch1 and Ch2 get each other's values
  const swapped = await ingest({ rows: [200, 300], swap: [3, 4] });
  const s = swapped.file;
  t.equal(s.layout_drift, true, 'the layout differs');
  t.equal(s.conflicting_points, 2 * 60, 'every overlapping point of the two channels conflicts');
  t.match(s.warnings.join('\n'), /header likely wrong \(e\.g\. columns swapped\)/, 'the header is blamed');
  t.match(s.warnings.join('\n'), new RegExp(`${IDS[3]} 60/60, ${IDS[4]} 60/60`));
  t.equal(metric(swapped.prom), 120);
  t.same(await ledger(), [0, 0, 5, 120]);
  const last = (await findings()).at(-1);
  t.match(last?.detail, { header_likely_wrong: true, conflicting: 120 });
});

/** Changes as the fixture takes them, and the examples they should give. */
function changeSet(changes: Array<[number, number, string]>) {
  const changed = new Map<number, Map<number, string>>();
  for (const [r, c, v] of changes) changed.set(r, (changed.get(r) ?? new Map<number, string>()).set(c, v));
  const examples = changes.map(([r, c, v]) => [IDS[c], iso(r), Number(value(r, c)), Number(v)]);
  return { changed, examples };
}

t.test(
  'an overlap with a file of the same run, and one larger than a comparison chunk, are compared in full',
  { skip: servicesSkip },
  async (t) => {
    const { env } = await serveDb(t, 'reexport_run');
    const run = async (company: string, exports: Export[]): Promise<FileOut[]> => {
      t.teardown(() => dropDatabase(env, company).catch(() => {}));
      const root = mkdtempSync(join(tmpdir(), 'pv-conflicts-'));
      const dir = join(root, company, 'c', SN);
      mkdirSync(dir, { recursive: true });
      exports.forEach((e, i) => writeFileSync(join(dir, `T302_2504${10 + i}_000000.tsv`), tsv(e)));
      const r = await runCli(ingestArgs(root, root), env);
      t.equal(r.code, 0, r.stderr.slice(-800));
      return (JSON.parse(r.stdout) as { files: FileOut[] }).files.sort((a, b) => (a.path < b.path ? -1 : 1));
    };

    // one run: the second file's held points are the first file's, whose lines may still be in flight
    const same = changeSet([
      [72, 2, '200.0'],
      [100, 3, '1.0'],
      [101, 3, '2.0'],
      [143, 4, '3.0'],
    ]);
    const [, b] = await run(`conflicts_run_${process.pid}`, [
      { rows: [0, 144] },
      { rows: [72, 216], changed: same.changed },
    ]);
    t.equal(b.conflicting_points, 4, 'the same run: every conflict found');
    t.equal(b.conflicts?.compared, 72 * 6, "every held point found (the first file's lines were answered first)");
    t.same(
      b.conflicts?.examples.map((e) => [e.channel_id, e.time, e.stored, e.file]),
      same.examples,
    );

    // 60,000 held points: two comparison chunks (50,000) and several query windows (2,000 rows); row 8333 spans chunks
    const big = changeSet([
      [1, 0, '1.0'],
      [1999, 3, '2.0'],
      [2000, 3, '3.0'],
      [8333, 1, '4.0'],
      [8333, 5, '5.0'],
      [9999, 2, '6.0'],
    ]);
    const [, y] = await run(`conflicts_big_${process.pid}`, [
      { rows: [0, 10_000] },
      { rows: [0, 10_000], changed: big.changed },
    ]);
    t.equal(y.held_points, 60_000);
    t.equal(y.conflicts?.compared, 60_000, 'every held point compared, across chunks and windows');
    t.equal(y.conflicting_points, 6);
    t.same(
      y.conflicts?.examples.map((e) => [e.channel_id, e.time, e.stored, e.file]),
      big.examples.slice(0, 5),
      'the first five, in file order',
    );
  },
);
