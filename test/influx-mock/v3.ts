/**
 * InfluxDB 3 Core and Enterprise routes of the stand-in.
 */
import type { InfluxMock } from './server.js';
import type { AuthRefusal, RecordedRequest, ReplyFn, ResourceToken } from './types.js';
import { NS_PER } from './line-protocol.js';

/** Every /api/v3 route: the admin token as Bearer; a resource token (Enterprise) as Bearer or Token, with its permissions. */
export function authenticateV3(mock: InfluxMock, rec: RecordedRequest): AuthRefusal {
  const token = mock.options.token;
  if (token === undefined) return null;
  const auth = String(rec.headers.authorization ?? '');
  if (auth === `Bearer ${token}`) return null;
  const rt = resourceTokenOf(mock, /^(?:Bearer|Token) (.+)$/.exec(auth)?.[1]);
  if (rt) {
    mock.resourceOf.set(rec.seq, rt);
    let db: string | undefined;
    let action: 'read' | 'write' | null = null;
    if (rec.path === '/api/v3/query_sql') {
      action = 'read';
      try {
        db = (JSON.parse(rec.text) as { db?: string }).db;
      } catch {
        db = undefined;
      }
    } else if (rec.path === '/api/v3/write_lp') {
      action = 'write';
      db = rec.query.db;
    }
    // administration needs the admin token; data needs the permission on the database
    return action === null || db === undefined ? { status: 403, body: { error: 'forbidden' } } : deniedResource(mock, rec, db, action);
  }
  return { status: 401, body: null }; // [v3-src] empty body
}

/** Does the request's resource token (if any) allow `action` on `db`? null: allowed, or no resource token. */
export function deniedResource(mock: InfluxMock, rec: RecordedRequest, db: string, action: 'read' | 'write'): { status: number; body: object } | null {
  const rt = mock.resourceOf.get(rec.seq);
  if (!rt) return null;
  return (rt.databases.includes(db) || rt.databases.includes('*')) && rt.actions.includes(action)
    ? null
    : { status: 403, body: { error: `token lacks ${action} permission on database ${db}` } };
}

export function resourceTokenOf(mock: InfluxMock, secret: string | undefined): ResourceToken | null {
  if (!secret || mock.resourceTokens.size === 0) return null;
  return [...mock.resourceTokens.values()].find((r) => r.token === secret) ?? null;
}

export function createResourceToken(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let body: { token_name?: string; permissions?: Array<{ resource_type?: string; resource_identifier?: string[]; actions?: string[] }> };
  try {
    body = JSON.parse(rec.text) as typeof body;
  } catch (err) {
    return reply(400, `serde json error: ${(err as Error).message}`);
  }
  if (!body.token_name || !body.permissions?.length) return reply(400, 'token_name and permissions are required');
  if (mock.resourceTokens.has(body.token_name)) return reply(409, 'token name already exists');
  const [perm] = body.permissions;
  if (perm.resource_type !== 'db' || !perm.resource_identifier?.length || !perm.actions?.length) return reply(400, 'invalid permission');
  const rt: ResourceToken = {
    id: mock.nextId++,
    name: body.token_name,
    token: `apiv3_${Buffer.from(`${mock.nextId}-${Math.random()}`).toString('base64url')}`,
    databases: perm.resource_identifier,
    actions: perm.actions,
  };
  mock.resourceTokens.set(rt.name, rt);
  reply(201, { id: rt.id, name: rt.name, token: rt.token, hash: 'mock', created_at: '2026-01-01T00:00:00Z', expiry: null });
}

export function deleteResourceToken(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const name = rec.query.token_name;
  if (!name || !mock.resourceTokens.has(name)) return reply(404, { error: 'token not found', data: null });
  mock.resourceTokens.delete(name);
  reply(200, null);
}

export function writeV3(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const db = rec.query.db;
  if (!db) return reply(400, 'missing query parameter \'db\'');
  const multiplier = NS_PER[rec.query.precision ?? 'nanosecond'];
  if (rec.query.precision !== undefined && (multiplier === undefined || !['nanosecond', 'microsecond', 'millisecond', 'second'].includes(rec.query.precision))) {
    return reply(400, `serde error: unknown variant \`${rec.query.precision}\``);
  }
  if (!mock.databases.has(db)) {
    if (mock.options.v3CreateOnWrite ?? true) mock.createDatabase(db);
    else return reply(404, `database not found ${JSON.stringify(db)}`); // [v3-src]
  }
  const { errors } = mock.ingest(rec, db, multiplier ?? 1n, false);
  if (errors.length) {
    // [v3-write] accept_partial=true: valid lines written, the others listed
    return reply(400, {
      error: 'partial write of line protocol occurred',
      data: errors.map((e) => ({
        original_line: e.line,
        line_number: e.lineNumber,
        error_message: e.message === 'missing fields' ? 'No fields were provided' : e.message,
      })),
    });
  }
  reply(204, null);
}

export function createDatabaseV3(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let body: { db?: string };
  try {
    body = JSON.parse(rec.text) as { db?: string };
  } catch (err) {
    return reply(400, `serde json error: ${(err as Error).message}`);
  }
  if (!body.db) return reply(400, 'serde json error: missing field `db`');
  if (mock.databases.has(body.db)) return reply(409, 'attempted to create a resource that already exists'); // [v3-src]
  mock.createDatabase(body.db);
  reply(200, null);
}

export function querySqlV3(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let body: { db?: string; q?: string; format?: string };
  try {
    body = JSON.parse(rec.text) as typeof body;
  } catch (err) {
    return reply(400, `serde json error: ${(err as Error).message}`);
  }
  const db = body.db ?? '';
  const q = body.q ?? '';
  if (!mock.databases.has(db)) return reply(404, { error: `query error: database not found: ${db}`, data: null });
  if (/^\s*SELECT\s+1\s*$/i.test(q)) return reply(200, [{ 'Int64(1)': 1 }]);
  const m = /^\s*SELECT\s+count\(\*\)(?:\s+AS\s+(\w+))?\s+FROM\s+"((?:[^"]|"")*)"\s+WHERE\s+(.*)$/is.exec(q);
  if (!m) return reply(400, { error: `mock: unsupported SQL ${q}`, data: null });
  const alias = m[1] ?? 'count(*)';
  const where = m[3];
  const tags: Record<string, string> = {};
  for (const t of where.matchAll(/"((?:[^"]|"")*)"\s*=\s*'((?:[^'\\]|\\.|'')*)'/g)) tags[t[1].replace(/""/g, '"')] = t[2].replace(/''/g, "'");
  const from = /time\s*>=\s*to_timestamp_seconds\((-?\d+)\)/.exec(where);
  const to = /time\s*<=\s*to_timestamp_seconds\((-?\d+)\)/.exec(where);
  const n = mock.count(
    db,
    m[2].replace(/""/g, '"'),
    tags,
    from ? BigInt(from[1]) * 1_000_000_000n : -(2n ** 63n),
    to ? BigInt(to[1]) * 1_000_000_000n : 2n ** 63n,
  );
  reply(200, [{ [alias]: n }]);
}
