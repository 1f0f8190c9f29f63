/**
 * The re-export conflict rules (docs/reports.md#re-export-conflicts): when
 * the header is blamed, what the warnings say, what the finding holds.
 */
import t from 'tap';
import {
  conflictFinding,
  conflictWarnings,
  headerLikelyWrong,
  type ConflictSummary,
} from '../../src/model/conflicts.js';

const ex = { channel_id: 'M1_Ch1', time: '2025-04-07T00:00:00Z', stored: 1, file: 3, difference: 2 };

function summary(compared: number, channels: Array<[string, number, number]>): ConflictSummary {
  const conflicting = channels.reduce((n, [, , c]) => n + c, 0);
  return {
    compared,
    conflicting,
    missing: 0,
    largest: conflicting ? ex : null,
    examples: conflicting ? [ex] : [],
    range: conflicting ? { from: 100, to: 200 } : null,
    channels: channels.map(([channel_id, cmp, c]) => ({ channel_id, compared: cmp, conflicting: c })),
  };
}

t.test('the header is blamed only with a layout change and mostly conflicting points', async (t) => {
  const most = summary(10, [['M1_Ch1', 10, 6]]);
  t.equal(headerLikelyWrong(most, true), true, 'more than half of the file, layout changed');
  t.equal(headerLikelyWrong(most, false), false, 'the same layout: values changed, not the header');
  t.equal(headerLikelyWrong(summary(10, [['M1_Ch1', 10, 5]]), true), false, 'half is not most');
  const swap = summary(60, [
    ['M1_Ch1', 10, 10],
    ['M1_Ch2', 10, 10],
  ]);
  t.equal(headerLikelyWrong(swap, true), true, 'two channels each mostly conflicting (a swap) in a file of six');
  t.equal(headerLikelyWrong(summary(60, [['M1_Ch1', 10, 10]]), true), false, 'one channel alone is a changed channel');
});

t.test('warnings and the finding', async (t) => {
  const none = summary(10, []);
  t.same(conflictWarnings(none, { layoutDrift: true, knownLayout: 'a', layout: 'b' }), []);
  t.equal(conflictFinding(none, true), null, 'no conflict, no finding');
  t.same(conflictWarnings(null, { layoutDrift: false, knownLayout: null, layout: null }), []);

  const one = summary(10, [['M1_Ch1', 10, 1]]);
  const w = conflictWarnings(one, { layoutDrift: false, knownLayout: null, layout: 'a' });
  t.equal(w.length, 1);
  t.match(w[0], /^1 of 10 points already held conflict .*largest difference 2 on M1_Ch1 at 2025-04-07T00:00:00Z/);
  const f = conflictFinding(one, false)!;
  t.match(f, { kind: 'reexport_conflict', measure: 1, channelId: 'M1_Ch1', tStart: 100, tEnd: 200 });
  t.match(f.detail, { compared: 10, conflicting: 1, header_likely_wrong: false, examples: [ex] });

  const swap = summary(60, [
    ['M1_Ch1', 10, 10],
    ['M1_Ch2', 10, 10],
  ]);
  const ws = conflictWarnings(swap, { layoutDrift: true, knownLayout: 'old', layout: 'new' });
  t.match(ws[1], /header likely wrong .*\(M1_Ch1 10\/10, M1_Ch2 10\/10\).*\(old → new\)/);
  t.equal(conflictFinding(swap, true)!.channelId, null, 'several channels: the finding is about the file');
  t.equal(conflictFinding(swap, true)!.detail.header_likely_wrong, true);

  const missing = { ...none, missing: 4 };
  t.match(conflictWarnings(missing, { layoutDrift: false, knownLayout: null, layout: null }), [
    /^4 points already held were not found/,
  ]);
});
