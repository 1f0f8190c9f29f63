import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { MemorySink } from '../support/tsv-run.js';
import { sharedDir, sharedSkip } from '../support/helpers.js';

/** series key + field + timestamp → value, the last line winning (as InfluxDB stores it) */
function pointsOf(lp: string): Map<string, string> {
  const points = new Map<string, string>();
  for (const line of lp.split('\n')) {
    if (line === '') continue;
    // the tag set has escaped spaces; the field set is after the first unescaped space
    const m = /^((?:[^ \\]|\\.)+) ([^=]+)=(\S+) (\d+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    points.set(`${m[1]} ${m[2]} ${m[4]}`, m[3]);
  }
  return points;
}

const samples = ['v002_master_4slaves', 'v002_tri_1slave', 'v003_mono', 'v003_tri_1slave'];

t.test('line protocol equals the earlier tool golden output, point for point', { skip: sharedSkip }, async (t) => {
  for (const workers of [0, 2]) {
    for (const name of samples) {
      const sink = new MemorySink();
      // workers 0 also takes the large-file path (pass 2 reads the file again block by block)
      const pipeline = new Pipeline({
        workers,
        v002TimeZone: 'UTC',
        sink,
        blockBytes: 1024,
        keepWholeBytes: workers === 0 ? 0 : undefined,
      });
      const [report] = await pipeline.run([
        { path: join(sharedDir, 'samples', `${name}.tsv`), identity: { tenant: 'company1', campaign: 'campaign1' } },
      ]);
      await pipeline.close();
      t.equal(report.status, 'ok', `${name}: status ok`);
      const ours = pointsOf(sink.text());
      const golden = pointsOf(readFileSync(join(sharedDir, 'golden', `${name}.lp`), 'utf8'));
      t.equal(ours.size, golden.size, `${name} (workers=${workers}): same number of distinct points`);
      let missing = 0;
      let different = 0;
      for (const [key, value] of golden) {
        const mine = ours.get(key);
        if (mine === undefined) missing++;
        else if (Number(mine) !== Number(value)) different++;
      }
      t.equal(missing, 0, `${name}: no golden point missing`);
      t.equal(different, 0, `${name}: every value equal as a number`);
      t.equal(report.points, ours.size, `${name}: report counts the points written`);
    }
  }
});

t.test('golden samples: the earlier tool errors are errors here too', { skip: sharedSkip }, async (t) => {
  const pipeline = new Pipeline({ workers: 0, v002TimeZone: 'UTC' });
  const reports = await pipeline.run(
    ['empty', 'header_only', 'unsupported_t202'].map((n) => ({
      path: join(sharedDir, 'samples', `${n}.tsv`),
      identity: { tenant: 'company1', campaign: 'campaign1' },
    })),
  );
  await pipeline.close();
  t.same(
    reports.map((r) => [r.status, r.error?.code]),
    [
      ['error', 'PV_ERR_EMPTY_FILE'],
      ['error', 'PV_ERR_NO_VALID_ROW'],
      ['error', 'PV_ERR_UNKNOWN_FORMAT'],
    ],
  );
  t.match(reports[2].error?.message, /MV_T202_V002/);
  t.match(reports[1].error?.message, /header only/);
});
