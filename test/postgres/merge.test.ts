/**
 * core.merge_hourly() and core.recompute_hourly() against the real
 * PostgreSQL: the hourly table equals the aggregates computed here,
 * independently, from the distinct points, to the last bit, whatever the
 * batching; taking a file out and recomputing equals never having had it.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { migrate } from '../../src/postgres/migrate.js';
import { servicesSkip } from '../support/services.js';
import { sqlStateOf, testDatabase } from '../support/postgres-db.js';
import { rng } from '../../fixtures/generate.js';

t.setTimeout(300_000);

interface Point {
  file: number;
  channel: string;
  unit: string;
  time: number;
  value: number;
}

interface Agg {
  campaign: string;
  channel_unit: string;
  samples: number;
  sum_value: number;
  min_value: number;
  max_value: number;
  first_time: number;
  first_value: number;
  last_time: number;
  last_value: number;
  energy_wh: number | null;
}

const hourOf = (time: number) => time - (time % 3600);
/** energy of one sample by a test-only rule (the ingest's convention is not the subject here) */
const energyOf = (value: number) => value / 4;

/**
 * Aggregates per (channel, hour) of `points`: per file first (the partials),
 * then the files folded in file order — how core.hourly must fold them.
 */
function aggregate(points: Point[], campaignOf: (file: number) => string): Map<string, Agg> {
  const out = new Map<string, Agg>();
  const perFile = new Map<string, Agg>();
  // first per file (the partials), then the files folded in file order
  const sorted = [...points].sort((a, b) => a.file - b.file || a.time - b.time);
  for (const p of sorted) {
    const key = `${p.file}|${p.channel}|${hourOf(p.time)}`;
    const e = p.unit === 'W' ? energyOf(p.value) : null;
    const a = perFile.get(key);
    if (!a) {
      perFile.set(key, {
        campaign: campaignOf(p.file),
        channel_unit: p.unit,
        samples: 1,
        sum_value: p.value,
        min_value: p.value,
        max_value: p.value,
        first_time: p.time,
        first_value: p.value,
        last_time: p.time,
        last_value: p.value,
        energy_wh: e,
      });
      continue;
    }
    a.samples++;
    a.sum_value += p.value;
    a.min_value = Math.min(a.min_value, p.value);
    a.max_value = Math.max(a.max_value, p.value);
    a.last_time = p.time;
    a.last_value = p.value;
    if (e !== null) a.energy_wh = (a.energy_wh ?? 0) + e;
  }
  for (const [key, f] of perFile) {
    const k = key.slice(key.indexOf('|') + 1);
    const a = out.get(k);
    if (!a) {
      out.set(k, { ...f });
      continue;
    }
    a.samples += f.samples;
    a.sum_value += f.sum_value;
    a.min_value = Math.min(a.min_value, f.min_value);
    a.max_value = Math.max(a.max_value, f.max_value);
    if (f.first_time < a.first_time)
      [a.first_time, a.first_value, a.campaign, a.channel_unit] = [
        f.first_time,
        f.first_value,
        f.campaign,
        f.channel_unit,
      ];
    if (f.last_time > a.last_time) [a.last_time, a.last_value] = [f.last_time, f.last_value];
    if (f.energy_wh !== null || a.energy_wh !== null) a.energy_wh = (a.energy_wh ?? 0) + (f.energy_wh ?? 0);
  }
  return out;
}

/** partial rows of one file (what a worker would send), per (channel, hour) */
function partialsOf(points: Point[], file: number, campaign: string): Map<string, Agg> {
  return aggregate(
    points.filter((p) => p.file === file),
    () => campaign,
  );
}

