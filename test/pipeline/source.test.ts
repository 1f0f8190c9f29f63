/** The Source: files whose tenant or campaign cannot name a database are refused up front, once each. */
import t from 'tap';
import { ErrorCodes } from '../../src/errors.js';
import { fileSource, refusalOf } from '../../src/pipeline/source.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';

const task = (company: string, campaign = 'c1'): FileTask => ({
  path: `/d/${company}/${campaign}/a.tsv`,
  identity: { tenant: company, campaign },
});

t.test('a list stays a list, refused files taken out and handed over', async (t) => {
  const refused: string[] = [];
  const out = fileSource([task('acme'), task('bad name!'), task('beta')], 'v1', (f, e) => {
    t.equal(e.code, ErrorCodes.TENANT_NAME);
    refused.push(f.identity.tenant);
  });
  t.ok(Array.isArray(out));
  t.same(
    (out as FileTask[]).map((f) => f.identity.tenant),
    ['acme', 'beta'],
  );
  t.same(refused, ['bad name!']);
});

t.test('a stream stays a stream, read as the job reads it', async (t) => {
  let pulled = 0;
  const stream = (async function* () {
    for (const f of [task('acme'), task('a.b'), task('beta')]) {
      pulled++;
      yield f;
    }
  })();
  const refused: string[] = [];
  const out = fileSource(stream, 'v3', (f) => refused.push(f.identity.tenant));
  t.notOk(Array.isArray(out));
  t.equal(pulled, 0, 'nothing read before the job asks');
  const seen: string[] = [];
  for await (const f of out as AsyncIterable<FileTask>) seen.push(f.identity.tenant);
  t.same(seen, ['acme', 'beta']);
  t.same(refused, ['a.b'], "InfluxDB 3 takes no '.' in a database name");
});

t.test("the store's rule decides", async (t) => {
  t.equal(refusalOf(task('a.b'), 'v1'), null);
  t.equal(refusalOf(task('a.b'), 'v3')?.code, ErrorCodes.TENANT_NAME);
});
