/**
 * Quality findings in PostgreSQL, through the real CLI, PostgreSQL and InfluxDB: negative power against the device's
 * earlier files, thresholds per tenant, --force replacing a file's findings, the metric.
 */
import t from 'tap';
import { defectRows } from '../../fixtures/generate.js';

import { DAY, qualitySuite, spec } from '../support/quality-suite.js';

t.setTimeout(600_000);

qualitySuite(
  t,
  'quality findings: negative power, thresholds per tenant, --force',
  't',
  async (t, { pool, a, b, ingest, events }) => {
    await t.test("negative power: only on a channel the device's earlier files never had negative", async (t) => {
      const fresh = '02001175';
      const s = spec(fresh, 0, 400, ['negative-power']);
      const alone = await ingest(a, fresh, 'T302_250609_235000.tsv', s);
      const at = defectRows(s)['negative-power'];
      t.same(
        alone.file.quality.map((q: { kind: string; measure: number }) => [q.kind, q.measure]),
        [['negative_power', at.to - at.from]],
      );
      t.match(await events(a, fresh), [{ kind: 'negative_power', channel_id: 'M02001175_Ch1', measure: 4 }]);
      // the same file after a day in which that channel went negative: the device's history overrules the file
      const seen = '02001176';
      const before = await ingest(a, seen, 'T302_250610_235000.tsv', spec(seen, 0, DAY));
      t.ok(before.file.channels[3].min < 0, 'the first file has negative values on Ch1');
      const later = await ingest(a, seen, 'T302_250611_235000.tsv', { ...spec(seen, DAY, 400, ['negative-power']) });
      t.same(later.file.quality, [], 'not in the report');
      t.ok(later.file.warnings.some((w: string) => /negative_power on M02001176_Ch1 not recorded/.test(w)));
      t.same(await events(a, seen), [], 'not in PostgreSQL');
    });

    await t.test('thresholds per tenant; --force replaces the findings', async (t) => {
      const dev = '02001173';
      await pool.query('SELECT core.ensure_tenant($1)', [b]);
      await pool.query(
        "INSERT INTO core.quality_thresholds (tenant, parameter, value) VALUES ($1, 'stuck_min_h', 10)",
        [b],
      );
      const s = spec(dev, 0, 400, ['stuck']);
      const ra = await ingest(a, dev, 'T302_250606_235000.tsv', s);
      const rb = await ingest(b, dev, 'T302_250606_235000.tsv', s);
      t.same(
        ra.file.quality.map((q: { kind: string }) => q.kind),
        ['stuck_value'],
        'default: 8 h is stuck',
      );
      t.same(rb.file.quality, [], 'tenant b: stuck from 10 h on');
      const stuck = (await events(a, dev)).filter((e) => e.kind === 'stuck_value');
      t.equal(stuck.length, 1);
      t.match(stuck[0], { measure: defectRows(s).stuck.to - defectRows(s).stuck.from, channel_id: 'M02001173_Ch3' });
      t.same(await events(b, dev), []);
      // the same bytes again with --force: the file's findings replaced, not doubled
      const again = await ingest(a, dev, 'T302_250606_235000.tsv', s, ['--force']);
      t.equal(again.file.status, 'ok');
      const replaced = (await events(a, dev)).filter((e) => e.kind === 'stuck_value');
      t.equal(replaced.length, 1, 'one finding after --force');
      t.equal(Number(replaced[0].file_id), again.file.ledger.file_id);
      await pool.query('DELETE FROM core.files WHERE file_id = $1', [again.file.ledger.file_id]);
      t.same(
        (await events(a, dev)).filter((e) => e.kind === 'stuck_value'),
        [],
        "a file's removal removes its findings",
      );
    });
  },
);