async function hourlyTable(pool: pg.Pool, tenant: string): Promise<Map<string, Agg>> {
  const r = await pool.query(
    `SELECT channel_id, extract(epoch FROM hour)::bigint AS hour, campaign, channel_unit, samples, sum_value, min_value, max_value,
            extract(epoch FROM first_time)::bigint AS first_time, first_value, extract(epoch FROM last_time)::bigint AS last_time, last_value, energy_wh
       FROM core.hourly WHERE tenant = $1`,
    [tenant],
  );
  const out = new Map<string, Agg>();
  for (const row of r.rows) {
    out.set(`${row.channel_id}|${row.hour}`, {
      campaign: row.campaign,
      channel_unit: row.channel_unit,
      samples: Number(row.samples),
      sum_value: row.sum_value,
      min_value: row.min_value,
      max_value: row.max_value,
      first_time: Number(row.first_time),
      first_value: row.first_value,
      last_time: Number(row.last_time),
      last_value: row.last_value,
      energy_wh: row.energy_wh,
    });
  }
  return out;
}

const sorted = (m: Map<string, Agg>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
/** doubles compared bit for bit (float8 travels as text with full precision in node-postgres) */
const bits = (m: Map<string, Agg>) =>
  sorted(m).map(([k, a]) => [k, { ...a, sum_value: Object.is(a.sum_value, -0) ? 0 : a.sum_value }]);

const iso = (s: number) => new Date(s * 1000).toISOString();

async function newFile(pool: pg.Pool, tenant: string, campaign: string, device: string): Promise<number> {
  const sha = createHash('sha256').update(`${Math.random()} ${process.hrtime.bigint()}`).digest('hex');
  const r = await pool.query<{ file_id: string }>(
    `INSERT INTO core.files (tenant, campaign, device_master_sn, path, sha256, status) VALUES ($1, $2, $3, $4, $5, 'ok') RETURNING file_id`,
    [tenant, campaign, device, `/x/${sha}.tsv`, sha],
  );
  return Number(r.rows[0].file_id);
}

async function stage(
  client: pg.PoolClient,
  batch: number,
  fileId: number,
  tenant: string,
  device: string,
  partials: Map<string, Agg>,
): Promise<void> {
  const lines = [...partials].map(([key, a]) => {
    const [channel, hour] = key.split('|');
    return (
      [
        batch,
        fileId,
        tenant,
        a.campaign,
        device,
        channel,
        a.channel_unit,
        iso(Number(hour)),
        a.samples,
        a.sum_value,
        a.min_value,
        a.max_value,
        iso(a.first_time),
        a.first_value,
        iso(a.last_time),
        a.last_value,
        a.energy_wh === null ? '\\N' : a.energy_wh,
      ].join('\t') + '\n'
    );
  });
  await pipeline(
    Readable.from(lines),
    client.query(
      copyFrom(
        'COPY staging.hourly_partials (batch_id, file_id, tenant, campaign, device_master_sn, channel_id, channel_unit, hour, samples, sum_value, ' +
          'min_value, max_value, first_time, first_value, last_time, last_value, energy_wh) FROM STDIN',
      ),
    ),
  );
}

/** distinct points of one device spread over `files` files (each point in exactly one file), 3 channels */
function points(seed: number, files: number, value: () => number): Point[] {
  const r = rng(seed);
  const out: Point[] = [];
  const t0 = Date.UTC(2025, 2, 1, 0) / 1000;
  const channels: Array<[string, string]> = [
    ['M1_Ch1', 'W'],
    ['M1_U1', 'V'],
    ['M1_S2_Ch1', 'A'],
  ];
  for (let i = 0; i < 12 * 60; i++) {
    const time = t0 + i * 60 + (r() < 0.05 ? 17 : 0); // some off-grid seconds
    for (const [channel, unit] of channels) {
      if (r() < 0.1) continue; // gaps
      out.push({ file: 1 + Math.floor(r() * files), channel, unit, time, value: value() });
    }
  }
  return out;
}

t.test('hourly merge and recompute', { skip: servicesSkip }, async (t) => {
  const db = await testDatabase(t, 'merge');
  await migrate(db.pool);
  const tenant = 'merge_t';
  const device = 'M1';
  await db.pool.query('SELECT core.ensure_tenant($1)', [tenant]);
  db.dropRoleLater('pv_tenant_merge_t');
  await db.pool.query("INSERT INTO core.campaigns VALUES ($1, 'c1'), ($1, 'c2')", [tenant]);

  t.test(
    'merged in batches of one and several files: equal to the aggregates of the points; staging emptied',
    async (t) => {
      await db.pool.query('DELETE FROM core.files; DELETE FROM core.hourly');
      // dyadic values (k/8): every sum is exact in any order
      const r = rng(42);
      const pts = points(1, 5, () => Math.round((r() - 0.5) * 16000) / 8);
      const campaignOf = (file: number) => (file <= 2 ? 'c1' : 'c2');
      const ids = new Map<number, number>();
      for (let f = 1; f <= 5; f++) ids.set(f, await newFile(db.pool, tenant, campaignOf(f), device));
      const client = await db.pool.connect();
      try {
        // batch 1: file 4 alone; batch 2: files 1, 2 and 5 together; batch 3: file 3
        for (const [batch, files] of [
          [9001, [4]],
          [9002, [5, 1, 2]],
          [9003, [3]],
        ] as const) {
          await client.query('BEGIN');
          for (const f of files)
            await stage(client, batch, ids.get(f)!, tenant, device, partialsOf(pts, f, campaignOf(f)));
          const merged = await client.query('SELECT core.merge_hourly($1) AS n', [batch]);
          const expected = files.reduce((s, f) => s + partialsOf(pts, f, campaignOf(f)).size, 0);
          t.equal(Number(merged.rows[0].n), expected, `batch ${batch}: every partial merged`);
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
      const expected = aggregate(pts, campaignOf);
      const got = await hourlyTable(db.pool, tenant);
      t.equal(got.size, expected.size, `${expected.size} hourly rows`);
      t.same(bits(got), bits(expected), 'every column of every row equals the aggregate of the distinct points');
      t.equal(
        (await db.pool.query('SELECT count(*)::int AS n FROM staging.hourly_partials')).rows[0].n,
        0,
        'staging is empty',
      );
      const fh = await db.pool.query('SELECT count(*)::int AS n FROM core.file_hourly');
      t.equal(
        fh.rows[0].n,
        [1, 2, 3, 4, 5].reduce((s, f) => s + partialsOf(pts, f, '').size, 0),
        'one file_hourly row per partial',
      );
      t.same(
        [
          ...new Set([...got.values()].map((a) => a.channel_unit + ':' + (a.energy_wh === null ? 'null' : 'energy'))),
        ].sort(),
        ['A:null', 'V:null', 'W:energy'],
        'energy for W channels only',
      );

      t.test('a file taken out (cascade) and its hours recomputed = the aggregates without its points', async (t) => {
        const gone = ids.get(3)!;
        const touched = await db.pool.query<{ channel_ids: string[]; hours: Date[] }>(
          'SELECT array_agg(channel_id) AS channel_ids, array_agg(hour) AS hours FROM core.file_hourly WHERE file_id = $1',
          [gone],
        );
        const client = await db.pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('DELETE FROM core.files WHERE file_id = $1', [gone]);
          await client.query('SELECT core.recompute_hourly($1, $2, $3, $4)', [
            tenant,
            device,
            touched.rows[0].channel_ids,
            touched.rows[0].hours,
          ]);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
        const rest = pts.filter((p) => p.file !== 3);
        t.same(
          bits(await hourlyTable(db.pool, tenant)),
          bits(aggregate(rest, campaignOf)),
          'equal, parallel (channel, hour) arrays',
        );
        t.equal(
          (await db.pool.query('SELECT count(*)::int AS n FROM core.coverage WHERE file_id = $1', [gone])).rows[0].n,
          0,
        );

        // and back in, as a new file (what --force does)
        const again = await newFile(db.pool, tenant, campaignOf(3), device);
        const c2 = await db.pool.connect();
        try {
          await c2.query('BEGIN');
          await stage(c2, again, again, tenant, device, partialsOf(pts, 3, campaignOf(3)));
          await c2.query('SELECT core.merge_hourly($1)', [again]);
          await c2.query('COMMIT');
        } finally {
          c2.release();
        }
        t.same(bits(await hourlyTable(db.pool, tenant)), bits(expected), 're-added: equal to the full aggregate again');
      });
    },
  );

  t.test('arbitrary doubles: recompute from file_hourly gives the same bits as the incremental merge', async (t) => {
    await db.pool.query('DELETE FROM core.files; DELETE FROM core.hourly');
    const r = rng(7);
    const pts = points(2, 4, () => (r() - 0.3) * 1234.5678901);
    for (let f = 1; f <= 4; f++) {
      const id = await newFile(db.pool, tenant, 'c1', device);
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await stage(client, id, id, tenant, device, partialsOf(pts, f, 'c1'));
        await client.query('SELECT core.merge_hourly($1)', [id]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    }
    const merged = await hourlyTable(db.pool, tenant);
    t.same(
      bits(merged),
      bits(aggregate(pts, () => 'c1')),
      'the incremental merge folds the files in file order, like this test',
    );
    const all = await db.pool.query<{ channel_ids: string[]; hours: Date[] }>(
      'SELECT array_agg(DISTINCT channel_id) AS channel_ids, array_agg(DISTINCT hour) AS hours FROM core.file_hourly',
    );
    const n = await db.pool.query('SELECT core.recompute_hourly($1, $2, $3, $4) AS n', [
      tenant,
      device,
      all.rows[0].channel_ids,
      all.rows[0].hours,
    ]);
    t.equal(Number(n.rows[0].n), merged.size, 'every row rebuilt');
    t.same(bits(await hourlyTable(db.pool, tenant)), bits(merged), 'identical to the last bit');
  });

  t.test(
    'arbitrary doubles, every file in one batch (shared hours merged file by file): the same bits as one batch per file',
    async (t) => {
      await db.pool.query('DELETE FROM core.files; DELETE FROM core.hourly');
      const r = rng(11);
      const pts = points(2, 4, () => (r() - 0.3) * 1234.5678901);
      const ids: number[] = [];
      for (let f = 1; f <= 4; f++) ids.push(await newFile(db.pool, tenant, 'c1', device));
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        for (let f = 1; f <= 4; f++) await stage(client, 4242, ids[f - 1], tenant, device, partialsOf(pts, f, 'c1'));
        const shared = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM (SELECT 1 FROM staging.hourly_partials WHERE batch_id = 4242
           GROUP BY channel_id, hour HAVING count(*) > 1) k`,
        );
        t.ok(shared.rows[0].n > 0, `${shared.rows[0].n} (channel, hour) keys shared by several files of the batch`);
        await client.query('SELECT core.merge_hourly(4242)');
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      t.same(
        bits(await hourlyTable(db.pool, tenant)),
        bits(aggregate(pts, () => 'c1')),
        'folded in file order, to the last bit',
      );
    },
  );

  t.test('first/last, min/max and energy across files of one hour', async (t) => {
    await db.pool.query('DELETE FROM core.files; DELETE FROM core.hourly');
    const h = Date.UTC(2025, 5, 1, 12) / 1000;
    // file A: 12:10..12:20, file B (merged later): 12:00 and 12:50, file C: a V channel and an hour of W without energy
    const a = await newFile(db.pool, tenant, 'c2', device);
    const b = await newFile(db.pool, tenant, 'c1', device);
    const c = await newFile(db.pool, tenant, 'c1', device);
    const row = (o: Partial<Agg> & { first_time: number; last_time: number }): Agg => ({
      campaign: 'c1',
      channel_unit: 'W',
      samples: 2,
      sum_value: 3,
      min_value: 1,
      max_value: 2,
      first_value: 1,
      last_value: 2,
      energy_wh: 0.75,
      ...o,
    });
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await stage(
        client,
        a,
        a,
        tenant,
        device,
        new Map([
          [
            `M1_Ch1|${h}`,
            row({
              campaign: 'c2',
              first_time: h + 600,
              last_time: h + 1200,
              min_value: -5,
              first_value: -5,
              last_value: 7,
              max_value: 7,
              sum_value: 2,
              energy_wh: 0.5,
            }),
          ],
        ]),
      );
      await client.query('SELECT core.merge_hourly($1)', [a]);
      await stage(
        client,
        b,
        b,
        tenant,
        device,
        new Map([
          [
            `M1_Ch1|${h}`,
            row({
              first_time: h,
              last_time: h + 3000,
              first_value: 4,
              last_value: 9,
              min_value: 4,
              max_value: 9,
              sum_value: 13,
              energy_wh: 3.25,
            }),
          ],
          [`M1_Ch1|${h + 3600}`, row({ first_time: h + 3600, last_time: h + 3660, energy_wh: null })],
        ]),
      );
      await client.query('SELECT core.merge_hourly($1)', [b]);
      await stage(
        client,
        c,
        c,
        tenant,
        device,
        new Map([
          [
            `M1_U1|${h}`,
            row({
              channel_unit: 'V',
              first_time: h,
              last_time: h,
              samples: 1,
              sum_value: 230,
              min_value: 230,
              max_value: 230,
              first_value: 230,
              last_value: 230,
              energy_wh: null,
            }),
          ],
        ]),
      );
      await client.query('SELECT core.merge_hourly($1)', [c]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const got = await hourlyTable(db.pool, tenant);
    t.same(
      got.get(`M1_Ch1|${h}`),
      {
        campaign: 'c1',
        channel_unit: 'W',
        samples: 4,
        sum_value: 15,
        min_value: -5,
        max_value: 9,
        first_time: h,
        first_value: 4,
        last_time: h + 3000,
        last_value: 9,
        energy_wh: 3.75,
      },
      'first and last by time across files; the campaign of the first sample',
    );
    t.equal(got.get(`M1_Ch1|${h + 3600}`)!.energy_wh, null, 'no energy given: NULL');
    t.equal(got.get(`M1_U1|${h}`)!.energy_wh, null, 'V channel: NULL');
  });

  t.test('a file merged twice is refused and changes nothing', async (t) => {
    const before = sorted(await hourlyTable(db.pool, tenant));
    const fid = Number((await db.pool.query('SELECT min(file_id) AS f FROM core.file_hourly')).rows[0].f);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const fh = await client.query('SELECT * FROM core.file_hourly WHERE file_id = $1', [fid]);
      await client.query(
        `INSERT INTO staging.hourly_partials SELECT 777, file_id, tenant, campaign, device_master_sn, channel_id, channel_unit, hour, samples,
           sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh FROM core.file_hourly WHERE file_id = $1`,
        [fid],
      );
      t.ok(fh.rows.length > 0);
      t.equal(
        await sqlStateOf(client.query('SELECT core.merge_hourly(777)')),
        '23505',
        'unique violation on core.file_hourly',
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    t.same(sorted(await hourlyTable(db.pool, tenant)), before, 'core.hourly unchanged');
  });

  t.test('bad partials are refused by core.file_hourly, NULL arguments by the functions', async (t) => {
    const fid = await newFile(db.pool, tenant, 'c1', device);
    const h = Date.UTC(2025, 6, 1, 0) / 1000;
    const base: Agg = {
      campaign: 'c1',
      channel_unit: 'W',
      samples: 1,
      sum_value: 1,
      min_value: 1,
      max_value: 1,
      first_time: h,
      first_value: 1,
      last_time: h,
      last_value: 1,
      energy_wh: null,
    };
    const cases: Array<[string, string, Agg]> = [
      ['hour not on the hour', `${h + 1800}`, base],
      ['first_time outside the hour', `${h}`, { ...base, first_time: h - 1, last_time: h }],
      ['last_time in the next hour', `${h}`, { ...base, last_time: h + 3600 }],
      ['no samples', `${h}`, { ...base, samples: 0 }],
      ['min above max', `${h}`, { ...base, min_value: 2 }],
    ];
    for (const [what, hour, a] of cases) {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await stage(client, fid, fid, tenant, device, new Map([[`M1_Ch9|${hour}`, a]]));
        t.equal(await sqlStateOf(client.query('SELECT core.merge_hourly($1)', [fid])), '23514', what);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    }
    t.equal(await sqlStateOf(db.pool.query('SELECT core.merge_hourly(NULL)')), '22004');
    t.equal(await sqlStateOf(db.pool.query("SELECT core.recompute_hourly('a', 'b', NULL, '{}')")), '22004');
  });
});
