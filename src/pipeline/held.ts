import { leadingFoldEpochs, shiftLeadingFold } from '../tsv/leading-fold.js';
import type { ScanResult } from '../tsv/scanner.js';
import { HeldPoints, timeProfile, type Run } from './coverage.js';

/**
 * The points of the file its device already holds (`runs[c]`: known runs of channel c). A file starting in an
 * autumn repeated hour whose first occurrence is already held is read as its second (its times shifted): then
 * the new step and a warning come with it.
 */
export function heldPoints(
  scan: ScanResult,
  runs: Run[][],
  from: number,
  to: number,
): { held: HeldPoints; stepSeconds?: number; warning?: string } {
  const held = new HeldPoints(runs, from, to);
  if (!scan.leadingFold || !secondOccurrence(scan, held)) return { held };
  // the device already holds the repeated hour's first occurrence: this file's first rows are its second (winter time)
  const lead = scan.leadingFold;
  const warning =
    `starts in the repeated hour: rows ` +
    `${new Date(lead.from * 1000).toISOString()}..${new Date(lead.to * 1000).toISOString()} already held by ` +
    `an earlier file, read as the second occurrence (+${lead.shift} s)`;
  shiftLeadingFold(scan);
  const shifted = timeProfile(scan.blocks.map((b) => b.epochs));
  return { held: new HeldPoints(runs, shifted.from, shifted.to), stepSeconds: shifted.step, warning };
}

/**
 * A file starting inside an autumn repeated hour (ScanResult.leadingFold)
 * holds its second occurrence when every one of those rows, read as the first
 * occurrence, is a time the device already holds (on any of the file's
 * channels): an earlier file brought the summer-time hour, and this file goes
 * on straight into winter time. Otherwise the first occurrence stands.
 */
function secondOccurrence(scan: ScanResult, held: HeldPoints): boolean {
  const epochs = leadingFoldEpochs(scan);
  if (epochs.length === 0 || held.empty) return false;
  const n = scan.header.channels.length;
  return epochs.every((t) => {
    for (let c = 0; c < n; c++) if (held.has(c, t)) return true;
    return false;
  });
}
