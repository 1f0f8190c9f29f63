import { EPOCH_MIN_VALID } from './timestamp.js';
import type { TimeZoneRules } from './timezone.js';

/**
 * A file that starts inside an autumn repeated hour (local times): pass 1 resolves its first rows to the first
 * occurrence (summer time); when the clock then goes straight on past the repeated hour into winter time, whether
 * they are the second occurrence instead is for the device's held coverage to decide (src/pipeline/exactly-once.ts,
 * docs/architecture.md#time).
 */

/** Rows [firstRow, rowEnd) (row indices across blocks) resolved to the first occurrence of a repeated hour. */
export interface LeadingFold {
  firstRow: number;
  rowEnd: number;
  /** seconds from the first occurrence to the second (the offset change, 3600 in Europe) */
  shift: number;
  /** first and last of those rows' epochs as resolved (first occurrence) */
  from: number;
  to: number;
}

/** What these functions read of a scan (src/tsv/scanner.ts ScanResult). */
interface FoldedScan {
  blocks: ReadonlyArray<{ epochs: Uint32Array }>;
  leadingFold?: LeadingFold;
}

/** The valid epochs of the leading-fold rows, as they are now in the blocks. */
export function leadingFoldEpochs(scan: FoldedScan): number[] {
  const out: number[] = [];
  const lead = scan.leadingFold;
  if (!lead) return out;
  let row = 0;
  for (const b of scan.blocks) {
    for (let i = 0; i < b.epochs.length; i++, row++) {
      if (row >= lead.rowEnd) return out;
      if (row >= lead.firstRow && b.epochs[i] >= EPOCH_MIN_VALID) out.push(b.epochs[i]);
    }
  }
  return out;
}

/** Moves the leading-fold rows to the second occurrence of the repeated hour (winter time), in the blocks. */
export function shiftLeadingFold(scan: FoldedScan): void {
  const lead = scan.leadingFold;
  if (!lead) return;
  let row = 0;
  for (const b of scan.blocks) {
    for (let i = 0; i < b.epochs.length; i++, row++) {
      if (row >= lead.rowEnd) break;
      if (row >= lead.firstRow && b.epochs[i] >= EPOCH_MIN_VALID) b.epochs[i] += lead.shift;
    }
  }
  scan.leadingFold = undefined;
}

/** Follows the file's first valid rows while they are the first occurrence of a repeated hour. */
export class LeadTracker {
  /** false until the leading rows have left the repeated hour (or there was none) */
  decided = false;
  private started = false;
  private lead: (LeadingFold & { key: number; hi: number; lastLocal: number; complete: boolean }) | null = null;

  constructor(private readonly zone: TimeZoneRules) {}

  /** The next valid row: its wall-clock seconds and the UTC epoch it was resolved to. */
  track(rowIndex: number, local: number, utc: number): void {
    const zone = this.zone;
    if (!this.started) {
      this.started = true;
      this.decided = true;
      if (zone.isUtc) return;
      const r = zone.classify(local);
      if (r.kind !== 'fold' || utc !== r.earlier) return;
      const w = zone.foldWindowsNear(local).find((x) => x.key === r.key);
      if (!w) return;
      this.lead = {
        firstRow: rowIndex,
        rowEnd: rowIndex + 1,
        shift: r.later - r.earlier,
        from: utc,
        to: utc,
        key: r.key,
        hi: w.hi,
        lastLocal: local,
        complete: false,
      };
      this.decided = false;
      return;
    }
    const lead = this.lead!;
    const r = zone.classify(local);
    if (r.kind === 'fold' && r.key === lead.key && utc === r.earlier && local > lead.lastLocal) {
      lead.rowEnd = rowIndex + 1;
      lead.lastLocal = local;
      lead.to = utc;
      return;
    }
    this.decided = true;
    // straight on past the repeated hour, into winter time (not back to its start: the file holds both occurrences)
    lead.complete = r.kind === 'ok' && local >= lead.hi && local < lead.hi + 3600 && utc > lead.to + lead.shift;
  }

  /**
   * The leading fold rows, when the file went on into winter time and no other row falls on them, before or after a
   * shift (`clashes`: does any other row's time pass the test).
   */
  result(clashes: (test: (utc: number) => boolean) => boolean): LeadingFold | undefined {
    const lead = this.lead;
    if (!lead?.complete) return undefined;
    const clash = (v: number) =>
      (v >= lead.from && v <= lead.to) || (v >= lead.from + lead.shift && v <= lead.to + lead.shift);
    if (clashes(clash)) return undefined;
    return { firstRow: lead.firstRow, rowEnd: lead.rowEnd, shift: lead.shift, from: lead.from, to: lead.to };
  }
}
