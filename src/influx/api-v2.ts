import { ErrorCodes, StoreError } from '../errors.js';
import type { SeriesRange } from './series-range.js';
import { jsonObject, type InfluxTransport, type Reply } from './transport.js';

/** InfluxDB 2.x: organisations, buckets, Flux. */

/** A bucket looked up by name: its ID, its absence, or the reply that failed. */
export type BucketLookup = { id: string; reply: Reply } | { absent: true; reply: Reply } | Reply;

/**
 * The `code` of an InfluxDB 2.x error body (`{"code": "...", "message": "..."}`, kit/transport/http/api.go ErrBody;
 * the same code travels in the X-Platform-Error-Code header), or null.
 */
export function v2ErrorCode(reply: Reply): string | null {
  const code = jsonObject(reply.body)?.code;
  return typeof code === 'string' ? code : null;
}

/**
 * 2.x "already exists": every conflict (EConflict) is 422 Unprocessable Entity with code "conflict", never 409
 * (kit/transport/http/error_handler.go influxDBErrorToStatusCode, the same in v2.0.0 and v2.7.x): a bucket
 * (tenant/error_bucket.go), a v1 authorization's token name (v1/authorization/error.go ErrTokenAlreadyExistsError),
 * a DBRP mapping (dbrp/error.go ErrDBRPAlreadyExists).
 */
export function v2Conflict(reply: Reply): boolean {
  return reply.status === 422 && v2ErrorCode(reply) === 'conflict';
}

/** The ID of the organisation `org`, or the reply that failed; throws when the server has no such organisation. */
export async function lookupOrgId(http: InfluxTransport, org: string): Promise<string | Reply> {
  const reply = await http.request('GET', `${http.basePath}/api/v2/orgs?${new URLSearchParams({ org })}`);
  if (reply.status !== 200) return reply;
  const orgs = (JSON.parse(reply.body) as { orgs?: Array<{ id: string; name: string }> }).orgs ?? [];
  const found = orgs.find((o) => o.name === org);
  if (!found) {
    throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB organisation "${org}" not found (INFLUX_ORG)`, {
      status: 404,
      body: reply.body,
    });
  }
  return found.id;
}

/** The bucket named `name` in the organisation `orgId`. */
export async function findBucket(http: InfluxTransport, orgId: string, name: string): Promise<BucketLookup> {
  const reply = await http.request(
    'GET',
    `${http.basePath}/api/v2/buckets?${new URLSearchParams({ orgID: orgId, name })}`,
  );
  // 2.0–2.7 answer a name that is not there with 404
  // {"code":"not found","message":"bucket \"x\" not found"}, not an
  // empty list: a name and an orgID make FindBuckets a GetBucketByName (tenant/service_bucket.go FindBuckets,
  // tenant/storage_bucket.go GetBucketByName → ErrBucketNotFoundByName, ENotFound → 404 in
  // kit/transport/http/error_handler.go). Any other 404 (no such route: not a 2.x server) is the failed reply.
  if (reply.status === 404 && v2ErrorCode(reply) === 'not found') return { absent: true, reply };
  if (reply.status !== 200) return reply;
  const bucket = ((JSON.parse(reply.body) as { buckets?: Array<{ id: string; name: string }> }).buckets ?? []).find(
    (b) => b.name === name,
  );
  return bucket ? { id: bucket.id, reply } : { absent: true, reply };
}

/** Creates the bucket `db` when missing; idempotent. Returns the reply that settled it. */
export async function createBucket(http: InfluxTransport, orgId: string, db: string): Promise<Reply> {
  const found = await findBucket(http, orgId, db);
  if ('status' in found) return found;
  if ('id' in found) return found.reply;
  const made = await http.postJson(`${http.basePath}/api/v2/buckets`, { orgID: orgId, name: db, retentionRules: [] });
  // created by someone else meanwhile: 422 {"code":"conflict","message":"bucket with name x already exists"}
  // (tenant/error_bucket.go BucketAlreadyExistsError, EConflict → 422 in kit/transport/http/error_handler.go)
  return v2Conflict(made) ? { ...made, status: 200 } : made;
}

/** Points of the series in [from, to] (epoch seconds, inclusive), by Flux, or the reply when it failed. */
export async function countPointsV2(http: InfluxTransport, org: string, range: SeriesRange): Promise<number | Reply> {
  const { db, measurement, tags, from, to } = range;
  const filters = Object.entries(tags).map(([k, v]) => `r[${JSON.stringify(k)}] == ${JSON.stringify(v)}`);
  const flux =
    `from(bucket: ${JSON.stringify(db)}) |> range(start: ${from}, stop: ${to + 1})` +
    ` |> filter(fn: (r) => r._measurement == ${JSON.stringify(measurement)}` +
    filters.map((f) => ` and ${f}`).join('') +
    ')' +
    ` |> group() |> count()`;
  const reply = await http.postJson(
    `${http.basePath}/api/v2/query?${new URLSearchParams({ org })}`,
    { query: flux, type: 'flux', dialect: { header: true, annotations: [] } },
    { accept: 'application/csv' },
  );
  if (reply.status !== 200) return reply;
  return sumFluxCsvCounts(reply.body);
}

/** Flux CSV without annotations: the `_value` column of every row. */
export function sumFluxCsvCounts(body: string): number {
  const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return 0;
  const header = lines[0].split(',');
  const col = header.indexOf('_value');
  if (col < 0) return 0;
  let total = 0;
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    if (cells[col] === '_value') continue; // a second table's header
    total += Number(cells[col]) || 0;
  }
  return total;
}
