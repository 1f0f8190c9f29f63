import type { StoreError } from '../errors.js';
import { wholeRejection, type RefusedLine } from './rejection.js';
import type { Segment, SegmentOutcome } from './segments.js';

/** What became of one file's lines once every batch holding them was answered. */
export type FileWriteOutcome =
  | { status: 'ok'; lines: number; batches: number }
  | {
      status: 'rejected';
      lines: number;
      batches: number;
      /** STORE_PARTIAL when some of its lines were stored, STORE_REJECTED when none were */
      error: StoreError;
      /** lines the store said it stored: they stay, and are not sent again */
      stored: number;
      /** lines not stored (`lines - stored`) */
      refused: number;
      /** the first 20 lines refused by number (InfluxDB 3), numbered as the file numbers them */
      refusedLines: RefusedLine[];
    }
  | { status: 'unavailable'; lines: number; batches: number; error: StoreError };

/** What the batcher needs of a file: its tenant (the default database). Files are told apart by identity. */
export interface BatchedFile {
  readonly identity: { readonly tenant: string };
}

/** One file's lines in the batches: how many, in how many batches, how many not answered yet, and the answers. */
export interface FileState {
  task: BatchedFile;
  lines: number;
  batches: number;
  pending: number;
  ended: boolean;
  /** the first rejection of one of its segments */
  rejection: StoreError | null;
  /** lines the store said it stored */
  stored: number;
  /** lines refused by number (InfluxDB 3): how many, and the first 20 */
  namedRefused: number;
  refusedLines: RefusedLine[];
  settle: (o: FileWriteOutcome) => void;
  outcome: Promise<FileWriteOutcome>;
  done: boolean;
  /** someone holds the outcome promise: the state can go once settled */
  claimed: boolean;
}

/**
 * The batcher's accounting per file: each answer recorded on the file it belongs to, and the file's outcome
 * settled once, when it has ended and its last batch was answered (or the run stopped). A settled file is
 * forgotten once its outcome was asked for.
 */
export class FileOutcomes {
  private readonly files = new Map<BatchedFile, FileState>();

  state(task: BatchedFile): FileState {
    let f = this.files.get(task);
    if (!f) {
      let settle!: (o: FileWriteOutcome) => void;
      const outcome = new Promise<FileWriteOutcome>((r) => (settle = r));
      f = {
        task,
        lines: 0,
        batches: 0,
        pending: 0,
        ended: false,
        rejection: null,
        stored: 0,
        namedRefused: 0,
        refusedLines: [],
        settle,
        outcome,
        done: false,
        claimed: false,
      };
      this.files.set(task, f);
    }
    return f;
  }

  /** No more lines of this file: its outcome settles once its batches are answered. */
  end(task: BatchedFile): void {
    const f = this.state(task);
    f.ended = true;
    this.maybeSettle(f);
  }

  /** The file's outcome, once settled. */
  claim(task: BatchedFile): Promise<FileWriteOutcome> {
    const f = this.state(task);
    f.claimed = true;
    if (f.done) this.files.delete(task);
    return f.outcome;
  }

  /** A batch's answers, on the files they belong to; returns the lines the store stored. */
  record(outcomes: SegmentOutcome<FileState>[]): number {
    let stored = 0;
    for (const { segment, rejection, stored: n, refused } of outcomes) {
      const f = segment.file;
      if (rejection && !f.rejection) f.rejection = rejection;
      f.stored += n;
      f.namedRefused += refused.length;
      for (const r of refused) if (f.refusedLines.length < 20) f.refusedLines.push(r);
      stored += n;
    }
    return stored;
  }

  /** A batch answered, or failed with `failure` (its files unavailable): files whose last batch it was settle. */
  answered(segments: readonly Segment<FileState>[], failure: StoreError | null): void {
    for (const s of segments) {
      s.file.pending--;
      if (failure) this.settle(s.file, unavailable(s.file, failure));
      else this.maybeSettle(s.file);
    }
  }

  /** Files that never got an answer (the run stopped): they settle as unavailable. */
  abandon(error: StoreError): void {
    for (const f of [...this.files.values()]) this.settle(f, unavailable(f, error));
  }

  private maybeSettle(f: FileState): void {
    if (!f.ended || f.pending > 0 || f.done) return;
    // over the whole file: lines stored by other batches, or beside the refused ones, make it a partial write
    const { lines, batches, stored, refusedLines } = f;
    const error = wholeRejection({
      first: f.rejection,
      lines,
      stored,
      refused: refusedLines,
      refusedCount: f.namedRefused,
    });
    if (!error) this.settle(f, { status: 'ok', lines, batches });
    else this.settle(f, { status: 'rejected', lines, batches, error, stored, refused: lines - stored, refusedLines });
  }

  private settle(f: FileState, o: FileWriteOutcome): void {
    if (f.done) return;
    f.done = true;
    if (f.claimed) this.files.delete(f.task);
    f.settle(o);
  }
}

function unavailable(f: FileState, error: StoreError): FileWriteOutcome {
  return { status: 'unavailable', lines: f.lines, batches: f.batches, error };
}
