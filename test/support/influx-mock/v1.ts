/**
 * InfluxDB 1.x routes of the stand-in: `POST /write`, `POST|GET /query`
 * (CREATE DATABASE, SELECT count(*)). The same paths are InfluxDB 2.x's and
 * 3.x's 1.x-compatibility API: who may call them is decided in
 * authenticateV1 (1.x users, 2.x v1 authorizations, 3.x tokens).
 *
 *  [v1-api] https://docs.influxdata.com/influxdb/v1.7/tools/api/ (1.7–1.11): POST /write?db=&precision= → 204;
 *           400 {"error":"partial write: …"} (the valid points are written); 401 {"error":"authorization failed"};
 *           404 {"error":"database not found: \"x\""}; 413 "Request Entity Too Large";
 *           POST /query q=CREATE DATABASE … → 200 {"results":[{"statement_id":0}]} (idempotent)
 */
import type { InfluxMock } from './server.js';
import type { AuthRefusal, RecordedRequest, ReplyFn } from './types.js';
import { jsonString, NS_PER } from './line-protocol.js';
import { legacyCredentials } from './v2-auth.js';
import { resourceTokenOf, v3AuthenticateV1 } from './v3.js';

/** Who may call /write and /query: on a 3.x stand-in, as 3.x decides (v3.ts [v3-auth]); otherwise a 3.x resource token, a 2.x v1-compatible authorization ([v2-legacy] authorizer.go), the 1.x user or token. */
export function authenticateV1(mock: InfluxMock, rec: RecordedRequest): AuthRefusal {
  if (mock.options.product === 'v3') return v3AuthenticateV1(mock, rec);
  const { token, username, password } = mock.options;
  const auth = String(rec.headers.authorization ?? '');
  // 3.x on its 1.x API: the token as Token/Bearer, as the Basic password, or as p
  const rt = resourceTokenOf(mock, v1Secret(rec));
  if (rt) {
    mock.resourceOf.set(rec.seq, rt);
    return null;
  }
  const legacy = legacyCredentials(mock, rec);
  if (legacy) {
    // [v2-legacy] authorizer.go: unknown name, wrong password or inactive → ErrCredentialsUnauthorized
    const a = [...mock.legacyAuths.values()].find((x) => x.token === legacy.user);
    if (!a || a.password === null || a.password !== legacy.password || a.status !== 'active') {
      return { status: 401, body: { code: 'unauthorized', message: 'Unauthorized' } };
    }
    mock.legacyOf.set(rec.seq, a);
    return null;
  }
  if (username === undefined && token === undefined) return null;
  if (username !== undefined) {
    const basic = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
    if (auth === basic) return null;
    if (rec.query.u === username && rec.query.p === (password ?? '')) return null;
  }
  if (token !== undefined && auth === `Token ${token}`) return null;
  return { status: 401, body: { error: 'authorization failed' } }; // [v1-api]
}

/** The secret a 1.x request carries: `Token x`, `Bearer x`, the Basic password, or `p`. */
export function v1Secret(rec: RecordedRequest): string | undefined {
  const auth = String(rec.headers.authorization ?? '');
  const scheme = /^(?:Bearer|Token) (.+)$/.exec(auth);
  if (scheme) return scheme[1];
  if (auth.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return rec.query.p;
}

/** POST /write ([v1-api]): the points it can parse are written, the others reported ("partial write"). */
export function writeV1(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let db = rec.query.db;
  if (!db) return reply(400, { error: 'database is required' });
  const denied = mock.denied(rec, db, 'write');
  if (denied) return reply(denied.status, denied.body);
  if (mock.legacyOf.has(rec.seq)) db = mock.bucketOfDatabase(db)!;
  if (!mock.databases.has(db)) return reply(404, { error: `database not found: "${db}"` }); // [v1-api]
  const multiplier = NS_PER[rec.query.precision ?? 'ns'];
  if (multiplier === undefined) return reply(400, { error: `invalid precision "${rec.query.precision}"` });
  // 1.x writes the points it could parse and reports the others ("partial write")
  const { errors } = mock.ingest(rec, db, multiplier, false);
  if (errors.length) {
    return reply(400, {
      error: `partial write: ${errors.map((e) => `unable to parse '${e.line}': ${e.message}`).join('\n')}`,
    });
  }
  reply(204, null);
}

/** POST|GET /query ([v1-api]): CREATE DATABASE, and the `SELECT count(*)` of --verify. */
export function queryV1(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const form = new URLSearchParams(rec.text);
  const q = form.get('q') ?? rec.query.q ?? '';
  const create = /^\s*CREATE\s+DATABASE\s+("(?:[^"\\]|\\.)*"|\w+)\s*$/i.exec(q);
  if (create) {
    const name = create[1].startsWith('"') ? jsonString(create[1]) : create[1];
    if (mock.legacyOf.has(rec.seq) || mock.resourceOf.has(rec.seq))
      return reply(403, { code: 'forbidden', message: 'insufficient permissions' });
    mock.createDatabase(name); // CREATE DATABASE is idempotent in 1.x
    return reply(200, { results: [{ statement_id: 0 }] });
  }
  const select = /^\s*SELECT\s+count\(\*\)\s+FROM\s+"((?:[^"\\]|\\.)*)"\s+WHERE\s+(.*)$/i.exec(q);
  if (!select) return reply(400, { error: `mock: unsupported query ${q}` });
  let db = form.get('db') ?? rec.query.db ?? '';
  const denied = mock.denied(rec, db, 'read');
  if (denied) return reply(denied.status, denied.body);
  if (mock.legacyOf.has(rec.seq)) db = mock.bucketOfDatabase(db)!;
  if (!mock.databases.has(db))
    return reply(200, { results: [{ statement_id: 0, error: `database not found: ${db}` }] });
  const where = select[2];
  const tags: Record<string, string> = {};
  for (const m of where.matchAll(/"((?:[^"\\]|\\.)*)"\s*=\s*'((?:[^'\\]|\\.)*)'/g))
    tags[m[1].replace(/\\(.)/g, '$1')] = m[2].replace(/\\(.)/g, '$1');
  const from = /time\s*>=\s*(-?\d+)s/.exec(where);
  const to = /time\s*<=\s*(-?\d+)s/.exec(where);
  const matching = mock
    .points(db)
    .filter(
      (p) =>
        p.measurement === select[1] &&
        Object.entries(tags).every(([k, v]) => p.tags[k] === v) &&
        (!from || p.time >= BigInt(from[1]) * 1_000_000_000n) &&
        (!to || p.time <= BigInt(to[1]) * 1_000_000_000n),
    );
  if (matching.length === 0) return reply(200, { results: [{ statement_id: 0 }] });
  // count(*) answers one count_<field> column per field key
  const perField = new Map<string, number>();
  for (const p of matching) for (const f of Object.keys(p.fields)) perField.set(f, (perField.get(f) ?? 0) + 1);
  const fieldNames = [...perField.keys()].sort();
  reply(200, {
    results: [
      {
        statement_id: 0,
        series: [
          {
            name: select[1],
            columns: ['time', ...fieldNames.map((f) => `count_${f}`)],
            values: [[0, ...fieldNames.map((f) => perField.get(f))]],
          },
        ],
      },
    ],
  });
}
