/**
 * The pure parts of the InfluxDB write path, without a server: what a reply means (src/influx/replies.ts),
 * how a batch's segments are halved, merged and blamed (src/influx/segments.ts), and how a batch is filled
 * (src/influx/open-batch.ts). The same rules seen through a server are in writer.test.ts and store-replies.test.ts.
 */
import t from 'tap';
import { ErrorCodes, StoreError } from '../../src/errors.js';
import { fitLines, newBatch } from '../../src/influx/open-batch.js';
import { wholeRejection } from '../../src/influx/rejection.js';
import {
  partialWriteErrors,
  retryAfterMs,
  serverMessage,
  tooLarge,
  transientCause,
  wholeRequestRefusal,
} from '../../src/influx/replies.js';
import { halves, mergeOutcomes, placeRefusedLines, type Segment } from '../../src/influx/segments.js';
import type { Reply } from '../../src/influx/transport.js';

const reply = (status: number, body: string | object, retryAfter: string | null = null): Reply => ({
  status,
  retryAfter,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const lines = (...ls: string[]): Buffer => Buffer.from(ls.map((l) => `${l}\n`).join(''));

t.test('transient statuses are retried, a too-large batch is split instead', async (t) => {
  t.equal(transientCause(429), 'throttled');
  t.equal(transientCause(503), 'throttled');
  t.equal(transientCause(408), 'timeout');
  t.equal(transientCause(502), 'server_error');
  t.equal(transientCause(400), null, 'a 4xx is an answer');
  t.ok(tooLarge(reply(413, '')));
  t.ok(tooLarge(reply(500, 'max request size (10485760 bytes) exceeded')), 'InfluxDB 3.0–3.9 say it with a 500');
  t.notOk(tooLarge(reply(500, 'internal error')), 'another 500 is a server error');
});

t.test('Retry-After is read as seconds or as an HTTP date, never negative', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.equal(retryAfterMs(null), null);
  t.equal(retryAfterMs(' 3 '), 3000);
  t.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  t.equal(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a past date: no wait of its own');
  t.equal(retryAfterMs('soon'), null);
});

t.test('the server message is found in each API version body', async (t) => {
  t.equal(serverMessage('{"error":"database not found: \\"x\\""}'), 'database not found: "x"', 'v1');
  t.equal(serverMessage('{"code":"invalid","message":"unable to parse"}'), 'unable to parse', 'v2');
  const v3 = { error: 'partial write', data: [{ line_number: 2, error_message: 'bad field' }] };
  t.equal(serverMessage(JSON.stringify(v3)), 'partial write: line 2: bad field', 'v3, by line');
  t.equal(serverMessage('  plain text \n'), 'plain text', 'not JSON: the text');
  t.equal(serverMessage('null'), 'null', 'JSON that is not an object: the text');
});

t.test('an InfluxDB 3 partial write is told from a refusal of the whole request', async (t) => {
  const partial = { error: 'partial write of line protocol occurred', data: [{ line_number: 2, error_message: 'e' }] };
  t.same(partialWriteErrors(reply(400, partial)), [{ line_number: 2, error_message: 'e' }]);
  t.equal(partialWriteErrors(reply(500, partial)), null, 'only 400 and 422');
  t.equal(partialWriteErrors(reply(400, { ...partial, data: [{ line_number: 0, error_message: 'e' }] })), null);
  t.equal(partialWriteErrors(reply(400, 'not json')), null);
  t.ok(wholeRequestRefusal(reply(422, { error: 'database limit', data: null })));
  t.notOk(wholeRequestRefusal(reply(400, partial)));
  t.notOk(wholeRequestRefusal(reply(400, '"a string"')));
});

t.test('a body halved on a line boundary keeps each line numbered as in its file', async (t) => {
  const body = lines('a1', 'a2', 'a3', 'b1');
  const segments: Segment<string>[] = [
    { file: 'A', start: 0, end: 9, lines: 3, firstLine: 11 },
    { file: 'B', start: 9, end: 12, lines: 1 },
  ];
  const [first, second] = halves(body, segments);
  t.same(first, { from: 0, to: 9, part: [{ file: 'A', start: 0, end: 9, lines: 3, firstLine: 11 }] });
  t.same(second, { from: 9, to: 12, part: [{ file: 'B', start: 0, end: 3, lines: 1, firstLine: 1 }] });
  const uneven = halves(lines('x', 'yyyyyyyy'), [{ file: 'A', start: 0, end: 11, lines: 2 }]);
  t.same(
    uneven.map((h) => h.part.map((p) => p.firstLine)),
    [[1], [2]],
    'a long second line: the cut falls before it',
  );
});

t.test('parts of a segment stored and refused add up to a partial write of the segment', async (t) => {
  const first = new StoreError(ErrorCodes.STORE_REJECTED, 'bad', { status: 400, body: '{"error":"bad"}' });
  const segment: Segment<string> = { file: 'A', start: 0, end: 10, lines: 5 };
  const [merged] = mergeOutcomes(
    [segment],
    [
      { segment: { ...segment, lines: 3 }, rejection: null, stored: 3, refused: [] },
      { segment: { ...segment, lines: 2 }, rejection: first, stored: 0, refused: [] },
    ],
  );
  t.equal(merged.stored, 3);
  t.equal(merged.rejection?.code, ErrorCodes.STORE_PARTIAL);
  t.match(merged.rejection?.message, /stored 3 of 5 lines and refused 2/);
  const none = wholeRejection({ first: null, lines: 5, stored: 5, refused: [], refusedCount: 0 });
  t.equal(none, null, 'no rejection: every line stored');
  const whole = wholeRejection({ first, lines: 5, stored: 0, refused: [], refusedCount: 0 });
  t.equal(whole, first, 'nothing stored, nothing named: the rejection as it came');
});

t.test('refused lines are placed on their files by number, or not at all when the numbers do not fit', async (t) => {
  const body = lines('m a=1', 'm a=x', 'm b=2', 'm b=y');
  const segments: Segment<string>[] = [
    { file: 'A', start: 0, end: 12, lines: 2, firstLine: 7 },
    { file: 'B', start: 12, end: 24, lines: 2 },
  ];
  const r = reply(400, { error: 'partial write of line protocol occurred' });
  const errors = [
    { line_number: 2, error_message: 'bad a', original_line: 'm a=x' },
    { line_number: 4, error_message: 'bad b' },
  ];
  const placed = placeRefusedLines(errors, body, segments, r);
  t.same(
    placed?.map((o) => ({ file: o.segment.file, stored: o.stored, refused: o.refused })),
    [
      { file: 'A', stored: 1, refused: [{ line: 8, error: 'bad a', text: 'm a=x' }] },
      { file: 'B', stored: 1, refused: [{ line: 2, error: 'bad b', text: 'm b=y' }] },
    ],
  );
  t.equal(placed?.[0].rejection?.code, ErrorCodes.STORE_PARTIAL);
  t.equal(placeRefusedLines([{ line_number: 5, error_message: 'e' }], body, segments, r), null, 'past the end');
  const unlike = [{ line_number: 1, error_message: 'e', original_line: 'other' }];
  t.equal(placeRefusedLines(unlike, body, segments, r), null, 'a quoted line unlike ours');
});

t.test('a batch takes the whole lines that fit its bytes and its line limit', async (t) => {
  const batch = newBatch('db', Buffer.alloc(8));
  const src = lines('aa', 'bb', 'cc');
  t.same(fitLines(batch, src, 0, 10), { end: 6, lines: 2 }, 'two lines of 3 bytes in 8 bytes');
  t.same(fitLines(batch, src, 0, 1), { end: 3, lines: 1 }, 'the line limit');
  t.same(fitLines(newBatch('db', Buffer.alloc(2)), src, 0, 10), { end: 0, lines: 0 }, 'no line fits');
});
