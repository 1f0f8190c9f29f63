/**
 * Quality findings in PostgreSQL, through the real CLI, PostgreSQL and InfluxDB: a file's findings in its commit,
 * gaps found between files and closed by the file that fills them, a file's internal gap, a layout change
 * (negative power, thresholds and --force: quality-thresholds.test.ts).
 */
import t from 'tap';
import { GAP_ROWS, defectRows } from '../../fixtures/generate.js';

import { DAY, STEP, T0, qualitySuite, spec } from '../support/quality-suite.js';

t.setTimeout(600_000);

qualitySuite(t, 'quality findings committed with their files', 'g', async (t, { pool, a, ingest, events }) => {
  await t.test('a gap between two files, closed by the file that fills it', async (t) => {
    const dev = '02001171';
    await ingest(a, dev, 'T302_250602_235000.tsv', spec(dev, 0, DAY));
    t.same(await events(a, dev), [], 'one clean file: nothing');
    const c = await ingest(a, dev, 'T302_250604_235000.tsv', spec(dev, 2 * DAY, DAY, [], 3));
    const gap = { kind: 'gap', channel_id: null, ts: T0 + DAY * STEP, te: T0 + (2 * DAY - 1) * STEP, measure: DAY };
    t.same(
      (await events(a, dev)).map(({ kind, channel_id, ts, te, measure, file_id, closed }) => ({
        kind,
        channel_id,
        ts,
        te,
        measure,
        file_id,
        closed,
      })),
      [{ ...gap, file_id: null, closed: false }],
      'the day between them: 144 samples missing, a finding of the series',
    );
    t.same(
      c.file.quality.map((q: { kind: string; measure: number }) => [q.kind, q.measure]),
      [['gap', DAY]],
      'in the file report',
    );
    t.match(c.metrics, new RegExp(`powerview_quality_findings_total\\{tenant="${a}",kind="gap"\\} 1`));
    const step = await pool.query('SELECT step_s FROM core.devices WHERE tenant = $1 AND device_master_sn = $2', [
      a,
      dev,
    ]);
    t.equal(step.rows[0].step_s, STEP, 'the device step');
    const b2 = await ingest(a, dev, 'T302_250603_235000.tsv', spec(dev, DAY, DAY, [], 2));
    const after = await events(a, dev);
    t.equal(after.length, 1, 'no new gap');
    t.equal(after[0].closed, true, 'the gap is closed');
    t.same(b2.file.quality, [], 'the filling file finds nothing');
    t.ok(
      b2.file.warnings.some((w: string) => /1 gap\(s\) of the device closed/.test(w)),
      'and says it closed one',
    );
  });

  await t.test("a file's own gap belongs to the file", async (t) => {
    const dev = '02001172';
    const s = spec(dev, 0, 400, ['gap']);
    const r = await ingest(a, dev, 'T302_250605_235000.tsv', s);
    const at = defectRows(s).gap;
    const rows = await events(a, dev);
    t.equal(rows.length, 1);
    t.match(rows[0], { kind: 'gap', ts: T0 + at.from * STEP, te: T0 + (at.to - 1) * STEP, measure: GAP_ROWS });
    t.equal(Number(rows[0].file_id), r.file.ledger.file_id, 'owned by its file');
  });

  await t.test('a layout change: a finding with both layouts', async (t) => {
    const dev = '02001174';
    const first = await ingest(a, dev, 'T302_250607_235000.tsv', spec(dev, 0, DAY));
    const other = { ...spec(dev, DAY, DAY, [], 5), channels: 5 };
    const second = await ingest(a, dev, 'T302_250608_235000.tsv', other);
    t.equal(second.file.layout_drift, true);
    t.not(first.file.layout, second.file.layout);
    const rows = await pool.query(
      `SELECT kind, detail, file_id, extract(epoch FROM t_start)::float8 AS ts, extract(epoch FROM t_end)::float8 AS te
         FROM core.quality_events WHERE tenant = $1 AND device_master_sn = $2`,
      [a, dev],
    );
    t.same(
      rows.rows.map((r) => [r.kind, r.detail, Number(r.file_id), r.ts, r.te]),
      [
        [
          'layout_change',
          { from: first.file.layout, to: second.file.layout },
          second.file.ledger.file_id,
          T0 + DAY * STEP,
          T0 + (2 * DAY - 1) * STEP,
        ],
      ],
      'only the layout change: the two files are contiguous',
    );
    t.same(
      second.file.quality.map((q: { kind: string }) => q.kind),
      ['layout_change'],
    );
  });
});
