import { ErrorCodes, StoreError, type PowerViewError } from '../errors.js';
import type { FileError } from './report.js';

/** A stage's failure as the file's report states it. */
export function errorOf(err: PowerViewError): FileError {
  const error: FileError = { code: err.code, message: err.message.split('\n')[0] };
  if (err instanceof StoreError && (err.code === ErrorCodes.STORE_REJECTED || err.code === ErrorCodes.STORE_PARTIAL)) {
    error.http_status = err.status;
    error.server_lines = err.lines;
  }
  return error;
}

/** Failed because of a store (unavailable, credentials): not the file's fault, it stays where it is. */
export function storeOwned(error: FileError | null): boolean {
  return error?.code === ErrorCodes.STORE_UNAVAILABLE || error?.code === ErrorCodes.STORE_AUTH;
}

/** What a run ended with: the exit code is the first row of EXIT_CODES that matches. */
export interface RunOutcome {
  readonly storeFailure: StoreError | null;
  readonly filesFailed: number;
  /** a file's ending itself failed (the report spool, say) */
  readonly finishFailed: boolean;
}

/**
 * Exit codes by outcome, first match wins. 3 only when running again later
 * can help; credentials, a refused database or a redirect need a fix first.
 * A new outcome is a new row.
 */
export const EXIT_CODES: ReadonlyArray<{ readonly code: number; readonly when: (o: RunOutcome) => boolean }> = [
  { code: 3, when: (o) => o.storeFailure?.code === ErrorCodes.STORE_UNAVAILABLE },
  { code: 2, when: (o) => o.storeFailure !== null },
  { code: 1, when: (o) => o.filesFailed > 0 || o.finishFailed },
  { code: 0, when: () => true },
];

export function exitCodeOf(outcome: RunOutcome): number {
  return EXIT_CODES.find((row) => row.when(outcome))!.code;
}
