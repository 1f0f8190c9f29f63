import { whereClause, type SeriesRange } from './series-range.js';
import type { InfluxTransport, Reply } from './transport.js';

/** InfluxDB 3: `/api/v3` databases and SQL. */

function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Creates the database when missing (409: it exists); returns the reply that settled it. */
export async function createDatabaseV3(http: InfluxTransport, db: string): Promise<Reply> {
  const made = await http.postJson(`${http.basePath}/api/v3/configure/database`, { db });
  return made.status === 409 ? { ...made, status: 200 } : made;
}

/** One SQL query on `db`, answered as JSON rows; `headers` may carry another token. */
export function querySql(
  http: InfluxTransport,
  db: string,
  q: string,
  headers?: Record<string, string>,
): Promise<Reply> {
  return http.postJson(`${http.basePath}/api/v3/query_sql`, { db, q, format: 'json' }, headers);
}

/** Points of the series in [from, to] (epoch seconds, inclusive), by SQL, or the reply when it failed. */
export async function countPointsV3(http: InfluxTransport, range: SeriesRange): Promise<number | Reply> {
  const { db, measurement, tags, from, to } = range;
  const bounds = [`time >= to_timestamp_seconds(${from})`, `time <= to_timestamp_seconds(${to})`];
  const where = whereClause(tags, sqlIdent, sqlString, ...bounds);
  const reply = await querySql(http, db, `SELECT count(*) AS n FROM ${sqlIdent(measurement)} WHERE ${where}`);
  if (reply.status !== 200) return reply;
  const rows = JSON.parse(reply.body) as Array<{ n: number | string }>;
  return rows.reduce((s, r) => s + Number(r.n), 0);
}
