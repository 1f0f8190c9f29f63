import { StoreError, ErrorCodes } from '../errors.js';
import { Slots } from '../util/flow.js';
import type { LpSink } from '../util/lp-sink.js';
import { rejectionOf, type InfluxWriter, type RefusedLine, type Segment } from './writer.js';

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

export interface BatcherOptions {
  /** lines per batch (default 5,000) */
  batchLines: number;
  /** bytes per batch before gzip (default 4 MB) */
  batchBytes: number;
  /** write requests in flight (default 4) */
  concurrency: number;
  /** a partly filled batch is sent after this long without filling up; default 1,000 ms */
  lingerMs?: number;
  /** database of a file; default its tenant */
  databaseOf?: (task: BatchedFile) => string;
}

interface FileState {
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

interface OpenBatch {
  db: string;
  buf: Buffer;
  length: number;
  lines: number;
  segments: Segment<FileState>[];
  timer: NodeJS.Timeout | null;
}

/**
 * The pipeline's sink for InfluxDB: copies line protocol into batches bounded
 * in lines and bytes (one open batch per database), sends them with at most
 * `concurrency` requests in flight, and tells when each file's lines were all
 * acknowledged. `write` waits for a free request slot when batches are full:
 * a slow InfluxDB slows the reading down, and memory stays at
 * (concurrency + databases) × batchBytes.
 */
export class LpBatcher implements LpSink<BatchedFile> {
  private readonly writer: InfluxWriter;
  private readonly options: Required<BatcherOptions>;
  private readonly slots: Slots;
  private readonly open = new Map<string, OpenBatch>();
  private readonly files = new Map<BatchedFile, FileState>();
  private readonly free: Buffer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: StoreError | null = null;
  /** lines and bytes handed to InfluxDB and acknowledged */
  acknowledgedLines = 0;
  bytesInFlight = 0;

  constructor(writer: InfluxWriter, options: BatcherOptions) {
    this.writer = writer;
    this.options = { lingerMs: 1000, databaseOf: (t) => t.identity.tenant, ...options };
    this.slots = new Slots(options.concurrency);
  }

  /** Rethrows the run-stopping store failure, once one happened (it is set while writes are awaited). */
  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** The run-stopping store failure, once one happened. */
  get fatal(): StoreError | null {
    return this.failure;
  }

  private fileState(task: BatchedFile): FileState {
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

  async write(chunk: Uint8Array, task?: BatchedFile): Promise<void> {
    this.throwIfFailed();
    if (!task) throw new TypeError('LpBatcher.write needs the file the lines belong to');
    if (chunk.length > 0 && chunk[chunk.length - 1] !== 10)
      throw new TypeError('LpBatcher.write takes whole lines: the chunk must end with a newline');
    const file = this.fileState(task);
    const db = this.options.databaseOf(task);
    const src = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < src.length) {
      const batch = this.batchFor(db);
      const room = batch.buf.length - batch.length;
      let lineRoom = this.options.batchLines - batch.lines;
      // whole lines that fit in both limits
      let end = pos;
      let lines = 0;
      while (lineRoom > 0) {
        const nl = src.indexOf(10, end);
        if (nl < 0 || nl + 1 - pos > room) break;
        end = nl + 1;
        lines++;
        lineRoom--;
      }
      if (lines === 0) {
        if (batch.length > 0) {
          await this.dispatch(batch);
          continue;
        }
        // one line longer than a whole batch: it travels alone
        const nl = src.indexOf(10, pos);
        end = nl < 0 ? src.length : nl + 1;
        lines = 1;
        batch.buf = Buffer.allocUnsafe(end - pos);
      }
      src.copy(batch.buf, batch.length, pos, end);
      const last = batch.segments[batch.segments.length - 1];
      if (last && last.file === file) {
        last.end += end - pos;
        last.lines += lines;
      } else {
        batch.segments.push({
          file,
          start: batch.length,
          end: batch.length + end - pos,
          lines,
          firstLine: file.lines + 1,
        });
        file.pending++;
        file.batches++;
      }
      batch.length += end - pos;
      batch.lines += lines;
      file.lines += lines;
      pos = end;
      if (batch.lines >= this.options.batchLines || batch.length >= batch.buf.length) await this.dispatch(batch);
      else this.arm(batch);
    }
    this.throwIfFailed();
  }

  /** No more lines of this file: its outcome settles once its batches are answered. */
  endFile(task: BatchedFile): void {
    const f = this.fileState(task);
    f.ended = true;
    this.maybeSettle(f);
  }

