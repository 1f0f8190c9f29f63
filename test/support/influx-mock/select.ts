/**
 * The stand-in's answers to the value queries of re-export conflicts
 * (src/influx/points-query.ts): InfluxDB 3 `SELECT *` over one device and a
 * time range (JSON rows: `time` as InfluxDB 3 writes it, UTC without a zone,
 * one column per field, null where a row has no value), and InfluxDB 2.x
 * Flux `filter(… _field == …) |> keep(columns: ["_time", "_field", "_value"])`
 * (CSV without annotations, the value as written).
 */
import type { InfluxMock } from './server.js';
import type { ReplyFn, StoredPoint } from './types.js';

const NS = 1_000_000_000n;

function matching(mock: InfluxMock, db: string, measurement: string, tags: Record<string, string>): StoredPoint[] {
  return mock
    .points(db)
    .filter((p) => p.measurement === measurement && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
}

/** `SELECT * FROM "m" WHERE "tag" = 'v' AND time >= to_timestamp_seconds(a) AND time <= …(b)`; false: not one */
export function selectAllV3(mock: InfluxMock, db: string, q: string, reply: ReplyFn): boolean {
  const m = /^\s*SELECT\s+\*\s+FROM\s+"((?:[^"]|"")*)"\s+WHERE\s+(.*)$/is.exec(q);
  if (!m) return false;
  const where = m[2];
  const tags: Record<string, string> = {};
  for (const t of where.matchAll(/"((?:[^"]|"")*)"\s*=\s*'((?:[^']|'')*)'/g))
    tags[t[1].replace(/""/g, '"')] = t[2].replace(/''/g, "'");
  const from = BigInt(/time\s*>=\s*to_timestamp_seconds\((-?\d+)\)/.exec(where)?.[1] ?? '0') * NS;
  const to = BigInt(/time\s*<=\s*to_timestamp_seconds\((-?\d+)\)/.exec(where)?.[1] ?? '9999999999') * NS;
  const points = matching(mock, db, m[1].replace(/""/g, '"'), tags).filter((p) => p.time >= from && p.time <= to);
  const fields = [...new Set(points.flatMap((p) => Object.keys(p.fields)))];
  const rows = points.map((p) => {
    const row: Record<string, unknown> = { ...p.tags };
    for (const f of fields) row[f] = f in p.fields ? Number(p.fields[f]) : null;
    row.time = new Date(Number(p.time / 1_000_000n)).toISOString().replace(/\.000Z$/, '');
    return row;
  });
  reply(200, rows);
  return true;
}

/** Flux `range |> filter(measurement, device, fields) |> keep(_time, _field, _value)`; false: not one */
export function keepValuesV2(mock: InfluxMock, db: string, flux: string, reply: ReplyFn): boolean {
  if (!/\|>\s*keep\(columns:/.test(flux)) return false;
  const range = /range\(start:\s*(-?\d+),\s*stop:\s*(-?\d+)\)/.exec(flux);
  const meas = /r\._measurement\s*==\s*("(?:[^"\\]|\\.)*")/.exec(flux);
  if (!range || !meas) return false;
  const tags: Record<string, string> = {};
  for (const t of flux.matchAll(/r\[("(?:[^"\\]|\\.)*")\]\s*==\s*("(?:[^"\\]|\\.)*")/g))
    tags[JSON.parse(t[1]) as string] = JSON.parse(t[2]) as string;
  const wanted = new Set(
    [...flux.matchAll(/r\._field\s*==\s*("(?:[^"\\]|\\.)*")/g)].map((f) => JSON.parse(f[1]) as string),
  );
  const [start, stop] = [BigInt(range[1]) * NS, BigInt(range[2]) * NS];
  const lines = [',result,table,_time,_field,_value'];
  let table = 0;
  for (const field of wanted) {
    const pts = matching(mock, db, JSON.parse(meas[1]) as string, tags).filter(
      (p) => field in p.fields && p.time >= start && p.time < stop,
    );
    for (const p of pts) {
      const time = new Date(Number(p.time / 1_000_000n)).toISOString().replace('.000Z', 'Z');
      lines.push(`,_result,${table},${time},${field},${p.fields[field]}`);
    }
    if (pts.length) table++;
  }
  reply(200, lines.length > 1 ? `${lines.join('\r\n')}\r\n\r\n` : '\r\n');
  return true;
}
