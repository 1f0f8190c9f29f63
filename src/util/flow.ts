/**
 * The two small primitives the pipeline's backpressure is made of: a counted
 * set of slots (blocks in flight) and an ordered hand-off queue.
 */
export class Slots {
  private free: number;
  /** FIFO of waiting acquirers: several callers may wait at once (writes, linger timers, verify) */
  private readonly waiters: Array<() => void> = [];
  private aborted = false;

  constructor(count: number) {
    this.free = count;
  }

  /** Waits for a free slot; rejects once aborted. */
  async acquire(): Promise<void> {
    while (this.free <= 0 && !this.aborted) await new Promise<void>((r) => this.waiters.push(r));
    if (this.aborted) throw new Error('pipeline aborted');
    this.free--;
  }

  release(): void {
    this.free++;
    this.waiters.shift()?.();
  }

  /** Every waiting and later acquire() rejects. */
  abort(): void {
    this.aborted = true;
    for (const w of this.waiters.splice(0)) w();
  }

  get isAborted(): boolean {
    return this.aborted;
  }
}

/** Single-consumer FIFO: next() resolves with the next item, or undefined once closed and empty. */
export class HandOff<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  async next(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((r) => (this.waiter = r));
    }
    return this.items.shift();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

/** Does `job` end (resolved or rejected) within `ms`? The timer is cleared either way. */
export async function endsWithin(job: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  const ended = job.then(
    () => 'done' as const,
    () => 'done' as const,
  );
  const outcome = await Promise.race([ended, timeout]);
  clearTimeout(timer);
  return outcome === 'done';
}
