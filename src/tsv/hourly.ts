/**
 * Hourly partials: per (channel, hour) the numbers from which the hourly
 * aggregates are built. The block parser adds samples into them, the parser
 * stage adds one block's partials into the file's, and PostgreSQL adds the
 * files' partials into `core.hourly` with the same rule in SQL
 * (`core.merge_hourly`, src/postgres/migrations/008_merge_hourly_set.sql):
 * counts, sums and energy add up, min/max keep the extreme, first/last keep
 * the value at the earliest/latest time (docs/architecture.md).
 */

/** Fields of one hourly partial, packed HOURLY_FIELDS numbers at a time. */
export const HOURLY_FIELDS = 11;
/** [channel, hour epoch, samples, sum, min, max, first time, first value, last time, last value, energy W·s] */
export const H = {
  channel: 0,
  hour: 1,
  samples: 2,
  sum: 3,
  min: 4,
  max: 5,
  firstTime: 6,
  firstValue: 7,
  lastTime: 8,
  lastValue: 9,
  energy: 10,
} as const;

/** Channels of one file at most: a channel index must stay below HOURLY_KEY in the partials' key. */
export const MAX_CHANNELS = 1023;
/** Partials are keyed hour × HOURLY_KEY + channel (channel ≤ MAX_CHANNELS). */
export const HOURLY_KEY = MAX_CHANNELS + 1;

export const hourlyKey = (hour: number, channel: number): number => hour * HOURLY_KEY + channel;

/** Numbers of a partial, indexed like H (a plain array while a block grows it, a Float64Array after). */
export interface PartialStore {
  [index: number]: number;
}

/**
 * Adds one partial's numbers into the partial at `at`: the one merge rule of
 * the TypeScript side. A single sample is the partial (1, v, v, v, t, v, t, v, energy).
 */
export function addPartial(
  into: PartialStore,
  at: number,
  samples: number,
  sum: number,
  min: number,
  max: number,
  firstTime: number,
  firstValue: number,
  lastTime: number,
  lastValue: number,
  energy: number,
): void {
  into[at + H.samples] += samples;
  into[at + H.sum] += sum;
  if (min < into[at + H.min]) into[at + H.min] = min;
  if (max > into[at + H.max]) into[at + H.max] = max;
  if (firstTime < into[at + H.firstTime]) {
    into[at + H.firstTime] = firstTime;
    into[at + H.firstValue] = firstValue;
  }
  if (lastTime > into[at + H.lastTime]) {
    into[at + H.lastTime] = lastTime;
    into[at + H.lastValue] = lastValue;
  }
  into[at + H.energy] += energy;
}

/** Adds a block's packed partials into a file's map (key: hourlyKey). */
export function mergeHourly(into: Map<number, Float64Array>, packed: Float64Array): void {
  for (let i = 0; i < packed.length; i += HOURLY_FIELDS) {
    const key = hourlyKey(packed[i + H.hour], packed[i + H.channel]);
    const cur = into.get(key);
    if (!cur) {
      into.set(key, packed.slice(i, i + HOURLY_FIELDS));
      continue;
    }
    addPartial(
      cur,
      0,
      packed[i + H.samples],
      packed[i + H.sum],
      packed[i + H.min],
      packed[i + H.max],
      packed[i + H.firstTime],
      packed[i + H.firstValue],
      packed[i + H.lastTime],
      packed[i + H.lastValue],
      packed[i + H.energy],
    );
  }
}
