import type { PoolClient } from 'pg';
import type { FileReport } from '../model/values.js';
import type { FileAggregates } from '../model/values.js';
import type { Metrics } from '../metrics/metrics.js';

export interface CommitInput {
  report: FileReport;
  agg: FileAggregates;
  runId: string;
  layoutDrift: boolean;
  /** the device's layout before this file (the layout_change finding names both) */
  knownLayout?: string | null;
  /** ledger row of the same bytes to replace (--force) */
  replace: number | null;
  /** the device's coverage version the plan read with its committed coverage (null or absent: not fenced) */
  planVersion?: number | null;
}

/**
 * Checked inside a commit's transaction, before COMMIT: throws when this
 * process may no longer commit these files (the service's claim on their
 * device was lost), which rolls the commit back.
 */
export type CommitFence = (client: PoolClient, inputs: readonly CommitInput[]) => Promise<void>;

export interface IngestStoreOptions {
  /** how long the first ready file waits for others to share its commit (default 200 ms) */
  lingerMs?: number;
  /** files per commit at most (default 64; fewer: shorter commits, lower latency under a backlog) */
  maxGroup?: number;
  fence?: CommitFence;
  metrics?: Metrics;
}

export interface KnownFile {
  fileId: number;
  status: string;
  /** where the file was when it was ingested (the ledger's path) */
  path: string;
}

/** The tenant of a commit: the `<company>` folder of the file's path, as the report names it. */
export const tenantOf = (input: CommitInput): string => input.report.tenant;

/** Key of a (tenant, device) pair in the store's caches and fence. */
export const deviceKey = (tenant: string, device: string): string => `${tenant}\u0000${device}`;

/**
 * The same bytes are already committed: by this run (the same file came twice,
 * under another name or path) or meanwhile by another process. Nothing to add.
 */
export class AlreadyCommittedError extends Error {
  constructor(
    readonly sha256: string,
    /** the committed row: its path and whether this run committed it */
    readonly by: { path: string; sameRun: boolean } | null = null,
  ) {
    const bytes = `the same bytes (sha256 ${sha256.slice(0, 12)}…)`;
    super(
      !by
        ? `${bytes} were committed by another process`
        : by.sameRun
          ? `${bytes} came twice in this run: already committed from ${by.path}`
          : `${bytes} were already committed from ${by.path} by another run or process`,
    );
  }
}

/**
 * The commit fence refused the plan: another process committed coverage of
 * the device after the plan read it, so the plan may count points twice.
 * Nothing was written; the file is to be planned again.
 */
export class StaleCoverageError extends Error {
  constructor(
    readonly tenant: string,
    readonly device: string,
    readonly planVersion: number,
    readonly version: number,
  ) {
    super(
      `coverage of device ${device} changed since the plan ` +
        `(version ${planVersion} → ${version}, by another process): planned again`,
    );
    this.name = 'StaleCoverageError';
  }
}
