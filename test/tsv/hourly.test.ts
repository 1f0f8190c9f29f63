/**
 * The one TypeScript merge rule of hourly partials (src/tsv/hourly.ts): the
 * block parser's per-sample additions and the file's per-block merge agree.
 */
import t from 'tap';
import {
  H,
  HOURLY_FIELDS,
  HOURLY_KEY,
  MAX_CHANNELS,
  addPartial,
  hourlyKey,
  mergeHourly,
} from '../../src/tsv/hourly.js';

const HOUR = 1_736_157_600;

/** A packed partial of samples [time, value][] of one channel in one hour. */
function partial(channel: number, samples: Array<[number, number]>, power = false): Float64Array {
  const p = new Float64Array(HOURLY_FIELDS);
  p.set([channel, HOUR, 0, 0, Infinity, -Infinity, Infinity, 0, -Infinity, 0, 0]);
  for (const [time, v] of samples) addPartial(p, 0, 1, v, v, v, time, v, time, v, power ? v : 0);
  return p;
}

t.test('the channel bound and the key: a channel never spills into the next hour', async (t) => {
  t.equal(HOURLY_KEY, MAX_CHANNELS + 1);
  t.not(hourlyKey(HOUR, MAX_CHANNELS), hourlyKey(HOUR + 1, 0));
  t.equal(hourlyKey(HOUR, 3), HOUR * HOURLY_KEY + 3);
});

t.test('merging two blocks equals adding their samples one by one', async (t) => {
  const a: Array<[number, number]> = [
    [HOUR + 600, 5],
    [HOUR + 1200, -2],
  ];
  const b: Array<[number, number]> = [
    [HOUR, 7],
    [HOUR + 3000, 1],
  ];
  const file = new Map<number, Float64Array>();
  mergeHourly(file, partial(2, a, true));
  mergeHourly(file, partial(2, b, true));
  const merged = file.get(hourlyKey(HOUR, 2))!;
  const whole = partial(2, [...a, ...b], true);
  t.same([...merged], [...whole]);
  t.equal(merged[H.samples], 4);
  t.equal(merged[H.sum], 11);
  t.equal(merged[H.min], -2);
  t.equal(merged[H.max], 7);
  t.same([merged[H.firstTime], merged[H.firstValue]], [HOUR, 7]);
  t.same([merged[H.lastTime], merged[H.lastValue]], [HOUR + 3000, 1]);
  t.equal(merged[H.energy], 11);
});

t.test('the first block of a key is copied, not aliased', async (t) => {
  const packed = partial(0, [[HOUR, 1]]);
  const file = new Map<number, Float64Array>();
  mergeHourly(file, packed);
  packed[H.sum] = 99;
  t.equal(file.get(hourlyKey(HOUR, 0))![H.sum], 1);
});

t.test('channels of one block stay apart', async (t) => {
  const packed = new Float64Array([...partial(0, [[HOUR, 1]]), ...partial(1, [[HOUR, 2]])]);
  const file = new Map<number, Float64Array>();
  mergeHourly(file, packed);
  t.equal(file.size, 2);
  t.equal(file.get(hourlyKey(HOUR, 1))![H.sum], 2);
});
