/**
 * Where line protocol goes. `write` resolves when the sink can take more and
 * no longer needs `chunk`: the producer reuses that memory for later blocks.
 * `F` is what the lines belong to (the pipeline's file task); kept generic so
 * that the stores below the pipeline need not know it (docs/architecture.md).
 */
export interface LpSink<F = unknown> {
  /**
   * `chunk` holds whole lines, each ending with `\n`; `file` is the file they
   * come from (lines of one file arrive in order, files one after another).
   */
  write(chunk: Uint8Array, file?: F): void | Promise<void>;
  /** every line of `file` was written */
  endFile?(file: F): void;
  close(): Promise<void>;
}
