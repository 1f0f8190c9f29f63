import t from 'tap';
import { JobFeed } from '../../src/service/job-feed.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';

const task = (n: number): FileTask => ({
  path: `/r/c/p/d/f${n}.tsv`,
  identity: { tenant: 'c', campaign: 'p', device: 'd' },
});

/** A source that yields when told to. */
function source() {
  const waiting: Array<(v: IteratorResult<FileTask>) => void> = [];
  const queued: FileTask[] = [];
  const it: AsyncIterable<FileTask> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        new Promise<IteratorResult<FileTask>>((r) => {
          const q = queued.shift();
          if (q) r({ done: false, value: q });
          else waiting.push(r);
        }),
    }),
  };
  return {
    it,
    push(x: FileTask) {
      const w = waiting.shift();
      if (w) w({ done: false, value: x });
      else queued.push(x);
    },
    get waiting() {
      return waiting.length;
    },
  };
}

t.test(
  'a job that ends lets go at once, and the file its pending next() brings later goes to the next job',
  async (t) => {
    const src = source();
    const feed = new JobFeed(src.it);
    const first = feed.lend();
    const it1 = first.stream[Symbol.asyncIterator]();
    const a = task(1);
    src.push(a);
    t.equal((await it1.next()).value, a, 'the first job gets the first file');
    t.ok(feed.out.has(a), 'handed out, not done yet');
    const pending = it1.next();
    first.end();
    t.same(await pending, { done: true, value: undefined }, 'the ended job stops waiting');
    const b = task(2);
    src.push(b);
    const second = feed.lend().stream[Symbol.asyncIterator]();
    t.equal((await second.next()).value, b, 'the next job gets the file the dead one was waiting for');
    t.equal(src.waiting, 0, 'one reader of the source at a time');
    feed.done(a);
    t.notOk(feed.out.has(a));
    t.ok(feed.out.has(b));
  },
);
