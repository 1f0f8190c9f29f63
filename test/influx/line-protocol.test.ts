import t from 'tap';
import fc from 'fast-check';
import { Point } from '@influxdata/influxdb3-client';
import { escapeTag, seriesPrefix } from '../../src/influx/line-protocol.js';

// The independent oracle (docs/architecture.md, "InfluxDB output"): for any tag values and field key, our
// series prefix + value equals what the InfluxDB 3 client library writes.
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom(',', '=', ' ', '\\', '\n', '\r', '\t', '"', 'é'),
    fc.string({ minLength: 1, maxLength: 1 }),
  ),
  maxLength: 12,
});
const noTrailingBackslash = (s: string) => s.replace(/\\+$/, '');

function clientLine(tags: Record<string, string>, field: string): string {
  const p = Point.measurement('electrical');
  for (const [k, v] of Object.entries(tags)) if (v !== '') p.setTag(k, v);
  p.setFloatField(field, 1.5);
  const line = p.toLineProtocol(undefined)!;
  return line.replace(/ \d+$/, '');
}

t.test('series prefix bytes equal @influxdata/influxdb3-client output for random tags and fields', async (t) => {
  const result = fc.check(
    fc.property(text, text, text, text, (name, unit, sn, field) => {
      const tags = { campaign: 'c1', channel_name: name, channel_unit: unit, device_sn: sn };
      // field keys are always <channel_id>_<unit>: prefixed like ours (a bare `__proto__` breaks the client's field map)
      field = `M02000800_U1_${field}`;
      const ours = `${seriesPrefix('electrical', tags, field)}1.5`;
      // a trailing backslash cannot be carried by line protocol: we drop it, so the
      // client is given the same cleaned strings
      const cleaned = Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, noTrailingBackslash(v)]));
      const cleanField = noTrailingBackslash(field);
      return ours === clientLine(cleaned, cleanField);
    }),
    { numRuns: 2000 },
  );
  t.notOk(result.failed, result.failed ? String(fc.defaultReportMessage(result)) : 'all equal');
});

t.test('escaping table', async (t) => {
  t.equal(escapeTag('Ph 1'), 'Ph\\ 1');
  t.equal(escapeTag('a,b=c'), 'a\\,b\\=c');
  t.equal(escapeTag('x\ny'), 'x\\ny');
  t.equal(
    seriesPrefix('electrical', { b: '2', a: '1', empty: '' }, 'f'),
    'electrical,a=1,b=2 f=',
    'sorted, empty tags left out',
  );
});
