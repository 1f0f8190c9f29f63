import type { FileTask } from '../pipeline/pipeline.js';

/**
 * One iterator over the scheduler for the whole life of serve, lent to one
 * ingest job at a time. A job that ends (a store failure, a crash) lets go of
 * its pending next() at once; the file that pending next() brings later is
 * kept for the next job, never taken by a dead one. Tasks handed to a job and
 * not yet done are remembered: when the job ends they go back to their owner.
 */
export class JobFeed {
  private readonly source: AsyncIterator<FileTask>;
  private pending: Promise<IteratorResult<FileTask>> | null = null;
  /** handed to the current job, outcome not known yet */
  readonly out = new Set<FileTask>();

  constructor(source: AsyncIterable<FileTask>) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** The stream of one job; `end()` makes its next() answer done. */
  lend(): { stream: AsyncIterable<FileTask>; end: () => void } {
    let ended = false;
    let wakeEnd: (() => void) | null = null;
    const endPromise = new Promise<'end'>((r) => (wakeEnd = () => r('end')));
    const end = () => {
      ended = true;
      wakeEnd?.();
    };
    const stream: AsyncIterable<FileTask> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<FileTask>> => {
          if (ended) return { done: true, value: undefined };
          this.pending ??= this.source.next();
          const mine = this.pending;
          const r = await Promise.race([mine, endPromise]);
          if (r === 'end') return { done: true, value: undefined };
          this.pending = null;
          if (!r.done) this.out.add(r.value);
          return r;
        },
        return: (): Promise<IteratorResult<FileTask>> => {
          end();
          return Promise.resolve({ done: true, value: undefined });
        },
      }),
    };
    return { stream, end };
  }

  /** The job reported the file: it is no longer out. */
  done(task: FileTask): void {
    this.out.delete(task);
  }
}
