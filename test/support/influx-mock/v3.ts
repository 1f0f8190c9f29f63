/**
 * InfluxDB 3 Core and Enterprise (3.0–3.10) routes of the stand-in, as
 * influxdata/influxdb answers them at those tags (`v3Version` picks one,
 * default 3.10; `v3Enterprise` the edition).
 *
 *  [v3-src]    influxdb3_server/src/http.rs IntoResponse for Error (3.0–3.10): write to a missing database → created
 *              (write_buffer validator.rs WriteValidator::initialize → catalog.begin); create an existing database →
 *              CatalogError::AlreadyExists → 409, text "attempted to create a resource that already exists";
 *              POST /api/v3/configure/database → 200, empty body; unauthenticated → 401, empty body; query on a missing
 *              database → 404 {"error":…,"data":null}
 *  [v3-write]  https://docs.influxdata.com/influxdb3/core/write-data/http-api/v3-write-lp/ and http.rs write_lp_inner
 *              (3.0–3.10): accept_partial defaults to true; the valid lines are stored (written to the WAL before the
 *              reply, write_buffer/mod.rs write_lp) and the others listed: Error::PartialLpWrite → 400, or 422 when a
 *              line's error_message starts "Update to schema would exceed number of" or "Adding a new database would
 *              exceed limit of" (limit_hit), body {"error":"partial write of line protocol occurred","data":[
 *              {"error_message","line_number","original_line"}]}; line_number is 1-based (validator.rs `line_idx + 1`);
 *              accept_partial=false: the first bad line → 400 {"error":"line protocol parsing error","data":{…}}, nothing stored
 *  [v3-trunc]  original_line is cut to 20 bytes when serialized (WriteLineError's Serialize, TRUNCATE_LIMIT = 20):
 *              influxdb3_write/src/lib.rs from v3.6.0 (2ba25d1aca, backport of #26935; 3.7.0 on main), moved to
 *              influxdb3_types/src/write.rs (floor_char_boundary) by 3.10; before 3.6 the whole line
 *  [v3-size]   http.rs read_body: a body (after gunzip) above --max-http-request-size (default 10485760, 10 MiB) is
 *              Error::RequestSizeExceeded "max request size (N bytes) exceeded": 500 up to v3.9.x (no arm of its own,
 *              the catch-all), 413 Payload Too Large from v3.10.0; read after the database name is validated
 *  [v3-name]   http.rs validate_db_name: ASCII letters, digits, '_' and '-' (one '/' for db/rp), starting with a letter or
 *              digit; "invalid character in database name: …" (≤3.5) / "… database or rp name: …" (3.6+) → 400
 *              {"error":…,"data":null}; a length limit of 64 from 3.6 ("db name too long: max 64"), 511 from 3.10.
 *              POST /api/v3/configure/database validates from 3.2 (3.0–3.1 create any name, then every write is
 *              refused). write_lp also checks NamespaceName (influxdb3_core data_types, 1–64 bytes) up to 3.9, and
 *              DatabaseName (influxdb3_types/src/database_name.rs, 1–511) from 3.10
 *  [v3-limits] influxdb3_catalog: Core NUM_DBS_LIMIT 5 (`_internal` not counted, database_count), NUM_TABLES_LIMIT 2000
 *              across all databases, NUM_COLUMNS_PER_TABLE_LIMIT 500 (time included, check_columns_limit), the same in
 *              3.0–3.10 (3.10: CORE_* in influxdb3/src/commands/serve.rs); Enterprise per
 *              https://docs.influxdata.com/influxdb3/enterprise/admin/databases/ 100 databases, 10,000 tables
 *              (--num-table-limit), 500 columns. A database over the limit: CatalogError::TooManyDbs → 422
 *              {"error":"Adding a new database would exceed limit of N databases","data":null} (create or write);
 *              a table or column over it: that line's error_message (catalog/error.rs: "Update to schema would exceed
 *              number of columns per table limit of N columns"; tables: "… number of tables limit of N tables" up to 3.8,
 *              "… number of tables limit: attempted to create table but already have C table(s) (limit: N)" from 3.9)
 *  [v3-auth]   http.rs authenticate_request / validate_auth_header / extract_v1_auth_token: `Authorization: Bearer` or
 *              `Token` on every route (3.0–3.10); `p` on /query and /write; `Basic` (the token as the password, the
 *              user ignored) from 3.1.0 — on 3.0.x a Basic header is 400 {"error":"Authorization header was malformed
 *              and should be in the form 'Authorization: Bearer <token>'"}; a wrong token → 401, empty body
 *  [v3-query]  https://docs.influxdata.com/influxdb3/core/query-data/execute-queries/influxdb-v3-api/ (POST
 *              /api/v3/query_sql {db,q,format:"json"} → JSON rows)
 *  [v3-tokens] https://docs.influxdata.com/influxdb3/enterprise/admin/tokens/resource/create/ and .../api/auth-token/:
 *              POST /api/v3/enterprise/configure/token {token_name, permissions: [{resource_type: "db",
 *              resource_identifier: [db], actions}], expiry_secs?} → 201, the token string (shown once) and metadata;
 *              DELETE /api/v3/configure/token?token_name= → 200, 404 "token not found"; a name in use → 409
 *              (http.rs TokenNameAlreadyExists); Core has no resource tokens (the create path answers 404). Not taken from
 *              a source (Enterprise is closed): the 403 for a token without the permission (the product only relies on
 *              "not 2xx").
 */
