import { ErrorCodes, errorMessage, StoreError } from '../errors.js';
import type { ConflictSummary } from '../model/conflicts.js';
import { FileConflicts, type ConflictSource } from './conflicts.js';
import type { FileState } from './parser.js';

/**
 * The re-export comparisons of the files in flight (conflicts.ts): one per
 * file with held points, started at its first held point, run beside the
 * parser (other files go on meanwhile), settled at the file's end. A
 * comparison that fails fails its file as the store's.
 */
export class ConflictChecks {
  private readonly checks = new Map<FileState, FileConflicts>();

  /** `source` undefined: nothing is compared */
  constructor(private readonly source: ConflictSource | undefined) {}

  /**
   * A block's held cells and the file's values for them, copied for the comparison; a promise to wait for when the
   * file's comparison is too far behind (conflicts.ts, CHUNKS_QUEUED), null otherwise.
   */
  add(state: FileState, epochs: Uint32Array, cells: Uint32Array, values: Float64Array): Promise<void> | null {
    return this.of(state)?.add(epochs, cells, values) ?? null;
  }

  /**
   * The file's conflicts once all its blocks are in: null when there is nothing to wait for (none held, nothing
   * compared), else the comparison's end. A store that cannot answer fails the file.
   */
  finish(state: FileState): Promise<ConflictSummary | null> | null {
    const check = this.checks.get(state);
    this.checks.delete(state);
    if (!this.source || !state.plan || state.plan.noop || state.failure) return null;
    if (!check) {
      state.report.conflicting_points = 0;
      return null;
    }
    return check.finish().then(
      (summary) => {
        state.report.conflicting_points = summary.conflicting;
        if (summary.conflicting > 0 || summary.missing > 0) state.report.conflicts = summary;
        return summary;
      },
      (err: unknown) => {
        state.failure = storeFailure(err);
        return null;
      },
    );
  }

  /** The file's comparison (null: not compared). */
  private of(state: FileState): FileConflicts | null {
    if (!this.source || !state.header || !state.plan) return null;
    let check = this.checks.get(state);
    if (!check) {
      const { stepSeconds, heldFromRun } = state.plan;
      check = new FileConflicts(this.source, state.task.identity.tenant, state.header, stepSeconds, !!heldFromRun);
      this.checks.set(state, check);
    }
    return check;
  }
}

/**
 * A comparison that could not be made is never the file's fault: whatever failed (the query, or the earlier writes
 * of the run it waited for, refused by a misconfigured store) the file stays in place to be taken again.
 */
function storeFailure(err: unknown): StoreError {
  if (err instanceof StoreError && err.code === ErrorCodes.STORE_UNAVAILABLE) return err;
  const message = `InfluxDB could not answer the re-export comparison: ${errorMessage(err)}`;
  return new StoreError(ErrorCodes.STORE_UNAVAILABLE, message, { cause: err });
}
