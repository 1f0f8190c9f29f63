import type { PowerViewError } from '../errors.js';
import type { FileIdentity } from '../influx/series.js';
import type { FileHeader } from '../tsv/header.js';
import type { FileReport } from './report.js';
import type { FileStats } from './stats.js';
import type { FileCoverage, HeldPoints } from './coverage.js';
import type { Taken } from './taken.js';
import type { RunRules } from '../tsv/value-runs.js';
import type { Finding } from '../model/quality.js';
import type { Thresholds } from '../quality/thresholds.js';
import type { ValueFindings } from '../quality/value-findings.js';

/** A file on its way through the parser: what it is, how it is to be written, what was found so far. */

/** How a file is to be written, decided after pass 1 (docs/architecture.md#postgresql-output-and-exactly-once). */
export interface FilePlan {
  /** the same bytes were ingested before: nothing is parsed or written; the reason */
  noop?: string;
  /** points an earlier file already brought: skipped in both stores */
  held: HeldPoints | null;
  /** per channel: 1 for power (W) channels */
  power: Uint8Array;
  /** the file's sampling period, seconds (energy) */
  stepSeconds: number;
  /** for the file's report */
  warnings?: string[];
  /** some held points come from this run's files not yet committed (their lines may still be in flight) */
  heldFromRun?: boolean;
}

/** What a planned file wrote: hourly partials per channel and its coverage. */
export type { FileAggregates } from '../model/values.js';

export interface FileTask {
  path: string;
  identity: FileIdentity;
  /** bytes, when known up front (progress) */
  size?: number;
  /** the data root the file was found under, when known */
  root?: string;
  /** when the upload was known complete (ms since the epoch; serve): the file's end-to-end latency starts here */
  receivedAt?: number;
  /** set when the file is opened with `takeFiles`: the pinned file that is read (lifecycle.ts) */
  taken?: Taken;
}

export interface FileState {
  task: FileTask;
  report: FileReport;
  header: FileHeader | null;
  stats: FileStats | null;
  started: number;
  failure: PowerViewError | Error | null;
  plan: FilePlan | null;
  agg: { hourly: Map<number, Float64Array>; coverage: FileCoverage; skippedPoints: number; sha256: string } | null;
  /** the quality rules of the file (docs/reports.md#quality-rules): its findings so far, the block runs' merge */
  quality: { thresholds: Thresholds; rules: RunRules; values: ValueFindings; findings: Finding[] } | null;
}