import type { InfluxMock } from './server.js';
import type { AuthRefusal, RecordedRequest, ReplyFn, ResourceToken } from './types.js';
import { NS_PER, type ParsedLine } from './line-protocol.js';
import { v1Secret } from './v1.js';
import { selectAllV3 } from './select.js';

/** "3.9" → [3, 9]; the stand-in's release ([v3-*] notes name the tags). */
function version(mock: InfluxMock): [number, number] {
  const [major, minor] = (mock.options.v3Version ?? '3.10').split('.').map(Number);
  return [major, minor ?? 0];
}

/** Is the stand-in 3.`minor` or later? */
export function v3AtLeast(mock: InfluxMock, minor: number): boolean {
  const [major, m] = version(mock);
  return major > 3 || (major === 3 && m >= minor);
}

/** [v3-limits] */
export function v3Limits(mock: InfluxMock): { databases: number; tables: number; columnsPerTable: number } {
  const edition = mock.options.v3Enterprise
    ? { databases: 100, tables: 10_000, columnsPerTable: 500 }
    : { databases: 5, tables: 2000, columnsPerTable: 500 };
  return { ...edition, ...mock.options.v3Limits };
}

/** databases the limit counts: every one but `_internal` ([v3-limits] database_count) */
function databaseCount(mock: InfluxMock): number {
  return [...mock.databases].filter((d) => d !== '_internal').length;
}

/** [v3-limits] TooManyDbs, as create and write answer it */
function tooManyDbs(mock: InfluxMock, reply: ReplyFn): void {
  reply(422, {
    error: `Adding a new database would exceed limit of ${v3Limits(mock).databases} databases`,
    data: null,
  });
}

/** [v3-name] the database-name checks of write_lp and (3.2+) configure/database; null: valid */
export function v3NameProblem(mock: InfluxMock, name: string, where: 'write' | 'create'): string | null {
  if (where === 'create' && !v3AtLeast(mock, 2)) return null; // 3.0–3.1 create any name
  if (name === '') return 'db name cannot be empty';
  const maxLength = v3AtLeast(mock, 10) ? 511 : v3AtLeast(mock, 6) ? 64 : Infinity;
  if (name.length > maxLength) return `db name too long: max ${maxLength}`;
  if (!/^[A-Za-z0-9]/.test(name)) return 'db name did not start with a number or letter';
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*(\/[A-Za-z0-9_-]+)?$/.test(name)) {
    return `invalid character in database${v3AtLeast(mock, 6) ? ' or rp' : ''} name: must be ASCII, containing only letters, numbers, underscores, or hyphens`;
  }
  // write_lp: NamespaceName (≤3.9, 1–64 bytes) / DatabaseName (3.10, 1–511)
  if (where === 'write' && !v3AtLeast(mock, 10) && Buffer.byteLength(name) > 64) {
    return `namespace name ${name} length must be between 1 and 64 characters`;
  }
  return null;
}

/** Every /api/v3 route ([v3-auth]): the admin token as Bearer or Token (Basic's password from 3.1); a resource token (Enterprise) with its permissions. */
export function authenticateV3(mock: InfluxMock, rec: RecordedRequest): AuthRefusal {
  const token = mock.options.token;
  if (token === undefined) return null;
  const secret = headerSecret(mock, rec);
  if ('refusal' in secret) return secret.refusal;
  if (secret.token === token) return null;
  const rt = resourceTokenOf(mock, secret.token);
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
    return action === null || db === undefined
      ? { status: 403, body: { error: 'forbidden' } }
      : deniedResource(mock, rec, db, action);
  }
  return { status: 401, body: null }; // empty body
}

/**
 * /query and /write on a 3.x stand-in ([v3-auth]): `p` first (extract_v1_auth_token), else the Authorization
 * header — Bearer or Token on every release, Basic (the password is the token) from 3.1.
 */
