import { FileFormatError, ErrorCodes, errorMessage, PowerViewError } from '../errors.js';
import type { ConflictSummary } from '../model/conflicts.js';
import { qualityEntry } from '../model/quality.js';
import type { FileAggregates, FileState, FileTask } from './file-state.js';
import type { LpSink } from './sink.js';
import { applyStats, type FileReport } from './report.js';

/** A file's end in the pipeline, once all its blocks are consumed: its aggregates and its report. */

/** What the file brings to PostgreSQL, its value findings settled; null without a plan (no PostgreSQL). */
export function fileAggregates(state: FileState, conflicts: ConflictSummary | null = null): FileAggregates | null {
  const q = state.quality;
  if (q && !state.failure) {
    const values = q.values.finish();
    q.findings.push(...values.findings);
    state.report.warnings.push(...values.warnings);
  }
  if (!state.agg || !state.header) return null;
  return {
    ...(q ? { quality: { findings: q.findings, thresholds: q.thresholds } } : {}),
    conflicts,
    sha256: state.agg.sha256,
    header: state.header,
    hourly: state.agg.hourly,
    coverage: state.failure ? state.header.channels.map(() => []) : state.agg.coverage.runs(),
    skippedPoints: state.agg.skippedPoints,
    noop: state.plan?.noop ?? null,
  };
}

/** The file's report completed from its statistics, quality and failure (a file without a point fails). */
export function finishFile(state: FileState): FileReport {
  const report = state.report;
  if (state.header && state.stats) applyStats(report, state.header, state.stats);
  if (state.quality && !state.plan?.noop) report.quality = state.quality.findings.map(qualityEntry);
  let failure = state.failure;
  if (!failure && report.points === 0 && !state.plan?.noop && !(state.agg && state.agg.skippedPoints > 0)) {
    const reasons = [
      report.invalid_timestamps.count && `${report.invalid_timestamps.count} invalid timestamps`,
      report.invalid_values.count && `${report.invalid_values.count} invalid values`,
      report.truncated_rows.count && `${report.truncated_rows.count} truncated rows`,
    ].filter(Boolean);
    failure = new FileFormatError(
      ErrorCodes.NO_VALID_ROW,
      `no valid row${reasons.length ? ` (${reasons.join(', ')})` : ''}`,
    );
  }
  if (failure) {
    report.status = 'error';
    report.error = {
      code: failure instanceof PowerViewError ? failure.code : ErrorCodes.READ,
      message: errorMessage(failure).split('\n')[0],
      ...(failure instanceof FileFormatError && failure.line !== undefined ? { line: failure.line } : {}),
    };
  }
  report.duration_ms = Math.round(performance.now() - state.started);
  return report;
}

/**
 * A file whose blocks are all consumed (and its comparison done): its aggregates and report; later overlapping
 * files may plan against it, and the sink knows its lines are all written.
 */
export function endFile(
  file: FileState,
  conflicts: ConflictSummary | null,
  hooks: { onConsumed?: (task: FileTask, aggregates: FileAggregates | null) => void; sink?: LpSink },
): { report: FileReport; aggregates: FileAggregates | null } {
  let aggregates: FileAggregates | null = null;
  try {
    aggregates = fileAggregates(file, conflicts);
  } catch (err) {
    // one file's bug or limit fails that file alone, never the run
    file.failure ??= err instanceof Error ? err : new Error(String(err));
  }
  const report = finishFile(file);
  hooks.onConsumed?.(file.task, aggregates);
  hooks.sink?.endFile?.(file.task);
  return { report, aggregates };
}
