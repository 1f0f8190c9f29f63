import type { Logger } from 'pino';
import type { StaleCoverageError } from '../postgres/ingest-store.js';
import type { ScanResult } from '../tsv/scanner.js';
import type { DeviceClaims } from './device-claims.js';
import { ExactlyOnce, type PlannedFile } from './exactly-once.js';
import type { PostgresStage } from './postgres-stage.js';
import type { FileAggregates, FilePlan, FileTask } from './pipeline.js';

/** A file the fence refuses is planned again at most this often in a run (then left in place, STORE_UNAVAILABLE). */
export const MAX_REPLANS = 3;

/**
 * The one place where data looks back (docs/architecture.md): a file's plan
 * may wait for an earlier file of the same device whose time range overlaps
 * its own, until that file is consumed (all its blocks parsed), because the
 * earlier file's coverage decides which points the later one holds. The
 * parser calls `planFile` after pass 1 and `onConsumed` once a file's blocks
 * are all parsed, in file order; `abort` lets every waiting plan go.
 */
export interface PlanGate {
  planFile(task: FileTask, scan: ScanResult, sha256: string): Promise<FilePlan>;
  onConsumed(task: FileTask, aggregates: FileAggregates | null): void;
}

/**
 * The Planner: exactly-once planning (ExactlyOnce) and the re-plans after the
 * commit fence refused a plan (StaleCoverageError): such a file goes back to
 * the parser, at most MAX_REPLANS times, once its finish is over. `tasks()`
 * ends once no file handed over can come back.
 */
export class Planner {
  readonly once: ExactlyOnce;
  readonly gate: PlanGate;
  private readonly replans = new Map<FileTask, number>();
  private readonly toReplan = new Set<FileTask>();
  private readonly again: FileTask[] = [];
  /** handed to the parser again, not yet back from it */
  private readonly replanning = new Set<FileTask>();
  /** files handed over whose outcome is not final (a refused one may come back) */
  private live = 0;
  private stopped = false;
  private nudge: (() => void) | null = null;

  constructor(postgres: PostgresStage, options: { force?: boolean; claims?: DeviceClaims; log?: Logger }) {
    this.log = options.log;
    this.once = new ExactlyOnce(postgres.store, {
      force: options.force,
      claims: options.claims,
      retry: postgres.retry,
    });
    this.gate = { planFile: this.once.planFile, onConsumed: this.once.onConsumed };
  }

  private readonly log: Logger | undefined;

  get planSeconds(): number {
    return this.once.planSeconds;
  }

  planned(task: FileTask): PlannedFile | null {
    return this.once.plannedFile(task);
  }

  /** How many times the file was planned again (0: never). */
  replansOf(task: FileTask): number {
    return this.replans.get(task) ?? 0;
  }

  /** The fence refused the file's plan: true when it is planned again (after its finish settles). */
  replan(task: FileTask, err: StaleCoverageError): boolean {
    const n = this.replansOf(task);
    if (n >= MAX_REPLANS || this.stopped) return false;
    this.replans.set(task, n + 1);
    this.toReplan.add(task);
    this.log?.warn(
      { event: 'replan', path: task.path, attempt: n + 1, error: err.message },
      'file planned again: its device coverage changed since its plan',
    );
    return true;
  }

  /** The file to be planned again keeps its pin: it is read again from the same bytes. */
  isReplanning(task: FileTask): boolean {
    return this.toReplan.has(task);
  }

  /** The parser handed the file on: true the first time (a file planned again is not counted twice). */
  reached(task: FileTask): boolean {
    this.replanning.delete(task);
    return !this.replans.has(task);
  }

  /** The file's finish is over: it is final, or goes back to the parser. */
  settled(task: FileTask): void {
    this.live--;
    if (this.toReplan.delete(task)) this.again.push(task);
    this.poke();
  }

  /** The file's plan and claim let go (its finish does this before it settles). */
  release(task: FileTask): void {
    this.once.release(task);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** The run stops: waiting plans go on and fail fast, nothing more is planned again. */
  stop(): void {
    this.stopped = true;
    this.poke();
    this.once.abort();
  }

  /** Files refused by the fence and not planned again before the run stopped. */
  leftOver(): FileTask[] {
    this.stopped = true;
    const out = [...new Set([...this.again, ...this.toReplan, ...this.replanning])];
    this.again.length = 0;
    this.replanning.clear();
    return out;
  }

  /** The run's files, then the refused ones again; ends once no file handed over can come back. */
  async *tasks(source: FileTask[] | AsyncIterable<FileTask>): AsyncGenerator<FileTask> {
    const it: Iterator<FileTask> | AsyncIterator<FileTask> = Array.isArray(source)
      ? source[Symbol.iterator]()
      : source[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<FileTask>> | null = null;
    let ended = false;
    try {
      while (!this.stopped) {
        const task = this.again.shift();
        if (task) {
          this.live++;
          this.replanning.add(task);
          yield task;
          continue;
        }
        if (ended) {
          if (this.live === 0) return;
          await new Promise<void>((r) => (this.nudge = r));
          continue;
        }
        next ??= Promise.resolve(it.next());
        const woken = new Promise<'again'>((r) => (this.nudge = () => r('again')));
        const r = await Promise.race([next, woken]);
        if (r === 'again') continue;
        this.nudge = null;
        next = null;
        if (r.done) {
          ended = true;
          continue;
        }
        this.live++;
        yield r.value;
      }
    } finally {
      // the run stopped early: the source lets go (a stream's pending next() answers done through onAbort)
      if (!ended) void Promise.resolve(it.return?.()).catch(() => {});
    }
  }

  private poke(): void {
    const n = this.nudge;
    this.nudge = null;
    n?.();
  }
}