export function v3AuthenticateV1(mock: InfluxMock, rec: RecordedRequest): AuthRefusal {
  const token = mock.options.token;
  if (token === undefined) return null;
  let secret: string | undefined = rec.query.p;
  if (secret === undefined) {
    const fromHeader = headerSecret(mock, rec);
    if ('refusal' in fromHeader) return fromHeader.refusal;
    secret = fromHeader.token;
  }
  if (secret === token) return null;
  const rt = resourceTokenOf(mock, secret);
  if (rt) {
    mock.resourceOf.set(rec.seq, rt);
    return null;
  }
  return { status: 401, body: null };
}

/** The token of the Authorization header as validate_auth_header reads it ([v3-auth]); 3.0 refuses Basic as malformed. */
function headerSecret(
  mock: InfluxMock,
  rec: RecordedRequest,
): { token: string | undefined } | { refusal: AuthRefusal } {
  const auth = String(rec.headers.authorization ?? '');
  if (auth === '') return { token: undefined };
  const [scheme, value, extra] = auth.split(' ');
  const basic = scheme === 'Basic' && v3AtLeast(mock, 1);
  if ((scheme !== 'Bearer' && scheme !== 'Token' && !basic) || value === undefined || extra !== undefined) {
    return {
      refusal: {
        status: 400,
        body: `{"error":"Authorization header was malformed and should be in the form 'Authorization: Bearer <token>'"}`,
      },
    };
  }
  return { token: basic ? v1Secret(rec) : value };
}

