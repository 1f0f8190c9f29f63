import { ErrorCodes, StoreError, errorMessage } from '../errors.js';
import type { Logger } from 'pino';
import type { FileAggregates, FileTask } from './pipeline.js';
import type { FileReport } from './report.js';
import type { FileSource } from './source.js';
import type { Planner } from './planner.js';
import { type Finisher, keepTaken, leftInPlace } from './finisher.js';
import { errorOf } from './outcomes.js';

/** Where a file's final report goes (the run's report, meta summary, metrics, callbacks). */
export type RecordFile = (report: FileReport, task: FileTask) => void;

/**
 * What becomes of each file of a run once the parser is done with it
 * (runIngestJob): finished side by side (moves, verify; bounded by the
 * writer's batches), recorded once; at the run's end the files it never
 * finished are recorded as left in place, as the store's.
 */
export class JobFiles {
  /** files whose outcome is still being settled */
  private readonly finishing = new Set<Promise<void>>();
  /** files the parser reported, in order (the ones planned again after the fence do not count twice) */
  private reached = 0;
  /** a file's ending failed (disk full for the report, say) */
  finishFailed = false;

  constructor(
    private readonly finisher: Finisher,
    private readonly planner: Planner | null,
    private readonly record: RecordFile,
    private readonly log?: Logger,
  ) {}

  /** The parser is done with a file: its ending starts (it is recorded once settled). */
  readonly onFile = (report: FileReport, task: FileTask, agg: FileAggregates | null): void => {
    if (this.planner?.reached(task) ?? true) this.reached++;
    const parsed = Object.freeze({ ...report, warnings: Object.freeze([...report.warnings]) }) as Readonly<FileReport>;
    const done: Promise<void> = this.finisher
      .finish(parsed, task, agg)
      .then((final) => {
        if (final) this.record(final, task);
      })
      .catch((err: unknown) => this.failed(parsed, task, err))
      .finally(() => {
        this.finishing.delete(done);
        this.planner?.settled(task);
      });
    this.finishing.add(done);
  };

  /** A file's ending failed: it is reported, never lost from the totals. */
  private failed(parsed: Readonly<FileReport>, task: FileTask, err: unknown): void {
    this.finishFailed = true;
    this.log?.error({ event: 'file', path: task.path, error: errorMessage(err) }, 'file could not be finished');
    const error = parsed.error ?? { code: ErrorCodes.READ, message: `could not finish the file: ${errorMessage(err)}` };
    try {
      this.record({ ...parsed, warnings: [...parsed.warnings], status: 'error', error }, task);
    } catch {
      // the report spool itself is failing: the totals still counted it if add() got that far
    }
  }

  /** The parser ended: every ending settled, then what the run did not finish recorded as left in place. */
  async end(runnable: FileSource, storeFailure: StoreError | null): Promise<void> {
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
    const files = Array.isArray(runnable) ? runnable : [];
    // files taken and never finished (the run stopped): their pins go (a stream's are its owner's to settle)
    for (const task of files) if (task.taken && !this.finisher.settledTaken.has(task)) await keepTaken(task);
    // refused by the fence and not planned again before the run stopped: left where they are, as the store's
    const unplanned = new StoreError(
      ErrorCodes.STORE_UNAVAILABLE,
      'refused by the coverage fence and not planned again before the run stopped',
    );
    for (const task of this.planner?.leftOver() ?? [])
      this.record(leftInPlace(task, errorOf(storeFailure ?? unplanned)), task);
    // files the run never reached (a store stopped it; files are reported in order): left where they are
    // (a stream's files not taken are its owner's: the service keeps them queued)
    const notProcessed = new StoreError(ErrorCodes.STORE_UNAVAILABLE, 'not processed');
    for (const task of files.slice(this.reached))
      this.record(leftInPlace(task, errorOf(storeFailure ?? notProcessed)), task);
  }
}
