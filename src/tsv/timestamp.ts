/** Row epochs below this are markers, not times (the parser never yields 1970). */
export const EPOCH_INVALID = 0;
export const EPOCH_DUPLICATE = 1;
export const EPOCH_GAP = 2;
/** a row dated far from the file's other rows (src/quality/clock-reset.ts): written to neither store */
export const EPOCH_CLOCK_RESET = 3;
/** a row cut short whose time another row holds: reported as truncated, counted once for its time */
export const EPOCH_CUT_REPEAT = 4;
export const EPOCH_MIN_VALID = 5;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const d2 = (buf: Uint8Array, i: number): number => {
  const a = buf[i] - 48;
  const b = buf[i + 1] - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
};

/**
 * `DD/MM/YY HH:MM:SS` (or `DD/MM/YYYY …`) starting at `start`, ending at a tab
 * or at `end`. Returns wall-clock seconds since 1970 read as if UTC, or -1.
 */
export function parseWallClock(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  const day = d2(buf, i);
  if (day < 0 || buf[i + 2] !== 47) return -1;
  const month = d2(buf, i + 3);
  if (month < 0 || buf[i + 5] !== 47) return -1;
  let year = d2(buf, i + 6);
  if (year < 0) return -1;
  i += 8;
  const y34 = d2(buf, i);
  if (y34 >= 0) {
    year = year * 100 + y34;
    i += 2;
  } else year += 2000;
  if (buf[i] !== 32) return -1;
  const hour = d2(buf, i + 1);
  if (hour < 0 || buf[i + 3] !== 58) return -1;
  const minute = d2(buf, i + 4);
  if (minute < 0 || buf[i + 6] !== 58) return -1;
  const second = d2(buf, i + 7);
  if (second < 0) return -1;
  i += 9;
  if (i > end || (i < end && buf[i] !== 9)) return -1;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return -1;
  const dim = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1];
  if (day > dim) return -1;
  return daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}
