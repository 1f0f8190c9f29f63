import type { TimeZoneRules } from './timezone.js';

const DAY = 86400;

/**
 * Sequential local→UTC conversion for the rows of one file. In the autumn fold
 * the row order decides: repeated wall-clock times take the summer offset
 * until the clock is seen going back (a repeated time not after the previous
 * one in the window, or a row past the window), the winter offset after.
 * Times inside the spring gap are invalid (NaN).
 */
export class LocalTimeResolver {
  private readonly zone: TimeZoneRules;
  private readonly folds = new Map<number, { passed: boolean; last: number }>();
  private cachedDay = NaN;
  private cachedOffset: number | null = null;

  constructor(zone: TimeZoneRules) {
    this.zone = zone;
  }

  get isUtc(): boolean {
    return this.zone.isUtc;
  }

  toUtc(local: number): number {
    if (this.zone.isUtc) return local;
    const day = Math.floor(local / DAY);
    if (day !== this.cachedDay) {
      this.cachedDay = day;
      this.cachedOffset = this.zone.dayOffset(local);
    }
    if (this.cachedOffset !== null) return local - this.cachedOffset;
    return this.slow(local);
  }

  private foldState(key: number) {
    let st = this.folds.get(key);
    if (!st) {
      st = { passed: false, last: -Infinity };
      this.folds.set(key, st);
    }
    return st;
  }

  private slow(local: number): number {
    const r = this.zone.classify(local);
    if (r.kind === 'gap') return NaN;
    if (r.kind === 'fold') {
      const st = this.foldState(r.key);
      if (!st.passed && local <= st.last) st.passed = true;
      st.last = local;
      return st.passed ? r.later : r.earlier;
    }
    for (const w of this.zone.foldWindowsNear(local)) {
      if (local >= w.hi && local < w.hi + DAY) this.foldState(w.key).passed = true;
    }
    return r.utc;
  }
}
