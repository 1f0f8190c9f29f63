/**
 * The Planner's re-plans: a file the commit fence refused goes back to the
 * parser once its finish settles, at most MAX_REPLANS times; `tasks()` ends
 * once no file handed over can come back. No database: planning itself is
 * not called here (test/exactly-once*.test.ts covers it against PostgreSQL).
 */
import t from 'tap';
import { StaleCoverageError } from '../../src/postgres/ingest-store.js';
import { MAX_REPLANS, Planner } from '../../src/pipeline/planner.js';
import type { PostgresStage } from '../../src/pipeline/postgres-stage.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';

const stage = { store: {}, retry: <T>(call: () => Promise<T>) => call() } as unknown as PostgresStage;
const task = (name: string): FileTask => ({
  path: `/d/acme/c1/${name}.tsv`,
  identity: { tenant: 'acme', campaign: 'c1' },
});
const stale = new StaleCoverageError('acme', '02001171', 1, 2);

/** Drives the planner as the job does: each file handed over is finished by `finish` (true: refused by the fence). */
async function drive(planner: Planner, files: FileTask[], refuse: (f: FileTask, n: number) => boolean) {
  const seen: string[] = [];
  for await (const f of planner.tasks(files)) {
    const first = planner.reached(f);
    seen.push(`${f.path.slice(-5, -4)}${first ? '' : '+'}`);
    // the finish settles later, as the job's does
    setImmediate(() => {
      if (refuse(f, planner.replansOf(f))) planner.replan(f, stale);
      planner.settled(f);
    });
  }
  return seen;
}

t.test('a refused file comes back after the others, and the run ends when none can come back', async (t) => {
  const planner = new Planner(stage, {});
  const a = task('a');
  const seen = await drive(planner, [a, task('b')], (f, n) => f === a && n === 0);
  t.same(seen, ['a', 'b', 'a+']);
  t.equal(planner.replansOf(a), 1);
  t.same(planner.leftOver(), []);
});

t.test('at most MAX_REPLANS new plans, then the file is final', async (t) => {
  const planner = new Planner(stage, {});
  const a = task('a');
  let refusals = 0;
  const seen = await drive(planner, [a], () => {
    refusals++;
    return true;
  });
  t.equal(seen.length, MAX_REPLANS + 1);
  t.equal(refusals, MAX_REPLANS + 1);
  t.notOk(planner.replan(a, stale), 'no fourth plan');
});

t.test('a stopped run plans nothing again and hands back what was still to plan', async (t) => {
  const planner = new Planner(stage, {});
  const a = task('a');
  const it = planner.tasks([a, task('b')]);
  const first = await it.next();
  t.equal(first.value, a);
  planner.reached(a);
  t.ok(planner.replan(a, stale));
  t.ok(planner.isReplanning(a), 'keeps its pin: read again from the same bytes');
  planner.stop();
  t.ok(planner.isStopped);
  t.notOk(planner.replan(task('c'), stale));
  t.same(planner.leftOver(), [a]);
  await it.return(undefined);
});
