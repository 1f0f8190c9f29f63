/**
 * LpBatcher.settled(): the barrier a re-export comparison waits for before it
 * reads this run's earlier files back. It resolves once every line handed over
 * before the call is answered, while later writes go on; flush() waits for
 * every batch, later ones included, so under a steady stream of writes it
 * could wait for as long as the stream lasts.
 */
import t from 'tap';
import { LpBatcher } from '../../src/influx/batcher.js';
import type { InfluxWriter } from '../../src/influx/writer.js';
import type { Segment, SegmentOutcome } from '../../src/influx/segments.js';

/** A writer whose every request waits until the test answers it, in any order. */
function heldWriter() {
  const requests: Array<{ lines: number; answer: () => void }> = [];
  const writer = {
    send(_db: string, body: Uint8Array, segments: Segment<unknown>[]): Promise<SegmentOutcome<unknown>[]> {
      return new Promise((resolve) => {
        const lines = body.reduce((n, b) => n + (b === 10 ? 1 : 0), 0);
        const answer = () =>
          resolve(segments.map((segment) => ({ segment, rejection: null, stored: segment.lines, refused: [] })));
        requests.push({ lines, answer });
      });
    },
  } as unknown as InfluxWriter;
  return { writer, requests };
}

const file = (name: string) => ({ identity: { tenant: 'acme' }, name });
const lines = (n: number, sn: string) =>
  new TextEncoder().encode(
    Array.from({ length: n }, (_, i) => `power,master_sn=${sn} U1=${i} ${1_700_000_000 + i}\n`).join(''),
  );

t.test('settled() waits for the lines sent before it, not for the writes that follow', async (t) => {
  const { writer, requests } = heldWriter();
  const batcher = new LpBatcher(writer, { batchLines: 4, batchBytes: 1 << 20, concurrency: 4, lingerMs: 60_000 });
  const a = file('a');
  await batcher.write(lines(6, 'A'), a); // one batch of 4 sent, 2 lines left open
  let settled = false;
  const barrier = batcher.settled().then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  t.equal(requests.length, 2, 'the open batch was sent too: every line handed over before settled() is on its way');
  const b = file('b');
  await batcher.write(lines(4, 'B'), b); // a later write: its batch is sent after the barrier's call
  t.equal(requests.length, 3);
  requests[0].answer();
  requests[1].answer();
  await barrier;
  t.ok(settled, 'settled() resolved with the later batch still unanswered');
  requests[2].answer();
  batcher.endFile(a);
  batcher.endFile(b);
  await batcher.close();
});

t.test('settled() does not resolve while a batch sent before it is unanswered', async (t) => {
  const { writer, requests } = heldWriter();
  const batcher = new LpBatcher(writer, { batchLines: 4, batchBytes: 1 << 20, concurrency: 1, lingerMs: 60_000 });
  const a = file('a');
  await batcher.write(lines(4, 'A'), a);
  // the second batch waits for a free slot (concurrency 1) when settled() is called
  const writing = batcher.write(lines(4, 'B'), file('b'));
  let settled = false;
  const barrier = batcher.settled().then(() => (settled = true));
  requests[0].answer();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(requests.length, 2, 'the waiting batch was sent once the slot was free');
  t.notOk(settled, 'settled() still waits for it');
  requests[1].answer();
  await writing;
  await barrier;
  t.ok(settled);
  await batcher.close();
});
