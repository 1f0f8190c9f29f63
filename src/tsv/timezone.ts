import { ErrorCodes, UsageError } from '../errors.js';

/** Zone of V002 local times when neither a flag nor the environment names one. */
export const DEFAULT_V002_TIME_ZONE = 'Europe/Paris';

/** A change of UTC offset: local = utc + offset (seconds). */
interface Transition {
  utc: number;
  before: number;
  after: number;
  /** local-time window [lo, hi) that is skipped (gap) or repeated (fold) */
  lo: number;
  hi: number;
}

export type LocalResolution =
  { kind: 'ok'; utc: number } | { kind: 'gap' } | { kind: 'fold'; earlier: number; later: number; key: number };

const DAY = 86400;
const SAMPLE_STEP = 6 * 3600;

/**
 * Local wall-clock time → UTC for an IANA zone, from the platform's tz database
 * (Intl). Transitions are found once per year and cached, so the per-row cost
 * is a day lookup.
 */
export class TimeZoneRules {
  readonly name: string;
  readonly isUtc: boolean;
  private readonly dtf: Intl.DateTimeFormat | undefined;
  private readonly loadedYears = new Set<number>();
  private transitions: Transition[] = [];
  /** local day number → constant offset of that day, or null when a transition touches it */
  private readonly dayOffsets = new Map<number, number | null>();

  private static readonly cache = new Map<string, TimeZoneRules>();

  /** Throws a UsageError naming the zone when the platform does not know it. */
  static get(name: string): TimeZoneRules {
    let zone = TimeZoneRules.cache.get(name);
    if (!zone) {
      zone = new TimeZoneRules(name);
      TimeZoneRules.cache.set(name, zone);
    }
    return zone;
  }

  static isValid(name: string): boolean {
    try {
      TimeZoneRules.get(name);
      return true;
    } catch {
      return false;
    }
  }

  private constructor(name: string) {
    this.name = name;
    const upper = name.toUpperCase();
    this.isUtc = upper === 'UTC' || upper === 'ETC/UTC' || upper === 'Z' || upper === 'GMT' || upper === 'ETC/GMT';
    if (this.isUtc) return;
    try {
      this.dtf = new Intl.DateTimeFormat('en-US', {
        timeZone: name,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new UsageError(
        `unknown time zone "${name}": use an IANA name such as Europe/Paris or UTC`,
        ErrorCodes.TIMEZONE,
      );
    }
  }

  /** UTC offset in seconds at a UTC instant. */
  offsetAt(utc: number): number {
    if (this.isUtc) return 0;
    const parts = this.dtf!.formatToParts(utc * 1000);
    let y = 0,
      mo = 0,
      d = 0,
      h = 0,
      mi = 0,
      s = 0;
    for (const p of parts) {
      switch (p.type) {
        case 'year':
          y = Number(p.value);
          break;
        case 'month':
          mo = Number(p.value);
          break;
        case 'day':
          d = Number(p.value);
          break;
        case 'hour':
          h = Number(p.value);
          break;
        case 'minute':
          mi = Number(p.value);
          break;
        case 'second':
          s = Number(p.value);
          break;
      }
    }
    return Date.UTC(y, mo - 1, d, h, mi, s) / 1000 - utc;
  }

  private loadYear(year: number): void {
    if (this.loadedYears.has(year)) return;
    this.loadedYears.add(year);
    const start = Date.UTC(year, 0, 1) / 1000 - DAY;
    const end = Date.UTC(year + 1, 0, 1) / 1000 + DAY;
    let prevT = start;
    let prevO = this.offsetAt(start);
    for (let t = start + SAMPLE_STEP; t <= end; t += SAMPLE_STEP) {
      const o = this.offsetAt(t);
      if (o !== prevO) {
        // binary search the first second with the new offset
        let lo = prevT,
          hi = t;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (this.offsetAt(mid) === prevO) lo = mid;
          else hi = mid;
        }
        if (!this.transitions.some((tr) => tr.utc === hi)) {
          this.transitions.push({
            utc: hi,
            before: prevO,
            after: o,
            lo: hi + Math.min(prevO, o),
            hi: hi + Math.max(prevO, o),
          });
        }
        prevO = o;
      }
      prevT = t;
    }
    this.transitions.sort((a, b) => a.utc - b.utc);
  }

  private ensureLoaded(local: number): void {
    const y1 = new Date((local - 2 * DAY) * 1000).getUTCFullYear();
    const y2 = new Date((local + 2 * DAY) * 1000).getUTCFullYear();
    // the year before too, so the last transition before any loaded day is known
    this.loadYear(y1 - 1);
    this.loadYear(y1);
    if (y2 !== y1) this.loadYear(y2);
  }

  /** Full classification of a local time (seconds since epoch, as if UTC). */
  classify(local: number): LocalResolution {
    if (this.isUtc) return { kind: 'ok', utc: local };
    this.ensureLoaded(local);
    for (const tr of this.transitions) {
      if (local >= tr.lo && local < tr.hi) {
        if (tr.after > tr.before) return { kind: 'gap' };
        return { kind: 'fold', earlier: local - tr.before, later: local - tr.after, key: tr.utc };
      }
    }
    const o1 = this.offsetAt(local);
    const o2 = this.offsetAt(local - o1);
    return { kind: 'ok', utc: local - o2 };
  }

  /**
   * Constant offset for the local day holding `local`, or null when a
   * transition window touches that day (the caller then uses classify()).
   */
  dayOffset(local: number): number | null {
    if (this.isUtc) return 0;
    const day = Math.floor(local / DAY);
    const cached = this.dayOffsets.get(day);
    if (cached !== undefined) return cached;
    this.ensureLoaded(local);
    const dayLo = day * DAY;
    const dayHi = dayLo + DAY;
    let result: number | null;
    // a transition within a day of this one makes the day "slow path"
    if (this.transitions.some((tr) => tr.hi > dayLo - DAY && tr.lo < dayHi + DAY)) result = null;
    else result = this.offsetFromTable(dayLo);
    this.dayOffsets.set(day, result);
    return result;
  }

  /** Offset at a local time known to be far from any transition, from the transition table. */
  private offsetFromTable(local: number): number {
    let last: Transition | undefined;
    for (const tr of this.transitions) {
      if (tr.utc + tr.before <= local) last = tr;
      else break;
    }
    if (last) return last.after;
    if (this.transitions.length > 0) return this.transitions[0].before;
    const o1 = this.offsetAt(local);
    return this.offsetAt(local - o1);
  }

  /** Fold windows: [lo, hi) in local time, keyed by transition instant. */
  foldWindowsNear(local: number): Array<{ key: number; lo: number; hi: number }> {
    this.ensureLoaded(local);
    return this.transitions
      .filter((tr) => tr.after < tr.before && Math.abs(tr.lo - local) < 2 * DAY)
      .map((tr) => ({ key: tr.utc, lo: tr.lo, hi: tr.hi }));
  }
}
