/**
 * InfluxDB OSS 2.x routes of the stand-in (2.0–2.7): writes, organisations,
 * buckets, the Flux count behind --verify. The v1-compatible authorizations
 * and DBRP mappings are in v2-auth.ts. Errors are 2.x's ErrBody
 * `{"code","message"}` (kit/transport/http/api.go).
 *
 *  [v2-write]   https://docs.influxdata.com/influxdb/v2/api/write-data/ (POST /api/v2/write: org, bucket, precision;
 *               204; 400 LineProtocolError; 401; 404; 413 LineProtocolLengthError {code,message,maxLength}; 422; 429/503 + Retry-After)
 *  [v2-trouble] https://docs.influxdata.com/influxdb/v2/write-data/troubleshoot/ (OSS 2.x: 400 = the first malformed line,
 *               "All request data was rejected and not written"; 404 names the resource type and name; 422 = partial write,
 *               data not rejected is ingested)
 *  [v2-src]     influxdata/influxdb v2.0.0–v2.7.x: models/points.go `unable to parse '%s': %v` (failures joined by "\n");
 *               http/points/points_parser.go ErrMaxBatchSizeExceeded "points batch is too large" (size after gunzip);
 *               http/write_handler_test.go 413 body `{"code":"request too large","message":"unable to read data: points batch is too large"}`;
 *               tenant/error_bucket.go BucketAlreadyExistsError (EConflict → 422 [v2-conflict]) "bucket with name %s already exists"
 *  [v2-conflict] kit/transport/http/error_handler.go influxDBErrorToStatusCode (the same in v2.0.0 and v2.7.x): EConflict →
 *               422 Unprocessable Entity (never 409); ENotFound → 404; EInvalid → 400; ETooLarge → 413
 *  [v2-buckets-src] tenant/http_server_bucket.go handleGetBuckets → tenant/service_bucket.go FindBuckets: with a name and an
 *               orgID it is GetBucketByName (tenant/storage_bucket.go), whose miss is ErrBucketNotFoundByName
 *               (tenant/error_bucket.go, ENotFound): 404 {"code":"not found","message":"bucket \"x\" not found"}, never an
 *               empty list; without a name: {links, buckets[]}. POST /api/v2/buckets {orgID,name,retentionRules} → 201 Bucket
 *  [v2-codes]   https://docs.influxdata.com/influxdb/v2/api/response-codes/ (201 created, 204, 401, 404, 413, 422, 429, 503)
 *  [v2-orgs]    GET /api/v2/orgs?org= → {links, orgs[]} (tenant/http_server_org.go); POST /api/v2/query?org= {query,type,dialect}
 *               → text/csv (annotations [] + header true: `,result,table,_value` rows), https://docs.influxdata.com/influxdb/v2/api/#operation/PostQuery
 */
import type { InfluxMock } from './server.js';
import type { AuthRefusal, RecordedRequest, ReplyFn } from './types.js';
import { jsonString, NS_PER } from './line-protocol.js';
import { keepValuesV2 } from './select.js';

/** Every /api/v2 and /private route: `Authorization: Token <token>` ([v2-write]: 401 "unauthorized access"). */
export function authenticateV2(mock: InfluxMock, rec: RecordedRequest): AuthRefusal {
  const token = mock.options.token;
  if (token === undefined) return null;
  if (String(rec.headers.authorization ?? '') === `Token ${token}`) return null;
  return { status: 401, body: { code: 'unauthorized', message: 'unauthorized access' } };
}

export function orgMatches(mock: InfluxMock, org: string | undefined): boolean {
  return org === mock.org || org === mock.orgId;
}

/** POST /api/v2/write ([v2-write], [v2-trouble], [v2-src]): OSS 2.x refuses the whole request when a line does not parse. */
export function writeV2(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const { org, bucket } = rec.query;
  if (!orgMatches(mock, org)) return reply(404, { code: 'not found', message: `organization name "${org}" not found` });
  if (!bucket || !mock.buckets.has(bucket))
    return reply(404, { code: 'not found', message: `bucket "${bucket}" not found` }); // [v2-trouble]
  const multiplier = NS_PER[rec.query.precision ?? 'ns'];
  if (multiplier === undefined || ['m', 'h', 'u'].includes(rec.query.precision ?? '')) {
    return reply(400, { code: 'invalid', message: `invalid precision; valid precision units are ns, us, ms, and s` });
  }
  const { errors, dropped } = mock.ingest(rec, bucket, multiplier, !mock.options.v2PartialWrites);
  if (errors.length) {
    // [v2-src] models.ParsePoints: one "unable to parse" per bad line, joined by "\n"
    return reply(400, {
      code: 'invalid',
      message: errors.map((e) => `unable to parse '${e.line}': ${e.message}`).join('\n'),
    });
  }
  if (dropped > 0) {
    return reply(422, {
      code: 'unprocessable entity',
      message: `failure writing points to database: partial write: points beyond retention policy dropped=${dropped}`,
    });
  }
  reply(204, null);
}