  /** Resolves when every line of the file was acknowledged, rejected, or the store gave up. */
  outcome(task: BatchedFile): Promise<FileWriteOutcome> {
    const f = this.fileState(task);
    f.claimed = true;
    if (f.done) this.files.delete(task);
    return f.outcome;
  }

  /** Sends every open batch and waits for all answers. */
  async flush(): Promise<void> {
    for (const batch of [...this.open.values()]) {
      if (batch.length > 0) await this.dispatch(batch);
    }
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.failure) throw this.failure;
  }

  private batchFor(db: string): OpenBatch {
    let b = this.open.get(db);
    if (!b) {
      b = {
        db,
        buf: this.free.pop() ?? Buffer.allocUnsafe(this.options.batchBytes),
        length: 0,
        lines: 0,
        segments: [],
        timer: null,
      };
      this.open.set(db, b);
    }
    return b;
  }

  private arm(batch: OpenBatch): void {
    if (batch.timer || this.options.lingerMs <= 0) return;
    batch.timer = setTimeout(() => {
      batch.timer = null;
      if (this.open.get(batch.db) === batch && batch.length > 0) void this.dispatch(batch).catch(() => {});
    }, this.options.lingerMs);
    batch.timer.unref();
  }

  /** Takes the batch out of the open set, waits for a request slot, sends it in the background. */
  private async dispatch(batch: OpenBatch): Promise<void> {
    if (this.open.get(batch.db) === batch) this.open.delete(batch.db);
    if (batch.timer) clearTimeout(batch.timer);
    batch.timer = null;
    await this.slots.acquire();
    if (this.failure) {
      this.slots.release();
      this.finish(batch, this.failure);
      return;
    }
    this.bytesInFlight += batch.length;
    const body = batch.buf.subarray(0, batch.length);
    const task = this.writer
      .send(batch.db, body, batch.segments)
      .then(
        (outcomes) => {
          for (const { segment, rejection, stored, refused } of outcomes) {
            const f = segment.file;
            if (rejection && !f.rejection) f.rejection = rejection;
            f.stored += stored;
            f.namedRefused += refused.length;
            for (const r of refused) if (f.refusedLines.length < 20) f.refusedLines.push(r);
            this.acknowledgedLines += stored;
          }
          this.finish(batch, null);
        },
        (err: unknown) => {
          const e =
            err instanceof StoreError
              ? err
              : new StoreError(
                  ErrorCodes.STORE_UNAVAILABLE,
                  `InfluxDB write failed: ${(err as Error)?.message ?? err}`,
                  { cause: err },
                );
          if (!this.failure) {
            this.failure = e;
            // the run stops: batches still retrying give up now instead of at their own deadline
            this.writer.stop(e);
          }
          this.finish(batch, e);
        },
      )
      .finally(() => {
        this.bytesInFlight -= batch.length;
        this.slots.release();
        this.inFlight.delete(task);
      });
    this.inFlight.add(task);
  }

  private finish(batch: OpenBatch, failure: StoreError | null): void {
    for (const s of batch.segments) {
      s.file.pending--;
      if (failure)
        this.settle(s.file, { status: 'unavailable', lines: s.file.lines, batches: s.file.batches, error: failure });
      else this.maybeSettle(s.file);
    }
    if (batch.buf.length === this.options.batchBytes && this.free.length < this.options.concurrency + 1)
      this.free.push(batch.buf);
  }

  private maybeSettle(f: FileState): void {
    if (!f.ended || f.pending > 0 || f.done) return;
    if (f.rejection) {
      // over the whole file: lines stored by other batches, or beside the refused ones, make it a partial write
      const error =
        f.stored > 0 || f.namedRefused > 0
          ? rejectionOf({
              first: f.rejection,
              lines: f.lines,
              stored: f.stored,
              refused: f.refusedLines,
              refusedCount: f.namedRefused,
            })
          : f.rejection;
      this.settle(f, {
        status: 'rejected',
        lines: f.lines,
        batches: f.batches,
        error,
        stored: f.stored,
        refused: f.lines - f.stored,
        refusedLines: f.refusedLines,
      });
    } else this.settle(f, { status: 'ok', lines: f.lines, batches: f.batches });
  }

  private settle(f: FileState, o: FileWriteOutcome): void {
    if (f.done) return;
    f.done = true;
    if (f.claimed) this.files.delete(f.task);
    f.settle(o);
  }

  /** Files that never got an answer (the run stopped): they settle as unavailable. */
  abandon(error: StoreError): void {
    for (const f of [...this.files.values()])
      this.settle(f, { status: 'unavailable', lines: f.lines, batches: f.batches, error });
  }
}
