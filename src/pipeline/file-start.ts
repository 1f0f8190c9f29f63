import { FileFormatError, ErrorCodes } from '../errors.js';
import type { ScanResult } from '../tsv/scanner.js';
import { exportTimeOf } from './export-order.js';
import { ownGaps } from './first-pass.js';
import { applyHeader, emptyFileReport } from './report.js';
import { FileStats } from './stats.js';
import type { FileState, FileTask } from './file-state.js';
import { markClockResets } from '../quality/clock-reset.js';
import type { Thresholds } from '../quality/thresholds.js';
import { runRulesFor } from '../quality/value-rules.js';
import { ValueFindings } from '../quality/value-findings.js';

/** A file's start in the parser: its state before pass 1, then what pass 1 found. */

/** The state of a file about to be read: an empty report with the export time its name gives. */
export function newFileState(task: FileTask, v002TimeZone: string): FileState {
  const report = emptyFileReport(task.path, task.identity);
  report.export_time = exportTimeOf(task.path, v002TimeZone);
  const started = performance.now();
  return { task, report, header: null, stats: null, started, failure: null, plan: null, agg: null, quality: null };
}

/** Pass 1's findings into the file's state and report: identity, header, warnings; a file without rows fails. */
export function applyScan(state: FileState, scan: ScanResult, sha256: string | null, v002TimeZone: string): void {
  const { report, task } = state;
  // the file's identity in the ledger, known even when the file turns out unreadable
  if (sha256) report.sha256 = sha256;
  report.bytes = scan.bytes;
  state.header = scan.header;
  report.warnings.push(...scan.warnings);
  const device = task.identity.device;
  if (device && device !== scan.header.masterSn)
    report.warnings.push(`folder ${device} but the header's master is ${scan.header.masterSn}: the header wins`);
  applyHeader(report, scan.header, scan.basis);
  const headerUtc = scan.basis.kind === 'utc' && scan.basis.source === 'header';
  report.export_time = exportTimeOf(task.path, v002TimeZone, headerUtc);
  state.stats = new FileStats(scan.header.channels.length);
  if (scan.rows === 0) throw new FileFormatError(ErrorCodes.NO_VALID_ROW, 'no data rows (header only)');
}

/**
 * The file's quality rules (docs/reports.md#quality-rules), before the plan: clock-reset rows are marked (written
 * to neither store, they open no window of years); without PostgreSQL (`planned` false) no coverage is committed,
 * so the file's own gaps come from its row times.
 */
export function fileQuality(
  scan: ScanResult,
  thresholds: Thresholds,
  planned: boolean,
): NonNullable<FileState['quality']> {
  const reset = markClockResets(scan.blocks, thresholds);
  const quality = {
    thresholds,
    rules: runRulesFor(scan.header, thresholds),
    values: new ValueFindings(scan.header, thresholds),
    findings: reset ? [reset] : [],
  };
  if (!planned) quality.findings.push(...ownGaps(scan, thresholds));
  return quality;
}
