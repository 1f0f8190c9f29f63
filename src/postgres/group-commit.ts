/** files per commit, and how long the first one waits for others to join it */
export const GROUP_MAX = 64;
export const GROUP_LINGER_MS = 200;

interface Waiting<I, R> {
  input: I;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: inputs that become ready while a commit runs are committed
 * together in the next one (every commit is an fsync, shared by the files it
 * holds). If a group fails, its inputs are committed one by one, so only the
 * faulty one fails. One commit at a time, in arrival order.
 */
export class GroupCommitter<I, R> {
  private readonly queue: Array<Waiting<I, R>> = [];
  private draining = false;

  constructor(
    /** commits the inputs together, all or nothing; one result per input, in order */
    private readonly commit: (inputs: I[]) => Promise<R[]>,
    private readonly lingerMs = GROUP_LINGER_MS,
    private readonly maxGroup = GROUP_MAX,
  ) {}

  /** Resolves once `input` is committed (with its result), rejects with its own failure. */
  submit(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        await this.linger();
        await this.commitGroup(this.queue.splice(0, this.maxGroup));
      }
    } finally {
      this.draining = false;
    }
  }

  /** Lets a group form: waits up to `lingerMs` for `maxGroup` inputs. */
  private async linger(): Promise<void> {
    const until = Date.now() + this.lingerMs;
    while (this.queue.length < this.maxGroup && Date.now() < until)
      await new Promise((r) => setTimeout(r, Math.min(10, this.lingerMs)));
  }

  private async commitGroup(group: Array<Waiting<I, R>>): Promise<void> {
    try {
      const results = await this.commit(group.map((g) => g.input));
      group.forEach((g, k) => g.resolve(results[k]));
    } catch (err) {
      if (group.length === 1) {
        group[0].reject(err);
        return;
      }
      // one input spoiled the group: each on its own, so only that one fails
      for (const g of group) {
        try {
          g.resolve((await this.commit([g.input]))[0]);
        } catch (e) {
          g.reject(e);
        }
      }
    }
  }
}