/** Does the request's resource token (if any) allow `action` on `db`? null: allowed, or no resource token. */
export function deniedResource(
  mock: InfluxMock,
  rec: RecordedRequest,
  db: string,
  action: 'read' | 'write',
): { status: number; body: object } | null {
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

/** POST /api/v3/enterprise/configure/token ([v3-tokens]) */
export function createResourceToken(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let body: {
    token_name?: string;
    permissions?: Array<{ resource_type?: string; resource_identifier?: string[]; actions?: string[] }>;
  };
  try {
    body = JSON.parse(rec.text) as typeof body;
  } catch (err) {
    return reply(400, `serde json error: ${(err as Error).message}`);
  }
  if (!body.token_name || !body.permissions?.length) return reply(400, 'token_name and permissions are required');
  if (mock.resourceTokens.has(body.token_name)) return reply(409, 'token name already exists');
  const [perm] = body.permissions;
  if (perm.resource_type !== 'db' || !perm.resource_identifier?.length || !perm.actions?.length)
    return reply(400, 'invalid permission');
  const rt: ResourceToken = {
    id: mock.nextId++,
    name: body.token_name,
    token: `apiv3_${Buffer.from(`${mock.nextId}-${Math.random()}`).toString('base64url')}`,
    databases: perm.resource_identifier,
    actions: perm.actions,
  };
  mock.resourceTokens.set(rt.name, rt);
  reply(201, {
    id: rt.id,
    name: rt.name,
    token: rt.token,
    hash: 'mock',
    created_at: '2026-01-01T00:00:00Z',
    expiry: null,
  });
}

/** DELETE /api/v3/configure/token ([v3-tokens]) */
export function deleteResourceToken(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const name = rec.query.token_name;
  if (!name || !mock.resourceTokens.has(name)) return reply(404, { error: 'token not found', data: null });
  mock.resourceTokens.delete(name);
  reply(200, null);
}

/**
 * POST /api/v3/write_lp ([v3-write], [v3-name], [v3-size], [v3-limits], [v3-trunc]): the name, then the size,
 * then each line in order — a line that does not parse or would pass a limit is listed, the others are stored.
 */
export function writeV3(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const db = rec.query.db;
  if (!db) return reply(400, "missing query parameter 'db'");
  const bad = v3NameProblem(mock, db, 'write');
  if (bad) return reply(400, { error: bad, data: null });
  if (rec.body.length > mock.maxBodyBytes) {
    return reply(v3AtLeast(mock, 10) ? 413 : 500, `max request size (${mock.maxBodyBytes} bytes) exceeded`);
  }
  const multiplier = NS_PER[rec.query.precision ?? 'nanosecond'];
  if (
    rec.query.precision !== undefined &&
    (multiplier === undefined || !['nanosecond', 'microsecond', 'millisecond', 'second'].includes(rec.query.precision))
  ) {
    return reply(400, `serde error: unknown variant \`${rec.query.precision}\``);
  }
  if (!mock.databases.has(db)) {
    if (!(mock.options.v3CreateOnWrite ?? true)) return reply(404, `database not found ${JSON.stringify(db)}`);
    if (databaseCount(mock) >= v3Limits(mock).databases) return tooManyDbs(mock, reply);
    mock.createDatabase(db);
  }
  const acceptPartial = rec.query.accept_partial !== 'false';
  const schema = schemaCheck(mock, db);
  const { errors } = mock.ingest(rec, db, multiplier ?? 1n, !acceptPartial, schema);
  if (errors.length === 0) return reply(204, null);
  const shown = (e: { line: string; lineNumber: number; message: string }) => ({
    error_message: e.message === 'missing fields' ? 'No fields were provided' : e.message,
    line_number: e.lineNumber,
    original_line: v3AtLeast(mock, 6) ? cut(e.line, 20) : e.line,
  });
  if (!acceptPartial) return reply(400, { error: 'line protocol parsing error', data: shown(errors[0]) });
  const data = errors.map(shown);
  const limitHit = data.some(
    (d) =>
      d.error_message.startsWith('Update to schema would exceed number of') ||
      d.error_message.startsWith('Adding a new database would exceed limit of'),
  );
  reply(limitHit ? 422 : 400, { error: 'partial write of line protocol occurred', data });
}

/** The first `bytes` bytes of `s`, not splitting a character ([v3-trunc] floor_char_boundary). */
function cut(s: string, bytes: number): string {
  const b = Buffer.from(s);
  if (b.length <= bytes) return s;
  let end = bytes;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString();
}

/**
 * [v3-limits] a line's table and columns against the catalog, in order, as the write's catalog transaction does
 * (validator.rs validate_and_qualify_v1_line: table_or_create, then column_or_create per tag and field, then time):
 * a line that would pass a limit is refused with the catalog's message and adds nothing.
 */
function schemaCheck(mock: InfluxMock, db: string): (p: ParsedLine) => string | null {
  return (p) => {
    const limits = v3Limits(mock);
    let tables = mock.v3Tables.get(db);
    if (!tables) mock.v3Tables.set(db, (tables = new Map()));
    let columns = tables.get(p.measurement);
    if (!columns) {
      const current = [...mock.v3Tables.values()].reduce((n, t) => n + t.size, 0);
      if (current >= limits.tables) {
        return v3AtLeast(mock, 9)
          ? `Update to schema would exceed number of tables limit: attempted to create table but already have ${current} table(s) (limit: ${limits.tables})`
          : `Update to schema would exceed number of tables limit of ${limits.tables} tables`;
      }
      columns = new Set();
    }
    const added = [...Object.keys(p.tags), ...Object.keys(p.fields), 'time'].filter((c) => !columns.has(c));
    if (columns.size + added.length > limits.columnsPerTable) {
      return `Update to schema would exceed number of columns per table limit of ${limits.columnsPerTable} columns`;
    }
    for (const c of added) columns.add(c);
    tables.set(p.measurement, columns);
    return null;
  };
}

/** POST /api/v3/configure/database ([v3-src], [v3-name] from 3.2, [v3-limits]): 200 empty; an existing one 409. */
export function createDatabaseV3(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let body: { db?: string };
  try {
    body = JSON.parse(rec.text) as { db?: string };
  } catch (err) {
    return reply(400, `serde json error: ${(err as Error).message}`);
  }
  if (!body.db) return reply(400, 'serde json error: missing field `db`');
  const bad = v3NameProblem(mock, body.db, 'create');
  if (bad) return reply(400, { error: bad, data: null });
  if (mock.databases.has(body.db)) return reply(409, 'attempted to create a resource that already exists');
  if (databaseCount(mock) >= v3Limits(mock).databases) return tooManyDbs(mock, reply);
  mock.createDatabase(body.db);
  reply(200, null);
}

/** POST /api/v3/query_sql ([v3-query]): the `count(*)` of --verify and the `SELECT 1` probe, parsed with regular expressions. */
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
  if (selectAllV3(mock, db, q, reply)) return;
  const m = /^\s*SELECT\s+count\(\*\)(?:\s+AS\s+(\w+))?\s+FROM\s+"((?:[^"]|"")*)"\s+WHERE\s+(.*)$/is.exec(q);
  if (!m) return reply(400, { error: `mock: unsupported SQL ${q}`, data: null });
  const alias = m[1] ?? 'count(*)';
  const where = m[3];
  const tags: Record<string, string> = {};
  for (const t of where.matchAll(/"((?:[^"]|"")*)"\s*=\s*'((?:[^'\\]|\\.|'')*)'/g))
    tags[t[1].replace(/""/g, '"')] = t[2].replace(/''/g, "'");
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
