import { StoreError, ErrorCodes } from '../errors.js';
import { Slots } from '../util/flow.js';
import type { LpSink } from '../util/lp-sink.js';
import { FileOutcomes, type BatchedFile, type FileWriteOutcome } from './file-outcomes.js';
import { append, fitLines, fitOversized, newBatch, type OpenBatch } from './open-batch.js';
import type { InfluxWriter } from './writer.js';

export type { BatchedFile, FileWriteOutcome } from './file-outcomes.js';

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

/**
 * The pipeline's sink for InfluxDB: copies line protocol into batches bounded
 * in lines and bytes (one open batch per database, `open-batch.ts`), sends them with at most
 * `concurrency` requests in flight, and tells when each file's lines were all
 * acknowledged (`file-outcomes.ts`). `write` waits for a free request slot when batches are full:
 * a slow InfluxDB slows the reading down, and memory stays at
 * (concurrency + databases) × batchBytes.
 */
export class LpBatcher implements LpSink<BatchedFile> {
  private readonly writer: InfluxWriter;
  private readonly options: Required<BatcherOptions>;
  private readonly slots: Slots;
  private readonly open = new Map<string, OpenBatch>();
  private readonly files = new FileOutcomes();
  private readonly free: Buffer[] = [];
  /** batches handed to dispatch(), counted; those not answered yet (waiting for a slot or in flight) by number */
  private dispatched = 0;
  private readonly unanswered = new Map<number, Promise<void>>();
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

  async write(chunk: Uint8Array, task?: BatchedFile): Promise<void> {
    this.throwIfFailed();
    if (!task) throw new TypeError('LpBatcher.write needs the file the lines belong to');
    if (chunk.length > 0 && chunk[chunk.length - 1] !== 10)
      throw new TypeError('LpBatcher.write takes whole lines: the chunk must end with a newline');
    const file = this.files.state(task);
    const db = this.options.databaseOf(task);
    const src = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < src.length) {
      const batch = this.batchFor(db);
      let run = fitLines(batch, src, pos, this.options.batchLines);
      if (run.lines === 0) {
        if (batch.length > 0) {
          await this.dispatch(batch);
          continue;
        }
        run = fitOversized(batch, src, pos);
      }
      append(batch, file, src, pos, run);
      pos = run.end;
      if (batch.lines >= this.options.batchLines || batch.length >= batch.buf.length) await this.dispatch(batch);
      else this.arm(batch);
    }
    this.throwIfFailed();
  }

  /** No more lines of this file: its outcome settles once its batches are answered. */
  endFile(task: BatchedFile): void {
    this.files.end(task);
  }

  /** Resolves when every line of the file was acknowledged, rejected, or the store gave up. */
  outcome(task: BatchedFile): Promise<FileWriteOutcome> {
    return this.files.claim(task);
  }

  /** Sends every open batch and waits for all answers. */
  async flush(): Promise<void> {
    for (const batch of [...this.open.values()]) {
      if (batch.length > 0) await this.dispatch(batch);
    }
    while (this.unanswered.size > 0) await Promise.all([...this.unanswered.values()]);
  }

  /**
   * Sends every open batch and waits for the answers of every batch sent so far, not of those sent later: lines
   * handed over before the call are answered when it resolves, while writes go on beside it.
   */
  async settled(): Promise<void> {
    for (const batch of [...this.open.values()]) {
      if (batch.length > 0) await this.dispatch(batch);
    }
    const upTo = this.dispatched;
    await Promise.all([...this.unanswered].filter(([seq]) => seq <= upTo).map(([, answered]) => answered));
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.failure) throw this.failure;
  }

  /** Files that never got an answer (the run stopped): they settle as unavailable. */
  abandon(error: StoreError): void {
    this.files.abandon(error);
  }

  private batchFor(db: string): OpenBatch {
    let b = this.open.get(db);
    if (!b) {
      b = newBatch(db, this.free.pop() ?? Buffer.allocUnsafe(this.options.batchBytes));
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

  /**
   * A batch goes to the writer (taken out of the open set, a request slot waited for, sent in the background);
   * remembered until answered (flush() and settled() wait for it).
   */
  private async dispatch(batch: OpenBatch): Promise<void> {
    const seq = ++this.dispatched;
    const sent = this.send(batch);
    const answered = sent
      .then(
        (sending) => sending?.answered,
        () => undefined,
      )
      .finally(() => this.unanswered.delete(seq));
    this.unanswered.set(seq, answered);
    await sent;
  }

  /** The batch handed to the writer once a slot is free; the promise of its answer (null: failed before sending). */
  private async send(batch: OpenBatch): Promise<{ answered: Promise<void> } | null> {
    if (this.open.get(batch.db) === batch) this.open.delete(batch.db);
    if (batch.timer) clearTimeout(batch.timer);
    batch.timer = null;
    await this.slots.acquire();
    if (this.failure) {
      this.slots.release();
      this.finish(batch, this.failure);
      return null;
    }
    this.bytesInFlight += batch.length;
    const task = this.writer
      .send(batch.db, batch.buf.subarray(0, batch.length), batch.segments)
      .then(
        (outcomes) => {
          this.acknowledgedLines += this.files.record(outcomes);
          this.finish(batch, null);
        },
        (err: unknown) => this.finish(batch, this.failed(err)),
      )
      .finally(() => {
        this.bytesInFlight -= batch.length;
        this.slots.release();
      });
    // wrapped: an async function returning the promise itself would wait for the answer
    return { answered: task };
  }

  /** A write that threw stops the run (the first failure is kept): batches still retrying give up now. */
  private failed(err: unknown): StoreError {
    const e =
      err instanceof StoreError
        ? err
        : new StoreError(ErrorCodes.STORE_UNAVAILABLE, `InfluxDB write failed: ${(err as Error)?.message ?? err}`, {
            cause: err,
          });
    if (!this.failure) {
      this.failure = e;
      // the run stops: batches still retrying give up now instead of at their own deadline
      this.writer.stop(e);
    }
    return e;
  }

  private finish(batch: OpenBatch, failure: StoreError | null): void {
    this.files.answered(batch.segments, failure);
    if (batch.buf.length === this.options.batchBytes && this.free.length < this.options.concurrency + 1)
      this.free.push(batch.buf);
  }
}