/** GET /api/v2/orgs?org= ([v2-orgs]) */
export function orgsV2(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const wanted = rec.query.org;
  if (wanted !== undefined && wanted !== mock.org)
    return reply(404, { code: 'not found', message: `organization name "${wanted}" not found` });
  reply(200, {
    links: { self: '/api/v2/orgs' },
    orgs: [
      {
        id: mock.orgId,
        name: mock.org,
        description: '',
        createdAt: '2024-01-01T00:00:00Z',
        updatedAt: '2024-01-01T00:00:00Z',
      },
    ],
  });
}

/** GET /api/v2/buckets?orgID=&name= ([v2-buckets-src]): a name that is not there is 404 "not found", never an empty list. */
export function listBucketsV2(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const { orgID, org, name } = rec.query;
  if (orgID !== undefined && orgID !== mock.orgId)
    return reply(404, { code: 'not found', message: 'organization not found' });
  if (org !== undefined && org !== mock.org)
    return reply(404, { code: 'not found', message: `organization name "${org}" not found` });
  const list = [...mock.buckets.values()].filter((b) => name === undefined || b.name === name);
  // [v2-buckets-src] a name with an org is GetBucketByName: a miss is 404, never an empty list
  if (name !== undefined && list.length === 0)
    return reply(404, { code: 'not found', message: `bucket ${JSON.stringify(name)} not found` });
  reply(200, { links: { self: '/api/v2/buckets?descending=false&limit=20&offset=0' }, buckets: list });
}

/** POST /api/v2/buckets ([v2-buckets-src]): 201 and the bucket; a name in use is 422 conflict ([v2-src], [v2-conflict]). */
export function createBucketV2(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let body: { orgID?: string; name?: string; retentionRules?: unknown[] };
  try {
    body = JSON.parse(rec.text) as typeof body;
  } catch {
    return reply(400, { code: 'invalid', message: 'failed to decode request body' });
  }
  if (!body.name) return reply(400, { code: 'invalid', message: 'bucket name is required' });
  if (body.orgID !== mock.orgId) return reply(404, { code: 'not found', message: 'organization not found' });
  if (mock.buckets.has(body.name))
    return reply(422, { code: 'conflict', message: `bucket with name ${body.name} already exists` }); // [v2-src]
  mock.createDatabase(body.name);
  const b = mock.buckets.get(body.name)!;
  b.retentionRules = body.retentionRules ?? [];
  reply(201, { ...b, links: { self: `/api/v2/buckets/${b.id}` }, labels: [] }); // [v2-buckets]
}

/** POST /api/v2/query ([v2-orgs]): the Flux `count()` of --verify, parsed with regular expressions. */
export function queryV2(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  if (!orgMatches(mock, rec.query.org))
    return reply(404, { code: 'not found', message: `organization name "${rec.query.org}" not found` });
  let flux = '';
  try {
    flux = String((JSON.parse(rec.text) as { query?: string }).query ?? '');
  } catch {
    flux = rec.text;
  }
  const bucket = /from\(bucket:\s*("(?:[^"\\]|\\.)*")\)/.exec(flux);
  const range = /range\(start:\s*(-?\d+)(?:,\s*stop:\s*(-?\d+))?\)/.exec(flux);
  const meas = /r\._measurement\s*==\s*("(?:[^"\\]|\\.)*")/.exec(flux);
  const known = bucket && mock.buckets.has(jsonString(bucket[1]));
  if (known && keepValuesV2(mock, jsonString(bucket[1]), flux, reply)) return;
  if (!bucket || !range || !meas || !/\|>\s*count\(\)/.test(flux)) {
    return reply(400, { code: 'invalid', message: `mock: unsupported Flux ${flux}` });
  }
  const db = jsonString(bucket[1]);
  if (!mock.buckets.has(db))
    return reply(404, {
      code: 'not found',
      message: `failed to initialize execute state: could not find bucket "${db}"`,
    });
  const tags: Record<string, string> = {};
  for (const m of flux.matchAll(/r\[("(?:[^"\\]|\\.)*")\]\s*==\s*("(?:[^"\\]|\\.)*")/g))
    tags[jsonString(m[1])] = jsonString(m[2]);
  const start = BigInt(range[1]) * 1_000_000_000n;
  const stop = range[2] !== undefined ? BigInt(range[2]) * 1_000_000_000n : BigInt(Date.now()) * 1_000_000n;
  // Flux: range is [start, stop); count() counts field values (one row per field per point)
  let n = 0;
  for (const p of mock.points(db)) {
    if (p.measurement !== jsonString(meas[1]) || p.time < start || p.time >= stop) continue;
    if (!Object.entries(tags).every(([k, v]) => p.tags[k] === v)) continue;
    n += Object.keys(p.fields).length;
  }
  if (n === 0) return reply(200, '\r\n'); // no table at all
  reply(200, `,result,table,_value\r\n,_result,0,${n}\r\n\r\n`);
}
