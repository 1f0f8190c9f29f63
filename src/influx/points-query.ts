/**
 * The values InfluxDB holds for some fields of one device over a time window
 * (docs/reports.md#re-export-conflicts): what a re-export's held points are
 * compared with. InfluxQL (v1), Flux (v2) or SQL (v3), the shapes of
 * `countPoints` in http-api.ts. The caller bounds the window (rows × fields).
 */
import { postInfluxQL, quoteIdent, quoteString as influxqlString } from './api-v1.js';
import type { InfluxTransport, Reply } from './transport.js';

/** field key → epoch seconds → value */
export type StoredValues = Map<string, Map<number, number>>;

const sqlString = (v: string) => `'${v.replace(/'/g, "''")}'`;
const sqlIdent = (v: string) => `"${v.replace(/"/g, '""')}"`;

/** Fields of `masterSn`'s series in [from, to] (epoch s, inclusive); the failed reply otherwise. */
export async function storedValues(
  http: InfluxTransport,
  db: string,
  measurement: string,
  masterSn: string,
  fields: readonly string[],
  from: number,
  to: number,
): Promise<StoredValues | Reply> {
  const out: StoredValues = new Map(fields.map((f) => [f, new Map<number, number>()]));
  if (fields.length === 0) return out;
  const base = http.basePath;
  switch (http.config.api) {
    case 'v1': {
      const device = `${quoteIdent('device_master_sn')} = ${influxqlString(masterSn)}`;
      const where = `${device} AND time >= ${from}s AND time <= ${to}s`;
      // one statement per field: a row holds the field's value of one point (rows without it are left out)
      const q = fields.map((f) => `SELECT ${quoteIdent(f)} FROM ${quoteIdent(measurement)} WHERE ${where}`).join('; ');
      const reply = await postInfluxQL(http, q, { db, epoch: 's' });
      if (reply.status !== 200) return reply;
      readInfluxQL(reply.body, fields, out);
      return out;
    }
    case 'v2': {
      const pick = fields.map((f) => `r._field == ${JSON.stringify(f)}`).join(' or ');
      const flux =
        `from(bucket: ${JSON.stringify(db)}) |> range(start: ${from}, stop: ${to + 1})` +
        ` |> filter(fn: (r) => r._measurement == ${JSON.stringify(measurement)}` +
        ` and r["device_master_sn"] == ${JSON.stringify(masterSn)} and (${pick}))` +
        ` |> keep(columns: ["_time", "_field", "_value"])`;
      const reply = await http.request(
        'POST',
        `${base}/api/v2/query?${new URLSearchParams({ org: http.config.org! })}`,
        JSON.stringify({ query: flux, type: 'flux', dialect: { header: true, annotations: [] } }),
        { 'content-type': 'application/json', accept: 'application/csv' },
      );
      if (reply.status !== 200) return reply;
      readFluxCsv(reply.body, out);
      return out;
    }
    case 'v3': {
      // every column: a field never written to the table would make a named column an error
      const sql =
        `SELECT * FROM ${sqlIdent(measurement)} WHERE ${sqlIdent('device_master_sn')} = ${sqlString(masterSn)}` +
        ` AND time >= to_timestamp_seconds(${from}) AND time <= to_timestamp_seconds(${to})`;
      const reply = await http.request(
        'POST',
        `${base}/api/v3/query_sql`,
        JSON.stringify({ db, q: sql, format: 'json' }),
        { 'content-type': 'application/json' },
      );
      if (reply.status !== 200) return reply;
      for (const row of JSON.parse(reply.body) as Array<Record<string, unknown>>) {
        const time = epochOf(row.time);
        for (const [f, byTime] of out) {
          const v = row[f];
          if (typeof v === 'number') byTime.set(time, v);
        }
      }
      return out;
    }
  }
}

/** A time as InfluxDB 3 (`2025-03-03T00:10:00`, UTC without a zone) or Flux (RFC 3339) writes it. */
export function epochOf(time: unknown): number {
  if (typeof time === 'number') return time > 1e12 ? Math.floor(time / 1e9) : time;
  const text = String(time);
  return Math.floor(Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`) / 1000);
}

function readInfluxQL(body: string, fields: readonly string[], out: StoredValues): void {
  const parsed = JSON.parse(body) as {
    results?: Array<{
      statement_id?: number;
      error?: string;
      partial?: boolean;
      series?: Array<{ columns: string[]; values: unknown[][]; partial?: boolean }>;
    }>;
  };
  for (const result of parsed.results ?? []) {
    if (result.error) throw new Error(`InfluxQL: ${result.error}`);
    if (result.partial || result.series?.some((s) => s.partial))
      throw new Error('InfluxQL: partial result (max-row-limit): the window is too large');
    const field = fields[result.statement_id ?? 0];
    const byTime = out.get(field)!;
    for (const series of result.series ?? []) {
      const col = series.columns.indexOf(field);
      for (const row of series.values) {
        const v = row[col];
        if (typeof v === 'number') byTime.set(Number(row[0]), v);
      }
    }
  }
}

/** Flux CSV without annotations: one header line per table, then `_time,_field,_value` cells. */
function readFluxCsv(body: string, out: StoredValues): void {
  let cols: { time: number; field: number; value: number } | null = null;
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const cells = line.split(',');
    if (cells.includes('_value') && cells.includes('_field')) {
      cols = { time: cells.indexOf('_time'), field: cells.indexOf('_field'), value: cells.indexOf('_value') };
      continue;
    }
    if (!cols) continue;
    const byTime = out.get(cells[cols.field]);
    const v = Number(cells[cols.value]);
    if (byTime && cells[cols.value] !== '' && Number.isFinite(v)) byTime.set(epochOf(cells[cols.time]), v);
  }
}
