/**
 * How the PDF report writes numbers and times: fixed decimals with thousands
 * separators (en-US, so that the bytes do not depend on the machine's locale)
 * and times in the tenant's zone, `YYYY-MM-DD HH:mm`.
 */

const formatters = new Map<number, Intl.NumberFormat>();

/** `value` with exactly `decimals` decimals and `,` thousands separators; `–` for null */
export function fixed(value: number | null, decimals: number): string {
  if (value === null || !Number.isFinite(value)) return '–';
  let f = formatters.get(decimals);
  if (f === undefined) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    formatters.set(decimals, f);
  }
  return f.format(value);
}

export const kwh = (value: number | null): string => fixed(value, 3);
export const watts = (value: number | null): string => fixed(value, 1);
export const volts = (value: number | null): string => fixed(value, 1);

export function percent(ratio: number | null): string {
  return ratio === null ? '–' : `${fixed(ratio * 100, 1)} %`;
}

const zoned = new Map<string, Intl.DateTimeFormat>();

function partsIn(timeZone: string, iso: string): Record<string, string> {
  let f = zoned.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    zoned.set(timeZone, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(iso))) out[p.type] = p.value;
  return out;
}

/** `2025-03-04 14:00` in `timeZone`; `–` for null */
export function localTime(iso: string | null, timeZone: string): string {
  if (iso === null) return '–';
  const p = partsIn(timeZone, iso);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** `2025-03-04` in `timeZone` */
export function localDay(iso: string, timeZone: string): string {
  return localTime(iso, timeZone).slice(0, 10);
}

/** the hour of day 0–23 of `iso` in `timeZone` */
export function localHour(iso: string, timeZone: string): number {
  return Number(partsIn(timeZone, iso).hour);
}

/** a finding's `detail` as `key=value` pairs, cut to `max` characters */
export function detailText(detail: Readonly<Record<string, unknown>>, max = 120): string {
  const text = Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
