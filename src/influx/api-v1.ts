import { whereClause, type SeriesRange } from './series-range.js';
import { FORM_HEADERS, jsonObject, type InfluxTransport, type Reply } from './transport.js';

/** InfluxDB 1.x (and the 1.x API of 2.x and 3.x): InfluxQL over `/query`. */

export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An InfluxQL string literal. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** One InfluxQL statement, in a POST body (never in a URL that proxies would log); `params` go in the query string. */
export function postInfluxQL(http: InfluxTransport, q: string, params?: Record<string, string>): Promise<Reply> {
  const path = `${http.basePath}/query${params ? `?${new URLSearchParams(params)}` : ''}`;
  return http.request('POST', path, new URLSearchParams({ q }).toString(), FORM_HEADERS);
}

export function createDatabaseV1(http: InfluxTransport, db: string): Promise<Reply> {
  return postInfluxQL(http, `CREATE DATABASE ${quoteIdent(db)}`);
}

/** Points of the series in [from, to] (epoch seconds, inclusive), or the reply when it failed. */
export async function countPointsV1(http: InfluxTransport, range: SeriesRange): Promise<number | Reply> {
  const { db, measurement, tags, from, to } = range;
  const where = whereClause(tags, quoteIdent, quoteString, `time >= ${from}s`, `time <= ${to}s`);
  const q = `SELECT count(*) FROM ${quoteIdent(measurement)} WHERE ${where}`;
  const reply = await postInfluxQL(http, q, { db, epoch: 's' });
  if (reply.status !== 200) return reply;
  return sumInfluxQLCounts(reply.body);
}

/** `SELECT count(*)` answers one column per field (`count_<field>`): their sum is the number of points. */
export function sumInfluxQLCounts(body: string): number {
  const parsed = JSON.parse(body) as {
    results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }>;
  };
  let total = 0;
  for (const result of parsed.results ?? []) {
    if (result.error) throw new Error(`InfluxQL: ${result.error}`);
    for (const series of result.series ?? []) {
      for (const row of series.values) {
        series.columns.forEach((col, i) => {
          if (col !== 'time' && typeof row[i] === 'number') total += row[i];
        });
      }
    }
  }
  return total;
}

/** The error of the first statement of an InfluxQL reply (or of the request), or null. */
export function statementError(body: string): string | null {
  const parsed = jsonObject(body) as { error?: string; results?: Array<{ error?: string }> } | null;
  if (!parsed) return null;
  try {
    return parsed.error ?? parsed.results?.find((r) => r.error)?.error ?? null;
  } catch {
    return null;
  }
}
