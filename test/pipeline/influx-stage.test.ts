/**
 * The InfluxDB stage on its own, against the real InfluxDB 1.x: what it makes
 * of one file's lines (all stored, a store that cannot be reached), --verify's
 * count, and the stored values a re-export comparison reads back.
 */
import t from 'tap';
import { resolveInfluxConfig } from '../../src/influx/config.js';
import { InfluxStage } from '../../src/pipeline/influx-stage.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';
import { emptyFileReport } from '../../src/pipeline/report.js';
import { MEASUREMENT } from '../../src/influx/series.js';
import { dropDatabase, influxQuery, servicesSkip, servicesUp } from '../support/services.js';
import { company } from '../support/real-influx.js';

const T0 = Date.UTC(2025, 5, 1) / 1000;
const SN = '09000001';

/** `n` points of one device at a 60 s step, fields U1 (V) and P1 (W), tagged and timed (seconds) as the ingest writes them. */
function lines(n: number, campaign: string): Uint8Array {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const tags = `campaign=${campaign},device_master_sn=${SN}`;
    out.push(`${MEASUREMENT},${tags} M${SN}_U1=${230 + i / 10},M${SN}_P1=${1000 + i} ${T0 + 60 * i}\n`);
  }
  return new TextEncoder().encode(out.join(''));
}

const task = (tenant: string, name: string): FileTask => ({
  path: `/data/${tenant}/camp/${SN}/${name}.tsv`,
  identity: { tenant, campaign: 'camp', device: SN },
});

t.test('the InfluxDB stage against the real InfluxDB 1.x', { skip: servicesSkip }, async (t) => {
  const env = await servicesUp();
  const tenant = company('stage');
  t.teardown(() => dropDatabase(env, tenant).catch(() => {}));
  await influxQuery(env, '', `CREATE DATABASE "${tenant}"`);
  const influx = resolveInfluxConfig({ influxUrl: env.INFLUX_URL, influxApi: 'v1' }, env);
  const stage = new InfluxStage({ influx, lingerMs: 20 });
  t.teardown(() => stage.http.close());

  await t.test("a file's lines, all stored: written, verified, read back", async (t) => {
    const a = task(tenant, 'a');
    const outcome = stage.outcome(a);
    await stage.batcher.write(lines(30, 'camp'), a);
    stage.batcher.endFile(a);
    await stage.batcher.flush();
    const result = await outcome;
    t.equal(result.error, null, 'no error');
    t.equal(result.rejected, false);
    t.equal(result.written.lines, 30, 'every line written');
    t.ok(result.written.batches >= 1);

    const report = emptyFileReport(a.path, a.identity);
    Object.assign(report, {
      master_sn: SN,
      points: 60,
      time_range: { first: new Date(T0 * 1000).toISOString(), last: new Date((T0 + 60 * 29) * 1000).toISOString() },
    });
    const verified = await stage.verify(report);
    t.same(verified?.verify, { expected: 60, found: 60 }, '--verify counts the 60 points back');
    t.equal(verified?.error, null);
    const short = await stage.verify({ ...report, points: 61 });
    t.equal(short?.error?.code, 'PV_ERR_VERIFY_MISMATCH', 'a point missing is a mismatch');

    const stored = await stage.conflicts.values(tenant, SN, [`M${SN}_U1`, `M${SN}_P1`], T0 + 60, T0 + 120);
    t.same(
      [...(stored.get(`M${SN}_P1`) ?? new Map())],
      [
        [T0 + 60, 1001],
        [T0 + 120, 1002],
      ],
    );
    t.equal(stored.get(`M${SN}_U1`)?.get(T0 + 60), 230.1, 'the stored values, exactly as written');
  });

  await t.test('a line the store refuses: rejected, the lines 1.x stored counted as written', async (t) => {
    const c = task(tenant, 'c');
    const good = new TextDecoder().decode(lines(4, 'camp2'));
    const body =
      good.split('\n').slice(0, 2).join('\n') +
      `\n${MEASUREMENT},campaign=camp2 =1 ${T0}\n` +
      good.split('\n').slice(2).join('\n');
    const outcome = stage.outcome(c);
    await stage.batcher.write(new TextEncoder().encode(body), c);
    stage.batcher.endFile(c);
    await stage.batcher.flush();
    const result = await outcome;
    t.equal(result.rejected, true, 'rejected: the file goes to error/');
    t.equal(result.error?.code, 'PV_ERR_STORE_PARTIAL', 'a partial write, as for InfluxDB 3');
    // InfluxDB 1.x stores the other lines of a partial write: 4 written, 1 refused (was 0 and 5)
    t.equal(result.written.lines, 4, 'the 4 good lines are in InfluxDB, and counted so');
    t.equal(result.written.refused, 1, 'one line refused');
    const stored = await influxQuery(env, tenant, `SELECT count(*) FROM ${MEASUREMENT} WHERE campaign = 'camp2'`);
    t.match(JSON.stringify(stored), /,4\]/, 'InfluxDB holds the 4 lines');
    t.match(
      result.error?.message ?? '',
      /stored 4 of 5 lines and refused 1 .*partial write: unable to parse/,
      "the count and the store's own words",
    );
    t.match(result.error?.server_lines ?? [], [/=1 /], 'the refused line as the store names it');
  });

  await t.test('a store that cannot be reached: the file is unavailable, never rejected', async (t) => {
    const gone = resolveInfluxConfig({ influxUrl: 'http://127.0.0.1:9', influxApi: 'v1', storeWait: '1' }, env);
    const off = new InfluxStage({ influx: gone, lingerMs: 10 });
    t.teardown(() => off.http.close());
    const b = task(tenant, 'b');
    const outcome = off.outcome(b);
    await off.batcher.write(lines(3, 'camp'), b).catch(() => {});
    off.batcher.endFile(b);
    await off.batcher.flush().catch(() => {});
    const result = await outcome;
    t.equal(result.rejected, false, 'not the file: left in place for a later run');
    t.equal(result.error?.code, 'PV_ERR_STORE_UNAVAILABLE');
    t.equal(result.written.lines, 0);
    t.ok((off.retries.network ?? 0) > 0, 'retried within --store-wait first');
  });
});
