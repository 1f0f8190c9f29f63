/**
 * Re-exports of one tri logger (6 master channels, a row every 10 minutes)
 * for the re-export conflict tests: any row range, values changed, two
 * columns swapped (test/pipeline/reexport-conflicts*.test.ts).
 */
import { formatWallClock } from '../../fixtures/generate.js';

export const SN = '02001171';
export const STEP = 600;
export const T0 = Date.UTC(2025, 3, 7) / 1000;
export const NAMES = ['Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie1 W', 'Voie2 W', 'Voie3 W'];
/** channel ids are positional: the 4th column of a tri master is Ch1 */
export const IDS = ['U1', 'U2', 'U3', 'Ch1', 'Ch2', 'Ch3'].map((l) => `M${SN}_${l}`);

/** The logger's value of column c at row r (each column its own series). */
export function value(r: number, c: number): string {
  return c < 3 ? (230 + ((r * 7 + c * 3) % 50) / 10).toFixed(1) : (((r * 37 + c * 101) % 5000) / 10 + 100).toFixed(1);
}

export interface Export {
  rows: [number, number];
  /** row → column → text replacing the logger's value */
  changed?: Map<number, Map<number, string>>;
  /** header and data of columns a and b swapped (the logger's channels moved) */
  swap?: [number, number];
  /** column → header label replacing the logger's (e.g. another unit) */
  labels?: Map<number, string>;
}

export function tsv(e: Export): string {
  const order = NAMES.map((_, i) => i);
  if (e.swap) [order[e.swap[0]], order[e.swap[1]]] = [order[e.swap[1]], order[e.swap[0]]];
  const head = [
    'START_HEADER',
    JSON.stringify({ DataTimeSettings: 'UTC', TimeZoneName: 'Europe/Paris', FileVersion: 3, MasterType: 'Tri' }),
    'END_HEADER',
    'START_DATA',
    [SN, ...order.map(() => SN)].join('\t'),
    ['MV_T302_V003', ...order.map((c) => e.labels?.get(c) ?? NAMES[c])].join('\t'),
  ];
  const rows: string[] = [];
  for (let r = e.rows[0]; r < e.rows[1]; r++) {
    const cells = order.map((c) => e.changed?.get(r)?.get(c) ?? value(r, c));
    rows.push(`${formatWallClock(T0 + r * STEP)}\t${cells.join('\t')}`);
  }
  return [...head, ...rows, 'END_DATA', ''].join('\n');
}

export const iso = (r: number) => new Date((T0 + r * STEP) * 1000).toISOString().replace('.000Z', 'Z');
